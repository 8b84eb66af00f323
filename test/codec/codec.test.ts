import { describe, expect, test } from "bun:test";
import * as flatbuffers from "flatbuffers";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import {
  decodeFrameFb,
  encodeControlFb,
  encodeDataFrameFb,
  FB_FILE_IDENTIFIER,
  FB_SCHEMA_VERSION,
  isFrameFb,
  readDataFrameTimesFb,
} from "../../src/codec/flatbuffers-codec.ts";
import * as fb from "../../protocol/generated/frames_generated.ts";
import type { ControlFrame } from "../../protocol/frames.ts";
import {
  decodeFrameJson,
  encodeControlJson,
  encodeDataFrameJson,
} from "../../src/codec/json-codec.ts";
import { STREAM_KINDS, streamKind } from "../../protocol/stream-kind.ts";
import { bookChecksum, pairLevels } from "../../protocol/book/book-checksum.ts";

function ev(stream: string, data: unknown, seq = 123, prev = 122): StreamEvent {
  return {
    stream,
    seq,
    prev,
    data: typeof data === "string" ? data : JSON.stringify(data),
    sourceTs: 1_700_000_000_123,
    gatewayTs: 1_700_000_000_456,
  };
}

/** Which payload a schema v2 data frame carries. */
type PayloadKind = "trade" | "ticker" | "depth" | "order" | "raw";

/** The payload field a FlatBuffers (schema v2) data frame uses. */
function payloadType(bytes: Uint8Array): PayloadKind {
  const frame = fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(bytes));
  expect(frame.bodyType()).toBe(fb.FrameBody.NONE);
  const present = [frame.trade() && "trade", frame.ticker() && "ticker", frame.depth() && "depth", frame.order() && "order", frame.rawJson() !== null && "raw"].filter(Boolean);
  expect(present.length).toBe(1);
  return present[0] as PayloadKind;
}

function bodyType(bytes: Uint8Array): fb.FrameBody {
  return fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(bytes)).bodyType();
}

/** Both formats decode to what the JSON frame parses to; returns the FlatBuffers bytes. */
function roundTripData(e: StreamEvent): Uint8Array {
  const json = encodeDataFrameJson(e);
  const expected: unknown = JSON.parse(json);
  expect(decodeFrameJson(json)).toStrictEqual(expected as never);
  expect(decodeFrameJson(new TextEncoder().encode(json))).toStrictEqual(expected as never);
  const bytes = encodeDataFrameFb(e);
  expect(isFrameFb(bytes)).toBe(true);
  expect(decodeFrameFb(bytes)).toStrictEqual(expected as never);
  return bytes;
}

function roundTripControl(msg: object): Uint8Array {
  const json = encodeControlJson(msg);
  const expected: unknown = JSON.parse(json);
  expect(decodeFrameJson(json)).toStrictEqual(expected as never);
  const bytes = encodeControlFb(msg);
  expect(decodeFrameFb(bytes)).toStrictEqual(expected as never);
  return bytes;
}

const trade = { id: 987654321, price: "65000.12345678", qty: "0.00100000", side: "buy", timestamp: 1_700_000_000_000 };
const ticker = {
  price: "65000.1",
  volume: "12345.6789",
  high: "66000",
  low: "64000.00000001",
  change: "-1.25",
  timestamp: 1_700_000_000_000,
};
const order = {
  orderId: 42,
  clientOrderId: "my-order-1",
  pair: "btc_usdt",
  side: "sell",
  type: "limit",
  status: "partially_filled",
  price: "65000.5",
  qty: "1.5",
  filledQty: "0.25",
  timestamp: 1_700_000_000_000,
};
function depth(levels: number) {
  const side = (base: number, step: number) =>
    Array.from({ length: levels }, (_, i) => [(base + i * step).toFixed(2), (0.001 * (i + 1)).toFixed(8)]);
  return {
    type: "update",
    bids: side(65000, -0.01),
    asks: side(65000.01, 0.01),
    firstUpdateId: 1_000_001,
    lastUpdateId: 1_000_020,
    checksum: 123456789,
    timestamp: 1_700_000_000_000,
  };
}

