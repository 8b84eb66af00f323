/**
 * The typed client's order book: equal to the gateway's after thousands of random updates across
 * a gateway restart (SIGTERM, 1012) and a kill -9 (a reconnect either way), in both formats; a
 * corrupted update or a gap is caught, re-snapshotted and reported.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { GatewayClient, OrderBook, type BookResyncInfo, type Format } from "../../clients/ts/index.ts";
import { bookChecksum, pairLevels } from "../../protocol/book/book-checksum.ts";
import type { DepthData } from "../../protocol/frames.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import { encodeDataFrameFb } from "../../src/codec/flatbuffers-codec.ts";
import { encodeDataFrameJson } from "../../src/codec/json-codec.ts";
import { FakeWebSocket } from "./helpers/fake-ws.ts";
import { freePort, GatewayProcess, signToken, tempLogDir, until } from "./helpers/gateway-process.ts";

const procs: GatewayProcess[] = [];
afterAll(async () => {
  for (const p of procs) {
    await p.stop("SIGKILL");
    fs.rmSync(p.opts.logDir, { recursive: true, force: true });
  }
});

/** A producer's book: random changes on a price grid, with U/u; `truth` is what it holds. */
class Producer {
  readonly truth = new OrderBook();
  private u = 0;
  update(): Record<string, unknown> {
    const bids: [string, string][] = [];
    const asks: [string, string][] = [];
    for (let k = 1 + Math.floor(Math.random() * 4); k > 0; k--) {
      const buy = Math.random() < 0.5;
      const price = (buy ? 100 - Math.random() * 5 : 100.1 + Math.random() * 5).toFixed(1);
      const qty = Math.random() < 0.3 ? "0" : (0.001 + Math.random() * 9).toFixed(3);
      (buy ? bids : asks).push([price, qty]);
    }
    const first = this.u + 1;
    this.u += 1 + Math.floor(Math.random() * 2);
    this.truth.apply({ bids, asks }, this.u);
    return { bids, asks, firstUpdateId: first, lastUpdateId: this.u };
  }
  snapshot(): Record<string, unknown> {
    const top = this.truth.top();
    this.u++;
    return { type: "snapshot", ...top, firstUpdateId: this.u, lastUpdateId: this.u };
  }
  get lastUpdateId(): number {
    return this.u;
  }
}

async function publishUpdates(gw: GatewayProcess, stream: string, p: Producer, n: number): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    const batch = Array.from({ length: Math.min(50, n - i) }, (_, k) => ({ stream, data: i + k === 400 ? p.snapshot() : p.update() }));
    await gw.publish(batch);
  }
}

/** The gateway's book as a new subscriber gets it: its snapshot frame. */
async function gatewayBook(gw: GatewayProcess, stream: string, format: Format): Promise<OrderBook> {
  const c = new GatewayClient({ url: gw.wsUrl, format, token: await signToken("fresh"), heartbeat: false });
  const sub = c.book(stream);
  c.connect();
  await until(() => sub.synced, "fresh client synced");
  c.close();
  return sub.book;
}

for (const format of ["json", "fb"] as Format[]) {
  describe(`client book (${format})`, () => {
    test("equals the gateway's book after thousands of random updates, a restart and a kill -9", async () => {
      const gw = new GatewayProcess({ port: freePort(), logDir: tempLogDir(`book-${format}`), env: { LOG_MAX_EVENTS: "100000" } });
      procs.push(gw);
      await gw.start(30_000);
      const S = "depth.t_usdt";
      const p = new Producer();
      const resyncs: BookResyncInfo[] = [];
      const client = new GatewayClient({ url: gw.wsUrl, format, token: await signToken("booker"), heartbeat: false });
      client.on("bookResync", (i) => resyncs.push(i));
      let changes = 0;
      const sub = client.book(S, () => changes++);
      client.connect();
      await sub.ready;
      await publishUpdates(gw, S, p, 1500);
      await until(() => sub.book.lastUpdateId === p.lastUpdateId, "caught up before the restart", 30_000);

      await gw.restart("SIGTERM"); // drains with 1012: the client reconnects and resumes
      await publishUpdates(gw, S, p, 1000);
      await until(() => sub.book.lastUpdateId === p.lastUpdateId && sub.synced, "caught up after the restart", 30_000);

      await gw.restart("SIGKILL"); // no close frame: the client notices, reconnects, resumes
      await publishUpdates(gw, S, p, 1000);
      await until(() => sub.book.lastUpdateId === p.lastUpdateId && sub.synced, "caught up after kill -9", 30_000);

      expect(client.stats.connects).toBeGreaterThanOrEqual(3);
      expect(sub.book.top()).toEqual(p.truth.top());
      const fresh = await gatewayBook(gw, S, format);
      expect(fresh.top()).toEqual(sub.book.top());
      expect(fresh.checksum()).toBe(sub.book.checksum());
      expect(changes).toBeGreaterThanOrEqual(3500);
      expect(resyncs).toEqual([]); // nothing lost or corrupted on the way: no re-snapshot needed
      client.close();
    }, 180_000);
  });
}

