import { describe, expect, test } from "bun:test";
import { BindingRouter, globToRegExp } from "../../../src/sources/routing/binding-router.ts";
import { BindingError } from "../../../src/config/bindings.ts";
import type { RoutedEvent } from "../../../src/sources/routing/message-router.ts";

const msg = (origin: string, value: unknown, position?: number, key?: string) => ({
  origin,
  key,
  position,
  value: typeof value === "string" ? value : JSON.stringify(value),
  timestamp: 1000,
});

describe("BindingRouter", () => {
  test("a source without bindings takes the seed format, else the origin", () => {
    const r = new BindingRouter();
    expect(r.route("k", msg("t", { stream: "ticker.btc_usdt", data: { price: "1" } }, 5))).toEqual({
      stream: "ticker.btc_usdt",
      data: '{"price":"1"}',
      seq: 5,
      sourceTs: 1000,
      value: { price: "1" }, // parsed once here, for the FlatBuffers encoder
    });
    expect(r.route("k", msg("trades.eth_usdt", { id: 1, timestamp: 42 }))).toMatchObject({ stream: "trades.eth_usdt", sourceTs: 42 });
    expect(r.route("k", msg("x", "{not json"))).toBe("malformed");
  });

  test("templates route private order updates to orders.<userId>", () => {
    const r = new BindingRouter([{ id: "orders", source: "k", match: "orders", stream: { template: "orders.{payload.userId}" } }]);
    const ev = r.route("k", msg("orders", { userId: "u7", orderId: "1" }, 9)) as RoutedEvent;
    expect(ev.stream).toBe("orders.u7");
    expect(ev.seq).toBe(9);
    expect(r.route("k", msg("orders", { orderId: "1" }))).toBe("unroutable");
    expect(r.route("k", msg("other", { userId: "u7" }))).toBe("unroutable");
  });

  test("origin segments, keys and fixed names", () => {
    const r = new BindingRouter([
      { id: "a", source: "n", match: "md.*.trades", stream: { template: "trades.{origin.1}" } },
      { id: "b", source: "n", match: "tick", stream: { template: "ticker.{key}" } },
      { id: "c", source: "n", match: "glob.>", stream: { fixed: "ticker.global" } },
    ]);
    expect((r.route("n", msg("md.btc_usdt.trades", {})) as RoutedEvent).stream).toBe("trades.btc_usdt");
    expect((r.route("n", msg("tick", {}, undefined, "eth_usdt")) as RoutedEvent).stream).toBe("ticker.eth_usdt");
    expect((r.route("n", msg("glob.a.b", {})) as RoutedEvent).stream).toBe("ticker.global");
  });

  test("transforms rename, drop, pick and filter, once per event", () => {
    const r = new BindingRouter([
      {
        id: "t",
        source: "k",
        stream: { field: "s" },
        transforms: [{ filter: { field: "status", ne: "internal" } }, { rename: { p: "price", q: "qty" } }, { drop: ["s", "secret"] }],
      },
    ]);
    const ev = r.route("k", msg("x", { s: "trades.btc_usdt", p: "1.5", q: "2", secret: 1, status: "ok" })) as RoutedEvent;
    expect(JSON.parse(ev.data)).toEqual({ price: "1.5", qty: "2", status: "ok" });
    expect(r.route("k", msg("x", { s: "trades.btc_usdt", status: "internal" }))).toBe("filtered");
    const pick = new BindingRouter([{ id: "p", source: "k", transforms: [{ pick: ["a"] }, { filter: { field: "a", in: [1, 2] } }] }]);
    expect(JSON.parse((pick.route("k", msg("ticker.x", { a: 2, b: 3 })) as RoutedEvent).data)).toEqual({ a: 2 });
    expect(pick.route("k", msg("ticker.x", { a: 3 }))).toBe("filtered");
  });

  test("seq from a producer field or from the gateway", () => {
    const r = new BindingRouter([
      { id: "f", source: "k", match: "a", stream: { fixed: "ticker.a" }, seq: { field: "sequence" } },
      { id: "g", source: "k", match: "b", stream: { fixed: "ticker.b" }, seq: "gateway" },
    ]);
    expect((r.route("k", msg("a", { sequence: 77 }, 3)) as RoutedEvent).seq).toBe(77);
    expect(r.route("k", msg("a", { sequence: "x" }, 3))).toBe("invalid_seq");
    expect((r.route("k", msg("b", {}, 3)) as RoutedEvent).seq).toBeUndefined();
  });

  test("raw payloads without transforms keep the producer's exact text", () => {
    const r = new BindingRouter([{ id: "r", source: "k" }]);
    const text = '{"price": "1.10",  "b":1}';
    expect((r.route("k", msg("ticker.x", text)) as RoutedEvent).data).toBe(text);
  });

  test("invalid bindings are refused with a reason and the old set stays", () => {
    const r = new BindingRouter([{ id: "ok", source: "k" }], () => new Set(["k"]));
    expect(() => r.set([{ id: "x", source: "nope" }])).toThrow(BindingError);
    expect(() => r.set([{ id: "x", source: "k", transforms: [{ explode: 1 }] }])).toThrow(/unknown transform/);
    expect(() => r.set([{ id: "x", source: "k", stream: { template: "no placeholder" } }])).toThrow(/placeholder/);
    expect(() => r.set([{ id: "x", source: "k" }, { id: "x", source: "k" }])).toThrow(/duplicate/);
    expect(() => r.set([{ id: "x", source: "k", bogus: 1 }])).toThrow(/unknown field/);
    expect(r.bindings().map((b) => b.id)).toEqual(["ok"]);
    r.upsert({ id: "two", source: "k" });
    expect(r.bindings().map((b) => b.id)).toEqual(["ok", "two"]);
    expect(r.remove("ok")).toBe(true);
    expect(r.remove("ok")).toBe(false);
  });

  test("conflation sends the first event at once and the latest of the window later", async () => {
    const deferred: RoutedEvent[] = [];
    const r = new BindingRouter([{ id: "c", source: "k", conflateMs: 40 }], undefined, undefined, (_s, ev) => deferred.push(ev));
    expect(r.route("k", msg("ticker.btc_usdt", { p: 1 }))).toMatchObject({ stream: "ticker.btc_usdt" });
    expect(r.route("k", msg("ticker.btc_usdt", { p: 2 }))).toBe("conflated");
    expect(r.route("k", msg("ticker.btc_usdt", { p: 3 }))).toBe("conflated");
    // Replays for resume bypass conflation.
    expect(r.route("k", msg("ticker.btc_usdt", { p: 9 }), true)).toMatchObject({ stream: "ticker.btc_usdt" });
    await Bun.sleep(80);
    expect(deferred.map((e) => JSON.parse(e.data).p)).toEqual([3]);
    r.stop();
  });
});

test("globToRegExp: * is one segment, > the rest", () => {
  expect(globToRegExp("a.*.c").test("a.b.c")).toBe(true);
  expect(globToRegExp("a.*.c").test("a.b.x.c")).toBe(false);
  expect(globToRegExp("a.>").test("a.b.c")).toBe(true);
  expect(globToRegExp("md:trades").test("md:trades")).toBe(true);
});
