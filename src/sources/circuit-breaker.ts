/**
 * A small circuit breaker for broker calls.
 *
 * A broker that is down should cost the gateway nothing: after `failureThreshold` consecutive
 * failures calls fail fast for `cooldownMs` (no sockets, no timeouts piling up on the resume path),
 * then one trial call is let through (half-open) and its outcome closes or re-opens the circuit.
 */

/** closed: calls pass; open: calls fail fast; half-open: one trial call is in flight or allowed. */
export type CircuitState = "closed" | "open" | "half-open";

/** Tuning of a {@link CircuitBreaker}; every field has a default. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit (default 5). */
  failureThreshold?: number;
  /** How long the circuit stays open before a trial, ms (default 10_000). */
  cooldownMs?: number;
  /** Clock, injectable for tests (default Date.now). */
  now?: () => number;
}

/** Thrown by {@link CircuitBreaker.run} when the circuit does not allow a call. */
export class CircuitOpenError extends Error {
  constructor(readonly retryInMs: number) {
    super(`circuit open, retry in ${retryInMs} ms`);
    this.name = "CircuitOpenError";
  }
}

/** Consecutive-failure circuit breaker with a cool-down and a single half-open trial. */
export class CircuitBreaker {
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;
  private failures = 0;
  private openedAt = 0;
  private isOpen = false;
  private trialInFlight = false;

  constructor(opts: CircuitBreakerOptions = {}) {
    this.threshold = Math.max(1, opts.failureThreshold ?? 5);
    this.cooldownMs = Math.max(0, opts.cooldownMs ?? 10_000);
    this.now = opts.now ?? Date.now;
  }

  /** Current state; an open circuit whose cool-down elapsed reads as half-open. */
  get state(): CircuitState {
    if (!this.isOpen) return "closed";
    return this.trialInFlight || this.now() - this.openedAt >= this.cooldownMs ? "half-open" : "open";
  }

  /** Consecutive failures counted so far. */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** ms until a trial is allowed; 0 when a call may be attempted now. */
  remainingCooldownMs(): number {
    if (!this.isOpen) return 0;
    if (this.trialInFlight) return this.cooldownMs;
    return Math.max(0, this.openedAt + this.cooldownMs - this.now());
  }

  /**
   * Whether a call may go ahead now. In half-open state only the first caller gets true, and it
   * must report the outcome with success() or failure().
   */
  tryAcquire(): boolean {
    if (!this.isOpen) return true;
    if (this.trialInFlight || this.now() - this.openedAt < this.cooldownMs) return false;
    this.trialInFlight = true;
    return true;
  }

  /** Records a successful call: closes the circuit. */
  success(): void {
    this.failures = 0;
    this.isOpen = false;
    this.trialInFlight = false;
  }

  /** Records a failed call: a failed trial or the threshold-th failure (re)opens the circuit. */
  failure(): void {
    this.failures++;
    if (this.trialInFlight || this.failures >= this.threshold) {
      this.isOpen = true;
      this.openedAt = this.now();
    }
    this.trialInFlight = false;
  }

  /** Runs `fn` through the breaker; rejects with CircuitOpenError without calling it when open. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.tryAcquire()) throw new CircuitOpenError(this.remainingCooldownMs());
    try {
      const result = await fn();
      this.success();
      return result;
    } catch (err) {
      this.failure();
      throw err;
    }
  }
}
