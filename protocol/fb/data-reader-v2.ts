/**
 * Reading schema v2 data frames (the root Frame with no body): the fields of the frame itself and
 * its fixed-point payload, back into exactly the object the JSON frame parses to, every price and
 * quantity the same decimal string the JSON frame carries.
 */
import type * as flatbuffers from "flatbuffers";
import { formatFixed } from "../book/fixed-point.ts";
import type { DataFrame, DepthData, DepthLevel, OrderData, Side, TickerData, TradeData } from "../frames.ts";
import * as fb from "../generated/frames_generated.ts";
import { read64, readStr, V2, type TableRef } from "./fields.ts";

const TWO_32 = 4294967296;
const POW10 = Array.from({ length: 31 }, (_, i) => 10 ** i);
const ZEROS = Array.from({ length: 31 }, (_, i) => "0".repeat(i));

/** The signed int64 at `p`: a number when within ±2^53, else a bigint. */
function i64(bb: flatbuffers.ByteBuffer, p: number): number | bigint {
  const lo = bb.readUint32(p);
  const hi = bb.readInt32(p + 4);
  if (hi >= -2097152 && hi < 2097152) return hi * TWO_32 + lo;
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** The unsigned int64 at `p` as a number (exact up to 2^53). */
function u64(bb: flatbuffers.ByteBuffer, p: number): number {
  return bb.readUint32(p) + bb.readUint32(p + 4) * TWO_32;
}

/** The decimal string of mantissa `m` at scale `s`: formatFixed, without its slices for the usual sizes. */
function dec(m: number | bigint, s: number): string {
  if (m === 0) return "0";
  if (s === 0) return String(m);
  if (typeof m !== "number" || s > 15) return formatFixed(m, s);
  const neg = m < 0;
  const a = neg ? -m : m;
  const p = POW10[s]!;
  let ip = Math.floor(a / p);
  let fp = a - ip * p;
  if (fp < 0) {
    ip -= 1;
    fp += p;
  } else if (fp >= p) {
    ip += 1;
    fp -= p;
  }
  const f = String(fp);
  const out = ip + "." + ZEROS[s - f.length] + f;
  return neg ? "-" + out : out;
}

function sideJs(s: number): Side {
  return s === fb.Side.Buy ? "buy" : "sell";
}

/** Reused table cursor for the payload tables. */
const sub: TableRef = { bb: null, bb_pos: 0 };

function table(t: TableRef, vt: number): TableRef | null {
  const bb = t.bb!;
  const o = bb.__offset(t.bb_pos, vt);
  if (o === 0) return null;
  sub.bb = bb;
  sub.bb_pos = bb.__indirect(t.bb_pos + o);
  return sub;
}

function readTrade(bb: flatbuffers.ByteBuffer, p: number): TradeData {
  const ps = bb.readInt8(p + 32);
  const qs = bb.readInt8(p + 33);
  return { id: u64(bb, p), price: dec(i64(bb, p + 8), ps), qty: dec(i64(bb, p + 16), qs), side: sideJs(bb.readUint8(p + 34)), timestamp: Number(i64(bb, p + 24)) };
}

function readTicker(bb: flatbuffers.ByteBuffer, p: number): TickerData {
  return {
    price: dec(i64(bb, p), bb.readInt8(p + 48)),
    volume: dec(i64(bb, p + 8), bb.readInt8(p + 49)),
    high: dec(i64(bb, p + 16), bb.readInt8(p + 50)),
    low: dec(i64(bb, p + 24), bb.readInt8(p + 51)),
    change: dec(i64(bb, p + 32), bb.readInt8(p + 52)),
    timestamp: Number(i64(bb, p + 40)),
  };
}

/** Position and length of the vector field at `vt` of `t` (length 0 when absent). */
function vec(t: TableRef, vt: number): [number, number] {
  const bb = t.bb!;
  const o = bb.__offset(t.bb_pos, vt);
  if (o === 0) return [0, 0];
  return [bb.__vector(t.bb_pos + o), bb.__vector_len(t.bb_pos + o)];
}

function readLevels(t: TableRef, wideVt: number, packedVt: number, base: number, ps: number, qs: number): DepthLevel[] {
  const bb = t.bb!;
  let [at, n] = vec(t, packedVt);
  if (n > 0 || bb.__offset(t.bb_pos, packedVt) !== 0) {
    const out = new Array<DepthLevel>(n);
    let price = base;
    for (let i = 0; i < n; i++, at += 8) {
      price += bb.readInt32(at);
      out[i] = [dec(price, ps), dec(bb.readUint32(at + 4), qs)];
    }
    return out;
  }
  [at, n] = vec(t, wideVt);
  const out = new Array<DepthLevel>(n);
  for (let i = 0; i < n; i++, at += 16) out[i] = [dec(i64(bb, at), ps), dec(i64(bb, at + 8), qs)];
  return out;
}

function readDepth(d: TableRef): DepthData {
  const bb = d.bb!;
  const o = (vt: number) => bb.__offset(d.bb_pos, vt);
  const byte = (vt: number, def: number) => (o(vt) ? bb.readInt8(d.bb_pos + o(vt)) : def);
  const ps = byte(SCALE_VT.price, 0);
  const qs = byte(SCALE_VT.qty, 0);
  const base = read64(d, V2.depthBase);
  const type = byte(SCALE_VT.type, 0) === fb.DepthType.Snapshot ? "snapshot" : "update";
  const checksum = o(SCALE_VT.checksum) ? bb.readUint32(d.bb_pos + o(SCALE_VT.checksum)) : 0;
  const firstUpdateId = read64(d, V2.depthFirst);
  const lastUpdateId = read64(d, V2.depthLast);
  const timestamp = read64(d, V2.depthTs);
  const bids = readLevels(d, V2.depthBids, V2.depthBidsPacked, base, ps, qs);
  const asks = readLevels(d, V2.depthAsks, V2.depthAsksPacked, base, ps, qs);
  return { type, bids, asks, firstUpdateId, lastUpdateId, checksum, timestamp };
}

/** vtable offsets of Depth2's small scalars (as the generated accessors read them). */
const SCALE_VT = { type: 4, checksum: 10, price: 14, qty: 16 } as const;

function readOrder(t: TableRef): OrderData {
  const bb = t.bb!;
  const byte = (vt: number) => {
    const o = bb.__offset(t.bb_pos, vt);
    return o ? bb.readInt8(t.bb_pos + o) : 0;
  };
  const data: OrderData = {
    orderId: readStr(t, V2.orderIdStr) ?? read64(t, V2.orderId),
    pair: readStr(t, V2.orderPair) ?? "",
    side: sideJs(byte(ORDER_VT.side)),
    type: readStr(t, V2.orderType) ?? "",
    status: readStr(t, V2.orderStatus) ?? "",
    price: dec(read64(t, V2.orderPrice), byte(ORDER_VT.priceScale)),
    qty: dec(read64(t, V2.orderQty), byte(ORDER_VT.qtyScale)),
    filledQty: dec(read64(t, V2.orderFilled), byte(ORDER_VT.filledScale)),
    timestamp: read64(t, V2.orderTs),
  };
  const clientOrderId = readStr(t, V2.orderClientId);
  if (clientOrderId !== null) data.clientOrderId = clientOrderId;
  return data;
}

/** vtable offsets of OrderFx's byte fields. */
const ORDER_VT = { side: 12, priceScale: 24, qtyScale: 26, filledScale: 28 } as const;

/** The payload of v2 data frame `f`. */
function readPayload(f: TableRef): unknown {
  const bb = f.bb!;
  let o = bb.__offset(f.bb_pos, V2.trade);
  if (o !== 0) return readTrade(bb, f.bb_pos + o);
  o = bb.__offset(f.bb_pos, V2.ticker);
  if (o !== 0) return readTicker(bb, f.bb_pos + o);
  let t = table(f, V2.depth);
  if (t !== null) return readDepth(t);
  t = table(f, V2.order);
  if (t !== null) return readOrder(t);
  return JSON.parse(readStr(f, V2.rawJson) ?? "null");
}

/** The data frame in root Frame `f` (schema v2, no body). */
export function readDataFrameV2(f: TableRef): DataFrame {
  const seq = read64(f, V2.seq);
  return { stream: readStr(f, V2.stream) ?? "", seq, prev: seq - read64(f, V2.prevGap), data: readPayload(f) };
}

/** sourceTs/gatewayTs of v2 data frame `f`; an absent source_ts is the payload's timestamp. */
export function readTimesV2(f: TableRef): { sourceTs: number; gatewayTs: number } {
  const gatewayTs = read64(f, V2.gatewayTs);
  let sourceTs = read64(f, V2.sourceTs);
  if (sourceTs === -1) {
    const bb = f.bb!;
    let o = bb.__offset(f.bb_pos, V2.trade);
    if (o !== 0) sourceTs = Number(i64(bb, f.bb_pos + o + 24));
    else if ((o = bb.__offset(f.bb_pos, V2.ticker)) !== 0) sourceTs = Number(i64(bb, f.bb_pos + o + 40));
    else {
      const d = table(f, V2.depth);
      const t = d ? read64(d, V2.depthTs) : table(f, V2.order) ? read64(sub, V2.orderTs) : 0;
      sourceTs = t;
    }
  }
  return { sourceTs, gatewayTs };
}
