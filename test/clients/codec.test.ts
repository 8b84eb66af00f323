/**
 * Round trips of every frame kind in both wire formats, decoded by the client: the gateway's
 * encoders (src/codec) produce the frame, the client (through a fake socket, so the whole receive
 * path runs: binaryType arraybuffer, decode, dedupe, dispatch) must hand the app the object the
 * JSON frame parses to, whichever format.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { encodeControlFb, encodeDataFrameFb } from "../../src/codec/flatbuffers-codec.ts";
import { encodeControlJson, encodeDataFrameJson } from "../../src/codec/json-codec.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import { negotiateFormat } from "../../src/gateway/upgrade.ts";
import {
  decodeMessage,
  GatewayClient,
  isDataFrame,
  isKind,
  PROTOCOL_FB,
  PROTOCOL_JSON,
  type ControlMessage,
  type DataFrame,
  type DepthData,
  type FrameMeta,
  type OrderData,
  type PayloadOf,
  type TickerData,
  type TradeData,
} from "../../clients/ts/index.ts";
import { FakeWebSocket } from "./helpers/fake-ws.ts";

const NOW = 1_700_000_000_000;

function ev(stream: string, data: unknown, seq: number, prev = seq - 1): StreamEvent {
  return { stream, seq, prev, data: typeof data === "string" ? data : JSON.stringify(data), sourceTs: NOW - 5, gatewayTs: NOW };
}

const trade: TradeData = { id: 42, price: "65012.34000000", qty: "0.01230000", side: "buy", timestamp: NOW };
const tradeStrId: TradeData = { id: "t-9007199254740993", price: "1.5", qty: "2", side: "sell", timestamp: NOW };
const depth: DepthData = {
  type: "update",
  bids: [["65012.34", "1.5"], ["65012.33", "0.25"]],
  asks: [["65012.35", "0.75"]],
  firstUpdateId: 7_000_000_001,
  lastUpdateId: 7_000_000_020,
  checksum: 1234,
  timestamp: NOW,
};
const ticker: TickerData = { price: "65012.34", volume: "18234.56789012", high: "66100.00", low: "63950.10", change: "-1.52", timestamp: NOW };
const order: OrderData = {
  orderId: 1001,
  clientOrderId: "my-1",
  pair: "btc_usdt",
  side: "buy",
  type: "limit",
  status: "partially_filled",
  price: "65000.00",
  qty: "0.5",
  filledQty: "0.1",
  timestamp: NOW,
};
const orderNoClientId: OrderData = { ...order, orderId: "o-77", status: "new" };
delete orderNoClientId.clientOrderId;

/** Data frames of every payload kind, typed and RawJson (other kinds, payloads that do not fit). */
const dataCases: [string, StreamEvent][] = [
  ["trade", ev("trades.btc_usdt", trade, 1)],
  ["trade with string id", ev("trades.btc_usdt", tradeStrId, 2)],
  ["depth", ev("depth.btc_usdt", depth, 1)],
  ["empty depth", ev("depth.eth_usdt", { ...depth, bids: [], asks: [] }, 1)],
  ["ticker", ev("ticker.btc_usdt", ticker, 1)],
  ["order", ev("orders.user1", order, 1)],
  ["order without clientOrderId, string id", ev("orders.user1", orderNoClientId, 2)],
  ["trade with an extra field (RawJson)", ev("trades.sol_usdt", { ...trade, maker: true }, 1)],
  ["ticker with a number price (RawJson)", ev("ticker.sol_usdt", { ...ticker, price: 150.5 }, 1)],
  ["other stream kind (RawJson)", ev("news.all", { headline: "héllo ✓", n: [1, 2.5, null] }, 1)],
  ["null payload", ev("news.empty", "", 1)],
  ["unicode in strings", ev("orders.user2", { ...order, clientOrderId: "ключ-😀" }, 1)],
  ["seq above 2^32", ev("trades.big", trade, 5_000_000_000, 4_999_999_000)],
];

