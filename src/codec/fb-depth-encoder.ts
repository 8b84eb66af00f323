/**
 * The Depth2 payload (schema v2) of a depth-family frame: levels as structs of fixed-point
 * mantissas at one price scale and one qty scale per frame, packed to 8 bytes a level (price delta
 * from the previous level, qty) when every value fits 32 bits, 16 bytes a level otherwise.
 */
import * as fb from "../../protocol/generated/frames_generated.ts";
import type { DepthData, DepthLevel } from "../../protocol/frames.ts";
import { encoderState } from "./fb-builder.ts";
import { fx, fxScale, writeI64 } from "./fb-fixed.ts";
import { add64, V2 } from "../../protocol/fb/fields.ts";

const MAX_I32 = 2147483647;
const MIN_I32 = -2147483648;
const MAX_U32 = 4294967295;

/** Reused mantissa buffers (grown on demand). */
let prices = new Float64Array(256);
let qtys = new Float64Array(256);

/** Scales found by `convert`; -1 while no level set them. */
let priceScale = -1;
let qtyScale = -1;

/** Converts one side into prices/qtys from `at`; false when a value does not convert or a scale differs. */
function convert(levels: DepthLevel[], at: number): boolean {
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    const p = fx(l[0]);
    if (p !== p) return false;
    if (priceScale < 0) priceScale = fxScale;
    else if (fxScale !== priceScale) return false;
    const q = fx(l[1]);
    if (q !== q) return false;
    if (q !== 0) {
      if (qtyScale < 0) qtyScale = fxScale;
      else if (fxScale !== qtyScale) return false;
    }
    prices[at + i] = p;
    qtys[at + i] = q;
  }
  return true;
}

/** Whether the n levels from `at` fit LevelPacked starting from `base`. */
function packable(at: number, n: number, base: number): boolean {
  let prev = base;
  for (let i = at; i < at + n; i++) {
    const d = prices[i]! - prev;
    if (d > MAX_I32 || d < MIN_I32 || qtys[i]! > MAX_U32 || qtys[i]! < 0) return false;
    prev = prices[i]!;
  }
  return true;
}

function packedVector(at: number, n: number, base: number): number {
  const b = encoderState.builder;
  b.startVector(8, n, 4);
  for (let i = at + n - 1; i >= at; i--) {
    b.writeInt32(qtys[i]! | 0); // uint32 bits
    b.writeInt32(prices[i]! - (i === at ? base : prices[i - 1]!));
  }
  return b.endVector();
}

function wideVector(at: number, n: number): number {
  const b = encoderState.builder;
  b.startVector(16, n, 8);
  for (let i = at + n - 1; i >= at; i--) {
    writeI64(b, qtys[i]!);
    writeI64(b, prices[i]!);
  }
  return b.endVector();
}

/** The Depth2 table of `d`, or 0 when a value does not convert (the caller sends raw JSON). */
export function buildDepth2(d: DepthData): number {
  const nb = d.bids.length;
  const na = d.asks.length;
  if (prices.length < nb + na) {
    prices = new Float64Array((nb + na) * 2);
    qtys = new Float64Array((nb + na) * 2);
  }
  priceScale = -1;
  qtyScale = -1;
  if (!convert(d.bids, 0) || !convert(d.asks, nb)) return 0;
  const base = nb + na > 0 ? prices[0]! : 0;
  const packed = packable(0, nb, base) && packable(nb, na, base);
  const bids = packed ? packedVector(0, nb, base) : wideVector(0, nb);
  const asks = packed ? packedVector(nb, na, base) : wideVector(nb, na);
  const b = encoderState.builder;
  fb.Depth2.startDepth2(b);
  add64(b, V2.depthFirst, d.firstUpdateId);
  add64(b, V2.depthLast, d.lastUpdateId);
  add64(b, V2.depthTs, d.timestamp);
  if (packed) add64(b, V2.depthBase, base);
  fb.Depth2.addChecksum(b, d.checksum);
  if (packed) {
    fb.Depth2.addBidsPacked(b, bids);
    fb.Depth2.addAsksPacked(b, asks);
  } else {
    fb.Depth2.addBids(b, bids);
    fb.Depth2.addAsks(b, asks);
  }
  if (d.type === "snapshot") fb.Depth2.addType(b, fb.DepthType.Snapshot);
  fb.Depth2.addPriceScale(b, priceScale < 0 ? 0 : priceScale);
  fb.Depth2.addQtyScale(b, qtyScale < 0 ? 0 : qtyScale);
  return fb.Depth2.endDepth2(b);
}
