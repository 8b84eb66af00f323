import type { Counter, Histogram } from "prom-client";
import type { AdminView } from "./admin-view.ts";
import { bucketDelta, bucketsOf, bucketTotal, quantile, type BucketCounts } from "./histogram-quantile.ts";

/** One stream and its subscribers, for "top streams". */
export interface StreamCount {
  stream: string;
  subscribers: number;
  json: number;
  fb: number;
}

/** A source as the admin API shows it. */
export interface SourceView {
  name: string;
  kind: string;
  connected: boolean;
  events: number;
  errors: number;
  reconnects: number;
  lastEventAt: number;
  /** Seconds since the last event; null before the first one. */
  lastEventAgeSec: number | null;
  lag: number | null;
  lastError: string | null;
}

/** Percentiles in milliseconds over the latency window; null without observations. */
export interface LatencyView {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  /** Observations in the window. */
  count: number;
}

/** What one sample knows, small enough to keep minutes of history. */
export interface StatsPoint {
  /** ms since epoch. */
  ts: number;
  /** Seconds since the previous sample (the rates' denominator). */
  intervalSec: number;
  connections: number;
  streams: number;
  eventsInPerSec: number;
  framesOutPerSec: number;
  bytesOutPerSec: number;
  openedPerSec: number;
  closedPerSec: number;
  /** Slow-consumer drops in this interval. */
  drops: number;
  /** Closed connections in this interval by close reason label. */
  disconnects: Record<string, number>;
  resumesServed: number;
  resumesUnavailable: number;
  /** Authentication failures (WebSocket upgrades) in this interval by reason. */
  authFailures: Record<string, number>;
  rateLimited: number;
  /** Source event time to gateway receive, over the latency window. */
  ingestMs: LatencyView;
  /** Gateway receive to publish done, over the latency window. */
  publishMs: LatencyView;
}

/** The full snapshot pushed to dashboards every second. */
export interface StatsSnapshot extends StatsPoint {
  ready: boolean;
  /** Seconds of history the latency percentiles cover. */
  latencyWindowSec: number;
  eventsInBySource: Record<string, number>;
  totals: { eventsIn: number; framesOut: number; bytesOut: number; opened: number; closed: number; drops: number };
  sources: SourceView[];
  topStreams: StreamCount[];
}

/** Counter totals and histogram buckets read in one sample. */
interface Reading {
  at: number;
  eventsIn: number;
  eventsInBySource: Map<string, number>;
  framesOut: number;
  bytesOut: number;
  opened: number;
  closedByReason: Map<string, number>;
  drops: number;
  resumes: Map<string, number>;
  authFailures: Map<string, number>;
  rateLimited: number;
  ingest: BucketCounts;
  publish: BucketCounts;
}

export interface StatsOptions {
  intervalMs?: number;
  /** Samples of history kept for charts (default 600: ten minutes at 1 s). */
  historySize?: number;
  /** Samples the latency percentiles span (default 10). */
  latencyWindow?: number;
  topStreams?: number;
}

/**
 * Samples the gateway's counters once per interval and turns them into rates, per-interval
 * deltas and latency percentiles: what the admin SSE feed pushes. It only reads prom-client
 * values and the registries, so it adds nothing to the event path.
 */
export class AdminStats {
  readonly intervalMs: number;
  private readonly historySize: number;
  private readonly latencyWindow: number;
  private readonly topN: number;
  private readonly readings: Reading[] = [];
  private readonly points: StatsPoint[] = [];
  private latest?: StatsSnapshot;
  private timer?: ReturnType<typeof setInterval>;
  private busy = false;
  private failures = 0;
  private readonly listeners = new Set<(s: StatsSnapshot) => void>();

  constructor(
    private readonly gateway: AdminView,
    opts: StatsOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.historySize = opts.historySize ?? 600;
    this.latencyWindow = opts.latencyWindow ?? 10;
    this.topN = opts.topStreams ?? 10;
  }

