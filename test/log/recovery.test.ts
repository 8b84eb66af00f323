import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { bootId } from "../../src/log/dir-lock.ts";
import type { LogStoreOptions } from "../../src/log/log-options.ts";
import { MmapLogStore } from "../../src/log/mmap-log-store.ts";
import { streamDirName } from "../../src/log/stream-dir.ts";
import { eventFor, expectRun, patchFile, readBytes, scanRecords, tempDir } from "./helpers.ts";

const S = "trades.eth_usdt";
const SMALL: LogStoreOptions = { segments: 4, segmentBytes: 8192, maxEvents: 100_000 };
const dirs: string[] = [];
const open: MmapLogStore[] = [];

function newDir(): string {
  const d = tempDir("recovery");
  dirs.push(d);
  return d;
}
function openStore(dir: string, opts: LogStoreOptions = SMALL): MmapLogStore {
  const s = new MmapLogStore({ ...opts, dir });
  open.push(s);
  return s;
}
/** Fills a closed store at `dir` with seqs 1..n and returns where its records are. */
function filled(dir: string, n: number, opts: LogStoreOptions = SMALL) {
  const store = openStore(dir, opts);
  const log = store.get(S);
  for (let seq = 1; seq <= n; seq++) log.append(eventFor(S, seq));
  const before = { position: log.position(), events: log.readAfter(0, n) };
  store.close();
  return { before, spots: scanRecords(path.join(dir, streamDirName(S))) };
}
afterEach(() => {
  for (const s of open.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe("recovery", () => {
  test("close and reopen recovers the wrapped log exactly; appends continue", () => {
    const dir = newDir();
    const { before } = filled(dir, 1000);
    expect(before.position.oldest).toBeGreaterThan(1);

    const store = openStore(dir);
    expect(store.previousShutdown).toBe("clean");
    expect(store.streams()).toEqual([S]);
    const log = store.find(S)!;
    expect(log.position()).toEqual(before.position);
    expect(log.readAfter(0, 2000)).toEqual(before.events);
    expect(log.latest()).toEqual(eventFor(S, 1000));
    for (let seq = 1001; seq <= 1500; seq++) log.append(eventFor(S, seq));
    const p = log.position();
    store.close();

    const again = openStore(dir).get(S);
    expect(again.position()).toEqual(p);
    expect(expectRun(again.readAfter(0, 2000), S, p.oldest, 1500)).toBeUndefined();
  });

  test("a smaller maxEvents applies on recovery", () => {
    const dir = newDir();
    filled(dir, 300);
    const log = openStore(dir, { ...SMALL, maxEvents: 50 }).get(S);
    expect(log.position()).toMatchObject({ oldest: 251, head: 300 });
  });

  const torn: [string, (s: { off: number; end: number }) => [number, Uint8Array]][] = [
    ["one flipped data byte", (s) => [s.off + 60, new Uint8Array([0x7e])]],
    ["second half never written", (s) => [s.off + ((s.end - s.off) >> 1), new Uint8Array((s.end - s.off) >> 1)]],
    ["checksum not yet stored", (s) => [s.off + 4, new Uint8Array(4)]],
    ["length field torn", (s) => [s.off, new Uint8Array([0xff, 0xff, 0, 0])]],
  ];
  for (const [name, corrupt] of torn) {
    test(`a torn record at the tail is dropped (${name}) and the log goes on`, () => {
      const dir = newDir();
      const { spots } = filled(dir, 400);
      const last = spots.at(-1)!;
      expect(last.seq).toBe(400);
      const [at, bytes] = corrupt(last);
      patchFile(last.path, at, bytes);

      const store = openStore(dir);
      const log = store.get(S);
      const p = log.position();
      expect(p.head).toBe(399);
      expect(expectRun(log.readAfter(0, 1000), S, p.oldest, 399)).toBeUndefined();
      log.append(eventFor(S, 400));
      log.append(eventFor(S, 401));
      store.close();
      const again = openStore(dir).get(S);
      expect(expectRun(again.readAfter(0, 1000), S, p.oldest, 401)).toBeUndefined();
    });
  }

  test("bytes after the last record are never read as records (an old record of the same turn, garbage)", () => {
    const dir = newDir();
    const { spots, before } = filled(dir, 400);
    const last = spots.at(-1)!;
    // A byte-exact copy of an earlier record of the same turn: its checksum is valid, but seq goes back.
    const earlier = spots.at(-3)!;
    expect(earlier.gen).toBe(last.gen);
    patchFile(last.path, last.end, readBytes(earlier.path, earlier.off, earlier.end - earlier.off));
    const store = openStore(dir);
    expect(store.get(S).position()).toEqual(before.position);
    store.close();

    patchFile(last.path, last.end, crypto.getRandomValues(new Uint8Array(256)));
    const log = openStore(dir).get(S);
    expect(log.position()).toEqual(before.position);
    expect(log.readAfter(0, 1000)).toEqual(before.events);
  });

  test("a hole in an older segment (lost page after a machine crash) drops everything before it", () => {
    const dir = newDir();
    const { spots, before } = filled(dir, 400);
    const oldestGen = spots[0]!.gen;
    const inOldest = spots.filter((s) => s.gen === oldestGen);
    const victim = inOldest[inOldest.length >> 1]!;
    patchFile(victim.path, victim.off + 50, new Uint8Array(8));
    const firstAfterHole = spots.find((s) => s.gen === oldestGen + 1)!.seq;

    const log = openStore(dir).get(S);
    expect(log.position()).toMatchObject({ epoch: before.position.epoch, oldest: firstAfterHole, head: 400 });
    expect(expectRun(log.readAfter(0, 1000), S, firstAfterHole, 400)).toBeUndefined();
  });

  test("after a process crash (lock of a dead pid, same boot) the epoch stays", () => {
    const dir = newDir();
    const { before } = filled(dir, 100);
    fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: 2 ** 22 + 12345, bootId: bootId(), startTime: "1" }));
    const store = openStore(dir);
    expect(store.previousShutdown).toBe("process-crash");
    expect(store.get(S).position()).toEqual(before.position);
  });

  test("after a machine crash a random epoch is replaced, the tail is cleared, data is kept", () => {
    const dir = newDir();
    const { before, spots } = filled(dir, 400);
    const last = spots.at(-1)!;
    // A record that outlived a lost page: valid for this turn, but not reachable from the last one.
    const planted = (last.end + 1024) & ~7;
    patchFile(last.path, planted, readBytes(last.path, last.off, last.end - last.off));
    fs.writeFileSync(path.join(dir, ".lock"), JSON.stringify({ pid: process.pid, bootId: "some-earlier-boot", startTime: "1" }));

    const store = openStore(dir);
    expect(store.previousShutdown).toBe("machine-crash");
    const log = store.find(S)!;
    const p = log.position();
    expect(p.epoch).not.toBe(before.position.epoch);
    expect({ oldest: p.oldest, head: p.head }).toEqual({ oldest: before.position.oldest, head: 400 });
    expect(log.readAfter(0, 1000)).toEqual(before.events);
    expect(readBytes(last.path, last.end, 2048).every((b) => b === 0)).toBe(true);
    store.close();
    expect(openStore(dir).get(S).position().epoch).toBe(p.epoch);
  });

  test("after a machine crash a fixed (source) epoch is kept", () => {
    const dir = newDir();
    const opts = { ...SMALL, epochFor: () => "src:kafka-main" };
    const { before } = filled(dir, 100, opts);
    fs.writeFileSync(path.join(dir, ".lock"), "{torn");
    const store = openStore(dir, opts);
    expect(store.previousShutdown).toBe("machine-crash");
    expect(store.get(S).position()).toEqual(before.position);
  });

  test("a directory in use is refused", () => {
    const dir = newDir();
    openStore(dir);
    expect(() => new MmapLogStore({ ...SMALL, dir })).toThrow(/already open in this process/);
    const other = newDir();
    const ppid = process.ppid;
    const stat = fs.readFileSync(`/proc/${ppid}/stat`, "utf8");
    const startTime = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
    fs.writeFileSync(path.join(other, ".lock"), JSON.stringify({ pid: ppid, bootId: bootId(), startTime }));
    expect(() => new MmapLogStore({ ...SMALL, dir: other })).toThrow(new RegExp(`in use by pid ${ppid}`));
  });
});
