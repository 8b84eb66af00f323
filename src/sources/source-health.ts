import type { SourceHealth } from "./source.ts";

/**
 * The running totals behind a source's health(): events handed to the sink, errors, reconnects,
 * and the last event and error. Whether the source is connected is its own to say.
 */
export class SourceHealthTracker {
  events = 0;
  errors = 0;
  reconnects = 0;
  /** ms since epoch of the last event, 0 if none yet. */
  lastEventAt = 0;
  lastError: string | undefined;

  /** Counts a batch of `n` events handed to the sink at `now`. */
  delivered(n: number, now = Date.now()): void {
    this.events += n;
    this.lastEventAt = now;
  }

  /** Counts an error; its message (or its text, for a non-Error) becomes lastError. */
  error(err: unknown): void {
    this.errors++;
    this.lastError = err instanceof Error ? err.message : String(err);
  }

  /** These totals as SourceHealth, with the source's own view of its connection. */
  health(connected: boolean): SourceHealth {
    return {
      connected,
      events: this.events,
      errors: this.errors,
      reconnects: this.reconnects,
      lastEventAt: this.lastEventAt,
      lastError: this.lastError,
    };
  }
}
