/**
 * Decoding of what arrives on the socket, for both wire formats, with the protocol's decoders:
 * JSON text is the reference shape, and `decodeFrameFb` (protocol/fb/decoder.ts, built on the code
 * generated from schema/frames.fbs) returns the very same objects from binary frames.
 * Browser-safe: it uses only the `flatbuffers` runtime and TextDecoder.
 */
import { decodeFrameFb, readDataFrameTimesFb, readSignedPartFb } from "../../protocol/fb/decoder.ts";
import { signedPartOfJson, type SignedPart } from "../../protocol/signature.ts";
import type { AnyFrame } from "./types.ts";

export { decodeFrameFb, readDataFrameTimesFb } from "../../protocol/fb/decoder.ts";
export { decodeFrameJson } from "../../protocol/json-decoder.ts";

/** A decoded frame and what the wire said about it besides its JSON shape. */
export interface Decoded {
  frame: AnyFrame;
  /** Bytes (binary) or UTF-16 code units (text). */
  size: number;
  /** FlatBuffers data frames only. */
  gatewayTs?: number;
  sourceTs?: number;
  /** Signed data frames: what the signature covers (protocol/signature.ts). */
  signed?: SignedPart;
}

const textDecoder = new TextDecoder();

/** The bytes of a binary WebSocket message (ArrayBuffer with binaryType "arraybuffer", or a view). */
export function messageBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/**
 * Decodes one WebSocket message. Text is JSON; binary is a FlatBuffers frame (the gateway sends
 * nothing else in binary). Throws on a malformed frame.
 */
export function decodeMessage(data: string | ArrayBuffer | ArrayBufferView): Decoded {
  if (typeof data === "string") {
    const frame = JSON.parse(data) as AnyFrame;
    const signed = frame !== null && typeof frame === "object" && "sig" in frame ? signedPartOfJson(data, frame) : undefined;
    return signed ? { frame, size: data.length, signed } : { frame, size: data.length };
  }
  const bytes = messageBytes(data);
  if (!bytes) throw new TypeError("decodeMessage: unsupported message data (set binaryType = \"arraybuffer\")");
  const frame = decodeFrameFb(bytes) as AnyFrame;
  if ("seq" in frame && !("event" in frame)) {
    const t = readDataFrameTimesFb(bytes);
    const signed = "sig" in frame ? readSignedPartFb(bytes) : undefined;
    if (t) return { frame, size: bytes.length, gatewayTs: t.gatewayTs, sourceTs: t.sourceTs, ...(signed ? { signed } : {}) };
  }
  return { frame, size: bytes.length };
}

/** A JSON text frame that came as bytes (some runtimes deliver text as a Buffer). */
export function decodeText(bytes: Uint8Array): Decoded {
  return decodeMessage(textDecoder.decode(bytes));
}
