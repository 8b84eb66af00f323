/**
 * FlatBuffers wire format (schema/frames.fbs, generated code in ./generated/).
 *
 * Encoders run on the hot path: one module-level Builder is reused (clear() between frames) and
 * every encoder returns a copy of the finished bytes, since a frame is published to many sockets
 * while the builder is reused for the next one. Encoding is synchronous and not re-entrant.
 *
 * Decoders return exactly the object the JSON frame parses to (see json-codec.ts), so an app sees
 * the same typed objects from either format. A data payload is written typed (Trade, Depth,
 * Ticker, OrderUpdate) only when it round-trips exactly; anything else (unknown stream kind, extra
 * or missing fields, numbers where strings are expected, ...) travels as RawJson, the JSON text.
 */
import * as flatbuffers from "flatbuffers";
import type { StreamEvent } from "../log/stream-event.ts";
import * as fb from "./generated/frames_generated.ts";
import { IdKind } from "./generated/cexws/frames/id-kind.ts";
import type {
  ControlFrame,
  DataFrame,
  DecodedFrame,
  DepthData,
  DepthLevel,
  ErrorFrame,
  ListFrame,
  OrderData,
  PongFrame,
  RequestId,
  Side,
  SubscribedFrame,
  TickerData,
  TradeData,
  UnsubscribedFrame,
} from "./json-codec.ts";
import { streamKind } from "./stream-kind.ts";

/** file_identifier of schema/frames.fbs: bytes 4..7 of every frame. */
export const FB_FILE_IDENTIFIER = "CXWF";
/** The schema_version this code writes and the highest it reads (schema/README.md). */
export const FB_SCHEMA_VERSION = 1;

const INITIAL_CAPACITY = 4096;
/** A builder grown past this by one huge frame is dropped rather than kept for ever. */
const MAX_RETAINED_CAPACITY = 1 << 20;

let builder = new flatbuffers.Builder(INITIAL_CAPACITY);
/** Reused offsets of one side of a book while its vector is built. */
let levelOffsets: number[] = [];
/** Set per payload: strings must be checked for lone surrogates (they would not survive UTF-8). */
let checkWellFormed = false;

// ---- fast paths under the generated API --------------------------------------------------------
//
// The runtime writes and reads 64-bit fields through BigInt (several BigInt operations per field),
// and reads strings through a subarray view plus TextDecoder. On the hot path (data frames) the
// codec writes/reads 64-bit fields as two 32-bit halves and short ASCII strings byte by byte
// instead. The vtable slot and default of every such field are taken from the generated code
// itself (SlotProbe), not hard-coded, and test/codec/ checks that the bytes equal those of the
// generated API. Control frames (rare) use the generated API only.

/** Records the slot (and default) of the field a generated `addX` function writes. */
class SlotProbe extends flatbuffers.Builder {
  lastSlot = -1;
  def = 0;
  override addFieldInt64(voffset: number, _value: bigint, defaultValue: bigint | null): void {
    this.lastSlot = voffset;
    this.def = Number(defaultValue ?? 0n);
  }
  override addFieldOffset(voffset: number, _value: number, _defaultValue: number): void {
    this.lastSlot = voffset;
  }
}

interface Field64 {
  /** Field index (the builder's vtable slot). */
  slot: number;
  /** Byte offset of the field's entry in the vtable. */
  vt: number;
  def: number;
  signed: boolean;
}

const probe = new SlotProbe(16);

function probeSlot(write: () => void): number {
  probe.lastSlot = -1;
  write();
  if (probe.lastSlot < 0) throw new Error("flatbuffers-codec: a generated add function wrote no field");
  return probe.lastSlot;
}

function field64(add: (b: flatbuffers.Builder, v: bigint) => void, signed: boolean): Field64 {
  const slot = probeSlot(() => add(probe, 1n));
  return { slot, vt: 4 + 2 * slot, def: probe.def, signed };
}

/** vtable byte offset of a string field, from its generated add function. */
function fieldStr(add: (b: flatbuffers.Builder, offset: number) => void): number {
  return 4 + 2 * probeSlot(() => add(probe, 1));
}

