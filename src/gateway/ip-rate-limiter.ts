/**
 * Counts new connections per source IP in fixed one-minute windows; a reconnect storm from one
 * address is refused with HTTP 429 before any auth work is done.
 */
export class IpRateLimiter {
  private window = 0;
  private counts = new Map<string, number>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  allow(ip: string): boolean {
    const w = Math.floor(this.now() / 60_000);
    if (w !== this.window) {
      // Dropping the whole map each minute bounds memory by the IPs seen in one minute.
      this.window = w;
      this.counts = new Map();
    }
    const n = (this.counts.get(ip) ?? 0) + 1;
    this.counts.set(ip, n);
    return n <= this.perMinute;
  }

  /** Seconds until the current window ends, for Retry-After. */
  retryAfterSec(): number {
    return 60 - Math.floor((this.now() % 60_000) / 1000);
  }
}
