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
  rounds: num("rounds", 4),
  seconds: num("seconds", 3),
  warmup: num("warmup", 1),
  lowRounds: num("low-rounds", 2),
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
  trace: arg("trace", "0") === "1",
  profile: arg("profile", ""),
  diag: arg("diag", "0") === "1",
};
opts.pool = num("pool", opts.streams);
opts.clientProcs = num("client-procs", Math.max(2, Math.ceil(opts.clients / 8000)));
if (opts.streams > opts.pool) throw new Error("--streams must be <= --pool");
if (Math.ceil(opts.clients / opts.clientProcs) > 15_000) throw new Error("more than 15,000 sockets per client process (20,000 fd cap): raise --client-procs");
if (Math.ceil(opts.clients / opts.hosts) > 25_000) throw new Error("more than 25,000 connections per destination address (ephemeral ports): raise --hosts");
if (!["mmap", "mem"].includes(opts.log) || !["on", "off"].includes(opts.metrics)) throw new Error("--log mmap|mem, --metrics on|off");

const BUN = process.execPath;
const HERE = path.dirname(new URL(import.meta.url).pathname);
const JWT_SECRET = "fanout-bench-secret-0123456789abcdef";
const ADMIN_TOKEN = "fanout-bench-admin";
/** Temp dirs of earlier runs whose orchestrator died without cleaning up (kill -9): removed. */
function removeStaleTempDirs(): void {
  for (const d of fs.readdirSync(os.tmpdir())) {
    if (!d.startsWith("fanout-bench-")) continue;
    const dir = path.join(os.tmpdir(), d);
    try {
      const owner = Number(fs.readFileSync(path.join(dir, "owner.pid"), "utf8"));
      if (owner > 0 && fs.existsSync(`/proc/${owner}`)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {}
  }
}
removeStaleTempDirs();
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "fanout-bench-"));
fs.writeFileSync(path.join(TMP, "owner.pid"), String(process.pid));
// Loopback only. With --hosts > 1 the servers listen on 0.0.0.0 so that clients can spread over
// 127.0.0.1..n as destinations (Bun's WebSocket client cannot bind a source address).
const HOSTS = Array.from({ length: opts.hosts }, (_, i) => `127.0.0.${i + 1}`);
const LISTEN = opts.hosts > 1 ? "0.0.0.0" : "127.0.0.1";

interface RunConfig {
  name: string;
  kind: "bare" | "gateway";
  log?: "mmap" | "mem";
  metrics?: "on" | "off";
  /** Diagnostics only: feed frames straight to the gateway's Bun server; stop its timers. */
  feed?: "pipeline" | "direct";
  timers?: "on" | "off";
}
const allConfigs: RunConfig[] = [
  { name: "bare", kind: "bare" },
  { name: "gateway", kind: "gateway", log: opts.log, metrics: opts.metrics },
];
if (opts.compare.includes("log")) {
  const log = opts.log === "mmap" ? "mem" : "mmap";
  allConfigs.push({ name: `gateway log=${log}`, kind: "gateway", log, metrics: opts.metrics });
}
if (opts.compare.includes("metrics")) {
  const metrics = opts.metrics === "on" ? "off" : "on";
  allConfigs.push({ name: `gateway metrics=${metrics}`, kind: "gateway", log: opts.log, metrics });
}
if (opts.diag) {
  allConfigs.push({ name: "gateway feed=direct", kind: "gateway", log: opts.log, metrics: opts.metrics, feed: "direct" });
  allConfigs.push({ name: "gateway direct,timers=off", kind: "gateway", log: opts.log, metrics: opts.metrics, feed: "direct", timers: "off" });
}
const configs = opts.only.length ? allConfigs.filter((c) => opts.only.includes(c.name) || opts.only.includes(c.name.split(" ")[0]!)) : allConfigs;
const describe = (c: RunConfig) =>
  c.kind === "bare" ? c.name : `${c.name} (log ${c.log}, metrics ${c.metrics}${c.feed ? `, feed ${c.feed}` : ""}${c.timers ? `, timers ${c.timers}` : ""})`;

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
// Hard bound on the whole run, whatever happens.
const hardLimitMs = Number(process.env.FANOUT_MAX_SECONDS ?? 600) * 1000;
setTimeout(() => {
  console.error(`fanout bench: over ${hardLimitMs / 1000} s, aborting`);
  cleanup();
  process.exit(1);
}, hardLimitMs).unref();