const F = {
  seq: field64(fb.DataFrame.addSeq, false),
  prev: field64(fb.DataFrame.addPrev, false),
  sourceTs: field64(fb.DataFrame.addSourceTs, true),
  gatewayTs: field64(fb.DataFrame.addGatewayTs, true),
  tradeId: field64(fb.Trade.addId, false),
  tradeTs: field64(fb.Trade.addTimestamp, true),
  depthFirst: field64(fb.Depth.addFirstUpdateId, false),
  depthLast: field64(fb.Depth.addLastUpdateId, false),
  depthTs: field64(fb.Depth.addTimestamp, true),
  tickerTs: field64(fb.Ticker.addTimestamp, true),
  orderId: field64(fb.OrderUpdate.addOrderId, false),
  orderTs: field64(fb.OrderUpdate.addTimestamp, true),
} as const;

const S = {
  stream: fieldStr(fb.DataFrame.addStream),
  tradeIdStr: fieldStr(fb.Trade.addIdStr),
  tradePrice: fieldStr(fb.Trade.addPrice),
  tradeQty: fieldStr(fb.Trade.addQty),
  levelPrice: fieldStr(fb.Level.addPrice),
  levelQty: fieldStr(fb.Level.addQty),
  tickerPrice: fieldStr(fb.Ticker.addPrice),
  tickerVolume: fieldStr(fb.Ticker.addVolume),
  tickerHigh: fieldStr(fb.Ticker.addHigh),
  tickerLow: fieldStr(fb.Ticker.addLow),
  tickerChange: fieldStr(fb.Ticker.addChange),
  orderIdStr: fieldStr(fb.OrderUpdate.addOrderIdStr),
  orderClientId: fieldStr(fb.OrderUpdate.addClientOrderId),
  orderPair: fieldStr(fb.OrderUpdate.addPair),
  orderType: fieldStr(fb.OrderUpdate.addType),
  orderStatus: fieldStr(fb.OrderUpdate.addStatus),
  orderPrice: fieldStr(fb.OrderUpdate.addPrice),
  orderQty: fieldStr(fb.OrderUpdate.addQty),
  orderFilledQty: fieldStr(fb.OrderUpdate.addFilledQty),
} as const;

const TWO_32 = 4294967296;

/** Same bytes as the generated addX(b, BigInt(v)) for an integer v within ±2^53. */
function add64(b: flatbuffers.Builder, f: Field64, v: number): void {
  if (v === f.def) return;
  b.prep(8, 0);
  const hi = Math.floor(v / TWO_32);
  b.writeInt32(hi | 0); // the builder writes downwards: high word first
  b.writeInt32((v - hi * TWO_32) | 0);
  b.slot(f.slot);
}

/** A generated table accessor: its buffer and position. */
interface TableRef {
  bb: flatbuffers.ByteBuffer | null;
  bb_pos: number;
}

/** The generated accessor's value as a number, without BigInt (exact up to 2^53). */
function read64(t: TableRef, f: Field64): number {
  const bb = t.bb!;
  const o = bb.__offset(t.bb_pos, f.vt);
  if (o === 0) return f.def;
  const p = t.bb_pos + o;
  return bb.readUint32(p) + (f.signed ? bb.readInt32(p + 4) : bb.readUint32(p + 4)) * TWO_32;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();
const SCRATCH_SIZE = 4096;
const scratch = new Uint8Array(SCRATCH_SIZE);

/**
 * builder.createString(s), same bytes, allocating nothing for short ASCII strings (prices, ids,
 * stream names): they are written byte by byte; others are encoded into a reused buffer.
 */
function str(s: string): number {
  const n = s.length;
  const b = builder;
  if (n <= 64) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      b.addInt8(0); // the terminating NUL createString writes too
      b.startVector(1, n, 1);
      for (let i = n - 1; i >= 0; i--) b.writeInt8(s.charCodeAt(i));
      return b.endVector();
    }
  }
  if (n * 3 > SCRATCH_SIZE) return b.createString(s);
  return b.createString(scratch.subarray(0, utf8Encoder.encodeInto(s, scratch).written));
}