/** Control answers the gateway sends (session.ts, resume-service.ts), typed and RawJson. */
const controlCases: [string, object][] = [
  ["subscribed with epochs", { event: "subscribed", streams: ["trades.btc_usdt", "orders.user1"], epochs: { "trades.btc_usdt": "a1b2", "orders.user1": "" }, id: 1 }],
  ["subscribed (typed table)", { event: "subscribed", streams: ["ticker.btc_usdt"], id: "req-1" }],
  ["unsubscribed", { event: "unsubscribed", streams: ["ticker.btc_usdt"], id: 2 }],
  ["unsubscribed without id", { event: "unsubscribed", streams: [] }],
  ["list", { event: "list", streams: ["a.b", "c.d"], id: 3 }],
  ["pong with ts", { event: "pong", ts: NOW, id: 4 }],
  ["pong (typed table)", { event: "pong", id: 5 }],
  ["resumed", { event: "resumed", stream: "trades.btc_usdt", from: 10, to: 20, replayed: 10, epoch: "a1b2", id: 6 }],
  ["resumed (typed table)", { event: "resumed", stream: "trades.btc_usdt", from: 10, to: 20 }],
  ["error (typed table)", { event: "error", code: "forbidden", message: "not allowed", id: 7, stream: "orders.user2" }],
  ["error with streams", { event: "error", code: "unknown_stream", message: "no such stream", id: 8, streams: ["nope.x"] }],
  [
    "resume_unavailable",
    { event: "error", code: "resume_unavailable", message: "unknown epoch", id: 9, stream: "trades.btc_usdt", lastSequence: 5, oldest: 100, head: 200, epoch: "ffff" },
  ],
  ["error with oldest", { event: "error", code: "rate_limited", message: "slow down", oldest: 0 }],
  ["unknown event", { event: "maintenance", at: NOW, note: "soon" }],
];

