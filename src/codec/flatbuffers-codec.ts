/**
 * FlatBuffers wire format (schema/frames.fbs): the server's entry.
 *
 * Encoders run on the hot path: one module-level Builder is reused (fb-builder.ts) and every
 * encoder returns a copy of the finished bytes. Encoding is synchronous and not re-entrant.
 *
 * Decoders return exactly the object the JSON frame parses to (protocol/frames.ts), so an app sees
 * the same typed objects from either format. A data payload is written typed (Trade, Depth,
 * Ticker, OrderUpdate) only when it round-trips exactly; anything else (unknown stream kind, extra
 * or missing fields, numbers where strings are expected, ...) travels as RawJson, the JSON text.
 *
 * The parts: fb-data-encoder.ts (data frames), fb-control-codec.ts (control answers), and beneath
 * them fb-builder.ts and fb-payload-checks.ts (what fits a typed table). What the client shares
 * lives in the protocol leaf and is re-exported here for the server: protocol/fb/decoder.ts,
 * protocol/fb/control-reader.ts, protocol/fb/fields.ts (BigInt-free field access) and
 * protocol/fb/schema.ts, over the generated code in protocol/generated/.
 */
export { encodeControlFb } from "./fb-control-codec.ts";
export { encodeDataFrameFb } from "./fb-data-encoder.ts";
export { decodeFrameFb, isFrameFb, readDataFrameTimesFb } from "../../protocol/fb/decoder.ts";
export { FB_FILE_IDENTIFIER, FB_SCHEMA_VERSION } from "../../protocol/fb/schema.ts";