function spawnChild<M>(cmd: string[], env: Record<string, string>, onMessage: (m: M) => void): Subprocess {
  // A clean environment: nothing of the caller's gateway settings (CONFIG_FILE, LOG_DIR, ...) leaks in.
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TMPDIR: os.tmpdir() };
  const proc = Bun.spawn({
    cmd,
    env: { ...base, ...env },
    stdio: ["ignore", "inherit", "inherit"],
    serialization: "json",
    ipc: (m) => onMessage(m as M),
  });
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
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
/** Busy CPU seconds of the whole machine (every process of every user), from /proc/stat. */
function machineBusySec(): number {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// ---- One configuration: its servers and clients ----------------------------------------------------

interface ServerState {
  proc: Subprocess;
  pid: number;
  expected: number;
  batches: number;
  events: number;
  jsUs: number;
  jsCpuUs: number;
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

/** What one measured window produced. */
interface Window {
  seconds: number;
  delivered: number;
  batches: number;
  events: number;
  jsUs: number;
  jsCpuUs: number;
  trace: Record<string, number>;
  serverCpu: number;
  clientCpu: number;
  machineCpu: number;
  hist: Histogram;
  closed: number;
}

class Setup {
  readonly servers: ServerState[] = [];
  readonly clients: ClientState[] = [];
  port = 0;
  connected = 0;
  failed = 0;
  connectSec = 0;
  rssBeforeKb = 0;
  rssAfterKb = 0;
  readonly sat: Window[] = [];
  readonly low: Window[] = [];
  lowRate = 0;

  constructor(readonly rc: RunConfig) {}

  get tag(): string {
    return `[${this.rc.name}]`;
  }

  async start(): Promise<void> {
    const rc = this.rc;
    const script = path.join(HERE, "fanout", rc.kind === "bare" ? "bare-server.ts" : "gateway-with-feeder.ts");
    for (let i = 0; i < opts.servers; i++) {
      const scfg: ServerConfig = { index: i, batch: opts.batch, pool: opts.pool, port: this.port, host: LISTEN };
      const env: Record<string, string> = { FANOUT_SERVER: JSON.stringify(scfg) };
      if (opts.trace) env.BENCH_TRACE = "1";
      if (rc.kind === "gateway") {
        Object.assign(env, {
          PORT: String(this.port),
          REUSE_PORT: "1",
          HOST: LISTEN,
          SIMULATOR: "0",
          JWT_SECRET,
          ADMIN_TOKEN,
          // Always a temp dir of this run, never ./data/log. BENCH_LOG=mem makes the feeder pick the
          // memory store (LOG_DIR='' from the environment would fall back to ./data/log).
          LOG_DIR: path.join(TMP, `log-${rc.name.replace(/\W+/g, "_")}-${i}`),
          BENCH_LOG: rc.log!,
          BENCH_METRICS: rc.metrics!,
          BENCH_FEED: rc.feed ?? "pipeline",
          BENCH_TIMERS: rc.timers ?? "on",
          CONNECTIONS_PER_IP_PER_MIN: "1000000000",
          LOG_LEVEL: "warn",
        });
        if (opts.sendBuffer > 0) env.SEND_BUFFER_BYTES = String(opts.sendBuffer);
      }
      const cmd = [BUN];
      if (opts.profile) {
        fs.mkdirSync(opts.profile, { recursive: true });
        cmd.push("--cpu-prof", `--cpu-prof-dir=${opts.profile}`, `--cpu-prof-name=${rc.name.replace(/\W+/g, "_")}-${i}.cpuprofile`);
      }
      cmd.push(script);
      let ready!: (m: { port: number; pid: number }) => void;
      const readyP = new Promise<{ port: number; pid: number }>((r) => (ready = r));
      const st: ServerState = { proc: undefined as unknown as Subprocess, pid: 0, expected: 0, batches: 0, events: 0, jsUs: 0, jsCpuUs: 0, delivered: 0 };
      st.proc = spawnChild<FromServer>(cmd, env, (m) => {
        if (m.t === "ready") ready(m);
        else if (m.t === "pub") Object.assign(st, { expected: m.expected, batches: m.batches, events: m.events, jsUs: m.jsUs, jsCpuUs: m.jsCpuUs, trace: m.trace });
        else if (m.t === "error") console.error(`${this.tag} server ${i}: ${m.message}`);
      });
      this.servers.push(st);
      const r = await timeout(
        Promise.race([readyP, st.proc.exited.then((c) => Promise.reject(new Error(`${this.tag} server ${i} exited with ${c}`)))]),
        20_000,
        `${this.tag} server ${i} ready`,
      );
      st.pid = r.pid;
      if (this.port === 0) this.port = r.port;
    }
    await Bun.sleep(500);
    this.rssBeforeKb = sum(this.servers.map((s) => rssKb(s.pid)));

    const per = Math.ceil(opts.clients / opts.clientProcs);
    const connected: Promise<Extract<FromClient, { t: "connected" }>>[] = [];
    for (let i = 0; i < opts.clientProcs; i++) {
      const first = i * per;
      const count = Math.min(per, opts.clients - first);
      if (count <= 0) break;
      const ccfg: ClientConfig = {
        index: i,
        kind: rc.kind,
        port: this.port,
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
          this.sendDelivered();
        } else if (m.t === "hist") st.histWaiter?.(m.sparse);
      });
      st.pid = st.proc.pid;
      this.clients.push(st);
    }
    const t0 = performance.now();
    const conn = await timeout(Promise.all(connected), 120_000, `${this.tag} clients connect`);
    this.connectSec = (performance.now() - t0) / 1000;
    this.connected = sum(conn.map((c) => c.ok));
    this.failed = sum(conn.map((c) => c.failed));
    const errs = conn.flatMap((c) => c.errors);
    await Bun.sleep(700);
    this.rssAfterKb = sum(this.servers.map((s) => rssKb(s.pid)));
    console.log(
      `${this.tag} port ${this.port}: ${this.connected} clients connected, ${this.failed} failed, in ${this.connectSec.toFixed(1)} s; ` +
        `server RSS ${(this.rssBeforeKb / 1024).toFixed(0)} -> ${(this.rssAfterKb / 1024).toFixed(0)} MiB` +
        (errs.length ? ` (errors: ${errs.slice(0, 4).join("; ")})` : ""),
    );
  }

  /** Tells each server how many of its deliveries the clients have seen (its closed-loop credit). */
  private sendDelivered(): void {
    for (let p = 0; p < this.servers.length; p++) {
      const d = sum(this.clients.map((c) => c.counts[p] ?? 0));
      const s = this.servers[p]!;
      if (d !== s.delivered) {
        s.delivered = d;
        try {
          s.proc.send({ t: "delivered", n: d } satisfies ToServer);
        } catch {}
      }
    }
  }

  get rssPerConnKb(): number {
    return this.connected > 0 ? (this.rssAfterKb - this.rssBeforeKb) / this.connected : NaN;
  }

  private snapshot() {
    return {
      t: performance.now(),
      d: sum(this.clients.map((c) => sum(c.counts))),
      b: sum(this.servers.map((s) => s.batches)),
      e: sum(this.servers.map((s) => s.events)),
      js: sum(this.servers.map((s) => s.jsUs)),
      jsc: sum(this.servers.map((s) => s.jsCpuUs)),
      sc: sum(this.servers.map((s) => cpuSec(s.pid))),
      cc: sum(this.clients.map((c) => cpuSec(c.pid))),
      mc: machineBusySec(),
      closed: sum(this.clients.map((c) => c.closed)),
      tr: this.traceSum(),
    };
  }

  private traceSum(): Record<string, number> {
    const t: Record<string, number> = {};
    for (const s of this.servers) for (const [k, v] of Object.entries(s.trace ?? {})) t[k] = (t[k] ?? 0) + v;
    return t;
  }

  /** Runs one window: `mode` for `warmup` s unmeasured then `seconds` s measured, then drains. */
  async measure(mode: ToServer, warmup: number, seconds: number): Promise<Window> {
    for (const s of this.servers) s.proc.send(mode);
    await Bun.sleep(warmup * 1000);
    for (const c of this.clients) c.proc.send({ t: "reset" } satisfies ToClient);
    const w0 = this.snapshot();
    await Bun.sleep(seconds * 1000);
    const w1 = this.snapshot();
    const hist = new Histogram();
    const sparse = await timeout(
      Promise.all(this.clients.map((c) => new Promise<number[]>((r) => ((c.histWaiter = r), c.proc.send({ t: "hist" } satisfies ToClient))))),
      15_000,
      `${this.tag} client histograms`,
    );
    for (const s of sparse) hist.addSparse(s);
    for (const s of this.servers) s.proc.send({ t: "stop" } satisfies ToServer);
    // Drain: wait until the clients have everything published (or it stops moving), so the next
    // window, of this or another configuration, starts from empty queues.
    await Bun.sleep(50);
    const deadline = performance.now() + 15_000;
    let last = -1;
    let lastMove = performance.now();
    for (;;) {
      const d = sum(this.clients.map((c) => sum(c.counts)));
      if (d >= sum(this.servers.map((s) => s.expected))) break;
      if (d !== last) {
        last = d;
        lastMove = performance.now();
      } else if (performance.now() - lastMove > 2000) break;
      if (performance.now() > deadline) break;
      await Bun.sleep(50);
    }
    await Bun.sleep(200);
    const tr: Record<string, number> = {};
    for (const k of Object.keys(w1.tr)) tr[k] = w1.tr[k]! - (w0.tr[k] ?? 0);
    return {
      seconds: (w1.t - w0.t) / 1000,
      delivered: w1.d - w0.d,
      batches: w1.b - w0.b,
      events: w1.e - w0.e,
      jsUs: w1.js - w0.js,
      jsCpuUs: w1.jsc - w0.jsc,
      trace: tr,
      serverCpu: w1.sc - w0.sc,
      clientCpu: w1.cc - w0.cc,
      machineCpu: w1.mc - w0.mc,
      hist,
      closed: w1.closed - w0.closed,
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.clients.map((c) => stopChild(c.proc, { t: "exit" } satisfies ToClient, 3000)));
    await Promise.all(this.servers.map((s) => stopChild(s.proc, { t: "exit" } satisfies ToServer, 5000)));
  }
}

