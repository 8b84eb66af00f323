/**
 * One stream-name rule on every way in: /publish, the envelope router, every binding. A name
 * outside the configured patterns never gets a log or a subscriber (400 on /publish, skipped and
 * counted from a source); new streams over LOG_MAX_STREAMS are refused loudly, none is evicted;
 * payloads nested deeper than MAX_PAYLOAD_DEPTH are refused (400) or skipped (too_deep).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { jsonNestsDeeperThan, jsonValueDepth } from "../../protocol/json-depth.ts";
import { loadConfig } from "../../src/config/config.ts";
import { EventPipeline } from "../../src/gateway/event-pipeline.ts";
import { Fanout } from "../../src/gateway/fanout.ts";
import { StreamOrigins } from "../../src/gateway/stream-origins.ts";
import { StreamPolicy } from "../../src/gateway/stream-policy.ts";
import { SubscriptionIndex } from "../../src/gateway/subscription-index.ts";
import { MemoryLogStore } from "../../src/log/memory-log-store.ts";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { BindingRouter } from "../../src/sources/routing/binding-router.ts";
import { Logger } from "../../src/util/logger.ts";
import { TestClient, publishHttp, scrapeMetric, startGateway, tokenFor, type TestGateway } from "../helpers/gateway-harness.ts";

/** `levels` nested arrays around 1, as text. */
const nested = (levels: number) => "[".repeat(levels) + "1" + "]".repeat(levels);

