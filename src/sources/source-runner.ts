/**
 * What every broker source (Kafka, NATS, Redis Streams, ...) repeats, in one place: the start/stop
 * state, the hand-off of a batch to the gateway's sink, error counting, the abort signal that cuts
 * backoff sleeps short, and the circuit-breaker and backoff settings of its connection loop and of
 * replay. A source owns one SourceRunner and keeps only what is particular to its broker.
 */
import { Backoff, type BackoffOptions } from "./backoff.ts";
import { CircuitBreaker, type CircuitBreakerOptions } from "./circuit-breaker.ts";
import { SourceHealthTracker } from "./source-health.ts";
import type { BatchSink, SourceHealth, SourceMessage } from "./source.ts";

/** Breaker of the connection loop: a broker that is down costs a dial every cool-down, no more. */
export const CONNECT_BREAKER: Required<Omit<CircuitBreakerOptions, "now">> = { failureThreshold: 5, cooldownMs: 10_000 };
/** Breaker of replay calls: resumes fail fast while the broker cannot answer them. */
export const REPLAY_BREAKER: Required<Omit<CircuitBreakerOptions, "now">> = { failureThreshold: 3, cooldownMs: 5_000 };

/** Tuning of a {@link SourceRunner}; every field has a default. */
export interface SourceRunnerOptions {
  /** Backoff between reconnects of the read loop (default 100 ms doubling to 10 s, with jitter). */
  backoff?: BackoffOptions;
  breaker?: CircuitBreakerOptions;
  replayBreaker?: CircuitBreakerOptions;
  /**
   * Whether start() may follow stop() (the source resumes from what it delivered). Default false:
   * a second start() is refused.
   */
  restartable?: boolean;
}

/** Start/stop state, sink hand-off, error counting and retry policy of one source. */
export class SourceRunner {
  /** Totals behind health(). */
  readonly stats = new SourceHealthTracker();
  /** Delay between reconnects of the read loop, with jitter (the fleet must not reconnect in step). */
  readonly backoff: Backoff;
  readonly breaker: CircuitBreaker;
  readonly replayBreaker: CircuitBreaker;
  private readonly restartable: boolean;
  private controller = new AbortController();
  private sink: BatchSink | undefined;
  private state: "new" | "running" | "stopped" = "new";
  private stopPromise: Promise<void> | undefined;

  constructor(
    /** "kafka source main": how messages name this source. */
    readonly label: string,
    opts: SourceRunnerOptions = {},
  ) {
    this.backoff = new Backoff({ initialMs: 100, maxMs: 10_000, ...opts.backoff });
    this.breaker = new CircuitBreaker({ ...CONNECT_BREAKER, ...opts.breaker });
    this.replayBreaker = new CircuitBreaker({ ...REPLAY_BREAKER, ...opts.replayBreaker });
    this.restartable = opts.restartable ?? false;
  }

  /** True after stop() began: nothing more is delivered and errors are no longer counted. */
  get stopped(): boolean {
    return this.state === "stopped";
  }

  /** True between start() and stop(). */
  get running(): boolean {
    return this.state === "running";
  }

  /** Aborted by stop(): sleeps and waits of the read loop end early. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Takes the sink at start(); throws when the source is already running, or restarted when it may not be. */
  begin(sink: BatchSink): void {
    if (this.state === "running" || (this.state === "stopped" && !this.restartable)) {
      throw new Error(`${this.label}: start() twice`);
    }
    if (this.state === "stopped") {
      this.controller = new AbortController();
      this.stopPromise = undefined;
    }
    this.state = "running";
    this.sink = sink;
  }

  /**
   * Runs the source's stop once: concurrent and later calls get the same promise (until a
   * restartable source starts again). `stop` calls {@link halt} where its order needs it.
   */
  stopOnce(stop: () => Promise<void>): Promise<void> {
    this.stopPromise ??= (async () => {
      try {
        await stop();
      } finally {
        this.halt();
      }
    })();
    return this.stopPromise;
  }

  /** From here on nothing is delivered, errors are not counted, and the signal is aborted. */
  halt(): void {
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.sink = undefined;
    this.controller.abort();
  }

  /**
   * Hands a batch to the gateway (in this tick) and counts it. A sink that throws is the gateway's
   * bug: it is counted as an error and the source keeps reading.
   */
  deliver(batch: SourceMessage[]): void {
    if (batch.length === 0 || this.state !== "running" || !this.sink) return;
    this.stats.delivered(batch.length);
    try {
      this.sink(batch);
    } catch (err) {
      this.recordError(err);
    }
  }

  /** Counts an error (its message becomes lastError), unless the source is stopping. */
  recordError(err: unknown): void {
    if (this.state !== "stopped") this.stats.error(err);
  }

  /** The totals as SourceHealth, with the source's own view of its connection. */
  health(connected: boolean): SourceHealth {
    return this.stats.health(connected);
  }
}