// ---- Output --------------------------------------------------------------------------------------

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
const ms = (us: number) => (Number.isFinite(us) ? (us / 1000).toFixed(us < 10_000 ? 2 : 1) + " ms" : "-");
const pct = (x: number) => (Number.isFinite(x) ? (x * 100).toFixed(1) + "%" : "-");

function rate(w: Window): number {
  return w.delivered / w.seconds;
}
function fmtWindow(w: Window): string {
  const tr = Object.keys(w.trace).length && w.batches > 0 ? ` [${Object.entries(w.trace).map(([k, v]) => `${k} ${f0(v / w.batches)}`).join(", ")} us/batch]` : "";
  return (
    `${f0(rate(w))} msg/s (${f0(w.events / w.seconds / opts.servers)} ev/s/server), ` +
    `p50 ${ms(w.hist.quantile(0.5))} p99 ${ms(w.hist.quantile(0.99))}, ` +
    `cores: server ${(w.serverCpu / w.seconds).toFixed(2)} clients ${(w.clientCpu / w.seconds).toFixed(2)} other ${((w.machineCpu - w.serverCpu - w.clientCpu) / w.seconds).toFixed(2)}, ` +
    `server ${(w.delivered > 0 ? (w.serverCpu * 1e6) / w.delivered : NaN).toFixed(2)} us/msg, ` +
    `publish call ${f0(w.batches > 0 ? w.jsCpuUs / w.batches : NaN)} us CPU (${f0(w.batches > 0 ? w.jsUs / w.batches : NaN)} wall) per batch${tr}` +
    (w.closed ? `, ${w.closed} CLIENTS CLOSED` : "")
  );
}