describe("POST /publish", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ LOG_MAX_STREAMS: "3", LOG_LEVEL: "warn" });
  });
  afterAll(() => gw.stop());

  test("a stream outside the configured patterns is 400 unknown_stream, counted, and gets no log", async () => {
    for (const stream of ["zzz.foo", "news.btc_usdt"]) {
      const r = await publishHttp(gw.port, { stream, data: { x: 1 } });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("unknown_stream");
      expect(r.body.message).toContain("event 0");
      expect(gw.gateway.logs.find(stream)).toBeUndefined();
    }
    // Names that are not even of the form kind.name are a bad request.
    for (const stream of ["trades", "Trades.btc_usdt", "trades.a.b", `trades.${"x".repeat(130)}`, "../x.y"]) {
      const r = await publishHttp(gw.port, { stream, data: { x: 1 } });
      expect(r.status).toBe(400);
      expect(r.body.error).toBe("bad_request");
      expect(gw.gateway.logs.find(stream)).toBeUndefined();
    }
    expect(await scrapeMetric(gw.port, "gateway_publish_rejected_total", { reason: "unknown_stream" })).toBe(2);
    expect(await scrapeMetric(gw.port, "gateway_publish_rejected_total", { reason: "malformed" })).toBe(5);
    // In an array, one bad name refuses the whole call: nothing is published.
    const r = await publishHttp(gw.port, [{ stream: "trades.btc_usdt", data: 1 }, { stream: "zzz.foo", data: 2 }]);
    expect(r.status).toBe(400);
    expect(r.body.message).toContain("event 1");
    expect(gw.gateway.logs.find("trades.btc_usdt")).toBeUndefined();
    expect(fs.readdirSync(gw.logDir).filter((d) => !d.startsWith("."))).toEqual([]);
  });

  test("data that is itself {stream, data} stays on the stream it was published to", async () => {
    const c = await TestClient.connect(gw.wsUrl(), { token: await tokenFor("u1") });
    await c.subscribe(["trades.eth_usdt"]);
    const data = { stream: "zzz.foo", data: { x: 1 } };
    const r = await publishHttp(gw.port, { stream: "trades.eth_usdt", data });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ stream: "trades.eth_usdt", seq: 1 });
    await c.waitForSeq("trades.eth_usdt", 1);
    expect(c.data("trades.eth_usdt")[0]!.data).toEqual(data);
    expect(gw.gateway.logs.find("zzz.foo")).toBeUndefined();
    await c.close();
  });

  test("data nested 50,000 deep is 400 too_deep with a reason, not 500; the limit is MAX_PAYLOAD_DEPTH", async () => {
    const deep = `{"stream":"trades.sol_usdt","data":${nested(50_000)}}`;
    const r = await publishHttp(gw.port, deep);
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("too_deep");
    expect(r.body.message).toContain("32");
    const inArray = await publishHttp(gw.port, `[${deep}]`);
    expect(inArray.status).toBe(400);
    // 32 levels of data are fine, 33 are not, whether alone or in an array.
    expect((await publishHttp(gw.port, `{"stream":"trades.sol_usdt","data":${nested(32)}}`)).status).toBe(202);
    const over = await publishHttp(gw.port, `[{"stream":"trades.sol_usdt","data":1},{"stream":"trades.sol_usdt","data":${nested(33)}}]`);
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ error: "too_deep" });
    const one = await publishHttp(gw.port, `{"stream":"trades.sol_usdt","data":{"a":${nested(32)}}}`);
    expect(one.status).toBe(400);
    expect(one.body.message).toBe("event 0: data nested deeper than 32 levels");
    expect(await scrapeMetric(gw.port, "gateway_publish_rejected_total", { reason: "too_deep" })).toBe(4);
    expect((await fetch(gw.httpUrl("/healthz"))).status).toBe(200);
  });

  test("over LOG_MAX_STREAMS a new stream is refused loudly (507, log line, metric); the old ones go on", async () => {
    // trades.eth_usdt and trades.sol_usdt exist from the tests above.
    expect((await publishHttp(gw.port, { stream: "ticker.btc_usdt", data: 1 })).status).toBe(202);
    const r = await publishHttp(gw.port, { stream: "ticker.eth_usdt", data: 1 });
    expect(r.status).toBe(507);
    expect(r.body.error).toBe("stream_limit");
    const batch = await publishHttp(gw.port, [{ stream: "ticker.btc_usdt", data: 2 }, { stream: "depth.btc_usdt", data: 1 }]);
    expect(batch.body.results).toEqual([{ stream: "ticker.btc_usdt", seq: 2 }, { error: "stream_limit" }]);
    expect(gw.gateway.logs.find("ticker.eth_usdt")).toBeUndefined();
    expect(gw.gateway.logs.size).toBe(3);
    expect(gw.logLines.filter((l) => l.event === "stream_log_limit")).toEqual([expect.objectContaining({ stream: "ticker.eth_usdt", limit: 3 })]);
    expect(await scrapeMetric(gw.port, "gateway_events_skipped_total", { source: "embedded", reason: "stream_limit" })).toBe(2);
    expect(await scrapeMetric(gw.port, "gateway_stream_logs")).toBe(3);
    // Default geometry: 4 segments of 1 MiB per stream, preallocated.
    expect(await scrapeMetric(gw.port, "gateway_stream_log_disk_bytes")).toBe(3 * 4 * (1 << 20));
    expect(fs.readdirSync(gw.logDir).filter((d) => !d.startsWith(".")).sort()).toEqual(["ticker.btc_usdt", "trades.eth_usdt", "trades.sol_usdt"]);
    expect(fs.statSync(path.join(gw.logDir, "ticker.btc_usdt")).isDirectory()).toBe(true);
  });
});

