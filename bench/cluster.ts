/**
 * The cluster load test: the product as it runs in production, at the scale it promises, proven
 * before a launch. One command starts everything and removes it again:
 *
 *   bun bench/cluster.ts [--clients 100000] [--gateways 6] [--seconds 30] [--source nats|redis|kafka]
 *       [--events-per-sec 500] [--pairs 200] [--orders-share 0.02] [--chaos none|rolling|kill]
 *       [--client-procs N] [--port 0] [--json]
 *
 * - the broker through scripts/services.sh (started if it is not running, stopped again if this run
 *   started it), with a fresh origin for the run (bench/cluster/broker.ts);
 * - N gateways, `bun src/main.ts` sharing one port with REUSE_PORT=1, each reading that broker
 *   (bench/cluster/gateways.ts);
 * - M client processes of at most 15,000 users of the typed client clients/ts (reconnect, resume,
 *   dedupe), spread over 127.0.0.1..n destinations when one address has too few ephemeral ports
 *   (bench/cluster/client.ts, sharing bench/shared/client-process.ts with bench/fanout);
 * - one producer publishing a market (trades, depth, ticker per pair, orders of some users) through
 *   the broker's own client, no /publish (bench/cluster/producer.ts, bench/cluster/market.ts).
 *
 * After connecting, the producer primes every stream once (every client then holds a position on
 * every stream it reads, and every gateway has created its logs), then sends --events-per-sec for
 * --seconds: the measured window, during which --chaos rolling replaces each gateway in turn
 * (SIGTERM -> 1012, after starting its replacement, as a Kubernetes rolling update does) and --chaos
 * kill sends SIGKILL to one. Every client checks every stream by the producer's per-stream number
 * and by seq/prev across every reconnect; the producer's final counts give the losses.
 * Prints a table and, with --json, one JSON object as the last line (bench/cluster/report.ts).
 * Bounded: every wait has a deadline and the run aborts after CLUSTER_MAX_SECONDS (default from the
 * scale); Ctrl-C or any failure kills every child and removes what the run created.
 */
import os from "node:os";
import fs from "node:fs";
import path from "node:path";
import type { Subprocess } from "bun";
import { prepareBroker } from "./cluster/broker.ts";
import type { ClientConfig, ClientTotals, FromClient, ToClient } from "./cluster/client.ts";
import { GatewayFleet } from "./cluster/gateways.ts";
import { clientStreams, clientUser } from "./cluster/market.ts";
import { parseOptions, USAGE, type ClusterOptions } from "./cluster/options.ts";
import type { FromProducer, ProducerConfig, ToProducer } from "./cluster/producer.ts";
import { objectsPerConn, printTable, type ClusterResult } from "./cluster/report.ts";
import { Histogram } from "./fanout/common.ts";
import { sum } from "./fanout/numbers.ts";
import { cpuSec, machineBusySec } from "./fanout/proc-stats.ts";
import { createRunDir, installCleanup, onShutdown, shutdown, spawnChild, timeout } from "./fanout/processes.ts";
import { loopbackHosts, splitClients } from "./shared/client-process.ts";

const ROOT = path.resolve(import.meta.dir, "..");
const JWT_SECRET = "cluster-bench-secret-0123456789abcdef0123";
const ADMIN_TOKEN = "cluster-bench-admin";

interface ClientState {
  proc: Subprocess;
  connected?: Extract<FromClient, { t: "connected" }>;
  stats?: Extract<FromClient, { t: "stats" }>;
  hist?: (m: Extract<FromClient, { t: "hist" }>) => void;
  final?: (m: ClientTotals) => void;
}

const log = (s: string) => console.log(`[cluster ${((performance.now() - startedAt) / 1000).toFixed(1)}s] ${s}`);
const startedAt = performance.now();

/** Polls `cond` every `everyMs` until it holds or `ms` pass; returns whether it held. */
async function until(cond: () => boolean, ms: number, everyMs = 100): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) return false;
    await Bun.sleep(everyMs);
  }
  return true;
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

/** Pid of the broker scripts/services.sh runs (its pid file), for CPU accounting. */
function brokerPid(kind: string): number {
  const dir = process.env.SERVICES_DIR ?? path.join(ROOT, ".services");
  try {
    return Number(fs.readFileSync(path.join(dir, kind, `${kind}.pid`), "utf8").trim()) || 0;
  } catch {
    return 0;
  }
}

