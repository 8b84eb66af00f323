/**
 * The narrow contract every event source implements (embedded, Kafka, NATS, Redis Streams, RabbitMQ).
 *
 * A source only moves bytes off a broker; routing a message to a stream, transforming it and
 * numbering it happen once, in the gateway, after the source hands over a batch.
 */

/** One message as it came off a broker, before routing. */
export interface SourceMessage {
  /** Where it came from: Kafka topic, NATS subject, Redis stream key, RabbitMQ routing key, or the stream name (embedded). */
  origin: string;
  /** Kafka message key, Redis entry field `key`, or undefined. */
  key?: string;
  /** The payload as the producer sent it (usually JSON). */
  value: string | Uint8Array;
  /**
   * The source's own monotonically increasing position for `origin` (Kafka offset within the
   * partition, JetStream stream sequence, Redis entry id mapped to an integer, RabbitMQ stream offset). Gateways that read
   * the same source agree on it, which is what makes `seq` portable across gateways.
   */
  position?: number;
  /** Kafka partition, when there is one. */
  partition?: number;
  /** Producer or broker timestamp, ms since epoch; 0 or undefined when unknown. */
  timestamp?: number;
  /**
   * The source already named the stream (`origin`) and `value` is the event's data as is: no
   * envelope is looked for in it (the embedded source, fed by /publish and the simulator).
   */
  unwrapped?: boolean;
}

/** What became of one message of a batch: its stream and seq, or why it was skipped. */
export type IngestOutcome = { stream: string; seq: number } | { skipped: string };

/**
 * Called by a source with every batch it reads; the gateway routes, logs and publishes the whole
 * batch synchronously, in one tick, and returns one outcome per message (sources may ignore it).
 */
export type BatchSink = (batch: SourceMessage[]) => IngestOutcome[];

/** Connection state a source reports for /readyz and metrics. */
export interface SourceHealth {
  connected: boolean;
  /** Total events read since start. */
  events: number;
  /** Total errors (connection, decode) since start. */
  errors: number;
  /** Reconnects since start. */
  reconnects: number;
  /** ms since epoch of the last event, 0 if none yet. */
  lastEventAt: number;
  /** Consumer lag in messages where the broker can tell (Kafka), else undefined. */
  lag?: number;
  /** Last error message, if any. */
  lastError?: string;
}

/** A pluggable event source. */
export interface Source {
  /** Unique name from configuration, e.g. "kafka-main". */
  readonly name: string;
  /** Backend kind, a bounded metric label. */
  readonly kind: "embedded" | "kafka" | "nats" | "redis" | "rabbitmq";
  /** Connects and starts delivering batches to `sink`; resolves once the first connection is up. */
  start(sink: BatchSink): Promise<void>;
  /** Stops reading and releases connections; idempotent. */
  stop(): Promise<void>;
  /** Current health, cheap to call. */
  health(): SourceHealth;
  /**
   * Optional: messages of `origin` with position > `fromPosition`, oldest first, at most `limit`.
   * Used for resume when the ring log does not reach back far enough.
   */
  replay?(origin: string, fromPosition: number, limit: number): Promise<SourceMessage[]>;
}
