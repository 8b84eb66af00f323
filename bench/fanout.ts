/**
 * Fan-out benchmark: the real gateway against a bare Bun.serve pub/sub server, same machine, same
 * clients, same frames, same batch shape, in one run.
 *
 *   ./node_modules/.bin/bun bench/fanout.ts [--clients 15000] [--streams 4] [--pool 4] [--batch 20]
 *       [--servers 2] [--client-procs 2] [--seconds 6] [--warmup 2] [--low-seconds 4]
 *       [--rate <events/s>] [--low-frac 0.25] [--window 2] [--log mmap|mem] [--metrics on|off]
 *       [--compare log,metrics|none] [--only bare,gateway] [--hosts 1] [--send-buffer <bytes>]
 *       [--profile <dir>]
 *
 * Every option can also be given as an env var: --client-procs -> FANOUT_CLIENT_PROCS, etc.
 *
 * For each configuration: start the server processes (several, sharing one port with reusePort),
 * read their RSS, connect the clients (several processes of Bun WebSocket clients; each client
 * signs its own HS256 JWT and subscribes to `streams` streams of a pool of `pool`), read the RSS
 * again, then:
 *   1. saturation: each server publishes one batch of `batch` events per event-loop tick, in a
 *      closed loop that keeps at most `window` batches not yet received by the clients;
 *   2. fixed rate (bare and the main gateway only): `rate` events/s per server process, by default
 *      `low-frac` of the bare saturated rate, so latency is measured without queueing.
 * Clients count every frame and sample publish->receive latency (a timestamp in the payload).
 * Configurations: "bare", "gateway" (--log, --metrics; defaults = production: mmap ring log,
 * prom-client metrics on) and, with --compare, the gateway with the log or the metrics flipped.
 * Prints figures and ratios, no pass/fail. See bench/README.md.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";
import { Histogram, type ClientConfig, type FromClient, type FromServer, type ServerConfig, type ToClient, type ToServer } from "./fanout/common.ts";

// ---- Options -------------------------------------------------------------------------------------

function arg(name: string, def: string): string {
  const i = process.argv.indexOf("--" + name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]!;
  const env = process.env["FANOUT_" + name.toUpperCase().replace(/-/g, "_")];
  return env ?? def;
}
const num = (name: string, def: number) => {
  const v = Number(arg(name, String(def)));
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number`);
  return v;
};

const opts = {
  clients: num("clients", 15_000),
  streams: num("streams", 4),
  pool: 0,
  batch: num("batch", 20),
  servers: num("servers", 2),
  clientProcs: 0,
  seconds: num("seconds", 6),
  warmup: num("warmup", 2),
  lowSeconds: num("low-seconds", 4),
  rate: num("rate", 0),
  lowFrac: num("low-frac", 0.25),
  window: num("window", 2),
  log: arg("log", "mmap") as "mmap" | "mem",
  metrics: arg("metrics", "on") as "on" | "off",
  compare: arg("compare", "log,metrics").split(",").filter((s) => s && s !== "none"),
  only: arg("only", "").split(",").filter(Boolean),
  hosts: num("hosts", 1),
  sendBuffer: num("send-buffer", 0),
  concurrency: num("concurrency", 256),
  sampleMask: num("sample-mask", 15),
  profile: arg("profile", ""),
  trace: arg("trace", "0") === "1",
};
opts.pool = num("pool", opts.streams);
opts.clientProcs = num("client-procs", Math.max(2, Math.ceil(opts.clients / 8000)));
if (opts.streams > opts.pool) throw new Error("--streams must be <= --pool");
if (Math.ceil(opts.clients / opts.clientProcs) > 15_000) throw new Error("more than 15,000 sockets per client process: raise --client-procs");
if (Math.ceil(opts.clients / opts.hosts) > 25_000) throw new Error("more than 25,000 connections per destination address: raise --hosts");
if (!["mmap", "mem"].includes(opts.log) || !["on", "off"].includes(opts.metrics)) throw new Error("--log mmap|mem, --metrics on|off");

const BUN = process.execPath;
const HERE = path.dirname(new URL(import.meta.url).pathname);
const JWT_SECRET = "fanout-bench-secret-0123456789abcdef";
const ADMIN_TOKEN = "fanout-bench-admin";
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "fanout-bench-"));
const HOSTS = Array.from({ length: opts.hosts }, (_, i) => `127.0.0.${i + 1}`);
const LISTEN = opts.hosts > 1 ? "0.0.0.0" : "127.0.0.1";

interface GwVariant {
  log: "mmap" | "mem";
  metrics: "on" | "off";
}
interface RunConfig {
  name: string;
  kind: "bare" | "gateway";
  gw?: GwVariant;
  lowRate: boolean;
}

const configs: RunConfig[] = [
  { name: "bare", kind: "bare", lowRate: true },
  { name: "gateway", kind: "gateway", gw: { log: opts.log, metrics: opts.metrics }, lowRate: true },
];
if (opts.compare.includes("log")) {
  const log = opts.log === "mmap" ? "mem" : "mmap";
  configs.push({ name: `gateway log=${log}`, kind: "gateway", gw: { log, metrics: opts.metrics }, lowRate: false });
}
if (opts.compare.includes("metrics")) {
  const metrics = opts.metrics === "on" ? "off" : "on";
  configs.push({ name: `gateway metrics=${metrics}`, kind: "gateway", gw: { log: opts.log, metrics }, lowRate: false });
}
const selected = opts.only.length ? configs.filter((c) => opts.only.includes(c.name) || opts.only.includes(c.name.split(" ")[0]!)) : configs;

// ---- Child processes -------------------------------------------------------------------------------

const children = new Set<Subprocess>();
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {}
  }
  children.clear();
  try {
    fs.rmSync(TMP, { recursive: true, force: true });
  } catch {}
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}
// Hard bound on the whole run.
const hardLimitMs = Number(process.env.FANOUT_MAX_SECONDS ?? 600) * 1000;
setTimeout(() => {
  console.error(`fanout bench: over ${hardLimitMs / 1000} s, aborting`);
  cleanup();
  process.exit(1);
}, hardLimitMs).unref();

function spawnChild<M>(cmd: string[], env: Record<string, string>, onMessage: (m: M) => void): Subprocess {
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TMPDIR: os.tmpdir() };
  const proc = Bun.spawn({
    cmd,
    env: { ...base, ...env },
    stdio: ["ignore", "inherit", "inherit"],
    serialization: "json",
    ipc: (m) => onMessage(m as M),
  });
  children.add(proc);
  proc.exited.then(() => children.delete(proc));
  return proc;
}

async function stopChild(proc: Subprocess, msg: object, graceMs: number): Promise<void> {
  try {
    proc.send(msg);
  } catch {}
  const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
  if (!done) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error(`timeout: ${what}`)))]);
}

// ---- /proc ---------------------------------------------------------------------------------------

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}
/** Busy CPU seconds of the whole machine (all processes, any user), from /proc/stat. */
function machineBusySec(): number {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}
/** CPU seconds (user + system, all threads) of a process. */
function cpuSec(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}

