/**
 * Shared pieces of the fan-out bench (bench/fanout.ts): stream names, the event payload, the
 * latency histogram, the IPC message shapes and the publish controller both servers use.
 */

// ---- Streams and payload -----------------------------------------------------------------------

const KINDS = ["trades", "depth", "ticker"] as const;
const PAIRS = ["btc_usdt", "eth_usdt", "sol_usdt", "bnb_usdt", "xrp_usdt", "ada_usdt", "doge_usdt", "ton_usdt"];

/** The pool of stream names: trades.btc_usdt, depth.btc_usdt, ticker.btc_usdt, trades.eth_usdt, ... */
export function streamPool(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const pairIdx = Math.floor(i / KINDS.length);
    const pair = PAIRS[pairIdx] ?? `p${pairIdx}_usdt`;
    out.push(`${KINDS[i % KINDS.length]}.${pair}`);
  }
  return out;
}

/** Stream indices client `k` subscribes to: `streams` consecutive entries of the pool from k. */
export function clientStreams(k: number, streams: number, pool: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < streams; j++) out.push((k + j) % pool);
  return out;
}

/** Stream index of event `i` of batch `b`: round robin over the pool. */
export function eventStream(b: number, i: number, batch: number, pool: number): number {
  return (b * batch + i) % pool;
}

/**
 * The event payload as JSON text, ~130 bytes, the same bytes on both sides: the gateway feeder
 * hands the equivalent object to EmbeddedSource (which JSON.stringifies it with this key order),
 * the bare server concatenates this string. `p` = publisher (server process) index, `pt` = publish
 * time (ms since epoch, sub-ms), read back by the clients.
 */
export function payloadText(p: number, pt: number, id: number): string {
  return `{"p":${p},"pt":${pt},"id":${id},"price":"65012.34000000","qty":"0.01230000","side":"buy","timestamp":${Math.floor(pt)}}`;
}

export function payloadObject(p: number, pt: number, id: number): Record<string, unknown> {
  return { p, pt, id, price: "65012.34000000", qty: "0.01230000", side: "buy", timestamp: Math.floor(pt) };
}

/** Wall-clock ms with sub-ms resolution, comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

// ---- Latency histogram ---------------------------------------------------------------------------

/** Log-linear histogram of microseconds: 32 buckets per power of two (~2% resolution), 1 us .. 2^36 us. */
export class Histogram {
  static readonly SUB = 32;
  static readonly SIZE = 36 * Histogram.SUB;
  counts = new Float64Array(Histogram.SIZE);
  n = 0;

  record(us: number): void {
    let i = us <= 1 ? 0 : Math.floor(Math.log2(us) * Histogram.SUB);
    if (i >= Histogram.SIZE) i = Histogram.SIZE - 1;
    this.counts[i]!++;
    this.n++;
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
  }

  /** Sparse form for IPC: [index, count, index, count, ...]. */
  toSparse(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i]! > 0) out.push(i, this.counts[i]!);
    return out;
  }

  addSparse(s: number[]): void {
    for (let j = 0; j + 1 < s.length; j += 2) {
      this.counts[s[j]!]! += s[j + 1]!;
      this.n += s[j + 1]!;
    }
  }

  /** The value (us) at quantile q, bucket midpoint. */
  quantile(q: number): number {
    if (this.n === 0) return NaN;
    const target = q * this.n;
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      acc += this.counts[i]!;
      if (acc >= target) return Math.pow(2, (i + 0.5) / Histogram.SUB);
    }
    return Math.pow(2, Histogram.SIZE / Histogram.SUB);
  }
}

// ---- IPC -----------------------------------------------------------------------------------------

/** Orchestrator -> server process. */
export type ToServer =
  | { t: "sat"; windowBatches: number }
  | { t: "rate"; eventsPerSec: number }
  | { t: "stop" }
  | { t: "delivered"; n: number }
  | { t: "exit" };

/** Server process -> orchestrator. */
export type FromServer =
  | { t: "ready"; port: number; pid: number }
  | { t: "pub"; expected: number; batches: number; events: number; jsUs: number; jsCpuUs: number; trace?: Record<string, number> }
  | { t: "error"; message: string };

/** Orchestrator -> client process. */
export type ToClient = { t: "reset" } | { t: "hist" } | { t: "exit" };

/** Client process -> orchestrator. */
export type FromClient =
  | { t: "connected"; ok: number; failed: number; ms: number; errors: string[] }
  | { t: "recv"; counts: number[]; closed: number }
  | { t: "hist"; sparse: number[] };