/** Totals of several windows of one configuration. */
function total(ws: Window[]) {
  const hist = new Histogram();
  for (const w of ws) hist.addSparse(w.hist.toSparse());
  const secs = sum(ws.map((w) => w.seconds));
  const delivered = sum(ws.map((w) => w.delivered));
  const batches = sum(ws.map((w) => w.batches));
  const trace: Record<string, number> = {};
  for (const w of ws) for (const [k, v] of Object.entries(w.trace)) trace[k] = (trace[k] ?? 0) + v;
  return {
    medianRate: median(ws.map(rate)),
    minRate: Math.min(...ws.map(rate)),
    maxRate: Math.max(...ws.map(rate)),
    eventsPerSecPerServer: sum(ws.map((w) => w.events)) / secs / opts.servers,
    p50: hist.quantile(0.5),
    p99: hist.quantile(0.99),
    samples: hist.n,
    serverCores: sum(ws.map((w) => w.serverCpu)) / secs,
    clientCores: sum(ws.map((w) => w.clientCpu)) / secs,
    otherCores: sum(ws.map((w) => w.machineCpu - w.serverCpu - w.clientCpu)) / secs,
    serverUsPerMsg: delivered > 0 ? (sum(ws.map((w) => w.serverCpu)) * 1e6) / delivered : NaN,
    /** The least-disturbed round's CPU per frame. */
    minServerUsPerMsg: Math.min(...ws.map((w) => (w.delivered > 0 ? (w.serverCpu * 1e6) / w.delivered : Infinity))),
    jsUsPerBatch: batches > 0 ? sum(ws.map((w) => w.jsUs)) / batches : NaN,
    jsCpuUsPerBatch: batches > 0 ? sum(ws.map((w) => w.jsCpuUs)) / batches : NaN,
    traceUsPerBatch: Object.fromEntries(Object.entries(trace).map(([k, v]) => [k, batches > 0 ? v / batches : NaN])),
    closed: sum(ws.map((w) => w.closed)),
  };
}

