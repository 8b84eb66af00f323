/** parseClientMessage (src/gateway/protocol.ts) on its own: every request shape and every refusal. */
import { describe, expect, test } from "bun:test";
import { MAX_STREAMS_PER_REQUEST } from "../../protocol/requests.ts";
import { parseClientMessage } from "../../src/gateway/protocol.ts";

const parse = (v: unknown) => parseClientMessage(typeof v === "string" ? v : JSON.stringify(v));

describe("parseClientMessage", () => {
  test("well-formed requests, ids echoed, duplicate streams folded", () => {
    expect(parse({ action: "subscribe", streams: ["a.b", "a.b", "c.d"], id: 1 })).toEqual({ action: "subscribe", streams: ["a.b", "c.d"], id: 1 });
    expect(parse({ action: "unsubscribe", streams: ["a.b"], id: "x" })).toEqual({ action: "unsubscribe", streams: ["a.b"], id: "x" });
    expect(parse({ action: "list" })).toEqual({ action: "list", id: undefined });
    expect(parse({ action: "ping", id: 7 })).toEqual({ action: "ping", id: 7 });
  });

  test("resume: per-stream positions with epochs, or the seed's streams + lastSequence + epoch", () => {
    expect(parse({ action: "resume", positions: { "a.b": 3 }, epochs: { "a.b": "e1" } })).toEqual({ action: "resume", positions: { "a.b": 3 }, epochs: { "a.b": "e1" }, id: undefined });
    expect(parse({ action: "resume", streams: ["a.b", "c.d"], lastSequence: 9, epoch: "e", id: 2 })).toEqual({
      action: "resume",
      positions: { "a.b": 9, "c.d": 9 },
      epochs: { "a.b": "e", "c.d": "e" },
      id: 2,
    });
  });

  test("refusals carry a code, a reason and the id when there was a valid one", () => {
    expect(parse("{")).toMatchObject({ error: "bad_request", message: "malformed JSON" });
    expect(parse([1])).toMatchObject({ error: "bad_request", message: "expected a JSON object" });
    expect(parse({ action: "ping", id: "x".repeat(65) })).toMatchObject({ error: "bad_request" });
    expect(parse({ id: 3 })).toEqual({ error: "bad_request", message: "missing action", id: 3 });
    expect(parse({ action: "dance", id: 4 })).toMatchObject({ error: "unknown_action", id: 4 });
    expect(parse({ action: "subscribe", streams: [] })).toMatchObject({ error: "bad_request" });
    expect(parse({ action: "subscribe", streams: [1] })).toMatchObject({ error: "bad_request" });
    const many = Array.from({ length: MAX_STREAMS_PER_REQUEST + 1 }, (_, i) => `t.s${i}`);
    expect(parse({ action: "subscribe", streams: many })).toMatchObject({ error: "bad_request", message: `at most ${MAX_STREAMS_PER_REQUEST} streams per request` });
    expect(parse({ action: "resume", positions: { "a.b": -1 } })).toMatchObject({ error: "bad_request" });
    expect(parse({ action: "resume", positions: { "a.b": 1 }, epochs: { "a.b": 5 } })).toMatchObject({ error: "bad_request" });
    expect(parse({ action: "resume" })).toMatchObject({ error: "bad_request" });
  });

  test("deeply nested requests are refused before parsing", () => {
    expect(parse("[".repeat(10_000) + "]".repeat(10_000))).toMatchObject({ error: "bad_request", message: expect.stringContaining("nested deeper") });
  });
});
