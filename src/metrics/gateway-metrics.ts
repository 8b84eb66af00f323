import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { STREAM_KINDS } from "../../protocol/stream-kind.ts";
import { CLOSE } from "../../protocol/close-codes.ts";
import type { SourceHealth } from "../sources/source.ts";

/**
 * What the metrics read from a running gateway at scrape time: source health, readiness, stream
 * count. Read by collect() callbacks when /metrics is scraped, never on the event path.
 */
export interface ScrapeTarget {
  readonly sources: readonly { readonly name: string; readonly kind: string; health(): SourceHealth }[];
  readonly sessions: { readonly size: number };
  readonly index: { readonly streamCount: number };
  /** The ring logs: how many, and their bytes on disk. */
  readonly logs?: { readonly size: number; diskBytes(): number };
  readiness(): { ready: boolean };
}

/** Source health read once per scrape and shared by every source metric of that scrape. */
interface HealthRead {
  at: number;
  items: { name: string; kind: string; h: SourceHealth }[];
}

/**
 * Names renamed to follow Prometheus conventions (unit suffixes), still exported under the old
 * name for one release (until 0.3.0) so dashboards and alerts can move over: old -> new.
 */
export const DEPRECATED_METRIC_NAMES: Readonly<Record<string, string>> = {
  gateway_bytes_out_total: "gateway_sent_bytes_total",
  gateway_batch_size: "gateway_batch_size_events",
  gateway_source_consumer_lag: "gateway_source_consumer_lag_messages",
};

/** Close codes Bun itself produces (no CLOSE entry), pre-created so dashboards see zeros. */
const BUN_CLOSES: [number, string][] = [
  [1001, "going_away"],
  [1005, "no_status"],
  [1006, "abnormal"],
];

/** Every AuthError code (src/gateway/auth/identity.ts). */
const AUTH_FAILURE_REASONS = ["missing_credentials", "invalid_token", "expired_token", "invalid_api_key", "auth_unavailable", "other_subject", "revoked"];