describe("streamKind", () => {
  test("known prefixes", () => {
    expect(streamKind("trades.btc_usdt")).toBe("trades");
    expect(streamKind("depth.btc_usdt")).toBe("depth");
    expect(streamKind("ticker.eth_usdt")).toBe("ticker");
    expect(streamKind("orders.user123")).toBe("orders");
    expect(streamKind("orders.a.b")).toBe("orders");
  });
  test("anything else is other", () => {
    for (const s of ["", "trades", "trades.", ".btc", "trade.btc", "tradesx.btc", "candles.btc_usdt", "Depth.x", "depthx"]) {
      expect(streamKind(s)).toBe("other");
    }
    expect(STREAM_KINDS).toEqual(["trades", "depth", "ticker", "orders", "other"]);
  });
});

describe("JSON codec", () => {
  test("data is spliced in verbatim, not re-serialised", () => {
    const e = ev("ticker.btc_usdt", '{ "price" : "1.10" ,"x":[1, 2] }', 5, 4);
    expect(encodeDataFrameJson(e)).toBe('{"stream":"ticker.btc_usdt","seq":5,"prev":4,"data":{ "price" : "1.10" ,"x":[1, 2] }}');
  });
  test("stream name is escaped", () => {
    const e = ev('other."q"\\\u2028', { a: 1 });
    expect(JSON.parse(encodeDataFrameJson(e)).stream).toBe('other."q"\\\u2028');
  });
  test("empty data becomes null in both formats", () => {
    const e = ev("trades.x", "");
    expect(JSON.parse(encodeDataFrameJson(e)).data).toBeNull();
    expect(roundTripData(e).length).toBeGreaterThan(0);
  });
  test("control frames are plain JSON", () => {
    expect(encodeControlJson({ event: "pong", id: 7 })).toBe('{"event":"pong","id":7}');
  });
});

