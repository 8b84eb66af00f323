import { Redis } from "ioredis";
import type { Logger } from "../../util/logger.ts";
import type { RevocationChannel } from "./revocation-channel.ts";
import { parseRevocation, type Revocation } from "./revocation-list.ts";

/** A full re-read of the stored revocations this often, in case a broadcast was missed. */
const RESYNC_MS = 30_000;

/**
 * Revocations in Redis: one key per revocation (`<prefix>user:<id>` / `<prefix>jti:<jti>`) that
 * expires with the tokens it refuses, plus a PUBLISH on `<prefix>events`. A gateway subscribes
 * first and then reads every stored key, so nothing published in between is lost; it re-reads on
 * every reconnect (pub/sub drops messages while disconnected) and every 30 s.
 */
export class RedisRevocationChannel implements RevocationChannel {
  readonly kind = "redis";
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private timer?: ReturnType<typeof setInterval>;
  private onRevocation?: (r: Revocation) => void;

  constructor(
    url: string,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {
    const retryStrategy = (n: number) => Math.min(5000, 100 * 2 ** Math.min(n, 6));
    this.cmd = new Redis(url, { retryStrategy, maxRetriesPerRequest: 2, connectionName: "cex-ws-gateway:revocations", lazyConnect: true });
    // The subscriber waits out an outage (its SUBSCRIBE is re-sent by ioredis after a reconnect).
    this.sub = new Redis(url, { retryStrategy, maxRetriesPerRequest: null, connectionName: "cex-ws-gateway:revocations:sub", lazyConnect: true });
    for (const r of [this.cmd, this.sub]) r.on("error", (err: Error) => this.log.warn("revocation_channel_error", { backend: "redis", error: err.message }));
  }

  private get channel(): string {
    return `${this.prefix}events`;
  }

  async start(onRevocation: (r: Revocation) => void): Promise<void> {
    this.onRevocation = onRevocation;
    this.sub.on("message", (_ch: string, text: string) => this.deliver(text));
    // After a reconnect the subscription is restored by ioredis; what was published meanwhile is read back.
    this.sub.on("ready", () => void this.resync());
    this.cmd.connect().catch(() => {}); // retried by ioredis; commands wait for it
    this.sub.connect().catch(() => {});
    await this.sub.subscribe(this.channel);
    await this.resync();
    this.timer = setInterval(() => void this.resync(), RESYNC_MS);
    this.timer.unref?.();
  }

  async publish(r: Revocation): Promise<void> {
    const ttl = Math.max(1, r.until - Date.now());
    const text = JSON.stringify(r);
    await this.cmd.multi().set(`${this.prefix}${r.kind}:${r.value}`, text, "PX", ttl).publish(this.channel, text).exec();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.sub.disconnect();
    this.cmd.disconnect();
  }

  private deliver(text: string): void {
    const r = parseRevocation(text);
    if (r) this.onRevocation?.(r);
    else this.log.warn("revocation_malformed", { backend: "redis" });
  }

  /** Reads every stored revocation (SCAN + MGET). */
  private async resync(): Promise<void> {
    try {
      for (const kind of ["user", "jti"]) {
        let cursor = "0";
        do {
          const [next, keys] = await this.cmd.scan(cursor, "MATCH", `${this.prefix}${kind}:*`, "COUNT", 1000);
          cursor = next;
          if (keys.length) for (const text of await this.cmd.mget(...keys)) if (text) this.deliver(text);
        } while (cursor !== "0");
      }
    } catch (err) {
      this.log.warn("revocation_resync_failed", { backend: "redis", error: (err as Error).message });
    }
  }
}