/** What a server process is started with (env FANOUT_SERVER, JSON). */
export interface ServerConfig {
  index: number;
  batch: number;
  pool: number;
  /** Port to listen on; 0 = pick one (first process), then the others join it with reusePort. */
  port: number;
  host: string;
}

/** What a client process is started with (env FANOUT_CLIENT, JSON). */
export interface ClientConfig {
  index: number;
  kind: "bare" | "gateway";
  port: number;
  /** Loopback destination addresses to spread connections over (127.0.0.1, 127.0.0.2, ...). */
  hosts: string[];
  first: number;
  count: number;
  streams: number;
  pool: number;
  servers: number;
  jwtSecret: string;
  concurrency: number;
  /** Latency is sampled on every (mask+1)-th message. */
  sampleMask: number;
  connectTimeoutMs: number;
}

/**
 * Exits when the orchestrator is gone (IPC channel closed or re-parented), and after a hard
 * lifetime cap, so a crashed bench never leaves load generators or servers behind.
 */
export function dieWithParent(maxLifetimeMs: number): void {
  const parent = process.ppid;
  process.on("disconnect", () => process.exit(0));
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 500).unref();
  setTimeout(() => process.exit(3), maxLifetimeMs).unref();
}

// ---- Publish control (both servers) -----------------------------------------------------------

/**
 * Drives a server's publishing. `publishBatch()` publishes one source batch in the current tick and
 * returns how many socket deliveries it will cause; its wall time and CPU time (process.cpuUsage:
 * every thread of the process, so a GC helper running meanwhile counts) are summed. Modes:
 * - sat: closed loop, at most one batch per event-loop tick, while the deliveries not yet seen by
 *   clients stay under `windowBatches` batches (so queues stay bounded and latency means something);
 * - rate: a fixed events/s on an absolute schedule, regardless of clients.
 */
export class PublishController {
  private mode: "idle" | "sat" | "rate" = "idle";
  private expected = 0;
  private delivered = 0;
  private batches = 0;
  private events = 0;
  private jsUs = 0;
  private jsCpuUs = 0;
  private windowBatches = 2;
  private perBatch = 1;
  private scheduled = false;
  private timer?: ReturnType<typeof setTimeout>;
  private lastReport = 0;

  constructor(
    private readonly batch: number,
    private readonly publishBatch: () => number,
    private readonly send: (m: FromServer) => void,
    /** Cumulative microseconds per traced part of publishBatch, when tracing. */
    private readonly trace?: () => Record<string, number>,
  ) {}

  handle(m: ToServer): void {
    switch (m.t) {
      case "sat":
        this.stopTimers();
        this.mode = "sat";
        this.windowBatches = m.windowBatches;
        this.kick();
        return;
      case "rate":
        this.stopTimers();
        this.mode = "rate";
        this.startRate(m.eventsPerSec);
        return;
      case "stop":
        this.stopTimers();
        this.mode = "idle";
        this.report(true);
        return;
      case "delivered":
        this.delivered = m.n;
        if (this.mode === "sat") this.kick();
        return;
      case "exit":
        return;
    }
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private kick(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.satStep();
    });
  }

  private satStep(): void {
    if (this.mode !== "sat") return;
    if (this.expected - this.delivered >= this.windowBatches * this.perBatch) return; // wait for "delivered"
    this.one();
    this.kick(); // the next batch goes in a later tick, after Bun has written this one
  }

  private startRate(eventsPerSec: number): void {
    const intervalMs = (1000 * this.batch) / eventsPerSec;
    const start = performance.now();
    let k = 0;
    const step = () => {
      if (this.mode !== "rate") return;
      this.one();
      k++;
      const next = start + k * intervalMs;
      this.timer = setTimeout(step, Math.max(0, next - performance.now()));
    };
    step();
  }

  private one(): void {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const d = this.publishBatch();
    this.jsUs += (performance.now() - t0) * 1000;
    const c = process.cpuUsage(c0);
    this.jsCpuUs += c.user + c.system;
    if (d > 0) this.perBatch = d;
    this.expected += d;
    this.batches++;
    this.events += this.batch;
    this.report(false);
  }

  private report(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastReport < 5) return;
    this.lastReport = now;
    this.send({ t: "pub", expected: this.expected, batches: this.batches, events: this.events, jsUs: this.jsUs, jsCpuUs: this.jsCpuUs, trace: this.trace?.() });
  }
}
