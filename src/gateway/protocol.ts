/**
 * Parser of the client-to-server protocol (protocol/requests.ts): JSON text frames with an
 * `action` and an optional `id` that the answer echoes. Parsing never throws; a bad frame becomes
 * a ProtocolError the session answers.
 */
import type { ErrorCode } from "../../protocol/error-codes.ts";
import { jsonNestsDeeperThan } from "../../protocol/json-depth.ts";
import { MAX_STREAMS_PER_REQUEST, MAX_TOKEN_CHARS, type ClientRequest, type RequestId } from "../../protocol/requests.ts";

/** A refused request, answered with an error frame. */
export interface ProtocolError {
  error: ErrorCode;
  message: string;
  id?: RequestId;
}

/**
 * Most levels of nesting in a request (a resume's positions are two). JSON.parse of deeply nested
 * arrays is superlinear in JavaScriptCore (a 64 KiB frame of "[" costs ~100 ms), so depth is
 * measured, linearly, before parsing.
 */
const MAX_REQUEST_DEPTH = 8;

/** Parses one text frame into a request, or the error to answer it with. */
export function parseClientMessage(text: string): ClientRequest | ProtocolError {
  if (jsonNestsDeeperThan(text, MAX_REQUEST_DEPTH)) {
    return { error: "bad_request", message: `request nested deeper than ${MAX_REQUEST_DEPTH} levels` };
  }
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { error: "bad_request", message: "malformed JSON" };
  }
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) {
    return { error: "bad_request", message: "expected a JSON object" };
  }
  const m = msg as Record<string, unknown>;
  const id = m.id;
  if (id !== undefined && !(typeof id === "number" && Number.isFinite(id)) && !(typeof id === "string" && id.length <= 64)) {
    return { error: "bad_request", message: "id must be a number or a string of at most 64 chars" };
  }
  const rid = id as RequestId | undefined;
  switch (m.action) {
    case "subscribe":
    case "unsubscribe": {
      const streams = stringArray(m.streams);
      if (!streams || streams.length === 0) {
        return { error: "bad_request", message: "streams must be a non-empty array of strings", id: rid };
      }
      if (streams.length > MAX_STREAMS_PER_REQUEST) {
        return { error: "bad_request", message: `at most ${MAX_STREAMS_PER_REQUEST} streams per request`, id: rid };
      }
      return { action: m.action, streams: [...new Set(streams)], id: rid };
    }
    case "list":
    case "ping":
      return { action: m.action, id: rid };
    case "resume":
      return parseResume(m, rid);
    case "auth":
      if (typeof m.token !== "string" || m.token.length === 0 || m.token.length > MAX_TOKEN_CHARS) {
        return { error: "bad_request", message: `auth needs a token (a string of at most ${MAX_TOKEN_CHARS} chars)`, id: rid };
      }
      return { action: "auth", token: m.token, id: rid };
    case undefined:
      return { error: "bad_request", message: "missing action", id: rid };
    default:
      // Never String() a client's object: {"toString": 1} makes it throw.
      return { error: "unknown_action", message: `unknown action ${typeof m.action === "string" ? JSON.stringify(m.action).slice(0, 40) : `of type ${typeof m.action}`}`, id: rid };
  }
}

/** Accepts the seed's form `{streams, lastSequence}` and the per-stream form `{positions}`. */
function parseResume(m: Record<string, unknown>, id: RequestId | undefined): ClientRequest | ProtocolError {
  const positions: Record<string, number> = {};
  if (m.positions !== undefined) {
    if (m.positions === null || typeof m.positions !== "object" || Array.isArray(m.positions)) {
      return { error: "bad_request", message: "positions must be an object of stream -> seq", id };
    }
    for (const [s, v] of Object.entries(m.positions)) {
      if (!isSeq(v)) return { error: "bad_request", message: `position of ${s.slice(0, 64)} must be a whole number >= 0`, id };
      positions[s] = v;
    }
  } else {
    const streams = stringArray(m.streams);
    if (!streams || streams.length === 0 || !isSeq(m.lastSequence)) {
      return { error: "bad_request", message: "resume needs positions, or streams and lastSequence", id };
    }
    for (const s of streams) positions[s] = m.lastSequence;
  }
  const n = Object.keys(positions).length;
  if (n === 0 || n > MAX_STREAMS_PER_REQUEST) {
    return { error: "bad_request", message: `resume takes 1 to ${MAX_STREAMS_PER_REQUEST} streams`, id };
  }
  let epochs: Record<string, string> | undefined;
  if (typeof m.epoch === "string") {
    epochs = Object.fromEntries(Object.keys(positions).map((s) => [s, m.epoch as string]));
  } else if (m.epochs !== undefined) {
    if (m.epochs === null || typeof m.epochs !== "object" || !Object.values(m.epochs).every((e) => typeof e === "string")) {
      return { error: "bad_request", message: "epochs must be an object of stream -> string", id };
    }
    epochs = m.epochs as Record<string, string>;
  }
  return { action: "resume", positions, epochs, id };
}

function isSeq(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function stringArray(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;
}
