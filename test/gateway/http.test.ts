/** Plain HTTP endpoints: /healthz, /readyz, POST /publish, unknown routes, non-WebSocket /ws. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, TestClient, getHttp, publishHttp, startGateway, tokenFor, type TestGateway } from "../helpers/gateway-harness.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway();
});
afterAll(() => gw.stop());

test("GET /healthz answers 200 ok", async () => {
  const r = await getHttp(gw.port, "/healthz");
  expect(r.status).toBe(200);
  expect(r.body).toEqual({ status: "ok" });
});

test("GET /readyz answers 200 ready with the embedded source connected", async () => {
  const r = await getHttp(gw.port, "/readyz");
  expect(r.status).toBe(200);
  expect(r.body.status).toBe("ready");
  expect(r.body.sources.embedded.connected).toBe(true);
});

test("an unknown route is a JSON 404", async () => {
  const r = await getHttp(gw.port, "/nope");
  expect(r.status).toBe(404);
  expect(r.body.error).toBe("not_found");
});

test("GET /ws without an upgrade is 426", async () => {
  const r = await getHttp(gw.port, "/ws");
  expect(r.status).toBe(426);
  expect(r.body.error).toBe("upgrade_required");
});

describe("POST /publish", () => {
  test("one event answers 2xx with its stream and seq, and subscribers get it", async () => {
    const c = await TestClient.connect(gw.wsUrl(), { token: await tokenFor("u1") });
    await c.subscribe(["trades.btc_usdt"]);
    const first = await publishHttp(gw.port, { stream: "trades.btc_usdt", data: { price: "1.5", n: 1 } });
    expect(first.status).toBeGreaterThanOrEqual(200);
    expect(first.status).toBeLessThan(300);
    expect(first.body).toEqual({ stream: "trades.btc_usdt", seq: 1 });
    const second = await publishHttp(gw.port, { stream: "trades.btc_usdt", data: { price: "1.6", n: 2 } });
    expect(second.body).toEqual({ stream: "trades.btc_usdt", seq: 2 });
    await c.waitForSeq("trades.btc_usdt", 2);
    expect(c.data("trades.btc_usdt")).toEqual([
      { stream: "trades.btc_usdt", seq: 1, prev: 0, data: { price: "1.5", n: 1 } },
      { stream: "trades.btc_usdt", seq: 2, prev: 1, data: { price: "1.6", n: 2 } },
    ]);
    await c.close();
  });

  test("an array answers with one result per event, seqs per stream", async () => {
    const r = await publishHttp(gw.port, [
      { stream: "ticker.eth_usdt", data: { price: "1" } },
      { stream: "ticker.sol_usdt", data: { price: "2" } },
      { stream: "ticker.eth_usdt", data: { price: "3" } },
    ]);
    expect(r.status).toBeGreaterThanOrEqual(200);
    expect(r.status).toBeLessThan(300);
    expect(r.body).toEqual({
      results: [
        { stream: "ticker.eth_usdt", seq: 1 },
        { stream: "ticker.sol_usdt", seq: 1 },
        { stream: "ticker.eth_usdt", seq: 2 },
      ],
    });
  });

  test("401 without the admin token, and with a wrong one; nothing is published", async () => {
    const none = await publishHttp(gw.port, { stream: "ticker.bnb_usdt", data: {} }, null);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe("unauthorized");
    const wrong = await publishHttp(gw.port, { stream: "ticker.bnb_usdt", data: {} }, ADMIN_TOKEN + "x");
    expect(wrong.status).toBe(401);
    // A user JWT is not an admin token.
    const jwt = await publishHttp(gw.port, { stream: "ticker.bnb_usdt", data: {} }, await tokenFor("u1"));
    expect(jwt.status).toBe(401);
    expect(gw.gateway.logs.find("ticker.bnb_usdt")).toBeUndefined();
  });

  test.each([
    ["not JSON", "{not json"],
    ["empty array", "[]"],
    ["missing data", JSON.stringify({ stream: "trades.btc_usdt" })],
    ["stream not a string", JSON.stringify({ stream: 5, data: {} })],
    ["bad stream name", JSON.stringify({ stream: "no dots here", data: {} })],
    ["null event in array", JSON.stringify([{ stream: "trades.btc_usdt", data: 1 }, null])],
  ])("400 on a malformed body (%s)", async (_what, body) => {
    const before = gw.gateway.logs.find("trades.btc_usdt")?.position().head ?? 0;
    const r = await publishHttp(gw.port, body);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("bad_request");
    expect(typeof r.body.message).toBe("string");
    // A refused batch publishes nothing, not even its valid part.
    expect(gw.gateway.logs.find("trades.btc_usdt")?.position().head ?? 0).toBe(before);
  });

  test("GET /publish is 405", async () => {
    const r = await getHttp(gw.port, "/publish", { authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(r.status).toBe(405);
  });
});