describe("decodeMessage: both formats decode to the JSON frame's object", () => {
  for (const [name, e] of dataCases) {
    test(`data: ${name}`, () => {
      const json = encodeDataFrameJson(e);
      const expected = JSON.parse(json);
      expect(decodeMessage(json).frame).toStrictEqual(expected);
      const bytes = encodeDataFrameFb(e);
      const d = decodeMessage(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
      expect(d.frame).toStrictEqual(expected);
      expect(d.gatewayTs).toBe(NOW);
      expect(d.sourceTs).toBe(NOW - 5);
      expect(d.size).toBe(bytes.length);
      expect(isDataFrame(d.frame)).toBe(true);
    });
  }
  for (const [name, msg] of controlCases) {
    test(`control: ${name}`, () => {
      const expected = JSON.parse(encodeControlJson(msg));
      expect(decodeMessage(encodeControlJson(msg)).frame).toStrictEqual(expected);
      const d = decodeMessage(encodeControlFb(msg));
      expect(d.frame).toStrictEqual(expected);
      expect(d.gatewayTs).toBeUndefined();
      expect(isDataFrame(d.frame)).toBe(false);
    });
  }
  test("a Uint8Array view into a bigger buffer decodes too", () => {
    const bytes = encodeDataFrameFb(dataCases[0]![1]);
    const big = new Uint8Array(bytes.length + 16);
    big.set(bytes, 8);
    expect(decodeMessage(big.subarray(8, 8 + bytes.length)).frame).toStrictEqual(JSON.parse(encodeDataFrameJson(dataCases[0]![1])));
  });
  test("garbage bytes throw", () => {
    expect(() => decodeMessage(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow();
  });
});

describe.each(["json", "fb"] as const)("GatewayClient receive path, %s", (format) => {
  beforeEach(() => FakeWebSocket.reset());

  function setup() {
    const client = new GatewayClient({ url: "ws://gw.test/ws", format, token: "tok", WebSocket: FakeWebSocket as never, heartbeat: false });
    const encodeData = (e: StreamEvent) => (format === "json" ? encodeDataFrameJson(e) : encodeDataFrameFb(e));
    const encodeCtl = (m: object) => (format === "json" ? encodeControlJson(m) : encodeControlFb(m));
    return { client, encodeData, encodeCtl };
  }

  test("offers the format's subprotocol and the bearer token, sets binaryType", () => {
    const { client } = setup();
    client.connect();
    const ws = FakeWebSocket.last;
    expect(ws.protocols).toEqual([format === "fb" ? PROTOCOL_FB : PROTOCOL_JSON, "bearer.tok"]);
    expect(ws.binaryType).toBe("arraybuffer");
    client.close();
  });

  test("every data frame kind reaches its typed subscription as the JSON object", () => {
    const { client, encodeData, encodeCtl } = setup();
    const got = new Map<string, { frame: DataFrame; meta: FrameMeta }[]>();
    const streams = [...new Set(dataCases.map(([, e]) => e.stream))];
    const sub = client.subscribe(streams, (frame, meta) => {
      const list = got.get(frame.stream) ?? [];
      list.push({ frame, meta });
      got.set(frame.stream, list);
    });
    client.connect();
    const ws = FakeWebSocket.last;
    ws.open();
    expect(ws.requests("subscribe")).toEqual([{ action: "subscribe", streams, id: expect.any(Number) }]);
    const epochs = Object.fromEntries(streams.map((st) => [st, "e1"]));
    ws.deliver(encodeCtl({ event: "subscribed", streams, epochs, id: ws.requests("subscribe")[0]!.id }));
    for (const [, e] of dataCases) ws.deliver(encodeData(e));
    for (const [name, e] of dataCases) {
      const rec = got.get(e.stream)!.find((r) => r.frame.seq === e.seq);
      expect(rec, name).toBeDefined();
      expect(rec!.frame, name).toStrictEqual(JSON.parse(encodeDataFrameJson(e)));
      expect(rec!.meta.replay).toBe(false);
      if (format === "fb") expect(rec!.meta.gatewayTs, name).toBe(NOW);
      else expect(rec!.meta.gatewayTs).toBeUndefined();
    }
    expect(client.stats.delivered).toBe(dataCases.length);
    void sub;
    client.close();
  });

  test("every control frame kind is emitted as the JSON object", () => {
    const { client, encodeCtl } = setup();
    const got: ControlMessage[] = [];
    client.on("control", (f) => got.push(f));
    client.on("error", () => {});
    client.connect();
    FakeWebSocket.last.open();
    for (const [, m] of controlCases) FakeWebSocket.last.deliver(encodeCtl(m));
    expect(got).toStrictEqual(controlCases.map(([, m]) => JSON.parse(encodeControlJson(m))));
    client.close();
  });

  test("payload types follow the stream name (compile-time) and isKind narrows at run time", () => {
    const { client, encodeData } = setup();
    const prices: string[] = [];
    client.subscribe("ticker.btc_usdt", (f) => {
      const t: TickerData = f.data; // typed by the stream name
      prices.push(t.price);
    });
    client.subscribe(["trades.btc_usdt", "depth.btc_usdt"] as const, (f) => {
      if (f.stream === "trades.btc_usdt") prices.push(f.data.price);
      else prices.push(f.data.bids[0]?.[0] ?? "");
    });
    client.on("data", (f) => {
      if (isKind(f, "orders")) prices.push(f.data.status);
    });
    const order1: PayloadOf<"orders.user1"> = order;
    client.subscribe("orders.user1");
    client.connect();
    FakeWebSocket.last.open();
    for (const e of [ev("ticker.btc_usdt", ticker, 1), ev("trades.btc_usdt", trade, 1), ev("depth.btc_usdt", depth, 1), ev("orders.user1", order1, 1)]) {
      FakeWebSocket.last.deliver(encodeData(e));
    }
    expect(prices).toEqual(["65012.34", "65012.34000000", "65012.34", "partially_filled"]);
    client.close();
  });
});

test("the gateway negotiates the format the client's subprotocol names", () => {
  const url = new URL("ws://localhost/ws");
  expect(negotiateFormat([PROTOCOL_JSON], url)).toBe("json");
  expect(negotiateFormat([PROTOCOL_FB], url)).toBe("fb");
});
