/**
 * The REAL gateway of bench/fanout.ts: what src/main.ts runs (loadConfig from the environment,
 * `new Gateway(cfg, { log })`, start), plus a feeder that hands source batches to the embedded
 * source (`gateway.embedded.publish(batch)`), so each batch takes the production path: routing,
 * ring-log append, encode once, server.publish, all in one tick.
 *
 * Env: the gateway's own (PORT, REUSE_PORT, SIMULATOR=0, JWT_SECRET, LOG_DIR, ...) plus
 * FANOUT_SERVER (ServerConfig JSON) and BENCH_METRICS=off to pass a GatewayMetrics whose metrics
 * are all no-ops (no prom-client work on the hot path, no default process metrics).
 * Started by the orchestrator with an IPC channel.
 */
import { loadConfig } from "../../src/config/config.ts";
import { Gateway } from "../../src/gateway/gateway.ts";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import type { EmbeddedEvent } from "../../src/sources/embedded/embedded-source.ts";
import { Logger } from "../../src/util/logger.ts";
import { dieWithParent, eventStream, nowMs, payloadObject, PublishController, streamPool, type FromServer, type ServerConfig, type ToServer } from "./common.ts";

dieWithParent(10 * 60_000);
const fcfg = JSON.parse(process.env.FANOUT_SERVER ?? "{}") as ServerConfig;
const send = (m: FromServer) => process.send?.(m);

/** A GatewayMetrics whose every metric is a no-op (the registry stays, empty). */
function noopMetrics(): GatewayMetrics {
  const m = new GatewayMetrics({ defaultMetrics: false });
  const noop: Record<string, unknown> = {
    inc() {},
    dec() {},
    set() {},
    observe() {},
    reset() {},
    startTimer: () => () => 0,
  };
  noop.labels = () => noop;
  const fields = m as unknown as Record<string, unknown>;
  for (const k of Object.keys(fields)) if (k !== "registry") fields[k] = noop;
  return m;
}

const cfg = loadConfig();
const log = new Logger(cfg.logLevel);
const metricsOff = process.env.BENCH_METRICS === "off";
const gateway = new Gateway(cfg, metricsOff ? { log, metrics: noopMetrics() } : { log });
await gateway.start();

const pool = streamPool(fcfg.pool);
let batchNo = 0;
let id = 1;
const events: EmbeddedEvent[] = new Array(fcfg.batch);

function publishBatch(): number {
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

const ctl = new PublishController(fcfg.batch, publishBatch, send);
process.on("message", async (m: ToServer) => {
  if (m.t === "exit") {
    // Clients are gone by now; the shutdown closes the logs (the mmap store drops its dir lock).
    await gateway.shutdown(0);
    process.exit(0);
  }
  ctl.handle(m);
});
send({ t: "ready", port: gateway.port, pid: process.pid });
