import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { MmapLogStore } from "../../src/log/mmap-log-store.ts";
import { dataFor, eventFor, expectRun, tempDir } from "./helpers.ts";

const S = "trades.btc_usdt";
let stores: MmapLogStore[] = [];
function open(opts: ConstructorParameters<typeof MmapLogStore>[0] = {}): MmapLogStore {
  const s = new MmapLogStore({ dir: tempDir("basic"), ...opts });
  stores.push(s);
  return s;
}
afterEach(() => {
  for (const s of stores) {
    s.close();
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
  stores = [];
});

describe("RingLog basics", () => {
  test("empty log", () => {
    const log = open().get(S);
    expect(log.stream).toBe(S);
    const p = log.position();
    expect(p.oldest).toBe(0);
    expect(p.head).toBe(0);
    expect(p.epoch).toMatch(/^[0-9a-f]{16}$/);
    expect(log.latest()).toBeUndefined();
    expect(log.readAfter(0, 10)).toEqual([]);
  });

  test("append, readAfter, latest, position", () => {
    const log = open().get(S);
    for (let seq = 1; seq <= 100; seq++) log.append(eventFor(S, seq));
    expect(log.position()).toMatchObject({ oldest: 1, head: 100 });
    expect(expectRun(log.readAfter(0, 1000), S, 1, 100)).toBeUndefined();
    expect(expectRun(log.readAfter(41, 5), S, 42, 46)).toBeUndefined();
    expect(log.readAfter(100, 10)).toEqual([]);
    expect(log.readAfter(500, 10)).toEqual([]);
    expect(log.readAfter(10, 0)).toEqual([]);
    expect(log.latest()).toEqual(eventFor(S, 100));
  });

  test("sparse seqs keep their prev; readAfter lands between seqs", () => {
    const log = open().get(S);
    for (let seq = 10; seq <= 100; seq += 10) log.append({ ...eventFor(S, seq), prev: seq - 10 });
    const got = log.readAfter(35, 3);
    expect(got.map((e) => [e.seq, e.prev])).toEqual([[40, 30], [50, 40], [60, 50]]);
  });

  test("seq must increase; a rejected append changes nothing", () => {
    const log = open().get(S);
    log.append(eventFor(S, 5));
    expect(() => log.append(eventFor(S, 5))).toThrow(RangeError);
    expect(() => log.append(eventFor(S, 3))).toThrow(RangeError);
    expect(() => log.append({ ...eventFor(S, 6), seq: Number.NaN })).toThrow(RangeError);
    expect(log.position()).toMatchObject({ oldest: 5, head: 5 });
    log.append(eventFor(S, 6));
    expect(log.readAfter(0, 10).map((e) => e.seq)).toEqual([5, 6]);
  });

  test("empty, unicode and escaped data round-trip byte for byte", () => {
    const log = open().get(S);
    const datas = ["", '{"a":"é€😀\\u0000\\n"}', "\u{10FFFF}x", "\uD800 lone surrogate", "a".repeat(3000)];
    datas.forEach((data, i) => log.append({ ...eventFor(S, i + 1), data }));
    const want = datas.map((d) => (d.includes("\uD800") ? d.replace("\uD800", "\uFFFD") : d));
    expect(log.readAfter(0, 10).map((e) => e.data)).toEqual(want);
  });

  test("count bound: oldest advances past maxEvents", () => {
    const log = open({ maxEvents: 10 }).get(S);
    for (let seq = 1; seq <= 100; seq++) log.append(eventFor(S, seq));
    expect(log.position()).toMatchObject({ oldest: 91, head: 100 });
    expect(expectRun(log.readAfter(0, 100), S, 91, 100)).toBeUndefined();
  });

  test("wrap-around: segments are reused in a ring, oldest advances, a stale position is detectable", () => {
    const segmentBytes = 4096;
    const log = open({ segments: 4, segmentBytes }).get(S);
    const n = 2000;
    for (let seq = 1; seq <= n; seq++) log.append(eventFor(S, seq));
    const p = log.position();
    expect(p.head).toBe(n);
    expect(p.oldest).toBeGreaterThan(1);
    const held = log.readAfter(0, n);
    expect(expectRun(held, S, p.oldest, n)).toBeUndefined();
    // Between 3 and 4 segments' worth of bytes are held.
    const bytes = held.reduce((a, e) => a + ((48 + Buffer.byteLength(e.data) + 7) & ~7), 0);
    expect(bytes).toBeLessThanOrEqual(4 * (segmentBytes - 64));
    expect(bytes).toBeGreaterThan(3 * (segmentBytes - 64) - 400);
    // A client that last saw seq 5 cannot be resumed: the next event it needs is gone.
    const afterSeq = 5;
    expect(p.oldest).toBeGreaterThan(afterSeq + 1);
    expect(log.readAfter(afterSeq, 1)[0]!.seq).toBe(p.oldest);
  });

  test("an event larger than a segment is refused and the log stays usable", () => {
    const log = open({ segmentBytes: 4096 }).get(S);
    log.append(eventFor(S, 1));
    expect(() => log.append({ ...eventFor(S, 2), data: "y".repeat(5000) })).toThrow(/exceeds segment capacity/);
    // Fits only after the exact (not worst-case) size check: 1300 x 3-byte chars would not.
    log.append({ ...eventFor(S, 2), data: "z".repeat(3900) });
    log.append(eventFor(S, 3));
    expect(log.readAfter(0, 10).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(log.readAfter(1, 1)[0]!.data).toBe("z".repeat(3900));
  });

  test("a closed store's logs refuse use", () => {
    const store = open();
    const log = store.get(S);
    log.append(eventFor(S, 1));
    store.close();
    store.close();
    expect(() => log.append(eventFor(S, 2))).toThrow(/closed/);
    expect(() => log.readAfter(0, 1)).toThrow(/closed/);
    expect(() => store.get("other")).toThrow(/closed/);
    expect(dataFor(1)).toBe(eventFor(S, 1).data);
  });
});