describe("data frames round-trip in both formats", () => {
  test("trade, numeric and string id", () => {
    expect(payloadType(roundTripData(ev("trades.btc_usdt", trade)))).toBe("trade");
    // A string id has no place in the struct: the payload travels as JSON text.
    const t2 = { ...trade, id: "T-0001", side: "sell" };
    expect(payloadType(roundTripData(ev("trades.btc_usdt", t2)))).toBe("raw");
    expect(payloadType(roundTripData(ev("trades.btc_usdt", { ...trade, id: 0, timestamp: 0 })))).toBe("trade");
  });
  test("depth (20 levels, empty sides)", () => {
    expect(payloadType(roundTripData(ev("depth.btc_usdt", depth(20))))).toBe("depth");
    const empty = { ...depth(0), bids: [], asks: [] };
    expect(payloadType(roundTripData(ev("depth.btc_usdt", empty)))).toBe("depth");
  });
  test("ticker", () => {
    expect(payloadType(roundTripData(ev("ticker.btc_usdt", ticker)))).toBe("ticker");
  });
  test("order update, with and without clientOrderId, string orderId", () => {
    expect(payloadType(roundTripData(ev("orders.user123", order)))).toBe("order");
    const { clientOrderId: _, ...noClient } = order;
    expect(payloadType(roundTripData(ev("orders.user123", noClient)))).toBe("order");
    const strId = { ...order, orderId: "0xdeadbeef", clientOrderId: "" };
    expect(payloadType(roundTripData(ev("orders.user123", strId)))).toBe("order");
  });
  test("unknown stream kind travels as raw JSON", () => {
    const b = roundTripData(ev("candles.btc_usdt", { o: "1", h: "2", l: "0.5", c: "1.5", t: 1 }));
    expect(payloadType(b)).toBe("raw");
  });
  test("large depth: 1000 levels per side", () => {
    const d = depth(1000);
    const bytes = roundTripData(ev("depth.btc_usdt", d, 2 ** 40, 2 ** 40 - 1));
    expect(payloadType(bytes)).toBe("depth");
    const decoded = decodeFrameFb(bytes) as { data: typeof d };
    expect(decoded.data.bids.length).toBe(1000);
    expect(decoded.data.asks[999]).toEqual(d.asks[999]!);
  });
  test("seq and prev above 2^32, up to MAX_SAFE_INTEGER; big ids", () => {
    for (const seq of [2 ** 32, 2 ** 32 + 1, 2 ** 45 + 3, Number.MAX_SAFE_INTEGER]) {
      const t = { ...trade, id: seq };
      const bytes = roundTripData(ev("trades.btc_usdt", t, seq, seq - 1));
      expect(decodeFrameFb(bytes)).toMatchObject({ seq, prev: seq - 1, data: { id: seq } });
    }
    const d = { ...depth(2), firstUpdateId: 2 ** 50, lastUpdateId: Number.MAX_SAFE_INTEGER };
    expect(payloadType(roundTripData(ev("depth.x", d, 0, 0)))).toBe("depth");
  });
  test("weird strings: unicode, quotes, backslashes, control characters", () => {
    const weird = ['"quoted"', "back\\slash", "\u0000\u0001\u001f", "line\nbreak\ttab", "\u2028\u2029", "日本語", "emoji 🚀👩‍👩‍👧", "e\u0301", "\uffff", "</script>", "",
      "a".repeat(48), "b".repeat(49), "c".repeat(64), "d".repeat(65), "e".repeat(2000), "é".repeat(1000), "🚀".repeat(700)];
    for (const w of weird) {
      expect(payloadType(roundTripData(ev("trades.btc_usdt", { ...trade, price: w, id: w })))).toBe("raw");
      expect(payloadType(roundTripData(ev("orders.üser\"1", { ...order, clientOrderId: w, status: w })))).toBe(
        "order",
      );
      expect(payloadType(roundTripData(ev("other.x", { w })))).toBe("raw");
    }
    // Escaped in the JSON text rather than literal: same values.
    const escaped = '{"id":"\\u00e9\\ud83d\\ude80","price":"\\"1\\"","qty":"\\\\","side":"buy","timestamp":1}';
    expect(payloadType(roundTripData(ev("trades.x", escaped)))).toBe("raw");
  });
  test("timestamps travel in FlatBuffers only", () => {
    const bytes = encodeDataFrameFb(ev("ticker.btc_usdt", ticker));
    expect(readDataFrameTimesFb(bytes)).toEqual({ sourceTs: 1_700_000_000_123, gatewayTs: 1_700_000_000_456 });
    expect(readDataFrameTimesFb(encodeControlFb({ event: "pong" }))).toBeNull();
  });
  test("the builder is reused but every frame is a copy", () => {
    const a = encodeDataFrameFb(ev("trades.a", trade, 1, 0));
    const aCopy = a.slice();
    const big = encodeDataFrameFb(ev("depth.b", depth(300), 2, 1));
    encodeControlFb({ event: "pong", id: 1 });
    expect(a).toEqual(aCopy);
    expect(decodeFrameFb(a)).toMatchObject({ stream: "trades.a", seq: 1 });
    expect(decodeFrameFb(big)).toMatchObject({ stream: "depth.b", seq: 2 });
    // A frame larger than the retained builder capacity (1 MiB) still works, and so does the next.
    const huge = roundTripData(ev("other.huge", { text: "x".repeat(1 << 21) }));
    expect(huge.length).toBeGreaterThan(1 << 20);
    expect(payloadType(roundTripData(ev("trades.a", trade)))).toBe("trade");
  });
});

/** Mantissa and scale of a decimal string, the slow obvious way (reference for the codec). */
function fixedRef(s: string): [bigint, number] {
  const dot = s.indexOf(".");
  return [BigInt(s.replace(".", "")), dot < 0 ? 0 : s.length - dot - 1];
}