describe("every source path", () => {
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const logs = new MemoryLogStore();
  const policy = new StreamPolicy(loadConfig({ JWT_SECRET: "x" }).streams);
  const router = new BindingRouter([
    { id: "orders", source: "kafka", match: "orders", stream: { template: "orders.{payload.userId}" } },
    { id: "any", source: "kafka", match: "md.*", stream: { template: "{payload.kind}.{payload.pair}" } },
    { id: "env", source: "kafka", match: "env", format: "seed" },
  ]);
  const pipeline = new EventPipeline(() => router, logs, new Fanout({ publish: () => 0 }, new SubscriptionIndex(), metrics), metrics, new Logger("error"), policy, new StreamOrigins());
  const skipped = async (source: string, reason: string) =>
    (await metrics.eventsSkipped.get()).values.find((v) => v.labels.source === source && v.labels.reason === reason)?.value ?? 0;
  const msg = (origin: string, value: unknown, position?: number) => ({ origin, value: typeof value === "string" ? value : JSON.stringify(value), position });

  test("a binding template, a seed-format binding and the envelope router cannot create an unknown stream", async () => {
    const out = pipeline.ingest("kafka", [
      msg("orders", { userId: "u1", x: 1 }, 1),
      msg("md.x", { kind: "zzz", pair: "foo" }, 2),
      msg("md.x", { kind: "trades", pair: "btc_usdt" }, 3),
      msg("env", { stream: "zzz.bar", data: 1 }, 4),
      msg("env", { stream: "ticker.btc_usdt", data: 1 }, 5),
    ]);
    expect(out).toEqual([
      { stream: "orders.u1", seq: 1 },
      { skipped: "unknown_stream" },
      { stream: "trades.btc_usdt", seq: 3 },
      { skipped: "unknown_stream" },
      { stream: "ticker.btc_usdt", seq: 5 },
    ]);
    // A source without bindings uses the envelope router: its payload's stream is checked too.
    const env = pipeline.ingest("nats", [msg("x.y", { stream: "zzz.foo", data: { stream: "zzz.bar", data: 1 } }, 1), msg("depth.btc_usdt", { a: 1 }, 2)]);
    expect(env).toEqual([{ skipped: "unknown_stream" }, { stream: "depth.btc_usdt", seq: 2 }]);
    expect(logs.streams().sort()).toEqual(["depth.btc_usdt", "orders.u1", "ticker.btc_usdt", "trades.btc_usdt"]);
    expect(await skipped("kafka", "unknown_stream")).toBe(2);
    expect(await skipped("nats", "unknown_stream")).toBe(1);
    // Nor a refused name leaves state behind (origins for resume, logs).
    expect(pipeline.origins.has("zzz.foo")).toBe(false);
    // Conflated events released later enter through commit(): checked there too.
    expect(pipeline.commit("kafka", { stream: "zzz.late", data: "1", sourceTs: 0 })).toEqual({ skipped: "unknown_stream" });
  });

  test("a message nested deeper than MAX_PAYLOAD_DEPTH is skipped as too_deep on every route", async () => {
    const deep = nested(50_000);
    const out = pipeline.ingest("kafka", [
      msg("md.x", `{"kind":"trades","pair":"eth_usdt","d":${deep}}`, 10),
      msg("env", `{"stream":"trades.eth_usdt","data":${deep}}`, 11),
      msg("md.x", `{"kind":"trades","pair":"eth_usdt","d":${nested(30)}}`, 12),
    ]);
    expect(out).toEqual([{ skipped: "too_deep" }, { skipped: "too_deep" }, { stream: "trades.eth_usdt", seq: 12 }]);
    const env = pipeline.ingest("nats", [msg("trades.eth_usdt", deep, 20), msg("x", `{"stream":"trades.eth_usdt","data":${deep}}`, 21)]);
    expect(env).toEqual([{ skipped: "too_deep" }, { skipped: "too_deep" }]);
    expect(await skipped("kafka", "too_deep")).toBe(2);
    expect(await skipped("nats", "too_deep")).toBe(2);
  });
});

describe("depth measures", () => {
  test("text depth skips strings and escapes; a million levels do not blow the stack", () => {
    const tricky = `{"a":"[[[[{{{{\\"[[[[","b":[[1]]}`;
    expect(jsonNestsDeeperThan(tricky, 3)).toBe(false);
    expect(jsonNestsDeeperThan(tricky, 2)).toBe(true);
    // Many brackets side by side are not depth.
    expect(jsonNestsDeeperThan(JSON.stringify(Array.from({ length: 100 }, () => [{}])), 3)).toBe(false);
    expect(jsonNestsDeeperThan(nested(40), 39)).toBe(true);
    expect(jsonNestsDeeperThan(nested(40), 40)).toBe(false);
    expect(jsonNestsDeeperThan(nested(1_000_000), 1000)).toBe(true);
  });

  test("value depth walks without recursion", () => {
    expect(jsonValueDepth(5, 10)).toBe(0);
    expect(jsonValueDepth({ a: [1, { b: [] }] }, 10)).toBe(4);
    expect(jsonValueDepth(JSON.parse(nested(200_000)), 1000)).toBe(1001);
  });
});
