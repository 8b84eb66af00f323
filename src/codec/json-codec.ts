/**
 * Encoding of JSON text frames, the reference shape of every frame (protocol/frames.ts); decoding
 * lives with the protocol (protocol/json-decoder.ts) because the client shares it.
 */
import type { ControlFrame } from "../../protocol/frames.ts";
import type { FrameSignature } from "./frame-signature.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";

export { decodeFrameJson } from "../../protocol/json-decoder.ts";

/**
 * The JSON data frame of `ev`, built by concatenation: `ev.data` is already JSON text and is not
 * parsed or re-serialised (sourceTs/gatewayTs are not part of the JSON frame). A signed frame
 * puts `kid` and `sig` before `data`, so the data text is the frame's tail (protocol/signature.ts).
 */
export function encodeDataFrameJson(ev: StreamEvent, signature?: FrameSignature): string {
  return (
    '{"stream":' +
    JSON.stringify(ev.stream) +
    ',"seq":' +
    ev.seq +
    ',"prev":' +
    ev.prev +
    (signature ? ',"kid":"' + signature.kid + '","sig":"' + signature.b64 + '"' : "") +
    ',"data":' +
    (ev.data === "" ? "null" : ev.data) +
    "}"
  );
}

/** The JSON text of a control answer. */
export function encodeControlJson(msg: ControlFrame | object): string {
  return JSON.stringify(msg);
}
