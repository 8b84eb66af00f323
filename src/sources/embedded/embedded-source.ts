import type { BatchSink, IngestOutcome, Source, SourceHealth, SourceMessage } from "../source.ts";
import { SourceHealthTracker } from "../source-health.ts";

/** An event handed to the embedded source: a stream name and its payload. */
export interface EmbeddedEvent {
  stream: string;
  data: unknown;
}

/**
 * The in-process source: events come from the built-in market simulator or `POST /publish`.
 * It has no positions of its own, so the gateway's log numbers its streams.
 */
export class EmbeddedSource implements Source {
  readonly kind = "embedded" as const;
  private sink?: BatchSink;
  private connected = false;
  private readonly stats = new SourceHealthTracker();

  constructor(readonly name = "embedded") {}

  async start(sink: BatchSink): Promise<void> {
    this.sink = sink;
    this.connected = true;
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    this.connected = false;
  }

  health(): SourceHealth {
    return this.stats.health(this.connected);
  }

  /** Publishes a batch in one tick and returns each event's stream and seq (or why it was skipped). */
  publish(events: EmbeddedEvent[]): IngestOutcome[] {
    if (!this.sink) throw new Error(`source ${this.name} is not started`);
    const now = Date.now();
    const batch: SourceMessage[] = events.map((e) => ({ origin: e.stream, value: JSON.stringify(e.data), timestamp: now, unwrapped: true }));
    this.stats.delivered(batch.length, now);
    return this.sink(batch);
  }
}