describe("the codec's fast paths match the generated API byte for byte", () => {
  // Reference encoder: only generated create/add functions and BigInt, same building order.
  function reference(e: StreamEvent): Uint8Array {
    const b = new flatbuffers.Builder(1024);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test-only reference encoder
    const d = JSON.parse(e.data) as Record<string, any>;
    const kind = e.stream.slice(0, e.stream.indexOf("."));
    let table = 0;
    if (kind === "depth") {
      const all = [...d.bids, ...d.asks] as [string, string][];
      const ps = all.length ? fixedRef(all[0]![0])[1] : 0;
      const qs = all.map(([, q]) => fixedRef(q)).find(([m]) => m !== 0n)?.[1] ?? 0;
      const base = all.length ? fixedRef(all[0]![0])[0] : 0n;
      const fits = (ls: [string, string][]) => {
        let prev = base;
        return ls.every(([p, q]) => {
          const pm = fixedRef(p)[0];
          const ok = pm - prev <= 2147483647n && pm - prev >= -2147483648n && fixedRef(q)[0] <= 4294967295n;
          prev = pm;
          return ok;
        });
      };
      const packed = fits(d.bids) && fits(d.asks);
      const vector = (ls: [string, string][]) => {
        if (packed) {
          fb.Depth2.startBidsPackedVector(b, ls.length);
          for (let i = ls.length - 1; i >= 0; i--) {
            const prev = i === 0 ? base : fixedRef(ls[i - 1]![0])[0];
            fb.LevelPacked.createLevelPacked(b, Number(fixedRef(ls[i]![0])[0] - prev), Number(fixedRef(ls[i]![1])[0]));
          }
        } else {
          fb.Depth2.startBidsVector(b, ls.length);
          for (let i = ls.length - 1; i >= 0; i--) fb.LevelFx.createLevelFx(b, fixedRef(ls[i]![0])[0], fixedRef(ls[i]![1])[0]);
        }
        return b.endVector();
      };
      const bids = vector(d.bids);
      const asks = vector(d.asks);
      fb.Depth2.startDepth2(b);
      fb.Depth2.addFirstUpdateId(b, BigInt(d.firstUpdateId));
      fb.Depth2.addLastUpdateId(b, BigInt(d.lastUpdateId));
      fb.Depth2.addTimestamp(b, BigInt(d.timestamp));
      if (packed) fb.Depth2.addPriceBase(b, base);
      fb.Depth2.addChecksum(b, d.checksum);
      if (packed) {
        fb.Depth2.addBidsPacked(b, bids);
        fb.Depth2.addAsksPacked(b, asks);
      } else {
        fb.Depth2.addBids(b, bids);
        fb.Depth2.addAsks(b, asks);
      }
      if (d.type === "snapshot") fb.Depth2.addType(b, fb.DepthType.Snapshot);
      fb.Depth2.addPriceScale(b, ps);
      fb.Depth2.addQtyScale(b, qs);
      table = fb.Depth2.endDepth2(b);
    } else if (kind === "orders") {
      const idStr = typeof d.orderId === "string" ? b.createString(d.orderId) : 0;
      const client = d.clientOrderId === undefined ? 0 : b.createString(d.clientOrderId);
      const [pair, type, status] = [b.createString(d.pair), b.createString(d.type), b.createString(d.status)];
      const [p, q, f] = [fixedRef(d.price), fixedRef(d.qty), fixedRef(d.filledQty)];
      fb.OrderFx.startOrderFx(b);
      if (typeof d.orderId === "number") fb.OrderFx.addOrderId(b, BigInt(d.orderId));
      fb.OrderFx.addPrice(b, p[0]);
      fb.OrderFx.addQty(b, q[0]);
      fb.OrderFx.addFilledQty(b, f[0]);
      fb.OrderFx.addTimestamp(b, BigInt(d.timestamp));
      if (idStr) fb.OrderFx.addOrderIdStr(b, idStr);
      if (client) fb.OrderFx.addClientOrderId(b, client);
      fb.OrderFx.addPair(b, pair);
      fb.OrderFx.addType(b, type);
      fb.OrderFx.addStatus(b, status);
      fb.OrderFx.addSide(b, d.side === "buy" ? fb.Side.Buy : fb.Side.Sell);
      fb.OrderFx.addPriceScale(b, p[1]);
      fb.OrderFx.addQtyScale(b, q[1]);
      fb.OrderFx.addFilledQtyScale(b, f[1]);
      table = fb.OrderFx.endOrderFx(b);
    }
    const stream = b.createString(e.stream);
    fb.Frame.startFrame(b);
    fb.Frame.addStream(b, stream);
    if (kind === "depth") fb.Frame.addDepth(b, table);
    if (kind === "orders") fb.Frame.addOrder(b, table);
    if (kind === "trades") {
      const [p, q] = [fixedRef(d.price), fixedRef(d.qty)];
      fb.Frame.addTrade(b, fb.TradeFx.createTradeFx(b, BigInt(d.id), p[0], q[0], BigInt(d.timestamp), p[1], q[1], d.side === "buy" ? fb.Side.Buy : fb.Side.Sell));
    }
    if (kind === "ticker") {
      const v = ["price", "volume", "high", "low", "change"].map((k) => fixedRef(d[k]));
      fb.Frame.addTicker(b, fb.TickerFx.createTickerFx(b, v[0]![0], v[1]![0], v[2]![0], v[3]![0], v[4]![0], BigInt(d.timestamp), v[0]![1], v[1]![1], v[2]![1], v[3]![1], v[4]![1]));
    }
    fb.Frame.addSeq(b, BigInt(e.seq));
    fb.Frame.addPrevGap(b, BigInt(e.seq - e.prev));
    fb.Frame.addGatewayTs(b, BigInt(e.gatewayTs));
    if (e.sourceTs !== d.timestamp) fb.Frame.addSourceTs(b, BigInt(e.sourceTs));
    fb.Frame.finishFrameBuffer(b, fb.Frame.endFrame(b));
    return b.asUint8Array().slice();
  }
  const events: StreamEvent[] = [
    ev("trades.btc_usdt", trade),
    { ...ev("trades.btc_usdt", { ...trade, id: 2 ** 32 + 7, timestamp: -1, price: "-0.000001", qty: "9007199254740991" }, Number.MAX_SAFE_INTEGER, 2 ** 32), sourceTs: -(2 ** 40), gatewayTs: 0 },
    ev("trades.btc_usdt", { ...trade, timestamp: 2 ** 53 - 1 }, 1, 0),
    ev("depth.btc_usdt", { ...depth(20), firstUpdateId: 2 ** 33, lastUpdateId: 0 }, 2 ** 40, 2 ** 40 - 1),
    ev("depth.btc_usdt", { ...depth(3), type: "snapshot", bids: [["100000000", "0"], ["1", "123456789012"]], asks: [["100000001", "7"]] }),
    ev("depth.btc_usdt", { ...depth(3), bids: [["5000000000", "1"]], asks: [["1", "2"]] }),
    ev("ticker.btc_usdt", { ...ticker, timestamp: -(2 ** 52) }),
    { ...ev("ticker.btc_usdt", ticker), sourceTs: ticker.timestamp },
    ev("orders.u1", order, 2 ** 31, 2 ** 31 - 1),
    ev("orders.u1", { ...order, orderId: "o-9", clientOrderId: undefined }),
  ];
  test("data frames", () => {
    for (const e of events) {
      const bytes = encodeDataFrameFb(e);
      expect(bytes).toEqual(reference(e));
      // and the generated (BigInt) accessors read what the fast path wrote
      const f = fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(bytes));
      expect([f.seq(), f.prevGap(), f.gatewayTs()]).toEqual([BigInt(e.seq), BigInt(e.seq - e.prev), BigInt(e.gatewayTs)]);
      expect(readDataFrameTimesFb(bytes)).toEqual({ sourceTs: e.sourceTs, gatewayTs: e.gatewayTs });
      roundTripData(e);
    }
  });
});