// ---- Main ----------------------------------------------------------------------------------------

const startedAt = performance.now();
const framesPerSocketPerBatch = (opts.batch * opts.streams) / opts.pool;
console.log(
  `fan-out bench: bun ${Bun.version}, ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}\n` +
    `  ${opts.clients} clients per configuration in ${opts.clientProcs} process(es); ${opts.servers} server process(es) per configuration (reusePort) on ${LISTEN}\n` +
    `  ${opts.streams} of ${opts.pool} streams per client, batches of ${opts.batch} events (~${framesPerSocketPerBatch} frames per socket per batch), ` +
    `closed-loop window ${opts.window} batches; ${opts.rounds} saturation round(s) of ${opts.warmup}+${opts.seconds} s, ` +
    `${opts.lowRounds} fixed-rate round(s) of 1+${opts.lowSeconds} s\n` +
    `  configurations: ${configs.map(describe).join("; ")}\n`,
);

const setups = configs.map((c) => new Setup(c));
try {
  // Connect every configuration first (one at a time), then measure them interleaved.
  for (const s of setups) await s.start();
  for (let r = 1; r <= opts.rounds; r++) {
    for (const s of setups) {
      const w = await s.measure({ t: "sat", windowBatches: opts.window }, opts.warmup, opts.seconds);
      s.sat.push(w);
      console.log(`round ${r} saturation ${s.tag.padEnd(22)} ${fmtWindow(w)}`);
    }
  }
  const bareSetup = setups.find((s) => s.rc.kind === "bare");
  const gwSetup = setups.find((s) => s.rc.name === "gateway");
  const lowSetups = [bareSetup, gwSetup].filter((s): s is Setup => !!s);
  if (opts.lowRounds > 0 && lowSetups.length) {
    const ref = lowSetups[0]!;
    const satEv = total(ref.sat).eventsPerSecPerServer;
    // At least one batch per second per server, so a window holds several batches.
    const lowRate = opts.rate || Math.max(opts.batch, Math.round((opts.lowFrac * satEv) / opts.batch) * opts.batch);
    for (let r = 1; r <= opts.lowRounds; r++) {
      for (const s of lowSetups) {
        s.lowRate = lowRate;
        const w = await s.measure({ t: "rate", eventsPerSec: lowRate }, 1, opts.lowSeconds);
        s.low.push(w);
        console.log(`round ${r} fixed ${lowRate} ev/s ${s.tag.padEnd(16)} ${fmtWindow(w)}`);
      }
    }
  }
} catch (err) {
  console.error("fanout bench failed:", (err as Error).stack ?? err);
  cleanup();
  process.exit(1);
}
await Promise.all(setups.map((s) => s.stop()));

