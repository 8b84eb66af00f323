import type { Server } from "bun";
import { PROTOCOL_FB, PROTOCOL_FB_V1, PROTOCOL_JSON, type WireFormat } from "../../protocol/wire.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Logger } from "../util/logger.ts";
import type { Authenticator } from "./auth/authenticator.ts";
import { extractCredentials } from "./auth/credentials.ts";
import { AuthError, type Identity } from "./auth/identity.ts";
import { httpError } from "../util/http.ts";
import type { Session } from "./session.ts";
import type { IpRateLimiter } from "./ip-rate-limiter.ts";
import { ClientIpResolver } from "./client-ip.ts";

/** What the upgrade hands to the socket's open handler. */
export interface UpgradeData {
  identity: Identity;
  format: WireFormat;
  ip: string;
  /** The client offered only a retired FlatBuffers schema (PROTOCOL_FB_V1): told so and closed on open. */
  retiredSchema?: 1;
  /** Filled in by the open handler. */
  session?: Session;
}

/**
 * Authenticates at the HTTP upgrade: rate limit per IP, credentials, format negotiation. A
 * refused upgrade is an HTTP error with a short JSON reason; no socket is ever opened for it.
 */
export class UpgradeHandler {
  constructor(
    private readonly auth: Authenticator,
    private readonly ipLimiter: IpRateLimiter,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    private readonly clientIp: ClientIpResolver = new ClientIpResolver([]),
  ) {}

  async handle(req: Request, url: URL, server: Server<UpgradeData>): Promise<Response | undefined> {
    // Behind TRUSTED_PROXIES, the forwarded client; per-IP limits, logs and the admin list use it.
    const ip = this.clientIp.resolve(server.requestIP(req)?.address ?? "unknown", req.headers.get("x-forwarded-for"));
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return httpError(426, "upgrade_required", "this endpoint speaks WebSocket");
    }
    if (!this.ipLimiter.allow(ip)) {
      this.reject("ip_rate_limited", ip);
      return httpError(429, "rate_limited", "too many connections from this address", { "retry-after": String(this.ipLimiter.retryAfterSec()) });
    }
    const creds = extractCredentials(req, url);
    const format = negotiateFormat(creds.protocols, url);
    if (!format) {
      this.reject("bad_format", ip);
      return httpError(400, "bad_request", `format must be json or fb (subprotocol ${PROTOCOL_JSON} or ${PROTOCOL_FB})`);
    }
    let identity: Identity;
    try {
      identity = await this.auth.authenticate(creds);
    } catch (err) {
      const e = err instanceof AuthError ? err : new AuthError("invalid_token", "authentication failed");
      this.metrics.authFailures.inc({ reason: e.code });
      this.reject(e.code, ip);
      const status = e.code === "auth_unavailable" ? 503 : 401;
      return httpError(status, e.code, e.message);
    }
    // Browsers fail the handshake unless one offered subprotocol is echoed back.
    const offered = creds.protocols.length > 0 || creds.tokenProtocol !== undefined;
    const retired = format === "fb" && !creds.protocols.includes(PROTOCOL_FB) && creds.protocols.includes(PROTOCOL_FB_V1);
    const proto = retired
      ? PROTOCOL_FB_V1
      : creds.protocols.includes(format === "fb" ? PROTOCOL_FB : PROTOCOL_JSON)
        ? format === "fb" ? PROTOCOL_FB : PROTOCOL_JSON
        : offered ? creds.protocols[0] ?? creds.tokenProtocol : undefined;
    const ok = server.upgrade(req, {
      data: retired ? { identity, format, ip, retiredSchema: 1 } : { identity, format, ip },
      headers: proto ? { "Sec-WebSocket-Protocol": proto } : undefined,
    });
    if (!ok) {
      this.reject("upgrade_failed", ip);
      return httpError(400, "bad_request", "not a valid WebSocket upgrade");
    }
    this.log.debug("connection_accepted", { user: identity.userId, via: identity.via, ip, format });
    return undefined;
  }

  private reject(reason: string, ip: string): void {
    this.metrics.upgradesRejected.inc({ reason });
    this.log.info("connection_rejected", { reason, ip });
  }
}

/** The wire format from `?format=` or the offered subprotocols; JSON by default. */
export function negotiateFormat(protocols: string[], url: URL): WireFormat | undefined {
  const q = url.searchParams.get("format");
  if (q !== null) return q === "fb" || q === "json" ? q : undefined;
  if (protocols.includes(PROTOCOL_FB_V1) && !protocols.includes(PROTOCOL_FB) && !protocols.includes(PROTOCOL_JSON)) return "fb";
  if (protocols.includes(PROTOCOL_FB) && !protocols.includes(PROTOCOL_JSON)) return "fb";
  if (protocols.includes(PROTOCOL_FB) && protocols.indexOf(PROTOCOL_FB) < protocols.indexOf(PROTOCOL_JSON)) return "fb";
  return "json";
}