/**
 * Every Prometheus metric the gateway exports. Labels are bounded: stream kinds, sources, close
 * labels and reasons, never user ids or per-pair stream names. Hot-path metrics are updated
 * through bound children (fanout, pipeline); source health and gateway gauges are collected when
 * scraped.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  private target?: ScrapeTarget;
  private health?: HealthRead;
  /** Last totals seen per source, turning health() totals into counter increments. */
  private readonly seen = new Map<string, { reconnects: number; errors: number; events: number }>();

  // --- connections -------------------------------------------------------------------------
  readonly connections = new Gauge({ name: "gateway_connections", help: "Open WebSocket connections", registers: [this.registry] });
  readonly connectionsOpened = new Counter({ name: "gateway_connections_opened_total", help: "Accepted WebSocket connections", labelNames: ["auth"] as const, registers: [this.registry] });
  readonly connectionsClosed = new Counter({ name: "gateway_connections_closed_total", help: "Closed connections by close code label", labelNames: ["code", "reason"] as const, registers: [this.registry] });
  readonly upgradesRejected = new Counter({ name: "gateway_upgrades_rejected_total", help: "Refused upgrades by reason", labelNames: ["reason"] as const, registers: [this.registry] });
  readonly authFailures = new Counter({ name: "gateway_auth_failures_total", help: "Authentication failures by reason", labelNames: ["reason"] as const, registers: [this.registry] });
  readonly clientMessages = new Counter({ name: "gateway_client_messages_total", help: "Client requests by action", labelNames: ["action"] as const, registers: [this.registry] });
  readonly clientErrors = new Counter({ name: "gateway_client_errors_total", help: "Error frames sent by code", labelNames: ["code"] as const, registers: [this.registry] });
  readonly rateLimited = new Counter({ name: "gateway_rate_limited_total", help: "Client requests refused by the per-connection rate limit", registers: [this.registry] });
  readonly subscriptions = new Gauge({ name: "gateway_subscriptions", help: "Active stream subscriptions by stream kind", labelNames: ["kind"] as const, registers: [this.registry] });
  readonly streams = new Gauge({
    name: "gateway_streams",
    help: "Streams with at least one subscriber (collected at scrape)",
    registers: [this.registry],
    collect: () => {
      if (this.target) this.streams.set(this.target.index.streamCount);
    },
  });
  readonly ready = new Gauge({
    name: "gateway_ready",
    help: "1 when the gateway takes new clients (listening, not draining, every source connected), collected at scrape",
    registers: [this.registry],
    collect: () => {
      if (this.target) this.ready.set(this.target.readiness().ready ? 1 : 0);
    },
  });

  readonly streamLogs = new Gauge({
    name: "gateway_stream_logs",
    help: "Streams with a ring log (bounded by LOG_MAX_STREAMS), collected at scrape",
    registers: [this.registry],
    collect: () => {
      if (this.target?.logs) this.streamLogs.set(this.target.logs.size);
    },
  });
  readonly streamLogDiskBytes = new Gauge({
    name: "gateway_stream_log_disk_bytes",
    help: "Bytes the ring logs take on disk (preallocated segments), collected at scrape",
    registers: [this.registry],
    collect: () => {
      if (this.target?.logs) this.streamLogDiskBytes.set(this.target.logs.diskBytes());
    },
  });
  readonly publishRejected = new Counter({ name: "gateway_publish_rejected_total", help: "POST /publish calls refused for their body, by reason", labelNames: ["reason"] as const, registers: [this.registry] });

  // --- events in / frames out ---------------------------------------------------------------
  readonly eventsIn = new Counter({ name: "gateway_events_in_total", help: "Events routed in, by source and stream kind", labelNames: ["source", "kind"] as const, registers: [this.registry] });
  readonly eventsSkipped = new Counter({ name: "gateway_events_skipped_total", help: "Source messages skipped, by source and reason", labelNames: ["source", "reason"] as const, registers: [this.registry] });
  readonly framesOut = new Counter({ name: "gateway_frames_out_total", help: "Frames fanned out to clients, by stream kind and format", labelNames: ["kind", "format"] as const, registers: [this.registry] });
  readonly bytesOut = new Counter({ name: "gateway_sent_bytes_total", help: "Payload bytes fanned out to clients, by format", labelNames: ["format"] as const, registers: [this.registry] });
  readonly slowConsumerDrops = new Counter({ name: "gateway_slow_consumer_drops_total", help: "Clients dropped for exceeding the send buffer", registers: [this.registry] });
  readonly resumes = new Counter({ name: "gateway_resumes_total", help: "Resume requests by result", labelNames: ["result"] as const, registers: [this.registry] });
  readonly replayedEvents = new Counter({ name: "gateway_replayed_events_total", help: "Events sent by resume and replay", registers: [this.registry] });
  readonly batchSize = new Histogram({
    name: "gateway_batch_size_events",
    help: "Events per source batch published in one tick",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
    registers: [this.registry],
  });
  readonly ingestLatency = new Histogram({
    name: "gateway_source_to_gateway_seconds",
    help: "Source event time to gateway receive, sampled per batch (last event)",
    labelNames: ["source"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly publishLatency = new Histogram({
    name: "gateway_receive_to_publish_seconds",
    help: "Gateway receive to publish done for a whole batch",
    buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1],
    registers: [this.registry],
  });

  // --- sources (collected from source.health() at scrape time) -------------------------------
  readonly sourceUp = new Gauge({
    name: "gateway_source_up",
    help: "1 when the source is connected to its broker",
    labelNames: ["source", "kind"] as const,
    registers: [this.registry],
    collect: () => {
      this.sourceUp.reset();
      for (const s of this.readHealth()) this.sourceUp.set({ source: s.name, kind: s.kind }, s.h.connected ? 1 : 0);
    },
  });
  readonly sourceLag = new Gauge({
    name: "gateway_source_consumer_lag_messages",
    help: "Consumer lag in messages, where the broker can tell (Kafka)",
    labelNames: ["source"] as const,
    registers: [this.registry],
    collect: () => {
      this.sourceLag.reset();
      for (const s of this.readHealth()) if (s.h.lag !== undefined) this.sourceLag.set({ source: s.name }, s.h.lag);
    },
  });
  readonly sourceLastEventAge = new Gauge({
    name: "gateway_source_last_event_age_seconds",
    help: "Seconds since the source delivered its last event (absent until the first one)",
    labelNames: ["source"] as const,
    registers: [this.registry],
    collect: () => {
      this.sourceLastEventAge.reset();
      const now = Date.now();
      for (const s of this.readHealth()) if (s.h.lastEventAt > 0) this.sourceLastEventAge.set({ source: s.name }, Math.max(0, now - s.h.lastEventAt) / 1000);
    },
  });
  readonly sourceReconnects = new Counter({
    name: "gateway_source_reconnects_total",
    help: "Source reconnects to its broker",
    labelNames: ["source"] as const,
    registers: [this.registry],
    collect: () => this.syncTotals(),
  });
  readonly sourceErrors = new Counter({
    name: "gateway_source_errors_total",
    help: "Source errors (connection, decode)",
    labelNames: ["source"] as const,
    registers: [this.registry],
    collect: () => this.syncTotals(),
  });
  readonly sourceEvents = new Counter({
    name: "gateway_source_events_total",
    help: "Messages read by the source, before routing",
    labelNames: ["source"] as const,
    registers: [this.registry],
    collect: () => this.syncTotals(),
  });

  // --- admin ----------------------------------------------------------------------------------
  readonly adminAuthFailures = new Counter({ name: "gateway_admin_auth_failures_total", help: "Admin API requests refused for a missing or wrong token", registers: [this.registry] });
  readonly adminKicks = new Counter({ name: "gateway_admin_kicks_total", help: "Connections closed 4001 by an operator, by scope", labelNames: ["scope"] as const, registers: [this.registry] });
  readonly revocations = new Counter({ name: "gateway_revocations_total", help: "Revocations learned (own admin API or the cluster's channel), by kind", labelNames: ["kind"] as const, registers: [this.registry] });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    // Zero series for every bounded label value, so rate() and alerts see 0 rather than nothing.
    for (const c of Object.values(CLOSE)) this.connectionsClosed.inc({ code: String(c.code), reason: c.label }, 0);
    for (const [code, reason] of BUN_CLOSES) this.connectionsClosed.inc({ code: String(code), reason }, 0);
    for (const reason of AUTH_FAILURE_REASONS) this.authFailures.inc({ reason }, 0);
    for (const kind of ["user", "jti"]) this.revocations.inc({ kind }, 0);
    for (const result of ["served", "unavailable", "snapshot"]) this.resumes.inc({ result }, 0);
    for (const kind of STREAM_KINDS) {
      this.subscriptions.set({ kind }, 0);
      for (const format of ["json", "fb"]) this.framesOut.inc({ kind, format }, 0);
    }
    for (const format of ["json", "fb"]) this.bytesOut.inc({ format }, 0);
    for (const scope of ["connection", "user"]) this.adminKicks.inc({ scope }, 0);
    for (const reason of ["malformed", "unknown_stream", "too_deep", "too_large", "stream_limit"]) this.publishRejected.inc({ reason }, 0);
  }

  /**
   * Lets scrape-time collectors read `target` (the Gateway). Idempotent; also pre-creates the
   * per-source series of the sources known now.
   */
  attach(target: ScrapeTarget): void {
    if (this.target === target) return;
    this.target = target;
    this.health = undefined;
    for (const s of target.sources) for (const kind of STREAM_KINDS) this.eventsIn.inc({ source: s.name, kind }, 0);
  }

  async render(): Promise<string> {
    if (this.target) this.connections.set(this.target.sessions.size);
    return withDeprecatedNames(await this.registry.metrics());
  }

  /** Source health, read at most once per 100 ms however many collectors ask. */
  private readHealth(): HealthRead["items"] {
    const t = this.target;
    if (!t) return [];
    const now = Date.now();
    if (this.health && now - this.health.at < 100) return this.health.items;
    const items: HealthRead["items"] = [];
    for (const s of t.sources) {
      try {
        items.push({ name: s.name, kind: s.kind, h: s.health() });
      } catch {
        // A broken health() must not break the scrape; the source shows up as absent.
      }
    }
    this.health = { at: now, items };
    return items;
  }

  /** Turns the sources' running totals into counter increments (a restarted source counts again from 0). */
  private syncTotals(): void {
    for (const s of this.readHealth()) {
      let prev = this.seen.get(s.name);
      if (!prev) this.seen.set(s.name, (prev = { reconnects: 0, errors: 0, events: 0 }));
      const labels = { source: s.name };
      prev.reconnects = bump(this.sourceReconnects, labels, prev.reconnects, s.h.reconnects);
      prev.errors = bump(this.sourceErrors, labels, prev.errors, s.h.errors);
      prev.events = bump(this.sourceEvents, labels, prev.events, s.h.events);
    }
  }
}