/** The string field at vtable offset `vt` of `t` (null when absent), as the generated accessor. */
function readStr(t: TableRef, vt: number): string | null {
  const bb = t.bb!;
  const o = bb.__offset(t.bb_pos, vt);
  if (o === 0) return null;
  let p = t.bb_pos + o;
  p += bb.readInt32(p);
  const n = bb.readInt32(p);
  p += 4;
  const u = bb.bytes();
  if (n <= 48) {
    let s = "";
    for (let i = 0; i < n; i++) {
      const c = u[p + i]!;
      if (c > 0x7f) return utf8Decoder.decode(u.subarray(p, p + n));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Decoder.decode(u.subarray(p, p + n));
}

// ---- validation: a payload is typed only when it round-trips exactly ----------------------------

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function keyCount(o: Obj): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

function isStr(v: unknown): v is string {
  return typeof v === "string" && (!checkWellFormed || v.isWellFormed());
}

/** A safe integer (-0 excluded: it would come back as 0). */
function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && !(v === 0 && 1 / v < 0);
}

function isUint(v: unknown): v is number {
  return isInt(v) && v >= 0;
}

function isId(v: unknown): v is number | string {
  return isUint(v) || isStr(v);
}

function isSide(v: unknown): v is Side {
  return v === "buy" || v === "sell";
}

function isTrade(o: unknown): o is TradeData {
  return (
    isObj(o) &&
    keyCount(o) === 5 &&
    isId(o.id) &&
    isStr(o.price) &&
    isStr(o.qty) &&
    isSide(o.side) &&
    isInt(o.timestamp)
  );
}

function isLevels(v: unknown): v is DepthLevel[] {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const l: unknown = v[i];
    if (!Array.isArray(l) || l.length !== 2 || !isStr(l[0]) || !isStr(l[1])) return false;
  }
  return true;
}

function isDepth(o: unknown): o is DepthData {
  return (
    isObj(o) &&
    keyCount(o) === 5 &&
    isLevels(o.bids) &&
    isLevels(o.asks) &&
    isUint(o.firstUpdateId) &&
    isUint(o.lastUpdateId) &&
    isInt(o.timestamp)
  );
}

function isTicker(o: unknown): o is TickerData {
  return (
    isObj(o) &&
    keyCount(o) === 6 &&
    isStr(o.price) &&
    isStr(o.volume) &&
    isStr(o.high) &&
    isStr(o.low) &&
    isStr(o.change) &&
    isInt(o.timestamp)
  );
}

function isOrder(o: unknown): o is OrderData {
  if (!isObj(o)) return false;
  let n = 10;
  if (!("clientOrderId" in o)) n = 9;
  else if (!isStr(o.clientOrderId)) return false;
  return (
    keyCount(o) === n &&
    isId(o.orderId) &&
    isStr(o.pair) &&
    isSide(o.side) &&
    isStr(o.type) &&
    isStr(o.status) &&
    isStr(o.price) &&
    isStr(o.qty) &&
    isStr(o.filledQty) &&
    isInt(o.timestamp)
  );
}

// ---- building ----------------------------------------------------------------------------------

function sideFb(s: Side): fb.Side {
  return s === "buy" ? fb.Side.Buy : fb.Side.Sell;
}

function buildTrade(t: TradeData): number {
  const b = builder;
  const idStr = typeof t.id === "string" ? str(t.id) : 0;
  const price = str(t.price);
  const qty = str(t.qty);
  fb.Trade.startTrade(b);
  if (typeof t.id === "number") add64(b, F.tradeId, t.id);
  else fb.Trade.addIdStr(b, idStr);
  fb.Trade.addPrice(b, price);
  fb.Trade.addQty(b, qty);
  fb.Trade.addSide(b, sideFb(t.side));
  add64(b, F.tradeTs, t.timestamp);
  return fb.Trade.endTrade(b);
}

