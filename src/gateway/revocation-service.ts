import { CLOSE } from "../../protocol/close-codes.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Logger } from "../util/logger.ts";
import type { Identity } from "./auth/identity.ts";
import type { RevocationChannel, RevocationConfig } from "./auth/revocation-channel.ts";
import { RevocationList, type Revocation } from "./auth/revocation-list.ts";
import type { SessionRegistry } from "./session-registry.ts";

/** How long start() waits for the stored revocations before serving anyway (and saying so). */
const START_WAIT_MS = 5000;

/** What an operator revokes: every credential of a user, or one token by its jti. */
export type RevocationTarget = { userId: string } | { jti: string };

/**
 * Revocation across the cluster: what this gateway revokes goes to the shared channel; what any
 * gateway revoked comes back from it and closes the matching connections here with 4004, and
 * their credentials are refused at the upgrade and on refresh until the entry ends.
 */
export class RevocationService {
  readonly list = new RevocationList();
  private timer?: ReturnType<typeof setInterval>;
  /** False until the channel delivered what it stores (a gateway that starts later must know it). */
  synced: boolean;

  constructor(
    private readonly cfg: RevocationConfig,
    private readonly channel: RevocationChannel | undefined,
    private readonly sessions: SessionRegistry,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
  ) {
    this.synced = !channel;
  }

  isRevoked(who: Identity): boolean {
    return this.list.isRevoked(who);
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => this.list.prune(), 60_000);
    this.timer.unref?.();
    if (!this.channel) return;
    const started = this.channel.start((r) => this.learn(r)).then(() => (this.synced = true));
    const inTime = await Promise.race([started.then(() => true), Bun.sleep(START_WAIT_MS).then(() => false)]).catch((err: Error) => {
      this.log.error("revocation_channel_failed", { backend: this.channel!.kind, error: err.message });
      return false;
    });
    if (!inTime) this.log.warn("revocations_not_synced", { backend: this.channel.kind, note: "serving before the stored revocations were read" });
  }

  /** Revokes locally at once, then tells the cluster; resolves with the connections closed here. */
  async revoke(target: RevocationTarget): Promise<{ revocation: Revocation; closed: number }> {
    const now = Date.now();
    const kind = "userId" in target ? "user" : "jti";
    const value = "userId" in target ? target.userId : target.jti;
    const revocation: Revocation = { kind, value, revokedAt: now, until: now + this.cfg.ttlSec * 1000 };
    const closed = this.learn(revocation);
    await this.channel?.publish(revocation);
    return { revocation, closed };
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.channel?.stop();
  }

  /** Adds a revocation and closes the connections it covers; returns how many. */
  private learn(r: Revocation): number {
    if (!this.list.apply(r)) return 0;
    this.metrics.revocations.inc({ kind: r.kind });
    const candidates = r.kind === "user" ? this.sessions.ofUser(r.value) : [...this.sessions.all()].filter((s) => s.identity.jti === r.value);
    let closed = 0;
    for (const s of candidates) {
      if (s.closed || s.closing || !this.list.isRevoked(s.identity)) continue;
      s.close(CLOSE.revoked);
      closed++;
    }
    this.log.info("revocation", { kind: r.kind, target: r.value, until: new Date(r.until).toISOString(), closed });
    return closed;
  }
}
