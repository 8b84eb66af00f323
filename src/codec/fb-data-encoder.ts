/**
 * Encoding of data frames (the hot path), FlatBuffers schema v2: the root Frame carries the data
 * frame's fields itself and a fixed-point payload of the stream's kind (TradeFx / TickerFx structs
 * inline, Depth2 and OrderFx tables). A payload that does not fit its kind exactly, or holds a
 * value that does not convert to fixed-point exactly, travels as `raw_json`: its JSON text.
 */
import * as fb from "../../protocol/generated/frames_generated.ts";
import { add64, V2 } from "../../protocol/fb/fields.ts";
import type { OrderData, Side, TickerData, TradeData } from "../../protocol/frames.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { FrameSignature } from "./frame-signature.ts";
import { streamKind } from "../../protocol/stream-kind.ts";
import { encoderState, finishRoot, str } from "./fb-builder.ts";
import { buildDepth2 } from "./fb-depth-encoder.ts";
import { fx, fxScale, writeI64 } from "./fb-fixed.ts";
import { isDepth, isOrder, isTicker, isTrade, setCheckWellFormed } from "./fb-payload-checks.ts";

function sideFb(s: Side): fb.Side {
  return s === "buy" ? fb.Side.Buy : fb.Side.Sell;
}

/** Mantissas and scales of the struct payload being written (trade or ticker). */
const m = new Float64Array(6);
const sc = new Int8Array(6);

/** Converts decimal `v` into m[i]/sc[i]; false when it does not convert. */
function conv(i: number, v: string): boolean {
  const x = fx(v);
  if (x !== x) return false;
  m[i] = x;
  sc[i] = fxScale;
  return true;
}

/** Writes the TradeFx struct of `t` at the head of the builder (inside the Frame table). */
function writeTrade(t: TradeData): void {
  const b = encoderState.builder;
  b.prep(8, 40);
  b.pad(5);
  b.writeInt8(sideFb(t.side));
  b.writeInt8(sc[1]!);
  b.writeInt8(sc[0]!);
  writeI64(b, t.timestamp);
  writeI64(b, m[1]!);
  writeI64(b, m[0]!);
  writeI64(b, t.id as number);
}

/** Writes the TickerFx struct of `t` at the head of the builder (inside the Frame table). */
function writeTicker(t: TickerData): void {
  const b = encoderState.builder;
  b.prep(8, 56);
  b.pad(3);
  for (let i = 4; i >= 0; i--) b.writeInt8(sc[i]!);
  writeI64(b, t.timestamp);
  for (let i = 4; i >= 0; i--) writeI64(b, m[i]!);
}

