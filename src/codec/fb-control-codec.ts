/**
 * Encoding of control answers (subscribed, unsubscribed, list, pong, resumed, error) in
 * FlatBuffers; protocol/fb/control-reader.ts reads them back. They are rare, so they use the
 * generated API only; one that has no typed table or carries other fields travels as RawJson, the
 * JSON text.
 */
import type { ControlFrame } from "../../protocol/frames.ts";
import type { RequestId } from "../../protocol/requests.ts";
import { IdKind } from "../../protocol/generated/cexws/frames/id-kind.ts";
import * as fb from "../../protocol/generated/frames_generated.ts";
import { FB_SCHEMA_VERSION } from "../../protocol/fb/schema.ts";
import { buildRawJson, encoderState, finishFrame, str } from "./fb-builder.ts";
import { isInt, isObj, isStr, isUint, keyCount, setCheckWellFormed, type Obj } from "./fb-payload-checks.ts";

/** Every key of `o` is one of `allowed`. */
function keysWithin(o: Obj, allowed: readonly string[]): boolean {
  for (const k in o) if (!allowed.includes(k)) return false;
  return true;
}

function isStreams(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => isStr(s));
}

function isOptId(v: unknown): v is RequestId | undefined {
  return v === undefined || isInt(v) || isStr(v);
}

interface IdParts {
  kind: IdKind;
  num: bigint;
  str: number;
}

/** Creates the id string if any: call before starting the table. */
function prepId(id: RequestId | undefined): IdParts {
  if (typeof id === "number") return { kind: IdKind.Number, num: BigInt(id), str: 0 };
  if (typeof id === "string") return { kind: IdKind.String, num: 0n, str: str(id) };
  return { kind: IdKind.None, num: 0n, str: 0 };
}

function buildStreamsVector(streams: string[]): number {
  const b = encoderState.builder;
  const offs = streams.map((s) => str(s));
  b.startVector(4, offs.length, 4);
  for (let i = offs.length - 1; i >= 0; i--) b.addOffset(offs[i]!);
  return b.endVector();
}

const STREAMS_ANSWER_KEYS = ["event", "streams", "id"] as const;

/** Typed body of a control answer, or null when it has no table or does not fit one exactly. */
function buildControl(m: unknown): [fb.FrameBody, number] | null {
  if (!isObj(m)) return null;
  const b = encoderState.builder;
  switch (m.event) {
    case "subscribed":
    case "unsubscribed":
    case "list": {
      if (!keysWithin(m, STREAMS_ANSWER_KEYS) || !isStreams(m.streams) || !isOptId(m.id)) return null;
      const streams = buildStreamsVector(m.streams);
      const id = prepId(m.id);
      if (m.event === "subscribed") {
        const o = fb.Subscribed.createSubscribed(b, streams, id.kind, id.num, id.str);
        return [fb.FrameBody.Subscribed, o];
      }
      if (m.event === "unsubscribed") {
        const o = fb.Unsubscribed.createUnsubscribed(b, streams, id.kind, id.num, id.str);
        return [fb.FrameBody.Unsubscribed, o];
      }
      return [fb.FrameBody.StreamList, fb.StreamList.createStreamList(b, streams, id.kind, id.num, id.str)];
    }
    case "pong": {
      if (!keysWithin(m, ["event", "id"]) || !isOptId(m.id)) return null;
      const id = prepId(m.id);
      return [fb.FrameBody.Pong, fb.Pong.createPong(b, id.kind, id.num, id.str)];
    }
    case "resumed": {
      if (keyCount(m) !== 4 || !isStr(m.stream) || !isUint(m.from) || !isUint(m.to)) return null;
      const stream = str(m.stream);
      return [fb.FrameBody.Resumed, fb.Resumed.createResumed(b, stream, BigInt(m.from), BigInt(m.to))];
    }
    case "error": {
      if (
        !keysWithin(m, ["event", "code", "message", "id", "stream", "oldest"]) ||
        !isStr(m.code) ||
        !isStr(m.message) ||
        !isOptId(m.id) ||
        !(m.stream === undefined || isStr(m.stream)) ||
        !(m.oldest === undefined || isUint(m.oldest))
      ) {
        return null;
      }
      const code = str(m.code);
      const message = str(m.message);
      const id = prepId(m.id);
      const stream = m.stream === undefined ? 0 : str(m.stream);
      const hasOldest = m.oldest !== undefined;
      const oldest = hasOldest ? BigInt(m.oldest as number) : 0n;
      const o = fb.ErrorFrame.createErrorFrame(b, code, message, id.kind, id.num, id.str, stream, hasOldest, oldest);
      return [fb.FrameBody.ErrorFrame, o];
    }
    default:
      return null;
  }
}

/**
 * `schemaVersion` 1 writes a frame a schema v1 reader accepts (control tables did not change): how
 * a retired v1 client is told why it is closed.
 *
 * The FlatBuffers frame of a control answer (subscribed, unsubscribed, list, pong, resumed,
 * error). One that has no typed table or carries other fields travels as RawJson, the JSON text.
 * `msg` is taken with JSON semantics (undefined fields dropped), exactly as encodeControlJson does.
 */
export function encodeControlFb(msg: ControlFrame | object, schemaVersion = FB_SCHEMA_VERSION): Uint8Array {
  const json = JSON.stringify(msg);
  const m: unknown = JSON.parse(json);
  encoderState.builder.clear();
  setCheckWellFormed(true); // control answers are rare: check every string
  const typed = buildControl(m);
  if (typed !== null) return finishFrame(typed[0], typed[1], schemaVersion);
  encoderState.builder.clear(); // drop anything a half-fitting answer may have written
  return finishFrame(fb.FrameBody.RawJson, buildRawJson(json), schemaVersion);
}