// ---- Summary -------------------------------------------------------------------------------------

console.log(`\n==== fan-out results (${((performance.now() - startedAt) / 1000).toFixed(0)} s) ====`);
console.log(
  `${opts.clients} clients/config (${opts.clientProcs} client procs), ${opts.servers} server procs/config, ${opts.streams}/${opts.pool} streams per client, ` +
    `batch ${opts.batch} (~${framesPerSocketPerBatch} frames/socket/batch), window ${opts.window}, ${opts.rounds} x ${opts.seconds} s saturation rounds\n`,
);
const padR = (s: string, n: number) => s.padEnd(n);
const padL = (s: string, n: number) => s.padStart(n);
console.log("SATURATION (closed loop)");
console.log(
  padR("config", 26) + padL("conns", 7) + padL("msg/s median", 14) + padL("min..max", 25) + padL("ev/s/srv", 10) + padL("p50", 10) + padL("p99", 10) +
    padL("srv us/msg", 11) + padL("srv cores", 10) + padL("cli cores", 10) + padL("other", 7) + padL("batch CPU us", 13) + padL("RSS KB/conn", 12),
);
for (const s of setups) {
  const t = total(s.sat);
  console.log(
    padR(s.rc.name, 26) + padL(f0(s.connected), 7) + padL(f0(t.medianRate), 14) + padL(`${f0(t.minRate)}..${f0(t.maxRate)}`, 25) +
      padL(f0(t.eventsPerSecPerServer), 10) + padL(ms(t.p50), 10) + padL(ms(t.p99), 10) + padL(t.serverUsPerMsg.toFixed(3), 11) +
      padL(t.serverCores.toFixed(2), 10) + padL(t.clientCores.toFixed(2), 10) + padL(t.otherCores.toFixed(2), 7) + padL(f0(t.jsCpuUsPerBatch), 13) +
      padL(s.rssPerConnKb.toFixed(1), 12),
  );
}
if (setups.some((s) => s.low.length)) {
  const lr = setups.find((s) => s.low.length)!.lowRate;
  console.log(
    `\nFIXED RATE (${f0(lr)} events/s per server process = ${f0(lr / opts.batch)} batch(es)/s, open loop; msg/s is quantised to whole batches per window)`,
  );
  console.log(padR("config", 24) + padL("msg/s", 12) + padL("p50", 10) + padL("p99", 10) + padL("samples", 10) + padL("srv us/msg", 11) + padL("other", 7));
  for (const s of setups) {
    if (!s.low.length) continue;
    const t = total(s.low);
    console.log(
      padR(s.rc.name, 24) + padL(f0(t.medianRate), 12) + padL(ms(t.p50), 10) + padL(ms(t.p99), 10) + padL(f0(t.samples), 10) +
        padL(t.serverUsPerMsg.toFixed(3), 11) + padL(t.otherCores.toFixed(2), 7),
    );
  }
}
if (opts.trace) {
  console.log("\nTRACE (saturation, CPU us per batch, per server process):");
  for (const s of setups) {
    const t = total(s.sat);
    console.log(`  ${padR(s.rc.name, 22)} batch call ${f0(t.jsCpuUsPerBatch)}: ${Object.entries(t.traceUsPerBatch).map(([k, v]) => `${k} ${f0(v)}`).join(", ")}`);
  }
}
console.log(
  "\nmsg/s = frames received by all clients per second; p50/p99 = publish->client-receive latency (includes the clients' own queueing);\n" +
    "srv us/msg = CPU (user+sys, all threads) of the configuration's server processes / frames delivered; other = busy cores not ours;\n" +
    "RSS KB/conn = (server VmRSS after connect - before connect) / connections, all server processes.",
);
for (const s of setups) {
  const closed = sum([...s.sat, ...s.low].map((w) => w.closed));
  if (s.failed || closed) console.log(`WARNING ${s.rc.name}: ${s.failed} failed connects, ${closed} clients closed during load`);
}