// ---- corrupted and missing updates, against a scripted server ------------------------------------

const S = "depth.x";
function frame(format: Format, seq: number, data: DepthData): string | Uint8Array {
  const ev: StreamEvent = { stream: S, seq, prev: seq - 1, data: JSON.stringify(data), sourceTs: 0, gatewayTs: 0 };
  return format === "json" ? encodeDataFrameJson(ev) : encodeDataFrameFb(ev);
}
function depth(type: "snapshot" | "update", bids: [string, string][], asks: [string, string][], U: number, u: number, book: OrderBook): DepthData {
  return { type, bids, asks, firstUpdateId: U, lastUpdateId: u, checksum: book.checksum(), timestamp: 1 };
}

for (const format of ["json", "fb"] as Format[]) {
  describe(`client book checks (${format})`, () => {
    test("a corrupted update is caught by the checksum, re-snapshotted and reported; so is a gap", () => {
      FakeWebSocket.reset();
      const c = new GatewayClient({ url: "ws://x/ws", format, WebSocket: FakeWebSocket as never, heartbeat: false });
      const resyncs: BookResyncInfo[] = [];
      c.on("bookResync", (i) => resyncs.push(i));
      const sub = c.book(S);
      c.connect();
      const ws = FakeWebSocket.last;
      ws.open();
      ws.deliver({ event: "subscribed", streams: [S], epochs: { [S]: "e" } });
      const truth = new OrderBook();
      truth.reset({ bids: [["10.0", "1.5"], ["9.9", "2"]], asks: [["10.1", "3"]] }, 10);
      ws.deliver(frame(format, 5, depth("snapshot", truth.top().bids, truth.top().asks, 10, 10, truth)));
      expect(sub.synced).toBe(true);

      truth.apply({ bids: [["9.9", "0"]], asks: [["10.2", "4"]] }, 11);
      ws.deliver(frame(format, 6, depth("update", [["9.9", "0"]], [["10.2", "4"]], 11, 11, truth)));
      expect(sub.synced).toBe(true);
      expect(sub.book.top()).toEqual(truth.top());

      // The wire lost a digit of a qty: the checksum (of the true book) no longer matches.
      truth.apply({ bids: [["10.0", "1.25"]], asks: [] }, 12);
      const good = depth("update", [["10.0", "1.25"]], [], 12, 12, truth);
      ws.deliver(frame(format, 7, { ...good, bids: [["10.0", "1.2"]] }));
      expect(sub.synced).toBe(false);
      expect(resyncs).toEqual([{ stream: S, reason: "checksum", seq: 7, expected: truth.checksum(), got: expect.any(Number) as never }]);
      const ask = ws.requests("subscribe").at(-1)!;
      expect(ask.streams).toEqual([S]);
      // Diffs before the new snapshot are ignored; the snapshot restores the book.
      ws.deliver(frame(format, 8, depth("update", [], [["10.3", "1"]], 13, 13, truth)));
      expect(sub.synced).toBe(false);
      truth.apply({ bids: [], asks: [["10.3", "1"]] }, 13);
      ws.deliver(frame(format, 8, depth("snapshot", truth.top().bids, truth.top().asks, 13, 13, truth)));
      expect(sub.synced).toBe(true);
      expect(sub.book.top()).toEqual(truth.top());
      expect(sub.book.checksum()).toBe(bookChecksum(pairLevels(truth.top().bids), pairLevels(truth.top().asks)));

      // U that does not follow u: a gap in the book's updates.
      ws.deliver(frame(format, 9, depth("update", [], [["10.4", "1"]], 15, 15, truth)));
      expect(sub.synced).toBe(false);
      expect(resyncs.at(-1)).toEqual({ stream: S, reason: "gap", seq: 9, expected: 14, got: 15 });
      expect(c.stats.bookResyncs).toBe(2);
      c.close();
    });
  });
}
