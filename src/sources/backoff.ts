/**
 * Exponential backoff with jitter, shared by the source reconnect loops.
 *
 * Jitter matters here because every gateway of a fleet loses the same broker at the same moment;
 * without it they would all reconnect in lock-step and hit the broker as one thundering herd.
 */

/** Tuning of a {@link Backoff}; every field has a default. */
export interface BackoffOptions {
  /** Delay of the first retry, ms (default 100). */
  initialMs?: number;
  /** Upper bound of any delay, ms (default 30_000). */
  maxMs?: number;
  /** Growth per failed attempt (default 2). */
  factor?: number;
  /**
   * Fraction of the delay that is randomised, 0..1 (default 0.5): the delay is drawn uniformly
   * from [d * (1 - jitter), d]. 1 is "full jitter", 0 disables it.
   */
  jitter?: number;
  /** Random source in [0, 1), injectable for tests (default Math.random). */
  random?: () => number;
}

/** Exponential backoff with jitter: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private attempts = 0;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 100;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.jitter = Math.min(1, Math.max(0, opts.jitter ?? 0.5));
    this.random = opts.random ?? Math.random;
    if (!(this.initialMs >= 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1)) {
      throw new RangeError("Backoff: need 0 <= initialMs <= maxMs and factor >= 1");
    }
  }

  /** Failed attempts since the last reset. */
  get attempt(): number {
    return this.attempts;
  }

  /** The delay before the next retry, ms; counts one more failed attempt. */
  next(): number {
    // Cap the exponent so a very long outage cannot overflow to Infinity/NaN.
    const exp = Math.min(this.attempts, 64);
    this.attempts++;
    const base = Math.min(this.maxMs, this.initialMs * this.factor ** exp);
    return Math.round(base * (1 - this.jitter * this.random()));
  }

  /** Call after a success so the next failure starts again from `initialMs`. */
  reset(): void {
    this.attempts = 0;
  }
}

/**
 * Resolves after `ms`, or early (without rejecting) when `signal` aborts, so a stop() never waits
 * out a long backoff.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