/** The OrderFx table of `o`, or 0 when a price does not convert. */
function buildOrder(o: OrderData): number {
  if (!conv(0, o.price) || !conv(1, o.qty) || !conv(2, o.filledQty)) return 0;
  const b = encoderState.builder;
  const idStr = typeof o.orderId === "string" ? str(o.orderId) : 0;
  const clientOrderId = o.clientOrderId !== undefined ? str(o.clientOrderId) : 0;
  const pair = str(o.pair);
  const type = str(o.type);
  const status = str(o.status);
  fb.OrderFx.startOrderFx(b);
  if (typeof o.orderId === "number") add64(b, V2.orderId, o.orderId);
  add64(b, V2.orderPrice, m[0]!);
  add64(b, V2.orderQty, m[1]!);
  add64(b, V2.orderFilled, m[2]!);
  add64(b, V2.orderTs, o.timestamp);
  if (idStr !== 0) fb.OrderFx.addOrderIdStr(b, idStr);
  if (clientOrderId !== 0) fb.OrderFx.addClientOrderId(b, clientOrderId);
  fb.OrderFx.addPair(b, pair);
  fb.OrderFx.addType(b, type);
  fb.OrderFx.addStatus(b, status);
  fb.OrderFx.addSide(b, sideFb(o.side));
  fb.OrderFx.addPriceScale(b, sc[0]!);
  fb.OrderFx.addQtyScale(b, sc[1]!);
  fb.OrderFx.addFilledQtyScale(b, sc[2]!);
  return fb.OrderFx.endOrderFx(b);
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

const NONE = 0;
const TRADE = 1;
const TICKER = 2;
const TABLE = 3;

/**
 * The FlatBuffers (schema v2) data frame of `ev`. Uses `ev.value` (the payload the router parsed)
 * or parses `ev.data` (only for a known stream kind) and writes that kind's fixed-point payload, or `raw_json` with `ev.data` verbatim when it
 * does not fit. Throws TypeError when seq/prev are not non-negative safe integers.
 */
export function encodeDataFrameFb(ev: StreamEvent, signature?: FrameSignature): Uint8Array {
  const seq = u64(ev.seq, "seq");
  const prev = u64(ev.prev, "prev");
  const sourceTs = ts64(ev.sourceTs);
  const gatewayTs = ts64(ev.gatewayTs);
  const data = ev.data === "" ? "null" : ev.data;

  const b = encoderState.builder;
  b.clear();
  let inline = NONE;
  let table = 0;
  let tableSlot = V2.rawJson;
  let payloadTs: number | undefined;
  let parsed: unknown;
  // A signed frame carries the exact data text it was signed over: raw_json, never a typed payload.
  const kind = signature ? "other" : streamKind(ev.stream);
  if (kind !== "other") {
    if (ev.value !== undefined) parsed = ev.value; // parsed once, by the router
    else {
      try {
        parsed = JSON.parse(data);
      } catch {
        parsed = undefined; // not JSON: forwarded verbatim, as the JSON format does
      }
    }
    if (parsed !== undefined) {
      // A lone surrogate can only come from a \u escape or be in the text itself.
      setCheckWellFormed(data.includes("\\u") || !data.isWellFormed());
      switch (kind) {
        case "trades":
          if (isTrade(parsed) && typeof parsed.id === "number" && conv(0, parsed.price) && conv(1, parsed.qty)) {
            inline = TRADE;
            payloadTs = parsed.timestamp;
          }
          break;
        case "ticker":
          if (isTicker(parsed) && conv(0, parsed.price) && conv(1, parsed.volume) && conv(2, parsed.high) && conv(3, parsed.low) && conv(4, parsed.change)) {
            inline = TICKER;
            payloadTs = parsed.timestamp;
          }
          break;
        case "depth":
          if (isDepth(parsed)) {
            table = buildDepth2(parsed);
            tableSlot = V2.depth;
            payloadTs = parsed.timestamp;
          }
          break;
        case "orders":
          if (isOrder(parsed)) {
            table = buildOrder(parsed);
            tableSlot = V2.order;
            payloadTs = parsed.timestamp;
          }
          break;
      }
    }
  }
  if (inline === NONE && table === 0) {
    b.clear(); // drop what a half-converted payload may have written
    table = str(data);
    tableSlot = V2.rawJson;
    payloadTs = undefined;
  }
  const stream = str(ev.stream);
  const sig = signature ? fb.Frame.createSignatureVector(b, signature.bytes) : 0;
  const kid = signature ? str(signature.kid) : 0;
  fb.Frame.startFrame(b);
  if (signature) {
    fb.Frame.addSignature(b, sig);
    fb.Frame.addKeyId(b, kid);
  }
  // Write order decides the padding: the 4-byte offsets first re-align the string before them to
  // 8, so a trade frame has 2 bytes of padding instead of 10.
  b.addFieldOffset((V2.stream - 4) / 2, stream, 0);
  if (table !== 0) b.addFieldOffset((tableSlot - 4) / 2, table, 0);
  if (inline === TRADE) writeTrade(parsed as TradeData);
  else if (inline === TICKER) writeTicker(parsed as TickerData);
  if (inline !== NONE) b.slot(inline === TRADE ? (V2.trade - 4) / 2 : (V2.ticker - 4) / 2);
  add64(b, V2.seq, seq);
  add64(b, V2.prevGap, seq - prev);
  add64(b, V2.gatewayTs, gatewayTs);
  if (sourceTs !== (payloadTs ?? 0)) add64(b, V2.sourceTs, sourceTs);
  // No schema_version: a v2 data frame is known by having no body (2 bytes and their padding
  // saved on every frame; a v1 reader fails on it with "unsupported frame body type 0").
  return finishRoot(fb.Frame.endFrame(b));
}
