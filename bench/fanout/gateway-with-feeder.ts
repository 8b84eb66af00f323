/**
 * The REAL gateway of bench/fanout.ts: what src/main.ts runs (loadConfig from the environment,
 * `createGateway(cfg, { log })`, mountAdmin, start; not the web app, which serves static files and
 * has no part in fan-out), plus a feeder that hands source batches to the embedded
 * source (`gateway.embedded.publish(batch)`), so each batch takes the production path: routing,
 * ring-log append, encode once, server.publish, all in one tick.
 *
 * Env: the gateway's own (PORT, REUSE_PORT, SIMULATOR=0, JWT_SECRET, LOG_DIR, ...) plus
 * FANOUT_SERVER (ServerConfig JSON), BENCH_METRICS=off to pass a GatewayMetrics whose metrics
 * are all no-ops (no prom-client work on the hot path, no default process metrics), and
 * BENCH_LOG=mem for the in-memory ring log. (LOG_DIR='' does not select it from the environment:
 * the config Reader treats an empty variable as unset and falls back to ./data/log; only a
 * CONFIG_FILE with "log": {"dir": ""} does. So the bench sets cfg.log.dir = "" itself, which is
 * exactly what Gateway checks.)
 * Started by the orchestrator with an IPC channel.
 */
import { Counter, Gauge, Histogram, Summary } from "prom-client";
import { mountAdmin } from "../../src/admin/admin-api.ts";
import { loadConfig } from "../../src/config/config.ts";
import { createGateway, type AssembledGateway } from "../../src/create-gateway.ts";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import type { EmbeddedEvent } from "../../src/sources/embedded/embedded-source.ts";
import { Logger } from "../../src/util/logger.ts";
import { dieWithParent, eventStream, nowMs, payloadObject, payloadText, PublishController, streamPool, type FromServer, type ServerConfig, type ToServer } from "./common.ts";

dieWithParent(10 * 60_000);
const fcfg = JSON.parse(process.env.FANOUT_SERVER ?? "{}") as ServerConfig;
const send = (m: FromServer) => process.send?.(m);

/**
 * A GatewayMetrics whose every prom-client metric is replaced by a no-op (the registry stays; the
 * replaced metrics are simply never updated). Only metric-valued fields are touched.
 */
function noopMetrics(): GatewayMetrics {
  const m = new GatewayMetrics({ defaultMetrics: false });
  const noop: Record<string, unknown> = {
    inc() {},
    dec() {},
    set() {},
    observe() {},
    reset() {},
    remove() {},
    startTimer: () => () => 0,
    // What the admin stats sampler reads (src/admin/admin-stats.ts): an empty metric.
    get: async () => ({ name: "noop", help: "", type: "counter", values: [], aggregator: "sum" }),
  };
  noop.labels = () => noop;
  const fields = m as unknown as Record<string, unknown>;
  for (const k of Object.keys(fields)) {
    const v = fields[k];
    if (v instanceof Counter || v instanceof Gauge || v instanceof Histogram || v instanceof Summary) fields[k] = noop;
  }
  return m;
}

const cfg = loadConfig();
if (process.env.BENCH_LOG === "mem") cfg.log.dir = "";
const log = new Logger(cfg.logLevel);
const metricsOff = process.env.BENCH_METRICS === "off";
const gateway = createGateway(cfg, metricsOff ? { log, metrics: noopMetrics() } : { log });
mountAdmin(gateway);
await gateway.start();

const pool = streamPool(fcfg.pool);
let batchNo = 0;
let id = 1;
const events: EmbeddedEvent[] = new Array(fcfg.batch);

/**
 * Diagnostics (bench/fanout.ts --diag 1), to split the gateway's cost into "pipeline" and
 * "everything else in the process":
 *   BENCH_FEED=direct: frames are built like the bare server's and handed straight to the
 *     gateway's Bun server (server.publish), skipping routing, ring log, encoding and metrics;
 *   BENCH_TIMERS=off: the gateway's periodic timers (slow-client sweep every 100 ms, token
 *     expiry every 1 s, topic prune) are cleared.
 */