function buildLevels(levels: DepthLevel[]): number {
  const b = builder;
  const n = levels.length;
  if (levelOffsets.length < n) levelOffsets = new Array<number>(n).fill(0);
  const offs = levelOffsets;
  for (let i = 0; i < n; i++) {
    const l = levels[i]!;
    const price = str(l[0]);
    const qty = str(l[1]);
    fb.Level.startLevel(b);
    fb.Level.addPrice(b, price);
    fb.Level.addQty(b, qty);
    offs[i] = fb.Level.endLevel(b);
  }
  b.startVector(4, n, 4);
  for (let i = n - 1; i >= 0; i--) b.addOffset(offs[i]!);
  return b.endVector();
}

function buildDepth(d: DepthData): number {
  const b = builder;
  const bids = buildLevels(d.bids);
  const asks = buildLevels(d.asks);
  fb.Depth.startDepth(b);
  fb.Depth.addBids(b, bids);
  fb.Depth.addAsks(b, asks);
  add64(b, F.depthFirst, d.firstUpdateId);
  add64(b, F.depthLast, d.lastUpdateId);
  add64(b, F.depthTs, d.timestamp);
  return fb.Depth.endDepth(b);
}

function buildTicker(t: TickerData): number {
  const b = builder;
  const price = str(t.price);
  const volume = str(t.volume);
  const high = str(t.high);
  const low = str(t.low);
  const change = str(t.change);
  fb.Ticker.startTicker(b);
  fb.Ticker.addPrice(b, price);
  fb.Ticker.addVolume(b, volume);
  fb.Ticker.addHigh(b, high);
  fb.Ticker.addLow(b, low);
  fb.Ticker.addChange(b, change);
  add64(b, F.tickerTs, t.timestamp);
  return fb.Ticker.endTicker(b);
}

function buildOrder(o: OrderData): number {
  const b = builder;
  const idStr = typeof o.orderId === "string" ? str(o.orderId) : 0;
  const clientOrderId = o.clientOrderId !== undefined ? str(o.clientOrderId) : 0;
  const pair = str(o.pair);
  const type = str(o.type);
  const status = str(o.status);
  const price = str(o.price);
  const qty = str(o.qty);
  const filledQty = str(o.filledQty);
  fb.OrderUpdate.startOrderUpdate(b);
  if (typeof o.orderId === "number") add64(b, F.orderId, o.orderId);
  else fb.OrderUpdate.addOrderIdStr(b, idStr);
  if (clientOrderId !== 0) fb.OrderUpdate.addClientOrderId(b, clientOrderId);
  fb.OrderUpdate.addPair(b, pair);
  fb.OrderUpdate.addSide(b, sideFb(o.side));
  fb.OrderUpdate.addType(b, type);
  fb.OrderUpdate.addStatus(b, status);
  fb.OrderUpdate.addPrice(b, price);
  fb.OrderUpdate.addQty(b, qty);
  fb.OrderUpdate.addFilledQty(b, filledQty);
  add64(b, F.orderTs, o.timestamp);
  return fb.OrderUpdate.endOrderUpdate(b);
}

function buildRawJson(json: string): number {
  const s = str(json);
  fb.RawJson.startRawJson(builder);
  fb.RawJson.addJson(builder, s);
  return fb.RawJson.endRawJson(builder);
}

/** Finishes the root Frame around `body` and returns a copy of the bytes. */
function finishFrame(bodyType: fb.FrameBody, body: number): Uint8Array {
  const b = builder;
  fb.Frame.startFrame(b);
  fb.Frame.addSchemaVersion(b, FB_SCHEMA_VERSION); // equal to the default 1: costs no byte
  fb.Frame.addBodyType(b, bodyType);
  fb.Frame.addBody(b, body);
  fb.Frame.finishFrameBuffer(b, fb.Frame.endFrame(b));
  // = b.asUint8Array().slice(), without the intermediate subarray view
  const bb = b.dataBuffer();
  const out = bb.bytes().slice(bb.position(), bb.capacity());
  if (b.dataBuffer().capacity() > MAX_RETAINED_CAPACITY) {
    builder = new flatbuffers.Builder(INITIAL_CAPACITY);
    levelOffsets = [];
  }
  return out;
}

