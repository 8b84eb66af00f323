import type { Logger } from "../../util/logger.ts";
import { NatsRevocationChannel } from "./nats-revocation-channel.ts";
import { RedisRevocationChannel } from "./redis-revocation-channel.ts";
import type { RevocationChannel, RevocationConfig } from "./revocation-channel.ts";

/** The configured channel, or undefined for `none` (revocations stay in this process). */
export function openRevocationChannel(cfg: RevocationConfig, log: Logger): RevocationChannel | undefined {
  if (cfg.backend === "redis") return new RedisRevocationChannel(cfg.url!, `${cfg.name}:`, log);
  if (cfg.backend === "nats") return new NatsRevocationChannel(cfg.url!, cfg.name, cfg.ttlSec, log);
  return undefined;
}
