/**
 * What the admin API and dashboard see of the gateway: a narrow, read-mostly view (as metrics has
 * its ScrapeTarget), so admin never imports the gateway and the gateway never imports admin. The
 * Gateway satisfies it structurally; main hands it over.
 */
import type { CloseCode } from "../../protocol/close-codes.ts";
import type { WireFormat } from "../../protocol/wire.ts";
import type { GatewayConfig } from "../config/config.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Source } from "../sources/source.ts";
import type { RouteHandler } from "../util/http.ts";
import type { Logger } from "../util/logger.ts";

/** One connection as admin lists it, and the one thing admin does to it: close it. */
export interface AdminSession {
  readonly id: number;
  readonly identity: { readonly userId?: string; readonly via: string };
  readonly format: WireFormat;
  readonly remoteAddress: string;
  readonly openedAt: number;
  readonly streams: ReadonlySet<string>;
  readonly resuming: ReadonlyMap<string, unknown>;
  readonly closed: boolean;
  readonly closing: boolean;
  readonly conn: { bufferedAmount(): number };
  close(c: CloseCode, detail?: string): void;
}

/** The gateway as admin sees it. */
export interface AdminView {
  readonly cfg: GatewayConfig;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  /** Extra routes of the gateway's HTTP server; admin adds its own. */
  readonly routes: RouteHandler[];
  readonly sources: readonly Source[];
  readonly sessions: {
    readonly size: number;
    all(): Iterable<AdminSession>;
    ofUser(userId: string): AdminSession[];
    get(id: number): AdminSession | undefined;
  };
  readonly index: {
    readonly streamCount: number;
    entries(): Iterable<[stream: string, subscribers: { json: number; fb: number }]>;
  };
  readiness(): { ready: boolean; sources: Record<string, unknown> };
}
