import { describe, expect, test } from "bun:test";
import { EnvelopeRouter } from "../../../src/sources/routing/envelope-router.ts";

const r = new EnvelopeRouter(4);

describe("EnvelopeRouter", () => {
  test("an envelope {stream, data} goes to its stream; data re-serialised, position and event time kept", () => {
    const out = r.route("k", { origin: "topic", value: JSON.stringify({ stream: "ticker.a", data: { p: 1, timestamp: 42 } }), position: 7, timestamp: 9 });
    expect(out).toEqual({ stream: "ticker.a", data: '{"p":1,"timestamp":42}', seq: 7, sourceTs: 42, value: { p: 1, timestamp: 42 } });
  });

  test("any other JSON goes to the origin with its exact text; the broker time when the payload has none", () => {
    const text = '{"p": 1.50}';
    expect(r.route("k", { origin: "trades.b", value: new TextEncoder().encode(text), position: 3, timestamp: 9 })).toEqual({ stream: "trades.b", data: text, seq: 3, sourceTs: 9, value: { p: 1.5 } });
  });

  test("unwrapped messages (/publish) are never taken as an envelope", () => {
    const text = JSON.stringify({ stream: "orders.other", data: 1 });
    expect(r.route("embedded", { origin: "ticker.a", value: text, unwrapped: true })).toMatchObject({ stream: "ticker.a", data: text });
  });

  test("malformed, origin-less and too deep messages are skipped with a reason", () => {
    expect(r.route("k", { origin: "x.y", value: "{nope" })).toBe("malformed");
    expect(r.route("k", { origin: "", value: "1" })).toBe("unroutable");
    expect(r.route("k", { origin: "x.y", value: "[[[[[1]]]]]" })).toBe("too_deep");
    // The envelope may add one level above data that is at the limit.
    expect(r.route("k", { origin: "x.y", value: JSON.stringify({ stream: "a.b", data: [[[1]]] }) })).toMatchObject({ stream: "a.b" });
  });
});