  start(): void {
    if (this.timer) return;
    const tick = () =>
      this.sample().catch((err: Error) => {
        if (this.failures++ === 0) this.gateway.log.error("admin_stats_failed", { error: err.message, note: "logged once" });
      });
    void tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref?.();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  /** Calls `fn` with every new snapshot; returns the unsubscribe function. */
  subscribe(fn: (s: StatsSnapshot) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** The last snapshot (sampling now if there is none yet), with fresh sources and top streams. */
  async current(): Promise<StatsSnapshot> {
    const s = this.latest ?? (await this.sample());
    return { ...s, sources: sourceViews(this.gateway), topStreams: topStreams(this.gateway, this.topN) };
  }

  /** Up to `n` most recent points, oldest first. */
  history(n = this.historySize): StatsPoint[] {
    return this.points.slice(-n);
  }

  /** Reads every counter once and derives the snapshot; also notifies subscribers. */
  async sample(): Promise<StatsSnapshot> {
    if (this.busy && this.latest) return this.latest;
    this.busy = true;
    try {
      const r = await this.read();
      const prev = this.readings[this.readings.length - 1];
      const windowStart = this.readings[Math.max(0, this.readings.length - this.latencyWindow)];
      this.readings.push(r);
      if (this.readings.length > this.latencyWindow + 1) this.readings.shift();
      const snap = this.build(r, prev, windowStart);
      this.latest = snap;
      this.points.push(toPoint(snap));
      if (this.points.length > this.historySize) this.points.shift();
      for (const fn of this.listeners) {
        try {
          fn(snap);
        } catch {
          // A broken subscriber is its own problem.
        }
      }
      return snap;
    } finally {
      this.busy = false;
    }
  }

  private async read(): Promise<Reading> {
    const m = this.gateway.metrics;
    const [eventsIn, framesOut, bytesOut, opened, closed, drops, resumes, auth, rate, ingest, publish] = await Promise.all([
      m.eventsIn.get(),
      m.framesOut.get(),
      m.bytesOut.get(),
      m.connectionsOpened.get(),
      m.connectionsClosed.get(),
      m.slowConsumerDrops.get(),
      m.resumes.get(),
      m.authFailures.get(),
      m.rateLimited.get(),
      m.ingestLatency.get(),
      m.publishLatency.get(),
    ]);
    return {
      at: Date.now(),
      eventsIn: sum(eventsIn),
      eventsInBySource: byLabel(eventsIn, "source"),
      framesOut: sum(framesOut),
      bytesOut: sum(bytesOut),
      opened: sum(opened),
      closedByReason: byLabel(closed, "reason"),
      drops: sum(drops),
      resumes: byLabel(resumes, "result"),
      authFailures: byLabel(auth, "reason"),
      rateLimited: sum(rate),
      ingest: bucketsOf(ingest),
      publish: bucketsOf(publish),
    };
  }

  private build(r: Reading, prev: Reading | undefined, windowStart: Reading | undefined): StatsSnapshot {
    const dt = prev ? Math.max(0.001, (r.at - prev.at) / 1000) : this.intervalMs / 1000;
    const rate = (now: number, before: number | undefined) => (prev ? Math.max(0, now - (before ?? 0)) / dt : 0);
    const closedNow = total(r.closedByReason);
    const closedBefore = prev ? total(prev.closedByReason) : 0;
    // Without an earlier reading the percentiles cover everything since start.
    const windowSec = windowStart ? (r.at - windowStart.at) / 1000 : 0;
    const eventsInBySource: Record<string, number> = {};
    for (const [src, n] of r.eventsInBySource) eventsInBySource[src] = round(rate(n, prev?.eventsInBySource.get(src)));
    return {
      ts: r.at,
      intervalSec: round(dt),
      ready: this.gateway.readiness().ready,
      connections: this.gateway.sessions.size,
      streams: this.gateway.index.streamCount,
      eventsInPerSec: round(rate(r.eventsIn, prev?.eventsIn)),
      framesOutPerSec: round(rate(r.framesOut, prev?.framesOut)),
      bytesOutPerSec: round(rate(r.bytesOut, prev?.bytesOut)),
      openedPerSec: round(rate(r.opened, prev?.opened)),
      closedPerSec: round(rate(closedNow, closedBefore)),
      drops: prev ? Math.max(0, r.drops - prev.drops) : 0,
      disconnects: prev ? deltaMap(r.closedByReason, prev.closedByReason) : {},
      resumesServed: prev ? Math.max(0, (r.resumes.get("served") ?? 0) - (prev.resumes.get("served") ?? 0)) : 0,
      resumesUnavailable: prev ? Math.max(0, (r.resumes.get("unavailable") ?? 0) - (prev.resumes.get("unavailable") ?? 0)) : 0,
      authFailures: prev ? deltaMap(r.authFailures, prev.authFailures) : {},
      rateLimited: prev ? Math.max(0, r.rateLimited - prev.rateLimited) : 0,
      latencyWindowSec: round(windowSec),
      ingestMs: latency(bucketDelta(r.ingest, windowStart?.ingest)),
      publishMs: latency(bucketDelta(r.publish, windowStart?.publish)),
      eventsInBySource,
      totals: { eventsIn: r.eventsIn, framesOut: r.framesOut, bytesOut: r.bytesOut, opened: r.opened, closed: closedNow, drops: r.drops },
      // Scanning every stream is only worth it while someone watches the feed.
      sources: this.listeners.size > 0 ? sourceViews(this.gateway) : [],
      topStreams: this.listeners.size > 0 ? topStreams(this.gateway, this.topN) : [],
    };
  }
}

/** Every source with its health, for the admin API and the feed. */
export function sourceViews(gateway: Pick<AdminView, "sources">): SourceView[] {
  const now = Date.now();
  return gateway.sources.map((s) => {
    let h;
    try {
      h = s.health();
    } catch (err) {
      return { name: s.name, kind: s.kind, connected: false, events: 0, errors: 0, reconnects: 0, lastEventAt: 0, lastEventAgeSec: null, lag: null, lastError: `health() failed: ${(err as Error).message}` };
    }
    return {
      name: s.name,
      kind: s.kind,
      connected: h.connected,
      events: h.events,
      errors: h.errors,
      reconnects: h.reconnects,
      lastEventAt: h.lastEventAt,
      lastEventAgeSec: h.lastEventAt > 0 ? round(Math.max(0, now - h.lastEventAt) / 1000) : null,
      lag: h.lag ?? null,
      lastError: h.lastError ?? null,
    };
  });
}

/**
 * The `n` streams with most subscribers (ties by name), optionally only those starting with
 * `prefix`. One pass with a small sorted buffer, so a gateway with 100K per-user streams stays cheap.
 */
export function topStreams(gateway: Pick<AdminView, "index">, n: number, prefix = ""): StreamCount[] {
  const top: StreamCount[] = [];
  if (n <= 0) return top;
  for (const [stream, c] of gateway.index.entries()) {
    if (prefix && !stream.startsWith(prefix)) continue;
    const subscribers = c.json + c.fb;
    if (top.length === n && !before(subscribers, stream, top[n - 1]!)) continue;
    let i = top.length;
    while (i > 0 && before(subscribers, stream, top[i - 1]!)) i--;
    top.splice(i, 0, { stream, subscribers, json: c.json, fb: c.fb });
    if (top.length > n) top.pop();
  }
  return top;
}

function before(subs: number, stream: string, other: StreamCount): boolean {
  return subs > other.subscribers || (subs === other.subscribers && stream < other.stream);
}

function latency(b: BucketCounts): LatencyView {
  const ms = (v: number | null) => (v === null ? null : round(v * 1000, 3));
  return { p50: ms(quantile(b, 0.5)), p90: ms(quantile(b, 0.9)), p99: ms(quantile(b, 0.99)), count: bucketTotal(b) };
}

function toPoint(s: StatsSnapshot): StatsPoint {
  const { ready: _r, latencyWindowSec: _l, eventsInBySource: _e, totals: _t, sources: _s, topStreams: _ts, ...point } = s;
  return point;
}

type MetricValues = Awaited<ReturnType<Counter["get"]>> | Awaited<ReturnType<Histogram["get"]>>;

function sum(m: MetricValues): number {
  let n = 0;
  for (const v of m.values) n += v.value;
  return n;
}

function byLabel(m: MetricValues, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const v of m.values) {
    const k = String((v.labels as Record<string, unknown>)[label] ?? "");
    out.set(k, (out.get(k) ?? 0) + v.value);
  }
  return out;
}

function total(m: Map<string, number>): number {
  let n = 0;
  for (const v of m.values()) n += v;
  return n;
}

/** Positive per-key differences only (keys that did not move are left out). */
function deltaMap(now: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of now) {
    const d = v - (before.get(k) ?? 0);
    if (d > 0) out[k] = d;
  }
  return out;
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