describe("schema v1 frames (an older gateway) still decode", () => {
  // A v1 writer: DataFrame body, decimal strings, Level tables.
  function v1(e: StreamEvent): Uint8Array {
    const b = new flatbuffers.Builder(1024);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- test-only v1 encoder
    const d = JSON.parse(e.data) as Record<string, any>;
    let type: fb.Payload;
    let payload: number;
    if (e.stream.startsWith("trades.")) {
      const [price, qty] = [b.createString(d.price), b.createString(d.qty)];
      payload = fb.Trade.createTrade(b, BigInt(d.id), 0, price, qty, d.side === "buy" ? fb.Side.Buy : fb.Side.Sell, BigInt(d.timestamp));
      type = fb.Payload.Trade;
    } else {
      const levels = (ls: [string, string][]) => ls.map(([p, q]) => fb.Level.createLevel(b, b.createString(p), b.createString(q)));
      const bids = fb.Depth.createBidsVector(b, levels(d.bids));
      const asks = fb.Depth.createAsksVector(b, levels(d.asks));
      payload = fb.Depth.createDepth(b, bids, asks, BigInt(d.firstUpdateId), BigInt(d.lastUpdateId), BigInt(d.timestamp));
      type = fb.Payload.Depth;
    }
    const stream = b.createString(e.stream);
    const df = fb.DataFrame.createDataFrame(b, stream, BigInt(e.seq), BigInt(e.prev), BigInt(e.sourceTs), BigInt(e.gatewayTs), type, payload);
    fb.Frame.startFrame(b);
    fb.Frame.addBodyType(b, fb.FrameBody.DataFrame);
    fb.Frame.addBody(b, df);
    fb.Frame.finishFrameBuffer(b, fb.Frame.endFrame(b));
    return b.asUint8Array().slice();
  }
  test("trade and depth (a whole book: read as a snapshot with its checksum)", () => {
    expect(decodeFrameFb(v1(ev("trades.x", trade)))).toStrictEqual(JSON.parse(encodeDataFrameJson(ev("trades.x", trade))));
    const { type: _t, checksum: _c, ...old } = depth(3);
    const got = decodeFrameFb(v1(ev("depth.x", old))) as { data: { type: string; checksum: number; bids: [string, string][]; asks: [string, string][] } };
    expect(got.data).toMatchObject({ ...old, type: "snapshot" });
    expect(got.data.checksum).toBe(bookChecksum(pairLevels(got.data.bids), pairLevels(got.data.asks)));
    expect(readDataFrameTimesFb(v1(ev("trades.x", trade)))).toEqual({ sourceTs: 1_700_000_000_123, gatewayTs: 1_700_000_000_456 });
  });
});