function u64(v: number, what: string): number {
  if (!Number.isSafeInteger(v) || v < 0) {
    throw new TypeError(`${what} must be a non-negative safe integer, got ${v}`);
  }
  return v;
}

/** A timestamp as an int64: truncated to an integer, 0 when not finite, clamped to ±2^53. */
function ts64(v: number): number {
  if (!Number.isFinite(v)) return 0;
  const t = Math.trunc(v);
  return t > Number.MAX_SAFE_INTEGER ? Number.MAX_SAFE_INTEGER : t < -Number.MAX_SAFE_INTEGER ? -Number.MAX_SAFE_INTEGER : t + 0;
}

/**
 * The FlatBuffers data frame of `ev`. Parses `ev.data` once (only for a known stream kind) and
 * writes the typed payload of that kind, or RawJson with `ev.data` verbatim when it does not fit.
 * Throws TypeError when seq/prev are not non-negative safe integers.
 */
export function encodeDataFrameFb(ev: StreamEvent): Uint8Array {
  const seq = u64(ev.seq, "seq");
  const prev = u64(ev.prev, "prev");
  const sourceTs = ts64(ev.sourceTs);
  const gatewayTs = ts64(ev.gatewayTs);
  const data = ev.data === "" ? "null" : ev.data;

  builder.clear();
  let payloadType = fb.Payload.RawJson;
  let payload = 0;
  const kind = streamKind(ev.stream);
  if (kind !== "other") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      parsed = undefined; // not JSON: forwarded verbatim, as the JSON format does
    }
    if (parsed !== undefined) {
      // A lone surrogate can only come from a \u escape or be in the text itself.
      checkWellFormed = data.includes("\\u") || !data.isWellFormed();
      switch (kind) {
        case "trades":
          if (isTrade(parsed)) {
            payload = buildTrade(parsed);
            payloadType = fb.Payload.Trade;
          }
          break;
        case "depth":
          if (isDepth(parsed)) {
            payload = buildDepth(parsed);
            payloadType = fb.Payload.Depth;
          }
          break;
        case "ticker":
          if (isTicker(parsed)) {
            payload = buildTicker(parsed);
            payloadType = fb.Payload.Ticker;
          }
          break;
        case "orders":
          if (isOrder(parsed)) {
            payload = buildOrder(parsed);
            payloadType = fb.Payload.OrderUpdate;
          }
          break;
      }
    }
  }
  if (payload === 0) payload = buildRawJson(data);

  const b = builder;
  const stream = str(ev.stream);
  fb.DataFrame.startDataFrame(b);
  fb.DataFrame.addStream(b, stream);
  add64(b, F.seq, seq);
  add64(b, F.prev, prev);
  add64(b, F.sourceTs, sourceTs);
  add64(b, F.gatewayTs, gatewayTs);
  fb.DataFrame.addPayloadType(b, payloadType);
  fb.DataFrame.addPayload(b, payload);
  return finishFrame(fb.FrameBody.DataFrame, fb.DataFrame.endDataFrame(b));
}

// ---- control answers ---------------------------------------------------------------------------

/** Every key of `o` is one of `allowed`. */
function keysWithin(o: Obj, allowed: readonly string[]): boolean {
  for (const k in o) if (!allowed.includes(k)) return false;
  return true;
}

function isStreams(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => isStr(s));
}

function isOptId(v: unknown): v is RequestId | undefined {
  return v === undefined || isInt(v) || isStr(v);
}

interface IdParts {
  kind: IdKind;
  num: bigint;
  str: number;
}

/** Creates the id string if any: call before starting the table. */
function prepId(id: RequestId | undefined): IdParts {
  if (typeof id === "number") return { kind: IdKind.Number, num: BigInt(id), str: 0 };
  if (typeof id === "string") return { kind: IdKind.String, num: 0n, str: str(id) };
  return { kind: IdKind.None, num: 0n, str: 0 };
}

function buildStreamsVector(streams: string[]): number {
  const offs = streams.map((s) => str(s));
  builder.startVector(4, offs.length, 4);
  for (let i = offs.length - 1; i >= 0; i--) builder.addOffset(offs[i]!);
  return builder.endVector();
}

