import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Logger } from "../util/logger.ts";
import { CLOSE } from "../../protocol/close-codes.ts";
import type { Session } from "./session.ts";

/**
 * Drops clients whose send buffer grew past the limit, with close 4008 and a reason, so they
 * reconnect and resume instead of silently missing frames.
 *
 * Two layers: this sweep (soft limit = the configured send buffer) closes cleanly with a reason;
 * Bun's own `backpressureLimit` at twice that, with `closeOnBackpressureLimit`, is the hard stop
 * for a client that outruns the sweep. Bun never drops a published frame for a client it keeps
 * open, so no client ever sees a silent gap.
 */
export class SlowClientPolicy {
  constructor(
    readonly limitBytes: number,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {}

  /** Bun's hard backpressure limit that pairs with this policy. */
  get hardLimitBytes(): number {
    return this.limitBytes * 2;
  }

  /** Checks every session once; returns how many were dropped. */
  sweep(sessions: Iterable<Session>): number {
    let dropped = 0;
    for (const s of sessions) {
      if (s.closed || s.closing) continue;
      const buffered = s.conn.bufferedAmount();
      if (buffered <= this.limitBytes) continue;
      dropped++;
      this.metrics.slowConsumerDrops.inc();
      this.log.warn("client_overload", { conn: s.id, user: s.identity.userId, ip: s.remoteAddress, buffered, limit: this.limitBytes });
      s.close(CLOSE.slowConsumer, `send buffer ${buffered} bytes over ${this.limitBytes}`);
    }
    return dropped;
  }
}
