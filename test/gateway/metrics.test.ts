/** `/metrics`: connection, message, fan-out and drop counters as Prometheus text. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { TestClient, closeAll, metricValue, startGateway, tokenFor, tryUpgrade, until, type TestGateway } from "../helpers/gateway-harness.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ ALLOW_ANONYMOUS: "1" });
});
afterAll(() => gw.stop());

async function scrape(): Promise<string> {
  const res = await fetch(gw.httpUrl("/metrics"));
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return res.text();
}

test("every family is exported, with zero series for bounded labels before any traffic", async () => {
  const text = await scrape();
  for (const name of [
    "gateway_connections",
    "gateway_connections_opened_total",
    "gateway_connections_closed_total",
    "gateway_client_messages_total",
    "gateway_frames_out_total",
    "gateway_slow_consumer_drops_total",
    "gateway_resumes_total",
  ]) {
    expect(text).toContain(`# TYPE ${name} `);
  }
  expect(metricValue(text, "gateway_connections")).toBe(0);
  expect(metricValue(text, "gateway_slow_consumer_drops_total")).toBe(0);
  expect(metricValue(text, "gateway_connections_closed_total", { code: "4008", reason: "slow_consumer" })).toBe(0);
  expect(metricValue(text, "gateway_frames_out_total", { kind: "trades", format: "json" })).toBe(0);
});

test("connections, messages, frames out and closes follow real traffic", async () => {
  const before = await scrape();
  const jwtClients = await Promise.all([1, 2, 3].map(async (i) => TestClient.connect(gw.wsUrl(), { token: await tokenFor(`m${i}`) })));
  const anon = await TestClient.connect(gw.wsUrl());
  let text = await scrape();
  expect(metricValue(text, "gateway_connections")).toBe(4);
  expect(metricValue(text, "gateway_connections_opened_total", { auth: "jwt" }) - (metricValue(before, "gateway_connections_opened_total", { auth: "jwt" }) || 0)).toBe(3);
  expect(metricValue(text, "gateway_connections_opened_total", { auth: "anonymous" }) - (metricValue(before, "gateway_connections_opened_total", { auth: "anonymous" }) || 0)).toBe(1);

  for (const c of [...jwtClients, anon]) await c.subscribe(["trades.btc_usdt"]);
  await jwtClients[0]!.request({ action: "ping" });
  await jwtClients[0]!.request({ action: "bogus" });
  await jwtClients[0]!.request({ action: "subscribe", streams: ["orders.someone"] });
  gw.publish(Array.from({ length: 10 }, (_, n) => ({ stream: "trades.btc_usdt", data: { n } })));
  for (const c of [...jwtClients, anon]) await c.waitForSeq("trades.btc_usdt", 10);

  text = await scrape();
  const delta = (name: string, labels: Record<string, string> = {}) => metricValue(text, name, labels) - (metricValue(before, name, labels) || 0);
  expect(delta("gateway_client_messages_total", { action: "subscribe" })).toBe(5);
  expect(delta("gateway_client_messages_total", { action: "ping" })).toBe(1);
  expect(delta("gateway_client_messages_total", { action: "invalid" })).toBe(1);
  expect(delta("gateway_client_errors_total", { code: "unknown_action" })).toBe(1);
  expect(delta("gateway_client_errors_total", { code: "forbidden" })).toBe(1);
  // 10 events to 4 subscribers: 40 frames, each encoded once per format.
  expect(delta("gateway_frames_out_total", { kind: "trades", format: "json" })).toBe(40);
  expect(delta("gateway_events_in_total", { source: "embedded", kind: "trades" })).toBe(10);
  expect(metricValue(text, "gateway_subscriptions", { kind: "trades" })).toBe(4);

  await closeAll([jwtClients[0], anon]);
  await until(() => gw.gateway.sessions.size === 2, 5000, "two sessions closed");
  text = await scrape();
  expect(metricValue(text, "gateway_connections")).toBe(2);
  expect(metricValue(text, "gateway_subscriptions", { kind: "trades" })).toBe(2);
  expect(delta("gateway_connections_closed_total", { code: "1000", reason: "normal" })).toBe(2);
  await closeAll(jwtClients);
});

test("refused upgrades are counted by reason", async () => {
  const before = metricValue(await scrape(), "gateway_upgrades_rejected_total", { reason: "invalid_token" }) || 0;
  await tryUpgrade(gw.port, { query: { token: "bad" } });
  await tryUpgrade(gw.port, { query: { token: "worse" } });
  expect(metricValue(await scrape(), "gateway_upgrades_rejected_total", { reason: "invalid_token" })).toBe(before + 2);
});

test("rate-limited requests are counted", async () => {
  const g = await startGateway({ CLIENT_MESSAGES_PER_SEC: "1", CLIENT_MESSAGE_BURST: "2", MAX_RATE_VIOLATIONS: "100" });
  try {
    const c = await TestClient.connect(g.wsUrl(), { token: await tokenFor("r1") });
    for (let i = 0; i < 5; i++) c.send({ action: "ping", id: i });
    await c.waitFor(() => c.errors("rate_limited").length === 3);
    const text = await (await fetch(g.httpUrl("/metrics"))).text();
    expect(metricValue(text, "gateway_rate_limited_total")).toBe(3);
    expect(metricValue(text, "gateway_client_errors_total", { code: "rate_limited" })).toBe(3);
    await c.close();
  } finally {
    await g.stop();
  }
});