const STREAMS_ANSWER_KEYS = ["event", "streams", "id"] as const;

/** Typed body of a control answer, or null when it has no table or does not fit one exactly. */
function buildControl(m: unknown): [fb.FrameBody, number] | null {
  if (!isObj(m)) return null;
  const b = builder;
  switch (m.event) {
    case "subscribed":
    case "unsubscribed":
    case "list": {
      if (!keysWithin(m, STREAMS_ANSWER_KEYS) || !isStreams(m.streams) || !isOptId(m.id)) return null;
      const streams = buildStreamsVector(m.streams);
      const id = prepId(m.id);
      if (m.event === "subscribed") {
        const o = fb.Subscribed.createSubscribed(b, streams, id.kind, id.num, id.str);
        return [fb.FrameBody.Subscribed, o];
      }
      if (m.event === "unsubscribed") {
        const o = fb.Unsubscribed.createUnsubscribed(b, streams, id.kind, id.num, id.str);
        return [fb.FrameBody.Unsubscribed, o];
      }
      return [fb.FrameBody.StreamList, fb.StreamList.createStreamList(b, streams, id.kind, id.num, id.str)];
    }
    case "pong": {
      if (!keysWithin(m, ["event", "id"]) || !isOptId(m.id)) return null;
      const id = prepId(m.id);
      return [fb.FrameBody.Pong, fb.Pong.createPong(b, id.kind, id.num, id.str)];
    }
    case "resumed": {
      if (keyCount(m) !== 4 || !isStr(m.stream) || !isUint(m.from) || !isUint(m.to)) return null;
      const stream = str(m.stream);
      return [fb.FrameBody.Resumed, fb.Resumed.createResumed(b, stream, BigInt(m.from), BigInt(m.to))];
    }
    case "error": {
      if (
        !keysWithin(m, ["event", "code", "message", "id", "stream", "oldest"]) ||
        !isStr(m.code) ||
        !isStr(m.message) ||
        !isOptId(m.id) ||
        !(m.stream === undefined || isStr(m.stream)) ||
        !(m.oldest === undefined || isUint(m.oldest))
      ) {
        return null;
      }
      const code = str(m.code);
      const message = str(m.message);
      const id = prepId(m.id);
      const stream = m.stream === undefined ? 0 : str(m.stream);
      const hasOldest = m.oldest !== undefined;
      const oldest = hasOldest ? BigInt(m.oldest as number) : 0n;
      const o = fb.ErrorFrame.createErrorFrame(b, code, message, id.kind, id.num, id.str, stream, hasOldest, oldest);
      return [fb.FrameBody.ErrorFrame, o];
    }
    default:
      return null;
  }
}

/**
 * The FlatBuffers frame of a control answer (subscribed, unsubscribed, list, pong, resumed,
 * error). One that has no typed table or carries other fields travels as RawJson, the JSON text.
 * `msg` is taken with JSON semantics (undefined fields dropped), exactly as encodeControlJson does.
 */
export function encodeControlFb(msg: ControlFrame | object): Uint8Array {
  const json = JSON.stringify(msg);
  const m: unknown = JSON.parse(json);
  builder.clear();
  checkWellFormed = true; // control answers are rare: check every string
  const typed = buildControl(m);
  if (typed !== null) return finishFrame(typed[0], typed[1]);
  builder.clear(); // drop anything a half-fitting answer may have written
  return finishFrame(fb.FrameBody.RawJson, buildRawJson(json));
}

// ---- decoding ----------------------------------------------------------------------------------

// Reused accessors: decoding is synchronous and every result is a fresh plain object.
const frameAcc = new fb.Frame();
const dataAcc = new fb.DataFrame();
const tradeAcc = new fb.Trade();
const depthAcc = new fb.Depth();
const levelAcc = new fb.Level();
const tickerAcc = new fb.Ticker();
const orderAcc = new fb.OrderUpdate();
const rawAcc = new fb.RawJson();
const subscribedAcc = new fb.Subscribed();
const unsubscribedAcc = new fb.Unsubscribed();
const listAcc = new fb.StreamList();
const pongAcc = new fb.Pong();
const resumedAcc = new fb.Resumed();
const errorAcc = new fb.ErrorFrame();

