/**
 * Fast paths under the generated FlatBuffers API, for the hot path (data frames).
 *
 * The runtime writes and reads 64-bit fields through BigInt (several BigInt operations per field),
 * and reads strings through a subarray view plus TextDecoder. On the hot path the codec writes/reads
 * 64-bit fields as two 32-bit halves and short ASCII strings byte by byte instead. The vtable slot
 * and default of every such field are taken from the generated code itself (SlotProbe), not
 * hard-coded, and test/codec/ checks that the bytes equal those of the generated API. Control
 * frames (rare) use the generated API only.
 */
import * as flatbuffers from "flatbuffers";
import * as fb from "../generated/frames_generated.ts";

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
  override addFieldStruct(voffset: number, _value: number, _defaultValue: number): void {
    this.lastSlot = voffset;
  }
}

/** Where a 64-bit integer field lives in its table, and how to read it without BigInt. */
export interface Field64 {
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

/** vtable byte offset of a struct field, from its generated add function. */
function fieldStruct(add: (b: flatbuffers.Builder, offset: number) => void): number {
  return 4 + 2 * probeSlot(() => add(probe, 1));
}

/** The fields of a schema v2 data frame (the Frame itself) and its Depth2 and OrderFx tables. */
export const V2 = {
  seq: field64(fb.Frame.addSeq, false),
  prevGap: field64(fb.Frame.addPrevGap, false),
  gatewayTs: field64(fb.Frame.addGatewayTs, true),
  sourceTs: field64(fb.Frame.addSourceTs, true),
  stream: fieldStr(fb.Frame.addStream),
  trade: fieldStruct(fb.Frame.addTrade),
  ticker: fieldStruct(fb.Frame.addTicker),
  depth: fieldStr(fb.Frame.addDepth),
  order: fieldStr(fb.Frame.addOrder),
  rawJson: fieldStr(fb.Frame.addRawJson),
  depthFirst: field64(fb.Depth2.addFirstUpdateId, false),
  depthLast: field64(fb.Depth2.addLastUpdateId, false),
  depthTs: field64(fb.Depth2.addTimestamp, true),
  depthBase: field64(fb.Depth2.addPriceBase, true),
  depthBids: fieldStr(fb.Depth2.addBids),
  depthAsks: fieldStr(fb.Depth2.addAsks),
  depthBidsPacked: fieldStr(fb.Depth2.addBidsPacked),
  depthAsksPacked: fieldStr(fb.Depth2.addAsksPacked),
  orderId: field64(fb.OrderFx.addOrderId, false),
  orderPrice: field64(fb.OrderFx.addPrice, true),
  orderQty: field64(fb.OrderFx.addQty, true),
  orderFilled: field64(fb.OrderFx.addFilledQty, true),
  orderTs: field64(fb.OrderFx.addTimestamp, true),
  orderIdStr: fieldStr(fb.OrderFx.addOrderIdStr),
  orderClientId: fieldStr(fb.OrderFx.addClientOrderId),
  orderPair: fieldStr(fb.OrderFx.addPair),
  orderType: fieldStr(fb.OrderFx.addType),
  orderStatus: fieldStr(fb.OrderFx.addStatus),
} as const;

/** The 64-bit fields of the data-frame tables. */
export const F = {
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

/** vtable offsets of the string fields of the data-frame tables. */
export const S = {
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
export function add64(b: flatbuffers.Builder, f: Field64, v: number): void {
  if (v === f.def) return;
  b.prep(8, 0);
  const hi = Math.floor(v / TWO_32);
  b.writeInt32(hi | 0); // the builder writes downwards: high word first
  b.writeInt32((v - hi * TWO_32) | 0);
  b.slot(f.slot);
}

/** A generated table accessor: its buffer and position. */
export interface TableRef {
  bb: flatbuffers.ByteBuffer | null;
  bb_pos: number;
}

/** The generated accessor's value as a number, without BigInt (exact up to 2^53). */
export function read64(t: TableRef, f: Field64): number {
  const bb = t.bb!;
  const o = bb.__offset(t.bb_pos, f.vt);
  if (o === 0) return f.def;
  const p = t.bb_pos + o;
  return bb.readUint32(p) + (f.signed ? bb.readInt32(p + 4) : bb.readUint32(p + 4)) * TWO_32;
}

const utf8Decoder = new TextDecoder();

/** The string field at vtable offset `vt` of `t` (null when absent), as the generated accessor. */
export function readStr(t: TableRef, vt: number): string | null {
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
