/**
 * Fan-out benchmark: the real gateway against a bare Bun.serve pub/sub server, same machine, same
 * clients, same frames, same batch shape, in one run.
 *
 *   ./node_modules/.bin/bun bench/fanout.ts [--clients 15000] [--streams 4] [--pool 4] [--batch 20]
 *       [--servers 2] [--client-procs 2] [--rounds 4] [--seconds 3] [--warmup 1]
 *       [--low-rounds 2] [--low-seconds 4] [--rate <events/s>] [--low-frac 0.25] [--window 2]
 *       [--log mmap|mem] [--metrics on|off] [--compare log,metrics|none] [--only bare,gateway]
 *       [--hosts 1] [--send-buffer <bytes>] [--trace 1] [--profile <dir>] [--diag 1]
 *
 * Every option can also be given as an env var: --client-procs 3 is FANOUT_CLIENT_PROCS=3.
 *
 * Configurations: "bare" (bench/fanout/bare-server.ts), "gateway" (bench/fanout/gateway-with-feeder.ts:
 * the real Gateway fed through its embedded source; --log and --metrics choose its ring log and
 * metrics, defaults = production: mmap log, prom-client metrics on) and, with --compare, the gateway
 * with the log (mmap <-> memory) or the metrics (on <-> no-ops) flipped; --diag 1 adds the gateway
 * process fed directly (frames to its Bun server, no pipeline), with and without its timers.
 *
 * Each configuration gets its own server processes (sharing one port with reusePort) and client
 * processes (Bun WebSocket clients; each client signs its own HS256 JWT and subscribes to `streams`
 * streams of a pool of `pool`). All configurations are started and connected first, then measured
 * in interleaved rounds (bare, gateway, variants, bare, gateway, ...), one configuration publishing
 * at a time while the others sit idle, so the drift of a shared, noisy machine hits every
 * configuration alike; ratios are computed per round (paired) and their median is printed.
 *   - saturation: each server process publishes one batch of `batch` events per event-loop tick,
 *     closed loop: at most `window` batches not yet received by the clients (queues stay bounded);
 *   - fixed rate (bare and gateway only): `rate` events/s per server process, by default `low-frac`
 *     of the bare saturated rate, so latency is measured without queueing.
 * Clients count every frame and sample publish->receive latency (timestamp in the payload).
 * Prints figures and ratios, no pass/fail. See bench/README.md.
 *
 * This file runs the rounds; bench/fanout/ has the parts: options.ts and run-configs.ts (what to
 * run), setup.ts (one configuration's processes and windows), processes.ts (children, temp dir,
 * cleanup), report.ts (output), and the child processes bare-server.ts, gateway-with-feeder.ts
 * and client.ts with what they share in common.ts.
 */
import os from "node:os";
import { addresses, parseOptions } from "./fanout/options.ts";
import { cleanup, createRunDir, installCleanup } from "./fanout/processes.ts";
import { fmtWindow, printSummary, total } from "./fanout/report.ts";
import { describeConfig, runConfigs } from "./fanout/run-configs.ts";
import { Setup } from "./fanout/setup.ts";

const opts = parseOptions();
const runDir = createRunDir();
const { listen } = addresses(opts);
const configs = runConfigs(opts);
installCleanup();

const startedAt = performance.now();
const framesPerSocketPerBatch = (opts.batch * opts.streams) / opts.pool;
console.log(
  `fan-out bench: bun ${Bun.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}\n` +
    `  ${opts.clients} clients per configuration in ${opts.clientProcs} process(es); ${opts.servers} server process(es) per configuration (reusePort) on ${listen}\n` +
    `  ${opts.streams} of ${opts.pool} streams per client, batches of ${opts.batch} events (~${framesPerSocketPerBatch} frames per socket per batch), ` +
    `closed-loop window ${opts.window} batches; ${opts.rounds} saturation round(s) of ${opts.warmup}+${opts.seconds} s, ` +
    `${opts.lowRounds} fixed-rate round(s) of 1+${opts.lowSeconds} s\n` +
    `  configurations: ${configs.map(describeConfig).join("; ")}\n`,
);

const setups = configs.map((c) => new Setup(c, opts, runDir));
try {
  // Connect every configuration first (one at a time), then measure them interleaved.
  for (const s of setups) await s.start();
  for (let r = 1; r <= opts.rounds; r++) {
    for (const s of setups) {
      const w = await s.measure({ t: "sat", windowBatches: opts.window }, opts.warmup, opts.seconds);
      s.sat.push(w);
      console.log(`round ${r} saturation ${s.tag.padEnd(22)} ${fmtWindow(w, opts.servers)}`);
    }
  }
  const bareSetup = setups.find((s) => s.rc.kind === "bare");
  const gwSetup = setups.find((s) => s.rc.name === "gateway");
  const lowSetups = [bareSetup, gwSetup].filter((s): s is Setup => !!s);
  if (opts.lowRounds > 0 && lowSetups.length) {
    const ref = lowSetups[0]!;
    const satEv = total(ref.sat, opts.servers).eventsPerSecPerServer;
    // At least one batch per second per server, so a window holds several batches.
    const lowRate = opts.rate || Math.max(opts.batch, Math.round((opts.lowFrac * satEv) / opts.batch) * opts.batch);
    for (let r = 1; r <= opts.lowRounds; r++) {
      for (const s of lowSetups) {
        s.lowRate = lowRate;
        const w = await s.measure({ t: "rate", eventsPerSec: lowRate }, 1, opts.lowSeconds);
        s.low.push(w);
        console.log(`round ${r} fixed ${lowRate} ev/s ${s.tag.padEnd(16)} ${fmtWindow(w, opts.servers)}`);
      }
    }
  }
} catch (err) {
  console.error("fanout bench failed:", (err as Error).stack ?? err);
  cleanup();
  process.exit(1);
}
await Promise.all(setups.map((s) => s.stop()));

printSummary(setups, opts, startedAt);
cleanup();
process.exit(0);
