/** `GET /snapshot/{stream}` and `GET /replay/{stream}`: the log over HTTP, with the socket's auth. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { getHttp, range, startGateway, tokenFor, writeApiKeysFile, tempDir, type TestGateway } from "../helpers/gateway-harness.ts";
import fs from "node:fs";

const dir = tempDir("streamhttp");
const keysFile = writeApiKeysFile(dir, [{ key: "k-btc-only", userId: "bot", pairs: ["btc_usdt"] }]);
let gw: TestGateway;
let auth: Record<string, string>;
beforeAll(async () => {
  gw = await startGateway({ LOG_MAX_EVENTS: "50", API_KEYS_FILE: keysFile });
  auth = { authorization: `Bearer ${await tokenFor("u1")}` };
  gw.publish(range(1, 80).map((n) => ({ stream: "trades.btc_usdt", data: { n, price: `${100 + n}` } })));
  gw.publish([{ stream: "orders.u1", data: { orderId: 7 } }, { stream: "orders.u2", data: { orderId: 8 } }]);
});
afterAll(async () => {
  await gw.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("GET /snapshot/{stream}", () => {
  test("the latest event with seq, prev and epoch", async () => {
    const r = await getHttp(gw.port, "/snapshot/trades.btc_usdt", auth);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ stream: "trades.btc_usdt", seq: 80, prev: 79, data: { n: 80, price: "180" } });
    expect(r.body.epoch).toBe(gw.gateway.logs.find("trades.btc_usdt")!.position().epoch);
  });

  test("one's own private stream works, with ?token= too", async () => {
    const r = await getHttp(gw.port, `/snapshot/orders.u1?token=${await tokenFor("u1")}`);
    expect(r.status).toBe(200);
    expect(r.body.data).toEqual({ orderId: 7 });
  });

  test("401 without credentials or with a bad token", async () => {
    expect((await getHttp(gw.port, "/snapshot/trades.btc_usdt")).status).toBe(401);
    const bad = await getHttp(gw.port, "/snapshot/trades.btc_usdt", { authorization: "Bearer nope" });
    expect(bad.status).toBe(401);
    expect(bad.body.error).toBe("invalid_token");
  });

  test("403 for another user's private stream, and for a pair outside the credential's pairs", async () => {
    const r = await getHttp(gw.port, "/snapshot/orders.u2", auth);
    expect(r.status).toBe(403);
    expect(r.body.error).toBe("forbidden");
    expect(JSON.stringify(r.body)).not.toContain("orderId");
    expect((await getHttp(gw.port, "/snapshot/trades.eth_usdt", { "X-API-Key": "k-btc-only" })).status).toBe(403);
    expect((await getHttp(gw.port, "/snapshot/trades.btc_usdt", { "X-API-Key": "k-btc-only" })).status).toBe(200);
  });

  test("404 for an unknown stream, and for a known one with no data yet", async () => {
    const unknown = await getHttp(gw.port, "/snapshot/candles.btc_usdt", auth);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("unknown_stream");
    const empty = await getHttp(gw.port, "/snapshot/ticker.btc_usdt", auth);
    expect(empty.status).toBe(404);
    expect(empty.body.error).toBe("no_data");
  });

  test("a malformed percent-encoding in the stream name is a 4xx, not a server error", async () => {
    const r = await getHttp(gw.port, "/snapshot/trades.%E0%A4%A", auth);
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });

  test("POST is 405", async () => {
    const res = await fetch(gw.httpUrl("/snapshot/trades.btc_usdt"), { method: "POST", headers: auth });
    expect(res.status).toBe(405);
  });
});

describe("GET /replay/{stream}", () => {
  test("events after fromSeq up to limit, as frames, with oldest/head/epoch", async () => {
    const r = await getHttp(gw.port, "/replay/trades.btc_usdt?fromSeq=60&limit=5", auth);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ stream: "trades.btc_usdt", oldest: 31, head: 80, complete: true });
    expect(r.body.events).toEqual(range(61, 65).map((n) => ({ stream: "trades.btc_usdt", seq: n, prev: n - 1, data: { n, price: `${100 + n}` } })));
  });

  test("without limit: everything after fromSeq", async () => {
    const r = await getHttp(gw.port, "/replay/trades.btc_usdt?fromSeq=70", auth);
    expect(r.body.events.map((e: { seq: number }) => e.seq)).toEqual(range(71, 80));
    expect(r.body.complete).toBe(true);
  });

  test("a position older than the log says complete:false rather than a silent partial answer", async () => {
    const r = await getHttp(gw.port, "/replay/trades.btc_usdt?fromSeq=5&limit=3", auth);
    expect(r.status).toBe(200);
    expect(r.body.complete).toBe(false);
    expect(r.body.events.map((e: { seq: number }) => e.seq)).toEqual([31, 32, 33]);
    // The edge: just before the oldest is complete.
    expect((await getHttp(gw.port, "/replay/trades.btc_usdt?fromSeq=30&limit=1", auth)).body.complete).toBe(true);
  });

  test("at the head: no events, complete", async () => {
    const r = await getHttp(gw.port, "/replay/trades.btc_usdt?fromSeq=80", auth);
    expect(r.body.events).toEqual([]);
    expect(r.body.complete).toBe(true);
  });

  test("400 on a bad fromSeq or limit", async () => {
    for (const q of ["fromSeq=-1", "fromSeq=abc", "limit=0", "limit=1.5", "fromSeq=1e400"]) {
      const r = await getHttp(gw.port, `/replay/trades.btc_usdt?${q}`, auth);
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("bad_request");
    }
  });

  test("401 without credentials, 403 forbidden stream, 404 unknown stream", async () => {
    expect((await getHttp(gw.port, "/replay/trades.btc_usdt?fromSeq=0")).status).toBe(401);
    const forbidden = await getHttp(gw.port, "/replay/orders.u2?fromSeq=0", auth);
    expect(forbidden.status).toBe(403);
    expect(JSON.stringify(forbidden.body)).not.toContain("orderId");
    expect((await getHttp(gw.port, "/replay/nope.x?fromSeq=0", auth)).status).toBe(404);
  });

  test("a known stream without a log answers an empty replay", async () => {
    const r = await getHttp(gw.port, "/replay/depth.btc_usdt?fromSeq=0", auth);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ oldest: 0, head: 0, events: [], complete: true });
  });
});
