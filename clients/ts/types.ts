/**
 * Frame and stream types of the client. Nothing here is written by hand from the wire format: the
 * frame shapes, request shapes, error codes and stream kinds come from the protocol leaf
 * (`protocol/`) that the gateway builds its frames from, so a schema or protocol change breaks
 * `tsc` here instead of drifting silently. The client imports nothing else of the server.
 */
import type { AuthenticatedFrame, ControlFrame, DataFrame, DepthData, ErrorFrame, OrderData, PongFrame, ResumedFrame, SubscribedFrame, TickerData, TradeData } from "../../protocol/frames.ts";
import type { StreamKind } from "../../protocol/stream-kind.ts";
import type { WireFormat } from "../../protocol/wire.ts";

export type { AuthenticatedFrame, DataFrame, DepthData, DepthLevel, ErrorFrame, ListFrame, OrderData, PongFrame, ResumedFrame, Side, StreamData, SubscribedFrame, TickerData, TradeData, UnsubscribedFrame } from "../../protocol/frames.ts";
export type { ErrorCode } from "../../protocol/error-codes.ts";
export type { ClientRequest, RequestId } from "../../protocol/requests.ts";
export type { StreamKind } from "../../protocol/stream-kind.ts";

/** Wire format negotiated at the upgrade: JSON text frames or FlatBuffers binary frames. */
export type Format = WireFormat;

// ---- streams and their payloads -----------------------------------------------------------------

/** The typed payload of each stream kind (the part of a stream name before the first "."). */
export interface PayloadByKind {
  trades: TradeData;
  depth: DepthData;
  ticker: TickerData;
  orders: OrderData;
}

/** Compile-time guard: PayloadByKind covers exactly the gateway's typed stream kinds. */
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const payloadKindsMatch: Exact<keyof PayloadByKind, Exclude<StreamKind, "other">> = true;
void payloadKindsMatch;

/** A typed stream kind. */
export type TypedKind = keyof PayloadByKind;

/** A stream name of a typed kind: `trades.btc_usdt`, `orders.user1`, ... */
export type TypedStream = `${TypedKind}.${string}`;

/** Any stream name; typed kinds autocomplete, other names are still accepted. */
export type StreamName = TypedStream | (string & {});

/**
 * The payload type of stream `S`: `trades.*` -> TradeData, `depth.*` -> DepthData, `ticker.*` ->
 * TickerData, `orders.*` -> OrderData, anything else -> unknown (the gateway forwards it as JSON).
 */
export type PayloadOf<S extends string> = S extends `${infer K}.${string}`
  ? K extends TypedKind
    ? PayloadByKind[K]
    : K extends "depth5" | "depth20"
      ? DepthData
      : unknown
  : unknown;

/**
 * A data frame of stream `S` with its typed payload. For a union of streams this is a union of
 * frames, so `if (frame.stream === "ticker.btc_usdt")` narrows `frame.data`.
 */
export type FrameOf<S extends string> = S extends unknown ? DataFrame<PayloadOf<S>> & { stream: S } : never;

/** Per-frame details that are not part of the frame object itself. */
export interface FrameMeta {
  /** Date.now() when the frame was received. */
  receivedAt: number;
  /** FlatBuffers only: when the gateway received the event (ms since epoch). */
  gatewayTs?: number;
  /** FlatBuffers only: producer/source event time (ms since epoch), 0 when unknown. */
  sourceTs?: number;
  /** Size of the frame on the wire: bytes (fb) or UTF-16 code units (json). */
  size: number;
  /**
   * True when the frame arrived while a resume of its stream was in progress: replayed from the
   * gateway's log (or a live frame that was already in flight when the resume was sent).
   */
  replay: boolean;
}

// ---- control frames as the gateway sends them ---------------------------------------------------

/** `subscribed`, with the epoch of each stream's numbering (protocol/frames.ts SubscribedFrame). */
export type SubscribedAck = SubscribedFrame;

/** `resumed`: the replay of `stream` is complete; live follows (protocol/frames.ts ResumedFrame). */
export type ResumedAck = ResumedFrame;

/** `authenticated`: an in-band `auth` was accepted (protocol/frames.ts AuthenticatedFrame). */
export type AuthenticatedAck = AuthenticatedFrame;

/** `pong`, with the gateway's clock (protocol/frames.ts PongFrame). */
export type PongAck = PongFrame;

/** An error frame with the details the gateway adds to some codes (protocol/frames.ts ErrorFrame). */
export type GatewayError = ErrorFrame;

/** Any control frame. One with an unknown `event` still arrives, as the object that was sent. */
export type ControlMessage = ControlFrame;

/** What a decoder returns. */
export type AnyFrame = DataFrame | ControlMessage;

/** True for a data frame (`{stream, seq, prev, data}`), false for a control frame (`{event}`). */
export function isDataFrame(f: AnyFrame): f is DataFrame {
  return !("event" in f) && typeof (f as DataFrame).seq === "number";
}

/** Kind of a stream name, as the gateway computes it. */
export { streamKind } from "../../protocol/stream-kind.ts";

/** Narrows a data frame to a kind's typed payload by its stream name. */
export function isKind<K extends TypedKind>(frame: DataFrame, kind: K): frame is DataFrame<PayloadByKind[K]> {
  return frame.stream.startsWith(kind + ".") && frame.stream.length > kind.length + 1;
}

// ---- resume and snapshots ------------------------------------------------------------------------

/**
 * What the app is told when a stream cannot be resumed from its position. The stream stays
 * subscribed live and the next frame is accepted as the new baseline; take a snapshot
 * (`client.snapshot(stream, { adopt: true })`) to rebuild the state built from it.
 */
export interface ResumeUnavailable {
  stream: string;
  /** The position the client asked to resume after. */
  lastSequence: number | undefined;
  /** The oldest seq the gateway still has (0 when none). */
  oldest: number | undefined;
  /** The newest seq the gateway has. */
  head: number | undefined;
  /** The epoch of the gateway's numbering now (a different one means seqs restarted). */
  epoch: string | undefined;
  /** Why: "unknown epoch", "position is older than the log", ... */
  reason: string;
}

/** `GET /snapshot/{stream}`: the latest event of a stream. */
export interface Snapshot<D = unknown> {
  stream: string;
  seq: number;
  prev: number;
  epoch: string;
  data: D;
  gatewayTs: number;
}

/** `GET /replay/{stream}?fromSeq=&limit=`: logged events after a position. */
export interface ReplayPage<D = unknown> {
  stream: string;
  epoch: string;
  oldest: number;
  head: number;
  /** False when events after `fromSeq` were already evicted (the answer starts later). */
  complete: boolean;
  events: DataFrame<D>[];
}

/** A stream's position: last seq delivered and the epoch of that numbering. */
export interface Position {
  seq: number;
  epoch?: string;
}
