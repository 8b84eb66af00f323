import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import type { LogStoreOptions } from "../../src/log/log-options.ts";
import { MmapLogStore } from "../../src/log/mmap-log-store.ts";
import { eventFor, tempDir } from "./helpers.ts";

const S = "book.btc_usdt";
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function newDir(): string {
  const d = tempDir("epoch");
  dirs.push(d);
  return d;
}
/** Opens the store, runs `fn` on the stream's log, closes; returns the epoch and head it saw. */
function withLog(dir: string, opts: LogStoreOptions, fn: (append: (seq: number) => void) => void = () => {}) {
  const store = new MmapLogStore({ ...opts, dir, segmentBytes: 4096, segments: 2 });
  try {
    const log = store.get(S);
    fn((seq) => log.append(eventFor(S, seq)));
    const { epoch, head } = log.position();
    return { epoch, head };
  } finally {
    store.close();
  }
}

test("a random epoch persists across reopen and changes when the directory is wiped", () => {
  const dir = newDir();
  const a = withLog(dir, {}, (append) => append(1));
  expect(withLog(dir, {})).toEqual({ epoch: a.epoch, head: 1 });
  fs.rmSync(dir, { recursive: true });
  const b = withLog(dir, {});
  expect(b.head).toBe(0);
  expect(b.epoch).not.toBe(a.epoch);
});

test("epochs are per stream log and differ between logs", () => {
  const store = new MmapLogStore({ dir: newDir(), segmentBytes: 4096, segments: 2 });
  try {
    expect(store.get("a").position().epoch).not.toBe(store.get("b").position().epoch);
  } finally {
    store.close();
  }
});

test("a fixed epoch from epochFor is used and kept; the same on every gateway", () => {
  const epochFor = (s: string) => (s.startsWith("book.") ? "src:kafka-main" : undefined);
  const d1 = newDir();
  const d2 = newDir();
  expect(withLog(d1, { epochFor }, (append) => append(7)).epoch).toBe("src:kafka-main");
  expect(withLog(d2, { epochFor }).epoch).toBe("src:kafka-main");
  expect(withLog(d1, { epochFor })).toEqual({ epoch: "src:kafka-main", head: 7 });
});

test("changing the configured epoch resets the log under the new one", () => {
  const dir = newDir();
  withLog(dir, { epochFor: () => "src:a" }, (append) => append(1));
  expect(withLog(dir, { epochFor: () => "src:b" })).toEqual({ epoch: "src:b", head: 0 });
  withLog(dir, { epochFor: () => "src:b" }, (append) => append(5));
  // Dropping the fixed epoch: the gateway numbers the stream now, so it needs a fresh random epoch.
  const r = withLog(dir, {});
  expect(r.head).toBe(0);
  expect(r.epoch).toMatch(/^[0-9a-f]{16}$/);
});

test("a lost meta file resets the log under a new epoch; its old segments are not read", () => {
  const dir = newDir();
  const a = withLog(dir, {}, (append) => {
    for (let s = 1; s <= 10; s++) append(s);
  });
  fs.rmSync(`${dir}/${S}/meta.json`);
  const b = withLog(dir, {});
  expect(b.head).toBe(0);
  expect(b.epoch).not.toBe(a.epoch);
});