/** True when `bytes` carries this schema's file identifier. */
export function isFrameFb(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && new flatbuffers.ByteBuffer(bytes).__has_identifier(FB_FILE_IDENTIFIER);
}

function rootFrame(bytes: Uint8Array): fb.Frame {
  const bb = new flatbuffers.ByteBuffer(bytes);
  if (bytes.length < 8 || !bb.__has_identifier(FB_FILE_IDENTIFIER)) {
    throw new Error("decodeFrameFb: not a gateway FlatBuffers frame (file identifier mismatch)");
  }
  const frame = fb.Frame.getRootAsFrame(bb, frameAcc);
  const version = frame.schemaVersion();
  if (version > FB_SCHEMA_VERSION) {
    throw new Error(`decodeFrameFb: frame schema_version ${version} is newer than the supported ${FB_SCHEMA_VERSION}`);
  }
  return frame;
}

function sideJs(s: fb.Side): Side {
  return s === fb.Side.Buy ? "buy" : "sell";
}

function readLevels(d: fb.Depth, bids: boolean): DepthLevel[] {
  const n = bids ? d.bidsLength() : d.asksLength();
  const out = new Array<DepthLevel>(n);
  for (let i = 0; i < n; i++) {
    const l = (bids ? d.bids(i, levelAcc) : d.asks(i, levelAcc))!;
    out[i] = [readStr(l, S.levelPrice) ?? "", readStr(l, S.levelQty) ?? ""];
  }
  return out;
}

function readPayload(df: fb.DataFrame): unknown {
  const type = df.payloadType();
  switch (type) {
    case fb.Payload.Trade: {
      const t = df.payload(tradeAcc) as fb.Trade;
      const data: TradeData = {
        id: readStr(t, S.tradeIdStr) ?? read64(t, F.tradeId),
        price: readStr(t, S.tradePrice) ?? "",
        qty: readStr(t, S.tradeQty) ?? "",
        side: sideJs(t.side()),
        timestamp: read64(t, F.tradeTs),
      };
      return data;
    }
    case fb.Payload.Depth: {
      const d = df.payload(depthAcc) as fb.Depth;
      const data: DepthData = {
        bids: readLevels(d, true),
        asks: readLevels(d, false),
        firstUpdateId: read64(d, F.depthFirst),
        lastUpdateId: read64(d, F.depthLast),
        timestamp: read64(d, F.depthTs),
      };
      return data;
    }
    case fb.Payload.Ticker: {
      const t = df.payload(tickerAcc) as fb.Ticker;
      const data: TickerData = {
        price: readStr(t, S.tickerPrice) ?? "",
        volume: readStr(t, S.tickerVolume) ?? "",
        high: readStr(t, S.tickerHigh) ?? "",
        low: readStr(t, S.tickerLow) ?? "",
        change: readStr(t, S.tickerChange) ?? "",
        timestamp: read64(t, F.tickerTs),
      };
      return data;
    }
    case fb.Payload.OrderUpdate: {
      const o = df.payload(orderAcc) as fb.OrderUpdate;
      const data: OrderData = {
        orderId: readStr(o, S.orderIdStr) ?? read64(o, F.orderId),
        pair: readStr(o, S.orderPair) ?? "",
        side: sideJs(o.side()),
        type: readStr(o, S.orderType) ?? "",
        status: readStr(o, S.orderStatus) ?? "",
        price: readStr(o, S.orderPrice) ?? "",
        qty: readStr(o, S.orderQty) ?? "",
        filledQty: readStr(o, S.orderFilledQty) ?? "",
        timestamp: read64(o, F.orderTs),
      };
      const clientOrderId = readStr(o, S.orderClientId);
      if (clientOrderId !== null) data.clientOrderId = clientOrderId;
      return data;
    }
    case fb.Payload.RawJson:
      return JSON.parse((df.payload(rawAcc) as fb.RawJson).json() ?? "null");
    default:
      throw new Error(`decodeFrameFb: unsupported payload type ${type} (newer schema?)`);
  }
}

