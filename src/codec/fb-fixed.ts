/**
 * Writing fixed-point payloads (schema v2) into the reused builder without BigInt: int64 values
 * as two 32-bit halves, structs field by field in the generated code's order (test/codec/ checks
 * the bytes against the generated API).
 */
import type * as flatbuffers from "flatbuffers";
import { fixedScale, parseFixed } from "../../protocol/book/fixed-point.ts";

const TWO_32 = 4294967296;

/** Writes an int64 (a safe integer) at the builder's head: high word first (it writes downwards). */
export function writeI64(b: flatbuffers.Builder, v: number): void {
  const hi = Math.floor(v / TWO_32);
  b.writeInt32(hi | 0);
  b.writeInt32((v - hi * TWO_32) | 0);
}

/** Scale of the last `fx()` that succeeded. */
export let fxScale = 0;

/**
 * The mantissa of decimal `s` (scale in `fxScale`), or NaN when `s` does not convert exactly.
 * A mantissa of 0 reads back as "0", so a zero written with decimals ("0.00") does not convert.
 */
export function fx(s: string): number {
  const m = parseFixed(s);
  if (m === 0 && fixedScale !== 0) return NaN;
  fxScale = fixedScale;
  return m;
}
