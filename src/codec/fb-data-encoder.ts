/**
 * Encoding of data frames (the hot path). A payload is written typed (Trade, Depth, Ticker,
 * OrderUpdate) only when it round-trips exactly (fb-payload-checks.ts); anything else travels as
 * RawJson, the JSON text.
 */
import type { StreamEvent } from "../../protocol/stream-event.ts";
import { buildRawJson, encoderState, finishFrame, str } from "./fb-builder.ts";
import { add64, F } from "../../protocol/fb/fields.ts";
import { isDepth, isOrder, isTicker, isTrade, setCheckWellFormed } from "./fb-payload-checks.ts";
import * as fb from "../../protocol/generated/frames_generated.ts";
import type { DepthData, DepthLevel, OrderData, Side, TickerData, TradeData } from "../../protocol/frames.ts";
import { streamKind } from "../../protocol/stream-kind.ts";

function sideFb(s: Side): fb.Side {
  return s === "buy" ? fb.Side.Buy : fb.Side.Sell;
}

function buildTrade(t: TradeData): number {
  const b = encoderState.builder;
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
  const b = encoderState.builder;
  const n = levels.length;
  if (encoderState.levelOffsets.length < n) encoderState.levelOffsets = new Array<number>(n).fill(0);
  const offs = encoderState.levelOffsets;
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
  const b = encoderState.builder;
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
  const b = encoderState.builder;
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
  const b = encoderState.builder;
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

  encoderState.builder.clear();
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
      setCheckWellFormed(data.includes("\\u") || !data.isWellFormed());
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

  const b = encoderState.builder;
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
