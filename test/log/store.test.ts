import { afterEach, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import type { LogStoreOptions } from "../../src/log/log-options.ts";
import type { LogStore } from "../../src/log/log-store.ts";
import { MemoryLogStore } from "../../src/log/memory-log-store.ts";
import { MmapLogStore } from "../../src/log/mmap-log-store.ts";
import { openLogStore } from "../../src/log/open-log-store.ts";
import type { RingLog } from "../../src/log/ring-log.ts";
import { streamDirName } from "../../src/log/stream-dir.ts";
import { eventFor, expectRun, tempDir } from "./helpers.ts";

const dirs: string[] = [];
const stores: LogStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function newDir(): string {
  const d = tempDir("store");
  dirs.push(d);
  return d;
}
function track<T extends LogStore>(s: T): T {
  stores.push(s);
  return s;
}

const kinds: [string, (o: LogStoreOptions) => LogStore][] = [
  ["mmap", (o) => track(new MmapLogStore({ dir: newDir(), ...o }))],
  ["mmap, files created in the background", (o) => track(new MmapLogStore({ dir: newDir(), createInBackground: true, ...o }))],
  ["memory", (o) => track(new MemoryLogStore(o))],
];

for (const [kind, make] of kinds) {
  describe(`LogStore contract (${kind})`, () => {
    test("get creates, find does not, streams lists", () => {
      const store = make({});
      expect(store.find("a.b")).toBeUndefined();
      expect(store.streams()).toEqual([]);
      const log = store.get("a.b");
      expect(store.get("a.b")).toBe(log);
      expect(store.find("a.b")).toBe(log);
      expect(store.streams()).toEqual(["a.b"]);
      expect(() => store.get("")).toThrow();
    });

    test("bounds, order and positions behave the same", () => {
      const store = make({ maxEvents: 50 });
      const log = store.get("x");
      for (let seq = 1; seq <= 120; seq++) log.append(eventFor("x", seq));
      expect(log.position()).toMatchObject({ oldest: 71, head: 120 });
      expect(expectRun(log.readAfter(0, 500), "x", 71, 120)).toBeUndefined();
      expect(expectRun(log.readAfter(99, 3), "x", 100, 102)).toBeUndefined();
      expect(log.latest()).toEqual(eventFor("x", 120));
      expect(() => log.append(eventFor("x", 120))).toThrow(RangeError);
    });

    test("epochFor applies", () => {
      const store = make({ epochFor: (s) => (s === "fixed" ? "src:k" : undefined) });
      expect(store.get("fixed").position().epoch).toBe("src:k");
      expect(store.get("other").position().epoch).not.toBe("src:k");
    });
  });
}

describe("MmapLogStore with many streams", () => {
  test("hundreds of streams: no file descriptor per mapping, all recovered after reopen", () => {
    const dir = newDir();
    const opts = { dir, segments: 4, segmentBytes: 8192 };
    const names = Array.from({ length: 300 }, (_, i) => `trades.pair_${i}`);
    const fdsBefore = fs.readdirSync("/proc/self/fd").length;
    const store = new MmapLogStore(opts);
    for (const [i, name] of names.entries()) {
      const log = store.get(name);
      for (let seq = 1; seq <= 20 + (i % 7); seq++) log.append(eventFor(name, seq));
    }
    // 1,200 segments are mapped, yet Bun closed every descriptor right after mmap().
    expect(fs.readdirSync("/proc/self/fd").length).toBeLessThanOrEqual(fdsBefore + 2);
    const maps = fs.readFileSync("/proc/self/maps", "utf8").split("\n").filter((l) => l.includes(dir));
    expect(maps.length).toBeGreaterThanOrEqual(300 * 4);
    store.close();

    const again = track(new MmapLogStore(opts));
    expect(again.streams().sort()).toEqual([...names].sort());
    for (const [i, name] of names.entries()) {
      const log = again.find(name)!;
      expect(expectRun(log.readAfter(0, 100), name, 1, 20 + (i % 7))).toBeUndefined();
    }
  });

  test("stream names are sanitized injectively and never escape the directory", () => {
    const dir = newDir();
    const names = ["a/b", "a%2Fb", "..", ".", ".hidden", "x y", "ünï", "ok.name_1-2", "a".repeat(300), `${"a".repeat(300)}b`];
    const store = track(new MmapLogStore({ dir, segments: 2, segmentBytes: 4096 }));
    names.forEach((n, i) => store.get(n).append(eventFor(n, i + 1)));
    const entries = fs.readdirSync(dir).filter((e) => !e.startsWith(".lock"));
    expect(entries.length).toBe(names.length);
    expect(new Set(names.map(streamDirName)).size).toBe(names.length);
    for (const e of entries) expect(e.length).toBeLessThanOrEqual(200);
    expect(streamDirName("ok.name_1-2")).toBe("ok.name_1-2");
    expect(streamDirName("..")).toBe("%2E.");
    expect(fs.existsSync(path.join(dir, "ok.name_1-2", "seg-001.log"))).toBe(true);
    expect(store.streams().sort()).toEqual([...names].sort());
  });
});

test("openLogStore: mmap by default, memory on request", () => {
  const dir = newDir();
  const mmap = track(openLogStore({ dir }));
  expect(mmap).toBeInstanceOf(MmapLogStore);
  expect(track(openLogStore({ kind: "memory" }))).toBeInstanceOf(MemoryLogStore);
  expect(() => openLogStore({ dir: newDir(), segments: 1 })).toThrow(RangeError);
});

test("the periodic sync writes segments back off the hot path", async () => {
  const store = track(new MmapLogStore({ dir: newDir(), syncIntervalMs: 10, segments: 2, segmentBytes: 4096 }));
  const log = store.get("s") as RingLog;
  for (let seq = 1; seq <= 100; seq++) log.append(eventFor("s", seq));
  expect(log.unsynced()).toBeDefined();
  const deadline = Date.now() + 5000;
  while (log.unsynced() !== undefined && Date.now() < deadline) await Bun.sleep(10);
  expect(log.unsynced()).toBeUndefined();
  expect(store.lastSyncError).toBeUndefined();
});

test("sizeFor gives particular streams their own log size", () => {
  const dir = tempDir("size");
  const store = new MmapLogStore({ dir, sizeFor: (s) => (s.startsWith("orders.") ? { segments: 2, segmentBytes: 8192, maxEvents: 3 } : undefined) });
  try {
    const small = store.get("orders.u1");
    const big = store.get("trades.btc_usdt");
    for (let i = 1; i <= 10; i++) {
      small.append({ stream: "orders.u1", seq: i, prev: i - 1, data: "{}", sourceTs: 0, gatewayTs: 0 });
      big.append({ stream: "trades.btc_usdt", seq: i, prev: i - 1, data: "{}", sourceTs: 0, gatewayTs: 0 });
    }
    expect(small.position().oldest).toBe(8);
    expect(big.position().oldest).toBe(1);
    const segs = fs.readdirSync(path.join(dir, streamDirName("orders.u1"))).filter((f) => f.startsWith("seg"));
    expect(segs.length).toBe(2);
    for (const f of segs) expect(fs.statSync(path.join(dir, streamDirName("orders.u1"), f)).size).toBe(8192);
  } finally {
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
