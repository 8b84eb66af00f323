/** One configuration under test: its server processes and client processes, and its measured windows. */
import fs from "node:fs";
import path from "node:path";
import type { Subprocess } from "bun";
import { splitClients } from "../shared/client-process.ts";
import { Histogram, type ClientConfig, type FromClient, type FromServer, type ServerConfig, type ToClient, type ToServer } from "./common.ts";
import { sum } from "./numbers.ts";
import { addresses, type FanoutOptions } from "./options.ts";
import { cpuSec, machineBusySec, rssKb } from "./proc-stats.ts";
import { spawnChild, stopChild, timeout } from "./processes.ts";
import type { RunConfig } from "./run-configs.ts";

const BUN = process.execPath;
const HERE = path.dirname(new URL(import.meta.url).pathname);
const JWT_SECRET = "fanout-bench-secret-0123456789abcdef";
const ADMIN_TOKEN = "fanout-bench-admin";

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
export interface Window {
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

/** A configuration's processes and results. */
export class Setup {
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

  constructor(
    readonly rc: RunConfig,
    private readonly opts: FanoutOptions,
    /** This run's temp dir: the gateways' LOG_DIRs go under it. */
    private readonly runDir: string,
  ) {}

  get tag(): string {
    return `[${this.rc.name}]`;
  }

  async start(): Promise<void> {
    const { rc, opts } = this;
    const { hosts, listen } = addresses(opts);
    const script = path.join(HERE, rc.kind === "bare" ? "bare-server.ts" : "gateway-with-feeder.ts");
    for (let i = 0; i < opts.servers; i++) {
      const scfg: ServerConfig = { index: i, batch: opts.batch, pool: opts.pool, port: this.port, host: listen };
      const env: Record<string, string> = { FANOUT_SERVER: JSON.stringify(scfg) };
      if (opts.trace) env.BENCH_TRACE = "1";
      if (rc.kind === "gateway") {
        Object.assign(env, {
          PORT: String(this.port),
          REUSE_PORT: "1",
          HOST: listen,
          SIMULATOR: "0",
          JWT_SECRET,
          ADMIN_TOKEN,
          // Always a temp dir of this run, never ./data/log. BENCH_LOG=mem makes the feeder pick the
          // memory store (LOG_DIR='' from the environment would fall back to ./data/log).
          LOG_DIR: path.join(this.runDir, `log-${rc.name.replace(/\W+/g, "_")}-${i}`),
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

    const connected: Promise<Extract<FromClient, { t: "connected" }>>[] = [];
    for (const [i, { first, count }] of splitClients(opts.clients, opts.clientProcs).entries()) {
      const ccfg: ClientConfig = {
        index: i,
        kind: rc.kind,
        port: this.port,
        hosts,
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
      st.proc = spawnChild<FromClient>([BUN, path.join(HERE, "client.ts")], { FANOUT_CLIENT: JSON.stringify(ccfg) }, (m) => {
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
