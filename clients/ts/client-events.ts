import type { OrderBook } from "../../protocol/book/order-book.ts";
import type { BookResyncInfo } from "./book-keeper.ts";
import type { GatewayClientError } from "./client-error.ts";
import type { ControlMessage, DataFrame, Format, FrameMeta, FrameOf, ResumedAck, ResumeUnavailable } from "./types.ts";

/** The client's connection state, as reported by the "state" event. */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "offline" | "closed";

/** Details of a state change. */
export interface StateInfo {
  previous: ConnectionState;
  /** Consecutive failed attempts. */
  attempt: number;
  /** Reconnecting/offline: the delay before the next attempt. */
  delayMs?: number;
  /** The close code that caused the transition, if any. */
  code?: number;
  reason?: string;
}

/** Details of a connection that ended. */
export interface CloseInfo {
  code: number;
  reason: string;
  /** True when the close was not initiated by the server (heartbeat or connect timeout). */
  local: boolean;
  willReconnect: boolean;
}

/** A gap in a stream's numbering, as detected from a frame's `prev`. */
export interface GapInfo {
  stream: string;
  /** Last seq delivered. */
  last: number;
  /** `prev` of the frame that revealed the gap (should have been `last`). */
  prev: number;
  seq: number;
  /** True when a resume was requested to fill it. */
  resuming: boolean;
}

/** Event name -> listener arguments of a GatewayClient. */
export interface ClientEvents {
  state: [state: ConnectionState, info: StateInfo];
  open: [info: { url: string; format: Format; attempt: number }];
  close: [info: CloseInfo];
  /** Every delivered data frame, after dedupe and gap handling. */
  data: [frame: DataFrame, meta: FrameMeta];
  /** Every control frame as received. */
  control: [frame: ControlMessage];
  gap: [info: GapInfo];
  duplicate: [info: { stream: string; seq: number; last: number }];
  resumed: [ack: ResumedAck];
  resumeUnavailable: [info: ResumeUnavailable];
  /** A kept book (`book()`) had a gap or a checksum mismatch: it was dropped and a snapshot requested. */
  bookResync: [info: BookResyncInfo];
  error: [err: GatewayClientError];
}

/** A handler of one subscription's frames. */
export type FrameHandler<S extends string> = (frame: FrameOf<S>, meta: FrameMeta) => void;

/** What `subscribe` returns. */
export interface Subscription<S extends string> {
  readonly streams: readonly S[];
  /** Resolves when every stream is acknowledged (subscribed or resumed); rejects when one is refused. */
  readonly ready: Promise<void>;
  /** Removes this handler; a stream with no handler left is unsubscribed. */
  unsubscribe(): void;
}

/** What `book()` returns: the live book of one depth stream. */
export interface BookSubscription {
  readonly stream: string;
  /** The book, updated in place; trust it while `synced`. */
  readonly book: OrderBook;
  /** True from a verified snapshot until a gap or mismatch (then until the next snapshot). */
  readonly synced: boolean;
  /** Times this book was dropped and re-requested. */
  readonly resyncs: number;
  readonly ready: Promise<void>;
  unsubscribe(): void;
}

/** Counters of a GatewayClient since it was created. */
export interface ClientStats {
  /** Frames received (data and control). */
  frames: number;
  /** Data frames delivered to the app. */
  delivered: number;
  duplicates: number;
  gaps: number;
  /** Streams resumed successfully (replay + live). */
  resumes: number;
  resumeUnavailable: number;
  /** Connections opened. */
  connects: number;
  /** Books dropped and re-requested after a gap or a checksum mismatch. */
  bookResyncs: number;
}
