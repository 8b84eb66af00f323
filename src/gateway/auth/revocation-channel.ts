import type { RevocationConfig } from "../../config/config.ts";
import type { Revocation } from "./revocation-list.ts";

/**
 * How revocations reach every gateway of a cluster: through the broker they already share, never
 * the load balancer. A channel both broadcasts new revocations and keeps them until they end, so
 * a gateway that starts (or reconnects) later learns every revocation still in force.
 */
export interface RevocationChannel {
  readonly kind: string;
  /** Starts delivering: first every revocation still in force, then new ones as they come. */
  start(onRevocation: (r: Revocation) => void): Promise<void>;
  /** Stores and broadcasts `r` (this gateway receives it back too). */
  publish(r: Revocation): Promise<void>;
  stop(): Promise<void>;
}

export type { RevocationConfig };