// ---- One configuration -----------------------------------------------------------------------------

interface ServerState {
  proc: Subprocess;
  pid: number;
  expected: number;
  batches: number;
  events: number;
  jsUs: number;
  delivered: number;
  trace?: Record<string, number>;
}
interface ClientState {
  proc: Subprocess;
  pid: number;
  counts: number[];
  closed: number;
  histWaiter?: (sparse: number[]) => void;
}

interface WindowResult {
  seconds: number;
  delivered: number;
  msgPerSec: number;
  eventsPerSecPerServer: number;
  p50us: number;
  p99us: number;
  p999us: number;
  samples: number;
  serverCores: number;
  clientCores: number;
  /** Busy cores of the whole machine, bench and everything else. */
  machineCores: number;
  serverUsPerMsg: number;
  jsUsPerBatch: number;
  /** With --trace 1: µs per batch of each traced part of the gateway's ingest. */
  trace?: Record<string, number>;
  deliveriesPerBatch: number;
  closed: number;
}
interface ConfigResult {
  cfg: RunConfig;
  connected: number;
  failed: number;
  connectSec: number;
  rssBeforeKb: number;
  rssAfterKb: number;
  rssAfterLoadKb: number;
  rssPerConnKb: number;
  sat?: WindowResult;
  low?: WindowResult;
  lowRate?: number;
}

