import type { BatchSink, IngestOutcome, Source, SourceHealth, SourceMessage } from "../source.ts";

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
  private readonly stats: SourceHealth = { connected: false, events: 0, errors: 0, reconnects: 0, lastEventAt: 0 };

  constructor(readonly name = "embedded") {}

  async start(sink: BatchSink): Promise<void> {
    this.sink = sink;
    this.stats.connected = true;
  }

  async stop(): Promise<void> {
    this.sink = undefined;
    this.stats.connected = false;
  }

  health(): SourceHealth {
    return { ...this.stats };
  }

  /** Publishes a batch in one tick and returns each event's stream and seq (or why it was skipped). */
  publish(events: EmbeddedEvent[]): IngestOutcome[] {
    if (!this.sink) throw new Error(`source ${this.name} is not started`);
    const now = Date.now();
    const batch: SourceMessage[] = events.map((e) => ({ origin: e.stream, value: JSON.stringify(e.data), timestamp: now }));
    this.stats.events += batch.length;
    this.stats.lastEventAt = now;
    return this.sink(batch);
  }
}
