/**
 * FlatBuffers wire format (schema/frames.fbs, generated code in ./generated/): the public entry.
 *
 * Encoders run on the hot path: one module-level Builder is reused (fb-builder.ts) and every
 * encoder returns a copy of the finished bytes. Encoding is synchronous and not re-entrant.
 *
 * Decoders return exactly the object the JSON frame parses to (see json-codec.ts), so an app sees
 * the same typed objects from either format. A data payload is written typed (Trade, Depth,
 * Ticker, OrderUpdate) only when it round-trips exactly; anything else (unknown stream kind, extra
 * or missing fields, numbers where strings are expected, ...) travels as RawJson, the JSON text.
 *
 * The parts: fb-data-encoder.ts (data frames), fb-control-codec.ts (control answers, both ways),
 * fb-decoder.ts, and beneath them fb-builder.ts, fb-fields.ts (BigInt-free field access),
 * fb-payload-checks.ts (what fits a typed table) and fb-schema.ts.
 */
export { encodeControlFb } from "./fb-control-codec.ts";
export { encodeDataFrameFb } from "./fb-data-encoder.ts";
export { decodeFrameFb, isFrameFb, readDataFrameTimesFb } from "./fb-decoder.ts";
export { FB_FILE_IDENTIFIER, FB_SCHEMA_VERSION } from "./fb-schema.ts";
