/**
 * Order books of depth streams, as the pipeline and the sessions see them: stamps each depth event
 * against its stream's book (checksum, U/u), feeds the views, and hands out snapshot frames for
 * new subscribers and unservable resumes, encoded once per book state and format.
 */
import { encodeDataFrameFb } from "../codec/flatbuffers-codec.ts";
import { encodeDataFrameJson } from "../codec/json-codec.ts";
import { isDepthFamily, isRawDepth, type DepthPayload } from "../../protocol/book/depth-payload.ts";
import type { LogStore } from "../log/log-store.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import { DepthBooks, type Stamped } from "./depth-books.ts";
import { DepthViews, type ViewCommit } from "./depth-views.ts";

/** A snapshot frame in both formats, for one book state. */
interface SnapshotFrames {
  ev: StreamEvent;
  json?: string;
  fb?: Uint8Array;
}

/** The order-book stage of the gateway (one per gateway). */
export class DepthService {
  readonly books: DepthBooks;
  private readonly views: DepthViews;
  private readonly frames = new Map<string, SnapshotFrames>();

  constructor(logs: LogStore, checksumDepth: number, commitView: ViewCommit) {
    this.books = new DepthBooks(logs, checksumDepth);
    this.views = new DepthViews((s) => this.books.book(s), commitView);
  }

  /** Whether `stream`'s events go through a book. */
  handles(stream: string): boolean {
    return isDepthFamily(stream);
  }

  /** See DepthBooks.stamp. */
  stamp(stream: string, data: string, now: number): Stamped {
    return this.books.stamp(stream, data, now);
  }

  /** After an event was logged and published: the views of a full depth stream follow it. */
  committed(stream: string, p: DepthPayload): void {
    if (isRawDepth(stream)) this.views.onDepth(stream, p);
  }

  /** The snapshot frame of `stream`'s book at its log head, in `format`. */
  snapshotFrame(stream: string, format: "json" | "fb"): string | Uint8Array {
    const ev = this.books.snapshotEvent(stream);
    let f = this.frames.get(stream);
    if (f === undefined || f.ev !== ev) this.frames.set(stream, (f = { ev }));
    if (format === "json") return (f.json ??= encodeDataFrameJson(ev));
    return (f.fb ??= encodeDataFrameFb(ev));
  }

  stop(): void {
    this.views.stop();
    this.frames.clear();
  }
}
