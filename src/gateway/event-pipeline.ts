import { streamKind } from "../../protocol/stream-kind.ts";
import { StreamLimitError, type LogStore, type StreamLog } from "../log/log-store.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { DeferredSink, MessageRouter, RoutedEvent } from "../sources/routing/message-router.ts";
import type { IngestOutcome, SourceMessage } from "../sources/source.ts";
import type { Logger } from "../util/logger.ts";
import type { DepthService } from "../books/depth-service.ts";
import type { ViewCommit } from "../books/depth-views.ts";
import type { Fanout } from "./fanout.ts";
import type { KnownStreams } from "./stream-policy.ts";
import type { StreamOrigins } from "./stream-origins.ts";

/** How often a refusal for the stream-log limit is logged again while refusals go on. */
const LIMIT_LOG_EVERY_MS = 10_000;

/**
 * The hot path: a source batch is routed, numbered, appended to each stream's log and fanned out,
 * all synchronously in one tick so Bun coalesces each socket's frames into one write.
 */
export class EventPipeline<R extends MessageRouter = MessageRouter> {
  /** Skip reasons already logged per source, so a flood of bad messages logs once per kind. */
  private readonly loggedSkips = new Set<string>();
  private readonly eventsInChildren = new Map<string, { inc(): void }>();
  /** Logs of the streams admitted so far: one lookup per event, the checks run once per stream. */
  private readonly admitted = new Map<string, StreamLog>();
  private limitLoggedAt = 0;
  private limitRefusals = 0;
  /** Order books of depth streams: every depth event is stamped against its book before logging. */
  readonly depth?: DepthService;

  /** The router, built with this pipeline's commit as the sink of events it releases later. */
  readonly router: R;

  constructor(
    createRouter: (deferred: DeferredSink) => R,
    private readonly logs: LogStore,
    private readonly fanout: Fanout,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    /** Which streams exist: nothing else gets a log or a subscriber, whichever source names it. */
    private readonly known: KnownStreams,
    /** Where each stream comes from; shared with the log store (epochs) and resume (source fallback). */
    readonly origins: StreamOrigins,
    /** Builds the order books, given this pipeline's commit for the views they release. */
    createDepth?: (commitView: ViewCommit) => DepthService,
  ) {
    this.router = createRouter((source, ev) => this.commit(source, ev));
    this.depth = createDepth?.((stream, data) => this.commit("depth_views", { stream, data, sourceTs: 0 }));
  }

  /** Stops the router's timers: nothing is released into the pipeline after this. */
  stop(): void {
    this.router.stop?.();
  }

  ingest(source: string, batch: SourceMessage[]): IngestOutcome[] {
    const t0 = performance.now();
    const now = Date.now();
    const out: IngestOutcome[] = new Array(batch.length);
    let lastSourceTs = 0;
    for (let i = 0; i < batch.length; i++) {
      const msg = batch[i]!;
      let routed: RoutedEvent | string;
      try {
        routed = this.router.route(source, msg);
      } catch (err) {
        // A transform bug must cost one message, never the stream behind it.
        routed = "malformed";
        this.logSkipOnce(source, "router_error", { error: (err as Error).message });
      }
      if (typeof routed === "string") {
        out[i] = this.skip(source, routed, msg.origin);
        continue;
      }
      if (!this.origins.has(routed.stream) && this.admitted.has(routed.stream)) this.noteOrigin(source, routed, msg);
      out[i] = this.commit(source, routed, now, msg);
      if (routed.sourceTs > 0) lastSourceTs = routed.sourceTs;
    }
    this.metrics.batchSize.observe(batch.length);
    if (lastSourceTs > 0) this.metrics.ingestLatency.observe({ source }, Math.max(0, now - lastSourceTs) / 1000);
    const ms = performance.now() - t0;
    this.metrics.publishLatency.observe(ms / 1000);
    // The seed's onMessageDispatch, per batch (per event would flood the log at these rates).
    if (this.log.enabled("debug")) this.log.debug("dispatch", { source, events: batch.length, ms: Math.round(ms * 1000) / 1000 });
    return out;
  }