/** Per-round ratios a/b of delivered msg/s (paired: same round, adjacent in time). */
function paired(a: Setup, b: Setup): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.sat.length, b.sat.length); i++) out.push(rate(a.sat[i]!) / rate(b.sat[i]!));
  return out;
}
const bare = setups.find((s) => s.rc.kind === "bare");
const gw = setups.find((s) => s.rc.name === "gateway");
console.log("");
if (bare && gw) {
  const r = paired(gw, bare);
  const eff = total(bare.sat).serverUsPerMsg / total(gw.sat).serverUsPerMsg;
  const tb = total(bare.sat);
  const tg = total(gw.sat);
  console.log(`GATEWAY / BARE delivered msg/s: ${pct(median(r))} (median of per-round ratios ${r.map(pct).join(", ")})   issue target: >= 80%`);
  console.log(`GATEWAY / BARE best round vs best round: ${pct(tg.maxRate / tb.maxRate)} (${f0(tg.maxRate)} / ${f0(tb.maxRate)} msg/s; interference only lowers a round)`);
  console.log(
    `GATEWAY / BARE server CPU per frame (bare us/msg / gateway us/msg): ${pct(eff)} over all rounds, ${pct(tb.minServerUsPerMsg / tg.minServerUsPerMsg)} best rounds ` +
      `(${tb.minServerUsPerMsg.toFixed(3)} / ${tg.minServerUsPerMsg.toFixed(3)} us)   (the ratio if the servers alone, not the clients sharing the machine, were the limit)`,
  );
  if (bare.low.length && gw.low.length) {
    const b = total(bare.low);
    const g = total(gw.low);
    console.log(`fixed rate ${f0(gw.lowRate)} ev/s/server: latency p50/p99 bare ${ms(b.p50)} / ${ms(b.p99)}, gateway ${ms(g.p50)} / ${ms(g.p99)}`);
  }
}
for (const s of setups) {
  if (!gw || s === gw || s.rc.kind !== "gateway") continue;
  const r = paired(s, gw);
  const eff = total(gw.sat).serverUsPerMsg / total(s.sat).serverUsPerMsg;
  let line = `${s.rc.name} / gateway: msg/s ${pct(median(r))} (per round ${r.map(pct).join(", ")}), server CPU per frame ${pct(eff)}`;
  if (bare) line += `; / bare: msg/s ${pct(median(paired(s, bare)))}, server CPU per frame ${pct(total(bare.sat).serverUsPerMsg / total(s.sat).serverUsPerMsg)}`;
  console.log(line);
}
const mem = setups.find((s) => s.rc.kind === "gateway" && s.rc.log === "mem" && s.rc.metrics === gw?.rc.metrics);
const mmap = setups.find((s) => s.rc.kind === "gateway" && s.rc.log === "mmap" && s.rc.metrics === gw?.rc.metrics);
if (mem && mmap) {
  const r = median(paired(mmap, mem));
  const eff = total(mem.sat).serverUsPerMsg / total(mmap.sat).serverUsPerMsg;
  console.log(`ring log mmap vs memory: fan-out msg/s ${r >= 1 ? "+" : "-"}${Math.abs((r - 1) * 100).toFixed(1)}%, server CPU per frame ${pct(eff)}   issue: the log must not cut fan-out by more than 10%`);
}
cleanup();
process.exit(0);