const direct = process.env.BENCH_FEED === "direct";
type Internals = { server: { publish(topic: string, frame: string): number }; timers: ReturnType<typeof setInterval>[] };
const internals = gateway as unknown as Internals;
if (process.env.BENCH_TIMERS === "off") for (const t of internals.timers) clearInterval(t);
const topics = pool.map((s) => "j:" + s);
const framePrefix = pool.map((s) => '{"stream":' + JSON.stringify(s) + ',"seq":');
const seqs = pool.map(() => 0);

function publishDirect(): number {
  const pt = nowMs();
  let deliveries = 0;
  for (let i = 0; i < fcfg.batch; i++) {
    const si = eventStream(batchNo, i, fcfg.batch, fcfg.pool);
    const seq = ++seqs[si]!;
    const frame = framePrefix[si]! + seq + ',"prev":' + (seq - 1) + ',"data":' + payloadText(fcfg.index, pt, id++) + "}";
    internals.server.publish(topics[si]!, frame);
    const subs = gateway.index.get(pool[si]!);
    if (subs) deliveries += subs.json + subs.fb;
  }
  batchNo++;
  return deliveries;
}

function publishBatch(): number {
  if (direct) return publishDirect();
  const pt = nowMs();
  let deliveries = 0;
  for (let i = 0; i < fcfg.batch; i++) {
    const stream = pool[eventStream(batchNo, i, fcfg.batch, fcfg.pool)]!;
    events[i] = { stream, data: payloadObject(fcfg.index, pt, id++) };
    const subs = gateway.index.get(stream);
    if (subs) deliveries += subs.json + subs.fb;
  }
  batchNo++;
  gateway.embedded.publish(events);
  return deliveries;
}

/**
 * BENCH_TRACE=1: CPU time (process.cpuUsage, µs, cumulative) of the parts of a batch, by wrapping
 * them: the whole pipeline.ingest, router.route, log append, Bun's server.publish. What is left of
 * ingest is encode, metrics and bookkeeping. The socket writes happen after the tick, in Bun's drain.
 * (Wall time is useless here: on a shared 2-core machine a 20 ms call is often preempted.)
 */
const trace: Record<string, number> = { ingest: 0, route: 0, append: 0, publish: 0 };
function timed<A extends unknown[], R>(key: string, fn: (...a: A) => R): (...a: A) => R {
  return (...a: A) => {
    const c0 = process.cpuUsage();
    try {
      return fn(...a);
    } finally {
      const c = process.cpuUsage(c0);
      trace[key]! += c.user + c.system;
    }
  };
}
if (process.env.BENCH_TRACE === "1") {
  type Parts = {
    router: { route: (...a: unknown[]) => unknown };
    fanout: { publisher: { publish: (...a: unknown[]) => number } };
  };
  const pipe = gateway.pipeline as unknown as Parts & { ingest: typeof gateway.pipeline.ingest };
  pipe.ingest = timed("ingest", pipe.ingest.bind(pipe));
  pipe.router.route = timed("route", pipe.router.route.bind(pipe.router));
  const fan = (gateway as unknown as Parts).fanout;
  fan.publisher.publish = timed("publish", fan.publisher.publish.bind(fan.publisher));
  const get = gateway.logs.get.bind(gateway.logs);
  const wrapped = new Set<object>();
  gateway.logs.get = (stream: string) => {
    const l = get(stream);
    if (!wrapped.has(l)) {
      wrapped.add(l);
      l.append = timed("append", l.append.bind(l));
    }
    return l;
  };
}

const ctl = new PublishController(fcfg.batch, publishBatch, send, process.env.BENCH_TRACE === "1" ? () => ({ ...trace }) : undefined);
process.on("message", async (m: ToServer) => {
  if (m.t === "exit") {
    // Clients are gone by now; the shutdown closes the logs (the mmap store drops its dir lock).
    await gateway.shutdown(0);
    process.exit(0);
  }
  ctl.handle(m);
});
send({ t: "ready", port: gateway.port, pid: process.pid });
