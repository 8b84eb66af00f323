/**
 * The one FlatBuffers Builder every encoder writes into, and the steps all frames share.
 *
 * Encoders run on the hot path: the builder is reused (clear() between frames) and every encoder
 * returns a copy of the finished bytes, since a frame is published to many sockets while the
 * builder is reused for the next one. Encoding is synchronous and not re-entrant.
 */
import * as flatbuffers from "flatbuffers";
import { FB_SCHEMA_VERSION } from "../../protocol/fb/schema.ts";
import * as fb from "../../protocol/generated/frames_generated.ts";

const INITIAL_CAPACITY = 4096;
/** A builder grown past this by one huge frame is dropped rather than kept for ever. */
const MAX_RETAINED_CAPACITY = 1 << 20;

/** What the encoders reuse from frame to frame (replaced together after one huge frame). */
export const encoderState = {
  builder: new flatbuffers.Builder(INITIAL_CAPACITY),
};

const utf8Encoder = new TextEncoder();
const SCRATCH_SIZE = 4096;
const scratch = new Uint8Array(SCRATCH_SIZE);

/**
 * builder.createString(s), same bytes, allocating nothing for short ASCII strings (prices, ids,
 * stream names): they are written byte by byte; others are encoded into a reused buffer.
 */
export function str(s: string): number {
  const n = s.length;
  const b = encoderState.builder;
  if (n <= 64) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      b.addInt8(0); // the terminating NUL createString writes too
      b.startVector(1, n, 1);
      for (let i = n - 1; i >= 0; i--) b.writeInt8(s.charCodeAt(i));
      return b.endVector();
    }
  }
  if (n * 3 > SCRATCH_SIZE) return b.createString(s);
  return b.createString(scratch.subarray(0, utf8Encoder.encodeInto(s, scratch).written));
}

/** A RawJson table holding `json` verbatim: the body of anything without a typed table. */
export function buildRawJson(json: string): number {
  const b = encoderState.builder;
  const s = str(json);
  fb.RawJson.startRawJson(b);
  fb.RawJson.addJson(b, s);
  return fb.RawJson.endRawJson(b);
}

/** Finishes the root Frame around `body` and returns a copy of the bytes. */
export function finishFrame(bodyType: fb.FrameBody, body: number, schemaVersion = FB_SCHEMA_VERSION): Uint8Array {
  const b = encoderState.builder;
  fb.Frame.startFrame(b);
  fb.Frame.addSchemaVersion(b, schemaVersion); // 2 is written; 1, the default, costs nothing
  fb.Frame.addBodyType(b, bodyType);
  fb.Frame.addBody(b, body);
  return finishRoot(fb.Frame.endFrame(b));
}

/** Finishes the buffer at root table `frame` (with the file identifier) and returns a copy. */
export function finishRoot(frame: number): Uint8Array {
  const b = encoderState.builder;
  fb.Frame.finishFrameBuffer(b, frame);
  // = b.asUint8Array().slice(), without the intermediate subarray view
  const bb = b.dataBuffer();
  const out = bb.bytes().slice(bb.position(), bb.capacity());
  if (b.dataBuffer().capacity() > MAX_RETAINED_CAPACITY) {
    encoderState.builder = new flatbuffers.Builder(INITIAL_CAPACITY);
  }
  return out;
}
