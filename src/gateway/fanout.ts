import { streamKind, type StreamKind } from "../../protocol/stream-kind.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import { DataFrames } from "./data-frames.ts";
import type { SubscriptionIndex } from "./subscription-index.ts";

/** Bun's server.publish, narrowed so the fan-out can run against a fake in tests. */
export interface TopicPublisher {
  publish(topic: string, frame: string | Uint8Array): number;
}

/** Pre-built topic names of one stream, so the hot path concatenates no strings. */
interface StreamTopics {
  json: string;
  fb: string;
  // Bound metric children: label lookups per event would cost more than the publish itself.
  jsonFrames: { inc(n: number): void };
  fbFrames: { inc(n: number): void };
}

/**
 * Publishes events to Bun's native topics: each event is encoded once per wire format that has
 * subscribers (never per client), and not at all when nobody is subscribed.
 */
export class Fanout {
  private readonly topics = new Map<string, StreamTopics>();
  /** Frames handed to Bun since the last slow-client sweep; lets the sweep skip idle periods. */
  published = 0;
  private readonly jsonBytes: { inc(n: number): void };
  private readonly fbBytes: { inc(n: number): void };

  constructor(
    private readonly publisher: TopicPublisher,
    private readonly index: SubscriptionIndex,
    private readonly metrics: GatewayMetrics,
    private readonly frames = new DataFrames(),
  ) {
    this.jsonBytes = metrics.bytesOut.labels({ format: "json" });
    this.fbBytes = metrics.bytesOut.labels({ format: "fb" });
  }

  publish(ev: StreamEvent): void {
    const subs = this.index.get(ev.stream);
    if (subs === undefined) return;
    let t = this.topics.get(ev.stream);
    if (t === undefined) {
      const kind: StreamKind = streamKind(ev.stream);
      t = {
        json: "j:" + ev.stream,
        fb: "f:" + ev.stream,
        jsonFrames: this.metrics.framesOut.labels({ kind, format: "json" }),
        fbFrames: this.metrics.framesOut.labels({ kind, format: "fb" }),
      };
      this.topics.set(ev.stream, t);
    }
    if (subs.json > 0) {
      const frame = this.frames.json(ev);
      this.publisher.publish(t.json, frame);
      t.jsonFrames.inc(subs.json);
      // UTF-8 bytes on the wire, not UTF-16 units: non-ASCII payloads (names, memos) count right.
      this.jsonBytes.inc(Buffer.byteLength(frame, "utf8") * subs.json);
    }
    if (subs.fb > 0) {
      const frame = this.frames.fb(ev);
      this.publisher.publish(t.fb, frame);
      t.fbFrames.inc(subs.fb);
      this.fbBytes.inc(frame.byteLength * subs.fb);
    }
    this.published++;
  }

  /** Drops cached topic names of streams nobody reads any more (called from a slow timer). */
  prune(): void {
    for (const s of this.topics.keys()) if (this.index.get(s) === undefined) this.topics.delete(s);
  }
}
