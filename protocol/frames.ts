/**
 * Every frame the gateway sends, format-neutral: a JSON text frame parses to exactly these objects
 * and the FlatBuffers decoder (fb/decoder.ts) returns the same ones, so an app handles one set of
 * types whichever format it negotiated. The server builds its answers from these types
 * (Session.sendControl takes a ControlFrame), so the client's view cannot drift from them.
 *
 *   data frame     {"stream":"ticker.btc_usdt","seq":123,"prev":122,"data":{...}}
 *   control frame  {"event":"subscribed","streams":[...],"id":1}, ... (see ControlFrame)
 */
import type { ErrorCode } from "./error-codes.ts";
import type { RequestId } from "./requests.ts";

// ---- data frames ---------------------------------------------------------------------------------

/** Side of a trade or an order. */
export type Side = "buy" | "sell";

/** `data` of a `trades.<pair>` frame. */
export interface TradeData {
  id: number | string;
  price: string;
  qty: string;
  side: Side;
  timestamp: number;
}

/** One book level: [price, qty], decimal strings. */
export type DepthLevel = [price: string, qty: string];

/**
 * `data` of a depth-family frame (`depth.<pair>`, `depth.<pair>@100ms`, `depth5.<pair>`,
 * `depth20.<pair>`; docs/protocol.md, "Order books").
 */
export interface DepthData {
  /** "snapshot": the whole book (a view: its top N); "update": changed levels only, qty "0" = removed. */
  type: "snapshot" | "update";
  bids: DepthLevel[];
  asks: DepthLevel[];
  /** `U`: first update id covered; an update follows the book when U = previous u + 1. */
  firstUpdateId: number;
  /** `u`: last update id covered. */
  lastUpdateId: number;
  /** CRC32 of the top N levels of the book after this frame (protocol/book/book-checksum.ts). */
  checksum: number;
  timestamp: number;
}

/** `data` of a `ticker.<pair>` frame. */
export interface TickerData {
  price: string;
  volume: string;
  high: string;
  low: string;
  change: string;
  timestamp: number;
}

/** `data` of an `orders.<userId>` frame. */
export interface OrderData {
  orderId: number | string;
  clientOrderId?: string;
  pair: string;
  side: Side;
  type: string;
  status: string;
  price: string;
  qty: string;
  filledQty: string;
  timestamp: number;
}

/** The typed payloads; a stream of another kind, or a payload that does not fit, is any JSON. */
export type StreamData = TradeData | DepthData | TickerData | OrderData;

/** One event of one stream as a client receives it. */
export interface DataFrame<D = unknown> {
  stream: string;
  seq: number;
  prev: number;
  /** Signed frames (protocol/signature.ts): the signing key's id. */
  kid?: string;
  /** Signed frames: base64url Ed25519 signature over stream, seq and the data text. */
  sig?: string;
  data: D;
}

// ---- control frames ------------------------------------------------------------------------------

/** Answer to `subscribe`: the streams now subscribed and the epoch of each one's numbering. */
export interface SubscribedFrame {
  event: "subscribed";
  streams: string[];
  /** Epoch of each stream's numbering ("" when the stream has no log yet); sent when resume is on. */
  epochs?: Record<string, string>;
  id?: RequestId;
}

/**
 * Answer to `unsubscribe`: the streams that were removed. Also sent unasked (no `id`, `reason`
 * "forbidden") when a refreshed token no longer allows streams.
 */
export interface UnsubscribedFrame {
  event: "unsubscribed";
  streams: string[];
  reason?: "forbidden";
  id?: RequestId;
}

/** Answer to `auth`: the new token is in force; the connection now expires at `exp` (unix s). */
export interface AuthenticatedFrame {
  event: "authenticated";
  exp?: number;
  id?: RequestId;
}

/** Answer to `list`: the streams delivered live. */
export interface ListFrame {
  event: "list";
  streams: string[];
  id?: RequestId;
}

/** Answer to `ping`, with the gateway's clock. */
export interface PongFrame {
  event: "pong";
  /** Date.now() of the gateway. */
  ts?: number;
  id?: RequestId;
}

/** The replay of `stream` from `from` (exclusive) to `to` is complete; live frames follow. */
export interface ResumedFrame {
  event: "resumed";
  stream: string;
  from: number;
  to: number;
  /** Events sent by this resume. */
  replayed?: number;
  /** Epoch of the log's numbering ("" when nothing is logged). */
  epoch?: string;
  /** True when the log could not serve it and an order-book snapshot frame was sent instead. */
  snapshot?: boolean;
  id?: RequestId;
}

/** A refused request; some codes carry details. */
export interface ErrorFrame {
  event: "error";
  code: ErrorCode;
  message: string;
  id?: RequestId;
  /** The refused streams (unknown_stream, forbidden, too_many_streams). */
  streams?: string[];
  /** resume_unavailable: the stream that could not be resumed. */
  stream?: string;
  /** resume_unavailable: the position that could not be served. */
  lastSequence?: number;
  /** resume_unavailable: the oldest seq still available. */
  oldest?: number;
  /** resume_unavailable: newest seq in the log. */
  head?: number;
  /** resume_unavailable: the epoch of the log's numbering now. */
  epoch?: string;
}

/** Every control frame the gateway sends. */
export type ControlFrame = SubscribedFrame | UnsubscribedFrame | ListFrame | PongFrame | ResumedFrame | AuthenticatedFrame | ErrorFrame;

/**
 * What a decoder returns. A control frame with an unknown `event` (or extra fields) still decodes,
 * to whatever object was sent; it is typed as ControlFrame for convenience.
 */
export type DecodedFrame = DataFrame | ControlFrame;