describe("fixed-point is exact or not used", () => {
  test("prices and quantities come back as the very same strings", () => {
    for (const price of ["0", "1", "65012.34000000", "0.00000001", "-1.52", "123456789012345", "0.000000000000000000000000000001"]) {
      expect(payloadType(roundTripData(ev("trades.x", { ...trade, price })))).toBe("trade");
    }
  });
  test("a value that would not come back identical travels as a decimal string in the JSON text", () => {
    for (const price of ["1e5", "+1", "01.5", ".5", "5.", "-0", "0.00", "9007199254740993", "1.0000000000000000000000000000001", "１"]) {
      const bytes = roundTripData(ev("trades.x", { ...trade, price }));
      expect(payloadType(bytes)).toBe("raw");
      expect((decodeFrameFb(bytes) as { data: { price: string } }).data.price).toBe(price);
    }
  });
  test("depth levels share one scale per frame or travel as text; \"0\" removes at any scale", () => {
    expect(payloadType(roundTripData(ev("depth.x", { ...depth(2), bids: [["1.5", "0"], ["1.4", "2.25"]], asks: [] })))).toBe("depth");
    expect(payloadType(roundTripData(ev("depth.x", { ...depth(2), bids: [["1.5", "1"], ["1.40", "2"]], asks: [] })))).toBe("raw");
    expect(payloadType(roundTripData(ev("depth.x", { ...depth(2), bids: [["1.5", "1.0"], ["1.4", "2"]], asks: [] })))).toBe("raw");
    expect(payloadType(roundTripData(ev("depth.x", { ...depth(2), bids: [["1.5", "0.000"]], asks: [] })))).toBe("raw");
  });
  test("sizes: depth20 under half of JSON, a trade under 75% (bench/codec.ts has the figures)", () => {
    const d20 = ev("depth.btc_usdt", depth(20));
    expect(encodeDataFrameFb(d20).length).toBeLessThan(encodeDataFrameJson(d20).length / 2);
    const t = ev("trades.btc_usdt", { ...trade, timestamp: 1_700_000_000_123 });
    expect(encodeDataFrameFb(t).length).toBeLessThan(encodeDataFrameJson(t).length * 0.75);
  });
});