function readId(kind: IdKind, num: () => bigint, text: () => string | null): RequestId | undefined {
  if (kind === IdKind.Number) return Number(num());
  if (kind === IdKind.String) return text() ?? "";
  return undefined;
}

function readStreams(n: number, at: (i: number) => string): string[] {
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) out[i] = at(i);
  return out;
}

/**
 * Decodes a FlatBuffers frame into the object its JSON frame parses to: `{stream, seq, prev,
 * data}` for a data frame (data as in JSON), `{event, ...}` for a control answer. Throws on bytes
 * that are not a frame of this schema, or of a newer schema_version.
 */
export function decodeFrameFb(bytes: Uint8Array): DecodedFrame {
  const frame = rootFrame(bytes);
  const type = frame.bodyType();
  switch (type) {
    case fb.FrameBody.DataFrame: {
      const df = frame.body(dataAcc) as fb.DataFrame;
      const out: DataFrame = {
        stream: readStr(df, S.stream) ?? "",
        seq: read64(df, F.seq),
        prev: read64(df, F.prev),
        data: readPayload(df),
      };
      return out;
    }
    case fb.FrameBody.Subscribed:
    case fb.FrameBody.Unsubscribed:
    case fb.FrameBody.StreamList: {
      const t =
        type === fb.FrameBody.Subscribed
          ? (frame.body(subscribedAcc) as fb.Subscribed)
          : type === fb.FrameBody.Unsubscribed
            ? (frame.body(unsubscribedAcc) as fb.Unsubscribed)
            : (frame.body(listAcc) as fb.StreamList);
      const event = type === fb.FrameBody.Subscribed ? "subscribed" : type === fb.FrameBody.Unsubscribed ? "unsubscribed" : "list";
      const out: SubscribedFrame | UnsubscribedFrame | ListFrame = { event, streams: readStreams(t.streamsLength(), (i) => t.streams(i)) };
      const id = readId(t.idKind(), () => t.id(), () => t.idStr());
      if (id !== undefined) out.id = id;
      return out;
    }
    case fb.FrameBody.Pong: {
      const t = frame.body(pongAcc) as fb.Pong;
      const out: PongFrame = { event: "pong" };
      const id = readId(t.idKind(), () => t.id(), () => t.idStr());
      if (id !== undefined) out.id = id;
      return out;
    }
    case fb.FrameBody.Resumed: {
      const t = frame.body(resumedAcc) as fb.Resumed;
      return { event: "resumed", stream: t.stream() ?? "", from: Number(t.from()), to: Number(t.to()) };
    }
    case fb.FrameBody.ErrorFrame: {
      const t = frame.body(errorAcc) as fb.ErrorFrame;
      const out: ErrorFrame = { event: "error", code: t.code() ?? "", message: t.message() ?? "" };
      const id = readId(t.idKind(), () => t.id(), () => t.idStr());
      if (id !== undefined) out.id = id;
      const stream = t.stream();
      if (stream !== null) out.stream = stream;
      if (t.hasOldest()) out.oldest = Number(t.oldest());
      return out;
    }
    case fb.FrameBody.RawJson:
      return JSON.parse((frame.body(rawAcc) as fb.RawJson).json() ?? "null") as DecodedFrame;
    default:
      throw new Error(`decodeFrameFb: unsupported frame body type ${type} (newer schema?)`);
  }
}

/** sourceTs/gatewayTs of a FlatBuffers data frame (not part of the JSON shape); null otherwise. */
export function readDataFrameTimesFb(bytes: Uint8Array): { sourceTs: number; gatewayTs: number } | null {
  const frame = rootFrame(bytes);
  if (frame.bodyType() !== fb.FrameBody.DataFrame) return null;
  const df = frame.body(dataAcc) as fb.DataFrame;
  return { sourceTs: read64(df, F.sourceTs), gatewayTs: read64(df, F.gatewayTs) };
}
