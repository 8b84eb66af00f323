/**
 * The gateway's book of every depth-family stream it serves. Each depth event is applied to its
 * stream's book before it is logged, and the logged data is rewritten to the wire contract: type,
 * levels, U/u, the checksum of the book after it, timestamp (docs/protocol.md, "Order books").
 * A book is rebuilt from its stream's log the first time it is needed (after a restart), so a
 * snapshot sent to a new subscriber always equals the log's head.
 */
import type { DepthPayload } from "../../protocol/book/depth-payload.ts";
import { OrderBook } from "../../protocol/book/order-book.ts";
import type { LogStore } from "../log/log-store.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import { parseDepthInput } from "./depth-input.ts";

/** Events read per chunk while rebuilding a book from a log. */
const REBUILD_CHUNK = 5000;

/** One stream's book and what the gateway last said about it. */
interface StreamBook {
  book: OrderBook;
  /** Cached snapshot event of the book at log head `seq` (rebuilt when the head moves). */
  snapshot?: StreamEvent;
}

/** Outcome of stamping one event: the data to log, or why it is dropped. */
export type Stamped = { data: string; payload: DepthPayload } | { skip: string; detail?: string };

/** Per-stream books, fed by EventPipeline.commit and read by subscribe/resume (snapshots). */
export class DepthBooks {
  private readonly books = new Map<string, StreamBook>();
  /** Producer updates whose U did not follow the book's u (the book may be off until a snapshot). */
  producerGaps = 0;

  constructor(
    private readonly logs: LogStore,
    /** Levels per side the checksum covers. */
    readonly checksumDepth: number,
  ) {}

  /** The book of `stream`, rebuilt from its log when this gateway has not seen it yet. */
  book(stream: string): OrderBook {
    return this.entry(stream).book;
  }

  private entry(stream: string): StreamBook {
    let e = this.books.get(stream);
    if (e === undefined) {
      e = { book: new OrderBook() };
      this.books.set(stream, e);
      this.rebuild(stream, e.book);
    }
    return e;
  }

  /** Replays the logged events of `stream` into `book` (from the newest snapshot on, in effect). */
  private rebuild(stream: string, book: OrderBook): void {
    const log = this.logs.find(stream);
    if (!log) return;
    const { oldest, head } = log.position();
    if (head === 0) return;
    let after = oldest - 1;
    while (after < head) {
      const evs = log.readAfter(after, REBUILD_CHUNK);
      if (evs.length === 0) break;
      for (const ev of evs) {
        let v: unknown;
        try {
          v = JSON.parse(ev.data);
        } catch {
          continue;
        }
        const d = parseDepthInput(v, true);
        if (typeof d === "string") continue;
        if (d.type === "snapshot") book.reset(d, d.lastUpdateId ?? book.lastUpdateId);
        else book.apply(d, d.lastUpdateId ?? book.lastUpdateId);
      }
      after = evs[evs.length - 1]!.seq;
    }
  }

  /**
   * Applies the depth event `data` (JSON text) of `stream` to its book and returns the data to log
   * and send, checksum included; or a skip reason for a malformed or stale event (the book is then
   * untouched).
   */
  stamp(stream: string, data: string, now: number): Stamped {
    let v: unknown;
    try {
      v = JSON.parse(data);
    } catch {
      return { skip: "malformed", detail: "depth payload is not JSON" };
    }
    const d = parseDepthInput(v);
    if (typeof d === "string") return { skip: "malformed", detail: d };
    const e = this.entry(stream);
    const book = e.book;
    const prevU = book.lastUpdateId;
    const first = d.firstUpdateId ?? prevU + 1;
    const last = d.lastUpdateId ?? Math.max(first, prevU + 1);
    if (last < first) return { skip: "malformed", detail: "depth lastUpdateId is below firstUpdateId" };
    if (d.type === "update") {
      if (prevU > 0 && last <= prevU) return { skip: "duplicate" }; // already in the book
      if (prevU > 0 && first > prevU + 1) this.producerGaps++;
      book.apply(d, last);
    } else {
      book.reset(d, last);
    }
    e.snapshot = undefined;
    const payload: DepthPayload = {
      type: d.type,
      bids: d.bids,
      asks: d.asks,
      firstUpdateId: first,
      lastUpdateId: last,
      checksum: book.checksum(this.checksumDepth),
      timestamp: d.timestamp ?? now,
    };
    // Fields the contract does not know stay (such a payload travels as JSON text in FlatBuffers).
    if (d.extra !== undefined) Object.assign(payload, d.extra);
    return { data: JSON.stringify(payload), payload };
  }

  /**
   * A snapshot frame's event for a new subscriber of `stream`: the whole book at the log's head,
   * with the head's seq/prev, so the live events after it follow with no gap and no overlap.
   * One object per head, shared by every subscriber that asks before the book moves.
   */
  snapshotEvent(stream: string): StreamEvent {
    const e = this.entry(stream);
    const pos = this.logs.find(stream)?.position();
    const head = pos?.head ?? 0;
    if (e.snapshot !== undefined && e.snapshot.seq === head) return e.snapshot;
    const top = e.book.top();
    const u = e.book.lastUpdateId;
    const payload: DepthPayload = {
      type: "snapshot",
      bids: top.bids,
      asks: top.asks,
      firstUpdateId: u,
      lastUpdateId: u,
      checksum: e.book.checksum(this.checksumDepth),
      timestamp: Date.now(),
    };
    const latest = head > 0 ? this.logs.find(stream)?.latest() : undefined;
    e.snapshot = { stream, seq: head, prev: latest?.prev ?? 0, data: JSON.stringify(payload), sourceTs: 0, gatewayTs: Date.now() };
    return e.snapshot;
  }

  /** Forgets every book (the store is closing). */
  clear(): void {
    this.books.clear();
  }
}
