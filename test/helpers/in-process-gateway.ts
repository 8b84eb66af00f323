/** A Gateway started in the test process on an ephemeral port, with its own temp LOG_DIR. */
import fs from "node:fs";
import { loadConfig } from "../../src/config/config.ts";
import { createGateway, type AssembledGateway, type GatewayDeps } from "../../src/create-gateway.ts";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { Logger } from "../../src/util/logger.ts";
import { tempDir, testEnv, type Env } from "./test-env.ts";

/** A started in-process gateway and what tests need around it. */
export interface TestGateway {
  gateway: AssembledGateway;
  port: number;
  /** Its LOG_DIR (a temp dir unless the test passed one). */
  logDir: string;
  /** JSON log lines the gateway wrote (at the configured LOG_LEVEL). */
  logLines: Record<string, unknown>[];
  /** `ws://127.0.0.1:port/ws` plus an optional query string. */
  wsUrl(query?: Record<string, string>): string;
  /** `http://127.0.0.1:port` + path. */
  httpUrl(p: string): string;
  /** Publishes events in one batch through the embedded source; returns their seqs. */
  publish(events: { stream: string; data: unknown }[]): number[];
  /** Shuts down (drains with 1012) and removes the temp LOG_DIR unless `keepLogDir`. */
  stop(opts?: { keepLogDir?: boolean; graceMs?: number }): Promise<void>;
}

/**
 * Starts a Gateway in this process with `loadConfig(testEnv(env))` on port 0. LOG_DIR defaults to
 * a fresh temp dir that stop() removes.
 */
export async function startGateway(env: Env = {}, deps: GatewayDeps = {}): Promise<TestGateway> {
  const ownDir = env.LOG_DIR === undefined;
  const logDir = env.LOG_DIR ?? tempDir("log");
  const cfg = loadConfig(testEnv({ ...env, LOG_DIR: logDir }));
  const logLines: Record<string, unknown>[] = [];
  const log = new Logger(cfg.logLevel, {}, (line) => logLines.push(JSON.parse(line) as Record<string, unknown>));
  const gateway = createGateway(cfg, { log, metrics: new GatewayMetrics({ defaultMetrics: false }), ...deps });
  await gateway.start();
  const port = gateway.port;
  let stopped = false;
  return {
    gateway,
    port,
    logDir,
    logLines,
    wsUrl: (query) => `ws://127.0.0.1:${port}/ws${query ? "?" + new URLSearchParams(query).toString() : ""}`,
    httpUrl: (p) => `http://127.0.0.1:${port}${p}`,
    publish: (events) =>
      gateway.embedded.publish(events).map((o) => {
        if (!("seq" in o)) throw new Error(`event skipped: ${o.skipped}`);
        return o.seq;
      }),
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      await gateway.shutdown(opts.graceMs ?? 500);
      if (ownDir && !opts.keepLogDir) fs.rmSync(logDir, { recursive: true, force: true });
    },
  };
}
