import type { StreamEvent } from "../../protocol/stream-event.ts";

/** Where a stream's log stands: what a resume position is checked against. */
export interface LogPosition {
  /** Identifies this numbering of the stream; a position from another epoch is never applied. */
  epoch: string;
  /** Oldest seq still held (0 when empty). */
  oldest: number;
  /** Newest seq held (0 when empty). */
  head: number;
}

/** The per-stream event log behind resume, replay and snapshot. */
export interface StreamLog {
  readonly stream: string;
  /** Appends an event; `ev.seq` must be greater than the current head. Hot path: must be cheap. */
  append(ev: StreamEvent): void;
  position(): LogPosition;
  /** Events with seq > `afterSeq`, oldest first, at most `limit`. */
  readAfter(afterSeq: number, limit: number): StreamEvent[];
  /** The newest event, or undefined when empty. */
  latest(): StreamEvent | undefined;
}

/** A new stream's log was refused: the store holds its maximum number of logs. */
export class StreamLimitError extends Error {
  constructor(readonly stream: string, readonly limit: number) {
    super(`log of ${stream} refused: ${limit} stream logs already exist`);
    this.name = "StreamLimitError";
  }
}

/** Owns every stream's log; opening a stream's log creates or recovers it. */
export interface LogStore {
  /**
   * The log of `stream`, created on first use (and recovered from disk when persistent). Throws
   * StreamLimitError when creating it would pass the store's `maxStreams`: no log is ever evicted
   * to make room.
   */
  get(stream: string): StreamLog;
  /** The log of `stream` if it exists, without creating it. */
  find(stream: string): StreamLog | undefined;
  /** Streams that have a log. */
  streams(): string[];
  /** How many streams have a log (what `maxStreams` bounds). */
  readonly size: number;
  /** Bytes the logs take on disk (segments are preallocated: their full size); 0 in memory. */
  diskBytes(): number;
  /** Flushes and unmaps; idempotent. */
  close(): void;
}