async function main(opts: ClusterOptions): Promise<ClusterResult> {
  const load0 = os.loadavg();
  const runDir = createRunDir("cluster-bench-");
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  log(`bun ${Bun.version}, ${os.cpus().length} cpus, load ${load0.map((l) => l.toFixed(1)).join(" ")}; ${opts.clients} clients, ${opts.gateways} gateways, ${opts.source}, ${opts.eventsPerSec} events/s, chaos ${opts.chaos}`);

  const broker = await prepareBroker(opts.source, run);
  onShutdown(() => broker.teardown());
  log(`${opts.source} ready (${broker.started ? "started by this run" : "already running"}), origin ${broker.target.origin}`);
  const configFile = path.join(runDir, "config.json");
  fs.writeFileSync(configFile, JSON.stringify({ sources: [broker.sourceDef] }));

  const hosts = loopbackHosts(opts.clients);
  const listen = hosts.length > 1 ? "0.0.0.0" : "127.0.0.1";
  const port = opts.port || (await freePort());
  const fleet = new GatewayFleet({ port, listen, configFile, runDir, jwtSecret: JWT_SECRET, adminToken: ADMIN_TOKEN });
  onShutdown(() => fleet.stopAll());
  for (let i = 0; i < opts.gateways; i++) await fleet.spawn();
  // Ready = /readyz 200 from every gateway; REUSE_PORT spreads the probes over them.
  const ready = await (async () => {
    const deadline = performance.now() + 60_000;
    while (performance.now() < deadline) {
      const codes = await Promise.all(Array.from({ length: 4 * opts.gateways }, () => fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)));
      if (codes.every((c) => c === 200)) return true;
      await Bun.sleep(200);
    }
    return false;
  })();
  if (!ready) throw new Error("gateways not ready within 60 s");
  await Bun.sleep(1000);
  const rss0 = fleet.rssKb();
  const mem0 = await fleet.mem(true);
  log(`${opts.gateways} gateways on ${listen}:${port}, RSS ${(rss0 / 1024).toFixed(0)} MiB in all; connecting ${opts.clients} clients in ${opts.clientProcs} processes over ${hosts.join(",")}`);

  // ---- clients
  const clients: ClientState[] = [];
  const tConnect = performance.now();
  for (const [i, { first, count }] of splitClients(opts.clients, opts.clientProcs).entries()) {
    const ccfg: ClientConfig = {
      index: i,
      port,
      hosts,
      first,
      count,
      pairs: opts.pairs,
      ordersShare: opts.ordersShare,
      secret: JWT_SECRET,
      concurrency: Math.max(16, Math.floor(512 / opts.clientProcs)),
      readyTimeoutMs: 60_000,
    };
    const st: ClientState = { proc: undefined as unknown as Subprocess };
    st.proc = spawnChild<FromClient>([process.execPath, path.join(import.meta.dir, "cluster", "client.ts")], { CLUSTER_CLIENT: JSON.stringify(ccfg) }, (m) => {
      if (m.t === "connected") st.connected = m;
      else if (m.t === "stats") st.stats = m;
      else if (m.t === "hist") st.hist?.(m);
      else if (m.t === "final") st.final?.(m.totals);
    }, { cwd: ROOT });
    clients.push(st);
  }
  const open = () => sum(clients.map((c) => c.stats?.open ?? 0));
  const delivered = () => sum(clients.map((c) => c.stats?.delivered ?? 0));
  let peak = 0;
  const peakTimer = setInterval(() => (peak = Math.max(peak, open())), 100);
  const connectMs = 60_000 + opts.clients * 5;
  let lastLog = 0;
  const connectedAll = await until(() => {
    if (performance.now() - lastLog > 5000) {
      lastLog = performance.now();
      log(`  ${open()} open`);
    }
    return clients.every((c) => c.connected);
  }, connectMs, 200);
  if (!connectedAll) throw new Error(`clients not connected within ${connectMs / 1000} s (${open()} open)`);
  const connectSec = (performance.now() - tConnect) / 1000;
  const ok = sum(clients.map((c) => c.connected!.ok));
  const failed = sum(clients.map((c) => c.connected!.failed));
  const errs = clients.flatMap((c) => c.connected!.errors);
  await Bun.sleep(1500);
  const rss1 = fleet.rssKb();
  const mem1 = await fleet.mem(true);
  const rssPerConnBytes = ((rss1 - rss0) * 1024) / Math.max(1, ok);
  const heapPerConnBytes = (sum(mem1.map((m) => m.heapSize)) - sum(mem0.map((m) => m.heapSize))) / Math.max(1, ok);
  log(`${ok} clients subscribed (${failed} failed${errs.length ? ": " + errs.slice(0, 3).join("; ") : ""}) in ${connectSec.toFixed(1)} s; gateway RSS ${(rss0 / 1024).toFixed(0)} -> ${(rss1 / 1024).toFixed(0)} MiB = ${rssPerConnBytes.toFixed(0)} B per connection`);

  // ---- producer: prime every stream, then the measured window
  const users: string[] = [];
  let primeExpected = 0;
  for (let k = 0; k < opts.clients; k++) {
    const u = clientUser(k, opts.ordersShare);
    if (u) users.push(u);
    primeExpected += clientStreams(k, opts.pairs, opts.ordersShare).length;
  }
  primeExpected = Math.round((primeExpected * ok) / opts.clients);
  const pcfg: ProducerConfig = { target: broker.target, pairs: opts.pairs, users, ordersShare: opts.ordersShare, eventsPerSec: opts.eventsPerSec };
  let producerReady = false;
  let primed: Extract<FromProducer, { t: "primed" }> | undefined;
  let done: Extract<FromProducer, { t: "done" }> | undefined;
  const producer = spawnChild<FromProducer>([process.execPath, path.join(import.meta.dir, "cluster", "producer.ts")], { CLUSTER_PRODUCER: JSON.stringify(pcfg), SERVICES_PORT_OFFSET: process.env.SERVICES_PORT_OFFSET ?? "0" }, (m) => {
    if (m.t === "ready") producerReady = true;
    else if (m.t === "primed") primed = m;
    else if (m.t === "done") done = m;
  }, { cwd: ROOT });
  let producerExit: number | null = null;
  void producer.exited.then((c) => (producerExit = c));
  await until(() => producerReady || producerExit !== null, 30_000);
  producer.send({ t: "prime" } satisfies ToProducer);
  if (!(await until(() => primed !== undefined || producerExit !== null, 120_000))) throw new Error("producer did not prime the streams within 120 s");
  if (!primed) throw new Error(`producer exited with ${producerExit}`);
  // Every client has its prime frames (or they stopped coming): each stream has a position.
  await until(() => delivered() >= primeExpected, 60_000, 200);
  log(`primed ${Object.keys(primed!.counts).length} streams; ${delivered()} of ~${primeExpected} prime frames delivered`);

  for (const c of clients) c.proc.send({ t: "reset" } satisfies ToClient);
  const cpu = () => ({
    t: performance.now(),
    gw: fleet.cpuSec(),
    cl: sum(clients.map((c) => cpuSec(c.proc.pid))),
    br: cpuSec(brokerPid(opts.source)),
    pr: cpuSec(producer.pid),
    m: machineBusySec(),
    d: delivered(),
  });
  const w0 = cpu();
  producer.send({ t: "run", seconds: opts.seconds } satisfies ToProducer);
  let minOpen = open();
  const chaos = runChaos(opts, fleet);
  const watch = setInterval(() => {
    fleet.sample();
    minOpen = Math.min(minOpen, open());
  }, 100);
  lastLog = 0;
  const finished = await until(() => {
    if (performance.now() - lastLog > 5000) {
      lastLog = performance.now();
      log(`  window: ${open()} open, ${delivered() - w0.d} delivered, ${fleet.live.length} gateways live`);
    }
    return done !== undefined || producerExit !== null;
  }, opts.seconds * 1000 + 90_000, 100);
  const w1 = cpu();
  const loadWindow = os.loadavg();
  clearInterval(watch);
  await chaos;
  if (!finished || !done) throw new Error(`producer did not finish its window (exit code ${producerExit})`);
  log(`producer sent ${done!.sent} events (${done!.failed} failed) in ${done!.seconds.toFixed(1)} s; draining`);

  // Drain: until delivery stops moving for 3 s (bounded).
  let last = -1;
  let lastMove = performance.now();
  await until(() => {
    const d = delivered();
    if (d !== last) {
      last = d;
      lastMove = performance.now();
    }
    return performance.now() - lastMove > 3000;
  }, 60_000, 200);
  clearInterval(peakTimer);

  const hists = await timeout(Promise.all(clients.map((c) => new Promise<Extract<FromClient, { t: "hist" }>>((r) => ((c.hist = r), c.proc.send({ t: "hist" } satisfies ToClient))))), 30_000, "client histograms");
  const totals = await timeout(Promise.all(clients.map((c) => new Promise<ClientTotals>((r) => ((c.final = r), c.proc.send({ t: "final", counts: done!.counts } satisfies ToClient))))), 60_000, "client totals");
  const lat = new Histogram();
  const rec = new Histogram();
  for (const h of hists) {
    lat.addSparse(h.latency);
    rec.addSparse(h.reconnect);
  }
  const tot = (k: keyof ClientTotals) => sum(totals.map((t) => t[k]));
  const closeCodes: Record<string, number> = {};
  for (const c of clients) for (const [k, v] of Object.entries(c.stats?.closeCodes ?? {})) closeCodes[k] = (closeCodes[k] ?? 0) + v;
  const secs = (w1.t - w0.t) / 1000;
  const cores = {
    gateways: (w1.gw - w0.gw) / secs,
    clients: (w1.cl - w0.cl) / secs,
    broker: (w1.br - w0.br) / secs,
    producer: (w1.pr - w0.pr) / secs,
    other: 0,
  };
  cores.other = Math.max(0, (w1.m - w0.m) / secs - cores.gateways - cores.clients - cores.broker - cores.producer);
  const ms = (us: number) => us / 1000;
  return {
    source: opts.source,
    chaos: opts.chaos,
    gateways: opts.gateways,
    clientProcs: clients.length,
    clients: opts.clients,
    connections: peak,
    minOpenInWindow: minOpen,
    connectFailed: failed,
    connectSec,
    seconds: done!.seconds,
    offeredEventsPerSec: (done!.sent - Object.keys(primed!.counts).length) / done!.seconds,
    deliveredPerSec: (w1.d - w0.d) / secs,
    delivered: tot("delivered"),
    expected: tot("expected"),
    lost: tot("lost"),
    duplicated: tot("duplicated"),
    chainBreaks: tot("chainBreaks"),
    replayed: sum(clients.map((c) => c.stats?.replayed ?? 0)),
    libDuplicatesDropped: tot("libDuplicates"),
    libGapsResumed: tot("libGaps"),
    resumeUnavailable: tot("resumeUnavailable"),
    gaveUp: tot("gaveUp"),
    closes: sum(clients.map((c) => c.stats?.closes ?? 0)),
    closeCodes,
    reconnects: sum(clients.map((c) => c.stats?.reconnects ?? 0)),
    p50Ms: ms(lat.quantile(0.5)),
    p99Ms: ms(lat.quantile(0.99)),
    p999Ms: ms(lat.quantile(0.999)),
    maxBucketMs: ms(lat.quantile(1)),
    reconnectP50Ms: rec.n ? ms(rec.quantile(0.5)) : 0,
    reconnectP99Ms: rec.n ? ms(rec.quantile(0.99)) : 0,
    reconnectMaxMs: Math.max(0, ...hists.map((h) => h.reconnectMax)),
    rssPerConnBytes,
    heapPerConnBytes,
    cpuPerDeliveryUs: ((w1.gw - w0.gw) * 1e6) / Math.max(1, w1.d - w0.d),
    cores,
    load: { start: load0, window: loadWindow },
    heapObjectsPerConn: objectsPerConn(mem0, mem1, ok),
    producerFailed: done!.failed,
    totalSec: (performance.now() - startedAt) / 1000,
  };
}

