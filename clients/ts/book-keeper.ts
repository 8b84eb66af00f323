/**
 * The client's copy of one depth stream's order book: applies the snapshot and the diffs after it,
 * checks continuity (an update's U must be the book's u + 1) and the checksum after every frame,
 * and on a gap or a mismatch drops the book, asks the gateway for a fresh snapshot and tells the
 * app (docs/protocol.md, "Order books").
 */
import { DEFAULT_CHECKSUM_DEPTH } from "../../protocol/book/book-checksum.ts";
import { OrderBook } from "../../protocol/book/order-book.ts";
import type { DataFrame, DepthData } from "../../protocol/frames.ts";

/** Why a book was dropped and re-requested. */
export interface BookResyncInfo {
  stream: string;
  reason: "gap" | "checksum";
  /** seq of the frame that revealed it. */
  seq: number;
  /** gap: the U expected (book u + 1); checksum: the gateway's checksum. */
  expected: number;
  /** gap: the frame's U; checksum: the client's checksum. */
  got: number;
}

/** What a BookKeeper needs from its client. */
export interface BookHost {
  /** Asks the gateway for a snapshot of `stream` (a subscribe of a subscribed stream answers with one). */
  requestSnapshot(stream: string): void;
  resync(info: BookResyncInfo): void;
}

/** One stream's book, kept from its frames. */
export class BookKeeper {
  readonly book = new OrderBook();
  /** True from a snapshot whose checksum matched until the next gap or mismatch. */
  synced = false;
  resyncs = 0;

  constructor(
    readonly stream: string,
    private readonly host: BookHost,
    /** Levels per side the gateway's checksum covers (its BOOK_CHECKSUM_DEPTH). */
    private readonly checksumDepth = DEFAULT_CHECKSUM_DEPTH,
  ) {}

  /** Applies one frame of the stream; true when the book changed and is verified. */
  onFrame(frame: DataFrame<DepthData>): boolean {
    const d = frame.data;
    if (d === null || typeof d !== "object" || !Array.isArray(d.bids) || !Array.isArray(d.asks)) return false;
    if (d.type === "snapshot") {
      this.book.reset(d, d.lastUpdateId);
    } else {
      if (!this.synced) return false; // a diff before the snapshot it builds on: wait for it
      if (this.book.lastUpdateId > 0 && d.firstUpdateId !== this.book.lastUpdateId + 1) {
        this.drop({ stream: this.stream, reason: "gap", seq: frame.seq, expected: this.book.lastUpdateId + 1, got: d.firstUpdateId });
        return false;
      }
      this.book.apply(d, d.lastUpdateId);
    }
    const sum = this.book.checksum(this.checksumDepth);
    if (sum !== d.checksum) {
      this.drop({ stream: this.stream, reason: "checksum", seq: frame.seq, expected: d.checksum, got: sum }, d.type === "snapshot");
      return false;
    }
    this.synced = true;
    return true;
  }

  /**
   * The book can no longer be trusted: tell the app and ask for a snapshot. A snapshot that does
   * not match its own checksum would not match again: no request then (checksumDepth is wrong).
   */
  private drop(info: BookResyncInfo, fromSnapshot = false): void {
    this.synced = false;
    this.resyncs++;
    this.host.resync(info);
    if (!fromSnapshot) this.host.requestSnapshot(this.stream);
  }
}