  /** Numbers, logs and publishes one routed event (also the way in for conflated events released later). */
  commit(source: string, routed: RoutedEvent, now = Date.now(), msg?: SourceMessage): IngestOutcome {
    const log = this.admitted.get(routed.stream) ?? this.admit(source, routed, msg);
    if (typeof log === "string") return this.skip(source, log, routed.stream);
    const head = log.position().head;
    const seq = routed.seq ?? head + 1;
    if (seq <= head) {
      // Redelivery after a source reconnect, or a second producer: the log already has it.
      return this.skip(source, "duplicate", routed.stream);
    }
    let data = routed.data;
    const depth = this.depth?.handles(routed.stream) ? this.depth.stamp(routed.stream, data, now) : undefined;
    if (depth !== undefined) {
      if ("skip" in depth) {
        if (depth.detail) this.logSkipOnce(source, "bad_depth", { stream: routed.stream, error: depth.detail });
        return this.skip(source, depth.skip, routed.stream);
      }
      data = depth.data;
    }
    const value = depth !== undefined ? depth.payload : routed.value;
    const ev: StreamEvent = { stream: routed.stream, seq, prev: head, data, sourceTs: routed.sourceTs, gatewayTs: now, value };
    log.append(ev);
    this.fanout.publish(ev);
    ev.value = undefined; // a memory log keeps the event: not its parsed copy
    this.eventsInCounter(source, ev.stream).inc();
    if (depth !== undefined) this.depth!.committed(ev.stream, depth.payload);
    return { stream: ev.stream, seq };
  }

  /**
   * First event of a stream: refuses names the policy does not know (whatever router or payload
   * produced them) and new streams over the log limit, loudly; an existing log is never evicted.
   */
  private admit(source: string, routed: RoutedEvent, msg: SourceMessage | undefined): StreamLog | "unknown_stream" | "stream_limit" {
    const stream = routed.stream;
    if (!this.known.isKnown(stream)) return "unknown_stream";
    // Before the log is opened: its epoch depends on where the stream comes from.
    if (msg && !this.origins.has(stream)) this.noteOrigin(source, routed, msg);
    let log: StreamLog;
    try {
      log = this.logs.get(stream);
    } catch (err) {
      if (!(err instanceof StreamLimitError)) throw err;
      this.origins.delete(stream);
      this.limitRefusals++;
      const now = Date.now();
      if (now - this.limitLoggedAt >= LIMIT_LOG_EVERY_MS) {
        this.limitLoggedAt = now;
        this.log.error("stream_log_limit", { source, stream, limit: err.limit, refused: this.limitRefusals, note: "new streams are refused until logs are removed or LOG_MAX_STREAMS is raised" });
        this.limitRefusals = 0;
      }
      return "stream_limit";
    }
    this.admitted.set(stream, log);
    return log;
  }

  private noteOrigin(source: string, routed: RoutedEvent, msg: SourceMessage): void {
    this.origins.learn(routed.stream, { source, origin: msg.origin, positional: routed.seq !== undefined && routed.seq === msg.position });
  }

  /** Bound counter child per source and stream kind; label hashing per event is too slow. */
  private eventsInCounter(source: string, stream: string): { inc(): void } {
    const kind = streamKind(stream);
    const key = source + "\u0000" + kind;
    let c = this.eventsInChildren.get(key);
    if (c === undefined) {
      c = this.metrics.eventsIn.labels({ source, kind });
      this.eventsInChildren.set(key, c);
    }
    return c;
  }

  private skip(source: string, reason: string, origin: string): IngestOutcome {
    this.metrics.eventsSkipped.inc({ source, reason });
    if (reason !== "duplicate" && reason !== "conflated" && reason !== "filtered") this.logSkipOnce(source, reason, { origin });
    return { skipped: reason };
  }

  private logSkipOnce(source: string, reason: string, fields: Record<string, unknown>): void {
    const key = source + "/" + reason;
    if (this.loggedSkips.has(key)) return;
    this.loggedSkips.add(key);
    this.log.warn("source_message_skipped", { source, reason, ...fields, note: "logged once per source and reason; see gateway_events_skipped_total" });
  }
}