/**
 * Appends a copy of each renamed family under its old name (text copy at scrape time, so the hot
 * path updates one metric, not two).
 */
export function withDeprecatedNames(text: string): string {
  const extra: string[] = [];
  for (const [old, now] of Object.entries(DEPRECATED_METRIC_NAMES)) {
    const series = new RegExp(`^${now}(?:_bucket|_sum|_count)?(?=[{ ])`);
    for (const line of text.split("\n")) {
      if (line.startsWith(`# HELP ${now} `)) extra.push(`# HELP ${old} DEPRECATED: renamed ${now}, removed in 0.3.0. ${line.slice(`# HELP ${now} `.length)}`);
      else if (line.startsWith(`# TYPE ${now} `)) extra.push(`# TYPE ${old} ${line.slice(`# TYPE ${now} `.length)}`);
      else if (series.test(line)) extra.push(old + line.slice(now.length));
    }
  }
  return extra.length ? `${text.replace(/\n*$/, "\n")}${extra.join("\n")}\n` : text;
}

/** Increments `c` by how much `now` moved past `prev`; returns the new reference value. */
function bump(c: Counter<"source">, labels: { source: string }, prev: number, now: number): number {
  const delta = now >= prev ? now - prev : now;
  c.inc(labels, delta);
  return now;
}