describe("raw JSON fallback keeps every payload that does not fit", () => {
  const cases: [string, string, unknown][] = [
    ["extra field", "trades.x", { ...trade, extra: true }],
    ["missing field", "trades.x", { id: 1, price: "1", qty: "1", side: "buy" }],
    ["numeric price", "trades.x", { ...trade, price: 65000.5 }],
    ["unknown side", "trades.x", { ...trade, side: "BUY" }],
    ["negative id", "trades.x", { ...trade, id: -1 }],
    ["float id", "trades.x", { ...trade, id: 1.5 }],
    ["unsafe integer id", "trades.x", { ...trade, id: 2 ** 60 }],
    ["float timestamp", "ticker.x", { ...ticker, timestamp: 1.5 }],
    ["null change", "ticker.x", { ...ticker, change: null }],
    ["numeric levels", "depth.x", { ...depth(2), bids: [[1, 2]] }],
    ["3-element level", "depth.x", { ...depth(2), asks: [["1", "2", "3"]] }],
    ["level as object", "depth.x", { ...depth(2), asks: [{ price: "1", qty: "2" }] }],
    ["null clientOrderId", "orders.u", { ...order, clientOrderId: null }],
    ["array payload", "trades.x", [1, 2, 3]],
    ["scalar payload", "ticker.x", 42],
    ["string payload", "ticker.x", JSON.stringify("hello")],
    ["null payload", "ticker.x", null],
  ];
  for (const [name, stream, data] of cases) {
    test(name, () => {
      expect(payloadType(roundTripData(ev(stream, data)))).toBe("raw");
    });
  }
  test("-0 is not turned into 0", () => {
    const text = '{"id":1,"price":"1","qty":"1","side":"buy","timestamp":-0}';
    const bytes = roundTripData(ev("trades.x", text));
    expect(payloadType(bytes)).toBe("raw");
    expect(Object.is((decodeFrameFb(bytes) as { data: { timestamp: number } }).data.timestamp, -0)).toBe(true);
  });
  test("a lone surrogate escape is not mangled by UTF-8", () => {
    const text = '{"id":"\\ud800","price":"1","qty":"1","side":"buy","timestamp":1}';
    const bytes = roundTripData(ev("trades.x", text));
    expect(payloadType(bytes)).toBe("raw");
  });
  test("raw JSON text is carried verbatim", () => {
    const text = '{ "a" : [1,2 , 3] }';
    const bytes = encodeDataFrameFb(ev("other.x", text));
    expect(fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(bytes)).rawJson()).toBe(text);
  });
  test("invalid JSON text does not break the encoder", () => {
    const bytes = encodeDataFrameFb(ev("trades.x", "{not json"));
    expect(payloadType(bytes)).toBe("raw");
    expect(() => decodeFrameFb(bytes)).toThrow(); // as JSON.parse of the JSON frame would
  });
});

