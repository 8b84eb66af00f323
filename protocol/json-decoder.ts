/** Decoding of JSON text frames: the reference shape every other format decodes to. */
import type { DecodedFrame } from "./frames.ts";

const utf8Decoder = new TextDecoder();

/** Parses a JSON frame (text, or its UTF-8 bytes). */
export function decodeFrameJson(frame: string | Uint8Array): DecodedFrame {
  return JSON.parse(typeof frame === "string" ? frame : utf8Decoder.decode(frame)) as DecodedFrame;
}
