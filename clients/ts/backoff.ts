/** Reconnect delays: exponential backoff with a cap and symmetric jitter. */
export interface BackoffOptions {
  /** First delay, ms. Default 1000. */
  baseMs: number;
  /** Upper bound of the delay before jitter, ms. Default 30000. */
  maxMs: number;
  /** Growth factor per attempt. Default 2 (1s, 2s, 4s, 8s, 16s, 30s, 30s, ...). */
  factor: number;
  /** Relative jitter: the delay is multiplied by a random factor in [1 - jitter, 1 + jitter]. Default 0.2. */
  jitter: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000, factor: 2, jitter: 0.2 };

/** Delay before reconnect attempt `attempt` (0 = the first retry after a drop). */
export function backoffDelay(attempt: number, opts: BackoffOptions = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const raw = Math.min(opts.maxMs, opts.baseMs * Math.pow(opts.factor, Math.max(0, attempt)));
  const j = opts.jitter > 0 ? 1 + opts.jitter * (2 * random() - 1) : 1;
  return Math.max(0, Math.round(raw * j));
}
