import type { ExpirySchedule } from "./expiry-schedule.ts";
import type { Fanout } from "./fanout.ts";
import type { SessionRegistry } from "./session-registry.ts";
import type { SlowClientPolicy } from "./slow-client-policy.ts";

/**
 * The slow-client sweep runs after a published batch at most this often (and on a timer of the
 * same period for frames released later, e.g. by conflation). Shorter catches bursts before Bun's
 * hard limit; each sweep costs ~1 µs per session.
 */
export const SWEEP_INTERVAL_MS = 50;
/** How often cached topic names of streams nobody reads are dropped. */
const PRUNE_INTERVAL_MS = 60_000;

/** The gateway's periodic work: the slow-client sweep, pruning the fan-out's topic cache, token expiry. */
export class GatewayTimers {
  private timers: ReturnType<typeof setInterval>[] = [];
  private lastSweep = 0;

  constructor(
    private readonly sessions: SessionRegistry,
    private readonly fanout: Fanout,
    private readonly slow: SlowClientPolicy,
    /** Schedules itself as sessions come and go; only stopped here. */
    private readonly expiry: { stop(): void },
  ) {}

  start(): void {
    this.timers.push(setInterval(() => this.sweep(), SWEEP_INTERVAL_MS));
    this.timers.push(setInterval(() => this.fanout.prune(), PRUNE_INTERVAL_MS));
    for (const t of this.timers) t.unref?.();
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.expiry.stop();
  }

  /** Called after each source batch: sweeps at once unless a sweep ran within the interval. */
  afterBatch(): void {
    if (performance.now() - this.lastSweep >= SWEEP_INTERVAL_MS) this.sweep();
  }

  private sweep(): void {
    // Buffers only grow when frames are published; an idle gateway skips the scan.
    if (this.fanout.published === 0) return;
    this.lastSweep = performance.now();
    this.fanout.published = 0;
    this.slow.sweep(this.sessions.all());
  }
}
