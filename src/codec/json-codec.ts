/**
 * JSON wire format, the reference shape of every frame: the FlatBuffers codec
 * (flatbuffers-codec.ts) decodes to exactly these objects, so an app handles one set of types
 * whichever format it negotiated.
 *
 *   data frame     {"stream":"ticker.btc_usdt","seq":123,"prev":122,"data":{...}}
 *   control frame  {"event":"subscribed","streams":[...],"id":1}, ... (see ControlFrame)
 */
import type { StreamEvent } from "../log/stream-event.ts";

// ---- Frame shapes (format-neutral) -------------------------------------------------------------

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

/** `data` of a `depth.<pair>` frame. */
export interface DepthData {
  bids: DepthLevel[];
  asks: DepthLevel[];
  firstUpdateId: number;
  lastUpdateId: number;
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

export interface DataFrame<D = unknown> {
  stream: string;
  seq: number;
  prev: number;
  data: D;
}

/** A request id as the client sent it, echoed back. */
export type RequestId = number | string;

export interface SubscribedFrame {
  event: "subscribed";
  streams: string[];
  id?: RequestId;
}
export interface UnsubscribedFrame {
  event: "unsubscribed";
  streams: string[];
  id?: RequestId;
}
export interface ListFrame {
  event: "list";
  streams: string[];
  id?: RequestId;
}
export interface PongFrame {
  event: "pong";
  id?: RequestId;
}
export interface ResumedFrame {
  event: "resumed";
  stream: string;
  from: number;
  to: number;
}

export type ErrorCode =
  | "bad_request"
  | "unknown_stream"
  | "forbidden"
  | "rate_limited"
  | "too_many_streams"
  | "resume_unavailable"
  // An open set: other codes may be added without a schema change.
  | (string & {});

export interface ErrorFrame {
  event: "error";
  code: ErrorCode;
  message: string;
  id?: RequestId;
  stream?: string;
  /** With resume_unavailable: the oldest seq still available. */
  oldest?: number;
}

export type ControlFrame =
  | SubscribedFrame
  | UnsubscribedFrame
  | ListFrame
  | PongFrame
  | ResumedFrame
  | ErrorFrame;

/**
 * What a decoder returns. A control frame with an unknown `event` (or extra fields) still decodes,
 * to whatever object was sent; it is typed as ControlFrame for convenience.
 */
export type DecodedFrame = DataFrame | ControlFrame;

// ---- JSON codec --------------------------------------------------------------------------------

/**
 * The JSON data frame of `ev`, built by concatenation: `ev.data` is already JSON text and is not
 * parsed or re-serialised (sourceTs/gatewayTs are not part of the JSON frame).
 */
export function encodeDataFrameJson(ev: StreamEvent): string {
  return (
    '{"stream":' +
    JSON.stringify(ev.stream) +
    ',"seq":' +
    ev.seq +
    ',"prev":' +
    ev.prev +
    ',"data":' +
    (ev.data === "" ? "null" : ev.data) +
    "}"
  );
}

/** The JSON text of a control answer. */
export function encodeControlJson(msg: ControlFrame | object): string {
  return JSON.stringify(msg);
}

const utf8Decoder = new TextDecoder();

/** Parses a JSON frame (text, or its UTF-8 bytes). */
export function decodeFrameJson(frame: string | Uint8Array): DecodedFrame {
  return JSON.parse(typeof frame === "string" ? frame : utf8Decoder.decode(frame)) as DecodedFrame;
}