describe("control frames round-trip in both formats", () => {
  const typed: [object, fb.FrameBody][] = [
    [{ event: "subscribed", streams: ["ticker.btc_usdt", "trades.eth_usdt"], id: 1 }, fb.FrameBody.Subscribed],
    [{ event: "subscribed", streams: [], id: "req-\"1\"" }, fb.FrameBody.Subscribed],
    [{ event: "subscribed", streams: ["a"] }, fb.FrameBody.Subscribed],
    [{ event: "unsubscribed", streams: ["ticker.btc_usdt"], id: 0 }, fb.FrameBody.Unsubscribed],
    [{ event: "list", streams: ["a", "b", "c"] }, fb.FrameBody.StreamList],
    [{ event: "list", streams: ["a"], id: -5 }, fb.FrameBody.StreamList],
    [{ event: "pong", id: 2 ** 40 }, fb.FrameBody.Pong],
    [{ event: "pong" }, fb.FrameBody.Pong],
    [{ event: "pong", id: "" }, fb.FrameBody.Pong],
    [{ event: "resumed", stream: "trades.btc_usdt", from: 2 ** 33, to: 2 ** 33 + 10 }, fb.FrameBody.Resumed],
    [{ event: "resumed", stream: "trades.btc_usdt", from: 0, to: 0 }, fb.FrameBody.Resumed],
    [{ event: "error", code: "bad_request", message: "bad \"json\" 🚫", id: 1 }, fb.FrameBody.ErrorFrame],
    [{ event: "error", code: "unknown_stream", message: "no such stream", stream: "foo.bar" }, fb.FrameBody.ErrorFrame],
    [{ event: "error", code: "resume_unavailable", message: "gone", id: "r", stream: "trades.x", oldest: 0 }, fb.FrameBody.ErrorFrame],
    [{ event: "error", code: "resume_unavailable", message: "gone", stream: "trades.x", oldest: 2 ** 40 }, fb.FrameBody.ErrorFrame],
    [{ event: "error", code: "some_future_code", message: "" }, fb.FrameBody.ErrorFrame],
  ];
  for (const [msg, body] of typed) {
    test(`${JSON.stringify(msg)}`, () => {
      expect(bodyType(roundTripControl(msg))).toBe(body);
    });
  }

  const raw: [string, object][] = [
    ["unknown event", { event: "welcome", version: 3 }],
    ["no event", { hello: "world" }],
    ["extra field", { event: "pong", id: 1, ts: 5 }],
    ["non-string stream", { event: "subscribed", streams: [1, 2], id: 1 }],
    ["object id", { event: "pong", id: { a: 1 } }],
    ["float id", { event: "pong", id: 1.5 }],
    ["negative oldest", { event: "error", code: "x", message: "y", oldest: -1 }],
    ["missing message", { event: "error", code: "x" }],
    ["resumed without to", { event: "resumed", stream: "s", from: 1 }],
  ];
  for (const [name, msg] of raw) {
    test(`raw fallback: ${name}`, () => {
      expect(bodyType(roundTripControl(msg))).toBe(fb.FrameBody.RawJson);
    });
  }

  test("undefined fields are dropped, as JSON.stringify does", () => {
    const msg: ControlFrame = { event: "error", code: "forbidden", message: "no", id: undefined, stream: undefined };
    expect(bodyType(roundTripControl(msg))).toBe(fb.FrameBody.ErrorFrame);
    expect(decodeFrameFb(encodeControlFb(msg))).toStrictEqual({ event: "error", code: "forbidden", message: "no" });
  });
});

describe("FlatBuffers framing", () => {
  test("file identifier; schema version 2 on control frames, none on (body-less) data frames", () => {
    const bytes = encodeDataFrameFb(ev("ticker.btc_usdt", ticker));
    expect(new TextDecoder().decode(bytes.subarray(4, 8))).toBe(FB_FILE_IDENTIFIER);
    expect(fb.Frame.bufferHasIdentifier(new flatbuffers.ByteBuffer(bytes))).toBe(true);
    expect(fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(bytes)).bodyType()).toBe(fb.FrameBody.NONE);
    expect(FB_SCHEMA_VERSION).toBe(2);
    const pong = encodeControlFb({ event: "pong", id: 1 });
    expect(fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(pong)).schemaVersion()).toBe(2);
  });
  test("rejects foreign bytes", () => {
    expect(isFrameFb(new Uint8Array(3))).toBe(false);
    expect(() => decodeFrameFb(new Uint8Array(16))).toThrow(/file identifier/);
    expect(() => decodeFrameFb(new TextEncoder().encode('{"event":"pong"}'))).toThrow(/file identifier/);
  });
  test("rejects a newer schema_version", () => {
    const b = new flatbuffers.Builder(64);
    const pong = fb.Pong.createPong(b, 0, 0n, 0);
    fb.Frame.startFrame(b);
    fb.Frame.addSchemaVersion(b, FB_SCHEMA_VERSION + 1);
    fb.Frame.addBodyType(b, fb.FrameBody.Pong);
    fb.Frame.addBody(b, pong);
    fb.Frame.finishFrameBuffer(b, fb.Frame.endFrame(b));
    expect(() => decodeFrameFb(b.asUint8Array())).toThrow(/schema_version/);
  });
  test("rejects seq that is not a non-negative safe integer", () => {
    expect(() => encodeDataFrameFb(ev("trades.x", trade, -1, 0))).toThrow(TypeError);
    expect(() => encodeDataFrameFb(ev("trades.x", trade, 1.5, 0))).toThrow(TypeError);
    // and the shared builder is still usable afterwards
    expect(payloadType(roundTripData(ev("trades.x", trade)))).toBe("trade");
  });
});
