/** MmapLogStore with createInBackground: a new log's files are made on a worker thread. */
import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { MmapLogStore } from "../../src/log/mmap-log-store.ts";
import { PendingLog } from "../../src/log/pending-log.ts";
import { RingLog } from "../../src/log/ring-log.ts";
import { readMeta, streamDirName } from "../../src/log/stream-dir.ts";
import { until } from "../helpers/until.ts";
import { eventFor, expectRun, tempDir } from "./helpers.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function newDir(): string {
  const d = tempDir("bg");
  dirs.push(d);
  return d;
}

test("a new log serves its first events from memory, then from its files, one epoch throughout", async () => {
  const dir = newDir();
  const store = new MmapLogStore({ dir, createInBackground: true });
  const log = store.get("trades.new");
  // get() returned at once, before any file exists: the events wait in memory.
  expect(log).toBeInstanceOf(PendingLog);
  const epoch = log.position().epoch;
  for (let s = 1; s <= 50; s++) log.append(eventFor("trades.new", s));
  expect(expectRun(log.readAfter(0, 100), "trades.new", 1, 50)).toBeUndefined();
  await until(() => store.settled, 10_000, "files created");
  expect(store.get("trades.new")).toBeInstanceOf(RingLog);
  // The reference taken before the switch keeps working, now over the RingLog.
  for (let s = 51; s <= 60; s++) log.append(eventFor("trades.new", s));
  expect(expectRun(store.get("trades.new").readAfter(0, 100), "trades.new", 1, 60)).toBeUndefined();
  expect(store.get("trades.new").position()).toEqual({ epoch, oldest: 1, head: 60 });
  store.close();
  const again = new MmapLogStore({ dir });
  expect(expectRun(again.get("trades.new").readAfter(0, 100), "trades.new", 1, 60)).toBeUndefined();
  expect(again.get("trades.new").position().epoch).toBe(epoch);
  again.close();
});

test("close() while files are still being made writes them inline: nothing buffered is lost", () => {
  const dir = newDir();
  const store = new MmapLogStore({ dir, createInBackground: true });
  const names = Array.from({ length: 20 }, (_, i) => `trades.p${i}`);
  for (const n of names) for (let s = 1; s <= 5; s++) store.get(n).append(eventFor(n, s));
  store.close(); // at once: most are still pending
  const again = new MmapLogStore({ dir });
  for (const n of names) {
    expect(readMeta(path.join(dir, streamDirName(n)))?.stream).toBe(n);
    expect(expectRun(again.get(n).readAfter(0, 10), n, 1, 5)).toBeUndefined();
  }
  again.close();
});

test("existing logs still open inline; the stream limit still applies to new ones", () => {
  const dir = newDir();
  const first = new MmapLogStore({ dir });
  first.get("a.b").append(eventFor("a.b", 1));
  first.close();
  const store = new MmapLogStore({ dir, createInBackground: true, maxStreams: 2 });
  expect(store.get("a.b")).toBeInstanceOf(RingLog);
  store.get("c.d");
  expect(() => store.get("e.f")).toThrow(/refused/);
  expect(store.size).toBe(2);
  store.close();
});
