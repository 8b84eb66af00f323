import { streamKind } from "../../protocol/stream-kind.ts";
import type { LogStore } from "../log/log-store.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { MessageRouter, RoutedEvent } from "../sources/routing/message-router.ts";
import type { IngestOutcome, SourceMessage } from "../sources/source.ts";
import type { Logger } from "../util/logger.ts";
import type { Fanout } from "./fanout.ts";

/** Where a stream's events come from, learnt as they arrive; used by resume's source fallback. */
export interface StreamOrigin {
  source: string;
  origin: string;
  /** True when seq is the source position, so the source can replay by seq. */
  positional: boolean;
}

/**
 * The hot path: a source batch is routed, numbered, appended to each stream's log and fanned out,
 * all synchronously in one tick so Bun coalesces each socket's frames into one write.
 */
export class EventPipeline {
  /** Skip reasons already logged per source, so a flood of bad messages logs once per kind. */
  private readonly loggedSkips = new Set<string>();
  private readonly eventsInChildren = new Map<string, { inc(): void }>();
  readonly origins = new Map<string, StreamOrigin>();

  constructor(
    private readonly router: MessageRouter,
    private readonly logs: LogStore,
    private readonly fanout: Fanout,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

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
      if (!this.origins.has(routed.stream)) {
        this.origins.set(routed.stream, { source, origin: msg.origin, positional: routed.seq !== undefined && routed.seq === msg.position });
      }
      out[i] = this.commit(source, routed, now);
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
  commit(source: string, routed: RoutedEvent, now = Date.now()): IngestOutcome {
    const log = this.logs.get(routed.stream);
    const head = log.position().head;
    const seq = routed.seq ?? head + 1;
    if (seq <= head) {
      // Redelivery after a source reconnect, or a second producer: the log already has it.
      return this.skip(source, "duplicate", routed.stream);
    }
    const ev: StreamEvent = { stream: routed.stream, seq, prev: head, data: routed.data, sourceTs: routed.sourceTs, gatewayTs: now };
    log.append(ev);
    this.fanout.publish(ev);
    this.eventsInCounter(source, ev.stream).inc();
    return { stream: ev.stream, seq };
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
