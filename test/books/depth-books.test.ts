import { describe, expect, test } from "bun:test";
import { crc32 } from "../../protocol/book/book-checksum.ts";
import type { DepthData } from "../../protocol/frames.ts";
import { DepthBooks } from "../../src/books/depth-books.ts";
import { DepthViews } from "../../src/books/depth-views.ts";
import { openLogStore } from "../../src/log/open-log-store.ts";

/** Stamps and logs `data` on `stream`, as EventPipeline.commit does. */
function commit(books: DepthBooks, logs: ReturnType<typeof openLogStore>, stream: string, data: unknown): DepthData | string {
  const s = books.stamp(stream, JSON.stringify(data), 1000);
  if ("skip" in s) return s.skip;
  const log = logs.get(stream);
  const head = log.position().head;
  log.append({ stream, seq: head + 1, prev: head, data: s.data, sourceTs: 0, gatewayTs: 0 });
  return s.payload;
}

describe("gateway books", () => {
  test("updates are stamped with U/u and the checksum of the book after them", () => {
    const logs = openLogStore({ kind: "memory", maxEvents: 100 });
    const books = new DepthBooks(logs, 25);
    commit(books, logs, "depth.x", { type: "snapshot", bids: [["10", "1"]], asks: [["11", "2"]], firstUpdateId: 5, lastUpdateId: 5 });
    const p = commit(books, logs, "depth.x", { bids: [["10", "0"], ["9.5", "3"]], asks: [], firstUpdateId: 6, lastUpdateId: 8 }) as DepthData;
    expect(p).toMatchObject({ type: "update", firstUpdateId: 6, lastUpdateId: 8, timestamp: 1000 });
    expect(p.checksum).toBe(crc32("9.5:3:11:2"));
    // A stale update (u <= the book's u) is dropped; malformed ones never touch the book.
    expect(commit(books, logs, "depth.x", { bids: [["1", "1"]], asks: [], firstUpdateId: 7, lastUpdateId: 8 })).toBe("duplicate");
    expect(commit(books, logs, "depth.x", { bids: [["1", "-1"]], asks: [] })).toBe("malformed");
    expect(commit(books, logs, "depth.x", { bids: [[1, "1"]], asks: [] })).toBe("malformed");
    expect(books.book("depth.x").top()).toEqual({ bids: [["9.5", "3"]], asks: [["11", "2"]] });
    // Ids left out are numbered by the gateway.
    expect(commit(books, logs, "depth.x", { bids: [], asks: [["12", "1"]] })).toMatchObject({ firstUpdateId: 9, lastUpdateId: 9 });
  });

  test("a book is rebuilt from its log (a restarted gateway), and snapshots follow the log head", () => {
    const logs = openLogStore({ kind: "memory", maxEvents: 1000 });
    const a = new DepthBooks(logs, 25);
    commit(a, logs, "depth.x", { type: "snapshot", bids: [["10", "1"]], asks: [["11", "2"]], lastUpdateId: 1 });
    for (let i = 0; i < 200; i++) commit(a, logs, "depth.x", { bids: [[(9 - (i % 7) / 10).toFixed(1), String(i % 3)]], asks: [[(12 + (i % 5) / 10).toFixed(1), String(i % 4)]] });
    const b = new DepthBooks(logs, 25);
    expect(b.book("depth.x").top()).toEqual(a.book("depth.x").top());
    expect(b.book("depth.x").lastUpdateId).toBe(a.book("depth.x").lastUpdateId);
    const snap = b.snapshotEvent("depth.x");
    expect(snap.seq).toBe(logs.get("depth.x").position().head);
    expect(JSON.parse(snap.data)).toMatchObject({ type: "snapshot", checksum: a.book("depth.x").checksum(), lastUpdateId: a.book("depth.x").lastUpdateId });
    expect(b.snapshotEvent("depth.x")).toBe(snap); // one object per head
  });

  test("views: depthN is the top N; @100ms conflates a window and stays continuous with the same checksum", () => {
    const logs = openLogStore({ kind: "memory", maxEvents: 10_000 });
    const books = new DepthBooks(logs, 25);
    const out: { stream: string; p: DepthData }[] = [];
    const views = new DepthViews((s) => books.book(s), (stream, data) => {
      const p = commit(books, logs, stream, JSON.parse(data));
      if (typeof p !== "string") out.push({ stream, p });
    });
    const feed = (d: unknown) => {
      const p = commit(books, logs, "depth.x", d);
      if (typeof p !== "string") views.onDepth("depth.x", p);
    };
    feed({ type: "snapshot", bids: [["10", "1"], ["9", "1"]], asks: [["11", "1"]], lastUpdateId: 1 });
    views.flush();
    for (let i = 0; i < 50; i++) {
      feed({ bids: [[(8 + (i % 10) / 10).toFixed(1), String(i % 3)]], asks: [[(11 + (i % 6) / 10).toFixed(1), String((i + 1) % 3)]] });
      if (i % 10 === 9) views.flush();
    }
    views.stop();
    const full = books.book("depth.x");
    expect(books.book("depth5.x").top()).toEqual(full.top(5));
    expect(books.book("depth20.x").top()).toEqual(full.top(20));
    const thr = out.filter((o) => o.stream === "depth.x@100ms").map((o) => o.p);
    expect(thr[0]!.type).toBe("snapshot");
    for (let i = 1; i < thr.length; i++) expect(thr[i]!.firstUpdateId).toBe(thr[i - 1]!.lastUpdateId + 1);
    expect(thr.length).toBe(6);
    expect(thr.at(-1)!.checksum).toBe(full.checksum());
    expect(books.book("depth.x@100ms").top()).toEqual(full.top());
    for (const o of out.filter((o) => o.stream === "depth5.x")) expect(o.p.type).toBe("snapshot");
  });
});