async function runConfig(rc: RunConfig, lowRate: () => number): Promise<ConfigResult> {
  const tag = `[${rc.name}]`;
  console.log(`${tag} starting ${opts.servers} server process(es)`);
  const servers: ServerState[] = [];
  const clients: ClientState[] = [];
  const script = path.join(HERE, "fanout", rc.kind === "bare" ? "bare-server.ts" : "gateway-with-feeder.ts");

  const sendDelivered = () => {
    for (let p = 0; p < servers.length; p++) {
      let d = 0;
      for (const c of clients) d += c.counts[p] ?? 0;
      const s = servers[p]!;
      if (d !== s.delivered) {
        s.delivered = d;
        try {
          s.proc.send({ t: "delivered", n: d } satisfies ToServer);
        } catch {}
      }
    }
  };

  let port = 0;
  try {
    for (let i = 0; i < opts.servers; i++) {
      const scfg: ServerConfig = { index: i, batch: opts.batch, pool: opts.pool, port, host: LISTEN };
      const env: Record<string, string> = { FANOUT_SERVER: JSON.stringify(scfg) };
      if (rc.kind === "gateway") {
        const gw = rc.gw!;
        Object.assign(env, {
          PORT: String(port),
          REUSE_PORT: "1",
          HOST: LISTEN,
          SIMULATOR: "0",
          JWT_SECRET,
          ADMIN_TOKEN,
          // Always a temp dir (never ./data/log); BENCH_LOG=mem makes the feeder use the memory store.
          LOG_DIR: path.join(TMP, `log-${rc.name.replace(/\W+/g, "_")}-${i}`),
          BENCH_LOG: gw.log,
          CONNECTIONS_PER_IP_PER_MIN: "1000000000",
          LOG_LEVEL: "warn",
          BENCH_METRICS: gw.metrics,
        });
        if (opts.sendBuffer > 0) env.SEND_BUFFER_BYTES = String(opts.sendBuffer);
        if (opts.trace) env.BENCH_TRACE = "1";
      }
      const cmd = [BUN];
      if (opts.profile && rc.kind === "gateway") {
        fs.mkdirSync(opts.profile, { recursive: true });
        cmd.push("--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${opts.profile}`, `--cpu-prof-name=${rc.name.replace(/\W+/g, "_")}-${i}.md`);
      }
      cmd.push(script);
      let ready!: (m: { port: number; pid: number }) => void;
      const readyP = new Promise<{ port: number; pid: number }>((r) => (ready = r));
      const st: ServerState = { proc: undefined as unknown as Subprocess, pid: 0, expected: 0, batches: 0, events: 0, jsUs: 0, delivered: 0 };
      st.proc = spawnChild<FromServer>(cmd, env, (m) => {
        if (m.t === "ready") ready(m);
        else if (m.t === "pub") Object.assign(st, { expected: m.expected, batches: m.batches, events: m.events, jsUs: m.jsUs, trace: m.trace });
        else if (m.t === "error") console.error(`${tag} server ${i}: ${m.message}`);
      });
      const r = await timeout(
        Promise.race([readyP, st.proc.exited.then((c) => Promise.reject(new Error(`server ${i} exited with ${c}`)))]),
        20_000,
        `server ${i} ready`,
      );
      st.pid = r.pid;
      if (port === 0) port = r.port;
      servers.push(st);
    }
    await Bun.sleep(500);
    const rssBefore = servers.map((s) => rssKb(s.pid));

    // Clients.
    console.log(`${tag} port ${port}; connecting ${opts.clients} clients from ${opts.clientProcs} process(es)`);
    const per = Math.ceil(opts.clients / opts.clientProcs);
    const connected: Promise<Extract<FromClient, { t: "connected" }>>[] = [];
    for (let i = 0; i < opts.clientProcs; i++) {
      const first = i * per;
      const count = Math.min(per, opts.clients - first);
      if (count <= 0) break;
      const ccfg: ClientConfig = {
        index: i,
        kind: rc.kind,
        port,
        hosts: HOSTS,
        first,
        count,
        streams: opts.streams,
        pool: opts.pool,
        servers: opts.servers,
        jwtSecret: JWT_SECRET,
        concurrency: Math.max(1, Math.floor(opts.concurrency / opts.clientProcs)),
        sampleMask: opts.sampleMask,
        connectTimeoutMs: 20_000,
      };
      let done!: (m: Extract<FromClient, { t: "connected" }>) => void;
      connected.push(new Promise((r) => (done = r)));
      const st: ClientState = { proc: undefined as unknown as Subprocess, pid: 0, counts: [], closed: 0 };
      st.proc = spawnChild<FromClient>([BUN, path.join(HERE, "fanout", "client.ts")], { FANOUT_CLIENT: JSON.stringify(ccfg) }, (m) => {
        if (m.t === "connected") done(m);
        else if (m.t === "recv") {
          st.counts = m.counts;
          st.closed = m.closed;
          sendDelivered();
        } else if (m.t === "hist") st.histWaiter?.(m.sparse);
      });
      st.pid = st.proc.pid;
      clients.push(st);
    }
    const t0 = performance.now();
    const conn = await timeout(Promise.all(connected), 120_000, "clients connect");
    const connectSec = (performance.now() - t0) / 1000;
    const ok = conn.reduce((a, c) => a + c.ok, 0);
    const failed = conn.reduce((a, c) => a + c.failed, 0);
    const errs = conn.flatMap((c) => c.errors);
    console.log(`${tag} ${ok} connected, ${failed} failed in ${connectSec.toFixed(1)} s${errs.length ? " (" + errs.slice(0, 4).join("; ") + ")" : ""}`);
    await Bun.sleep(700);
    const rssAfter = servers.map((s) => rssKb(s.pid));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

    const totalDelivered = () => sum(clients.map((c) => sum(c.counts)));
    const totalClosed = () => sum(clients.map((c) => c.closed));
    const sumTraces = () => {
      const t: Record<string, number> = {};
      for (const s of servers) for (const [k, v] of Object.entries(s.trace ?? {})) t[k] = (t[k] ?? 0) + v;
      return t;
    };

    const measure = async (mode: ToServer, warmup: number, seconds: number): Promise<WindowResult> => {
      for (const s of servers) s.proc.send(mode);
      await Bun.sleep(warmup * 1000);
      for (const c of clients) c.proc.send({ t: "reset" } satisfies ToClient);
      const w0 = {
        t: performance.now(),
        d: totalDelivered(),
        b: sum(servers.map((s) => s.batches)),
        e: sum(servers.map((s) => s.events)),
        js: sum(servers.map((s) => s.jsUs)),
        exp: sum(servers.map((s) => s.expected)),
        sc: sum(servers.map((s) => cpuSec(s.pid))),
        cc: sum(clients.map((c) => cpuSec(c.pid))),
        mc: machineBusySec(),
        closed: totalClosed(),
        tr: sumTraces(),
      };
      await Bun.sleep(seconds * 1000);
      const w1 = {
        t: performance.now(),
        d: totalDelivered(),
        b: sum(servers.map((s) => s.batches)),
        e: sum(servers.map((s) => s.events)),
        js: sum(servers.map((s) => s.jsUs)),
        exp: sum(servers.map((s) => s.expected)),
        sc: sum(servers.map((s) => cpuSec(s.pid))),
        cc: sum(clients.map((c) => cpuSec(c.pid))),
        mc: machineBusySec(),
        closed: totalClosed(),
        tr: sumTraces(),
      };
      const hist = new Histogram();
      const sparse = await timeout(
        Promise.all(clients.map((c) => new Promise<number[]>((r) => ((c.histWaiter = r), c.proc.send({ t: "hist" } satisfies ToClient))))),
        10_000,
        "client histograms",
      );
      for (const s of sparse) hist.addSparse(s);
      for (const s of servers) s.proc.send({ t: "stop" } satisfies ToServer);
      // Let what is in flight arrive before the next phase.
      let last = -1;
      for (let i = 0; i < 30 && totalDelivered() !== last; i++) {
        last = totalDelivered();
        await Bun.sleep(150);
      }
      const secs = (w1.t - w0.t) / 1000;
      const delivered = w1.d - w0.d;
      const batches = w1.b - w0.b;
      return {
        seconds: secs,
        delivered,
        msgPerSec: delivered / secs,
        eventsPerSecPerServer: (w1.e - w0.e) / secs / servers.length,
        p50us: hist.quantile(0.5),
        p99us: hist.quantile(0.99),
        p999us: hist.quantile(0.999),
        samples: hist.n,
        serverCores: (w1.sc - w0.sc) / secs,
        clientCores: (w1.cc - w0.cc) / secs,
        machineCores: (w1.mc - w0.mc) / secs,
        serverUsPerMsg: delivered > 0 ? ((w1.sc - w0.sc) * 1e6) / delivered : NaN,
        jsUsPerBatch: batches > 0 ? (w1.js - w0.js) / batches : NaN,
        trace: Object.keys(w1.tr).length && batches > 0 ? Object.fromEntries(Object.keys(w1.tr).map((k) => [k, (w1.tr[k]! - (w0.tr[k] ?? 0)) / batches])) : undefined,
        deliveriesPerBatch: batches > 0 ? (w1.exp - w0.exp) / batches : NaN,
        closed: w1.closed - w0.closed,
      };
    };

    console.log(`${tag} saturation: ${opts.warmup} s warm-up + ${opts.seconds} s`);
    const sat = await measure({ t: "sat", windowBatches: opts.window }, opts.warmup, opts.seconds);
    console.log(`${tag}   ${fmtWindow(sat)}`);
    const rssAfterLoad = servers.map((s) => rssKb(s.pid));
    const result: ConfigResult = {
      cfg: rc,
      connected: ok,
      failed,
      connectSec,
      rssBeforeKb: sum(rssBefore),
      rssAfterKb: sum(rssAfter),
      rssAfterLoadKb: sum(rssAfterLoad),
      rssPerConnKb: ok > 0 ? (sum(rssAfter) - sum(rssBefore)) / ok : NaN,
      sat,
    };
    if (rc.lowRate) {
      const rate = lowRate() || Math.max(1, Math.round(opts.lowFrac * sat.eventsPerSecPerServer));
      result.lowRate = rate;
      console.log(`${tag} fixed rate ${rate} events/s per server process: 1 s warm-up + ${opts.lowSeconds} s`);
      result.low = await measure({ t: "rate", eventsPerSec: rate }, 1, opts.lowSeconds);
      console.log(`${tag}   ${fmtWindow(result.low)}`);
    }
    return result;
  } finally {
    await Promise.all(clients.map((c) => stopChild(c.proc, { t: "exit" } satisfies ToClient, 3000)));
    await Promise.all(servers.map((s) => stopChild(s.proc, { t: "exit" } satisfies ToServer, 5000)));
  }
}

// ---- Output --------------------------------------------------------------------------------------

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
const ms = (us: number) => (Number.isFinite(us) ? (us / 1000).toFixed(us < 10_000 ? 2 : 1) + " ms" : "-");
function fmtWindow(w: WindowResult): string {
  return (
    `${f0(w.msgPerSec)} msg/s delivered (${f0(w.eventsPerSecPerServer)} events/s per server, ${f0(w.deliveriesPerBatch / opts.servers)} deliveries/batch/server), ` +
    `latency p50 ${ms(w.p50us)} p99 ${ms(w.p99us)} p99.9 ${ms(w.p999us)} (${f0(w.samples)} samples), ` +
    `server CPU ${w.serverCores.toFixed(2)} cores = ${w.serverUsPerMsg.toFixed(2)} us/msg, clients ${w.clientCores.toFixed(2)} cores, machine busy ${w.machineCores.toFixed(2)} cores, ` +
    `JS ${f0(w.jsUsPerBatch)} us/batch` +
    (w.trace ? ` [${Object.entries(w.trace).map(([k, v]) => `${k} ${f0(v)}`).join(", ")} us/batch]` : "") +
    (w.closed ? `, ${w.closed} CLIENTS CLOSED` : "")
  );
}

// ---- Main ----------------------------------------------------------------------------------------

const startedAt = performance.now();
const msgsPerSocketPerBatch = (opts.batch * opts.streams) / opts.pool;
console.log(
  `fan-out bench: bun ${Bun.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}\n` +
    `  ${opts.clients} clients in ${opts.clientProcs} process(es), ${opts.servers} server process(es) (reusePort) on ${LISTEN}, ` +
    `${opts.streams} of ${opts.pool} streams per client, batches of ${opts.batch} events (~${msgsPerSocketPerBatch} frames per socket per batch), ` +
    `window ${opts.window} batches, ${opts.seconds} s per saturation window\n` +
    `  configs: ${selected.map((c) => c.name + (c.gw ? ` (log ${c.gw.log}, metrics ${c.gw.metrics})` : "")).join(", ")}\n`,
);

const results: ConfigResult[] = [];
try {
  for (const rc of selected) {
    const bare = results.find((r) => r.cfg.kind === "bare");
    const lowRate = () => opts.rate || (bare?.sat ? Math.max(1, Math.round(opts.lowFrac * bare.sat.eventsPerSecPerServer)) : 0);
    results.push(await runConfig(rc, lowRate));
  }
} catch (err) {
  console.error("fanout bench failed:", (err as Error).stack ?? err);
  cleanup();
  process.exit(1);
}

console.log(`\n==== fan-out results (${((performance.now() - startedAt) / 1000).toFixed(0)} s) ====`);
console.log(`${opts.clients} clients, ${opts.streams}/${opts.pool} streams each, batch ${opts.batch}, ${opts.servers} server procs, ${opts.clientProcs} client procs\n`);
const pad = (s: string, n: number) => s.padEnd(n);
const padL = (s: string, n: number) => s.padStart(n);
console.log(
  pad("config", 26) + padL("conns", 7) + padL("sat msg/s", 12) + padL("p50", 10) + padL("p99", 10) + padL("srv cores", 10) + padL("srv us/msg", 11) +
    padL("cli cores", 10) + padL("KB/conn", 9) + padL("low ev/s", 10) + padL("low msg/s", 11) + padL("low p50", 10) + padL("low p99", 10),
);
for (const r of results) {
  const s = r.sat!;
  console.log(
    pad(r.cfg.name, 26) + padL(f0(r.connected), 7) + padL(f0(s.msgPerSec), 12) + padL(ms(s.p50us), 10) + padL(ms(s.p99us), 10) +
      padL(s.serverCores.toFixed(2), 10) + padL(s.serverUsPerMsg.toFixed(2), 11) + padL(s.clientCores.toFixed(2), 10) + padL(r.rssPerConnKb.toFixed(1), 9) +
      padL(r.low ? f0(r.lowRate!) : "", 10) + padL(r.low ? f0(r.low.msgPerSec) : "", 11) + padL(r.low ? ms(r.low.p50us) : "", 10) + padL(r.low ? ms(r.low.p99us) : "", 10),
  );
}
console.log(
  "\nRSS per connection = (server VmRSS after connect - before) / connections, summed over server processes; " +
    "srv us/msg = server CPU (all server processes, user+sys) / delivered frames.",
);
for (const r of results) {
  if (r.failed || r.sat!.closed || r.low?.closed) console.log(`WARNING ${r.cfg.name}: ${r.failed} failed connects, ${r.sat!.closed + (r.low?.closed ?? 0)} clients closed during load`);
}

const bare = results.find((r) => r.cfg.name === "bare");
const gw = results.find((r) => r.cfg.name === "gateway");
if (bare && gw) {
  const ratio = gw.sat!.msgPerSec / bare.sat!.msgPerSec;
  const cpuRatio = bare.sat!.serverUsPerMsg / gw.sat!.serverUsPerMsg;
  console.log(`\nGATEWAY / BARE delivered throughput: ${(ratio * 100).toFixed(1)}%   (issue target: >= 80%)`);
  console.log(
    `GATEWAY / BARE server CPU efficiency (bare us/msg / gateway us/msg): ${(cpuRatio * 100).toFixed(1)}%   ` +
      `(what the ratio would be if the servers, not the clients sharing the ${os.cpus().length} cores, were the limit)`,
  );
  if (bare.low && gw.low) {
    console.log(`fixed rate ${f0(gw.lowRate!)} events/s: latency p50/p99 bare ${ms(bare.low.p50us)} / ${ms(bare.low.p99us)}, gateway ${ms(gw.low.p50us)} / ${ms(gw.low.p99us)}`);
  }
}
for (const r of results) {
  if (!gw || r === gw || r.cfg.kind !== "gateway") continue;
  const a = r.sat!.msgPerSec / gw.sat!.msgPerSec;
  const c = gw.sat!.serverUsPerMsg / r.sat!.serverUsPerMsg;
  console.log(`${r.cfg.name} vs gateway: throughput ${(a * 100).toFixed(1)}%, server CPU efficiency ${(c * 100).toFixed(1)}%`);
}
const memlog = results.find((r) => r.cfg.kind === "gateway" && r.cfg.gw!.log === "mem" && r.cfg.gw!.metrics === gw?.cfg.gw!.metrics);
const mmaplog = results.find((r) => r.cfg.kind === "gateway" && r.cfg.gw!.log === "mmap" && r.cfg.gw!.metrics === gw?.cfg.gw!.metrics);
if (memlog && mmaplog) {
  const cut = 1 - mmaplog.sat!.msgPerSec / memlog.sat!.msgPerSec;
  console.log(`ring log mmap vs memory: fan-out throughput ${cut >= 0 ? "-" : "+"}${Math.abs(cut * 100).toFixed(1)}%   (issue: the log must not cut fan-out by more than 10%)`);
}
cleanup();
process.exit(0);