/** The chaos of the measured window; resolves when it is over. */
async function runChaos(opts: ClusterOptions, fleet: GatewayFleet): Promise<void> {
  if (opts.chaos === "none") return;
  const t0 = performance.now();
  const at = (frac: number) => Bun.sleep(Math.max(0, t0 + frac * opts.seconds * 1000 - performance.now()));
  if (opts.chaos === "kill") {
    await at(1 / 3);
    const g = fleet.live[0]!;
    log(`chaos: SIGKILL gateway ${g.id} (pid ${g.pid})`);
    await fleet.stop(g, "SIGKILL");
    return;
  }
  // Rolling update: surge one (start the replacement), then SIGTERM the old one (1012 to its
  // clients, who reconnect to the others and resume), one gateway at a time, inside the window.
  const originals = [...fleet.live];
  for (let i = 0; i < originals.length; i++) {
    await at(0.1 + (0.75 * i) / originals.length);
    const g = originals[i]!;
    const repl = await fleet.spawn();
    log(`chaos: gateway ${repl.id} up; SIGTERM gateway ${g.id} (pid ${g.pid})`);
    await fleet.stop(g, "SIGTERM");
  }
}

let opts: ClusterOptions;
try {
  opts = parseOptions();
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
if (opts.help) {
  console.log(USAGE);
  process.exit(0);
}
installCleanup("CLUSTER_MAX_SECONDS", Math.round(240 + 3 * opts.seconds + opts.clients / 250));
try {
  const r = await main(opts);
  printTable(r);
  if (opts.json) console.log(JSON.stringify(r));
  await shutdown(0);
} catch (err) {
  console.error("cluster bench failed:", (err as Error).stack ?? err);
  await shutdown(1);
}
