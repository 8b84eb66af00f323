import * as jose from "jose";
import type { AuthConfig } from "../../config/config.ts";
import type { Identity } from "./identity.ts";
import { JwtVerifier } from "./jwt-verifier.ts";

/** `kid` of the gateway's own WebSocket tokens: they are verified with WS_TOKEN_SECRET only. */
export const WS_TOKEN_KID = "cexws-ws";
const ISSUER = "cex-ws-gateway";
const AUDIENCE = "cex-ws";

/**
 * Short-lived WebSocket tokens (`POST /realtime/token`): HS256 JWTs with `kid` cexws-ws, issuer
 * cex-ws-gateway and audience cex-ws, carrying the caller's sub/roles/pairs, a fresh jti, and an
 * exp at most `ttlSec` away (never past the credential they were issued for).
 */
export class WsTokenIssuer {
  private readonly key: Uint8Array;
  readonly verifier: JwtVerifier;

  constructor(private readonly cfg: AuthConfig) {
    this.key = new TextEncoder().encode(cfg.wsToken.secret);
    this.verifier = new JwtVerifier({
      secret: cfg.wsToken.secret,
      algorithms: ["HS256"],
      issuer: ISSUER,
      audience: AUDIENCE,
      clockToleranceSec: cfg.jwt.clockToleranceSec,
      requireExp: true,
    });
  }

  /** True when `token` names the gateway's WebSocket-token key (read from its header, unverified). */
  static isWsToken(token: string): boolean {
    try {
      return jose.decodeProtectedHeader(token).kid === WS_TOKEN_KID;
    } catch {
      return false;
    }
  }

  async issue(who: Identity & { userId: string }): Promise<{ token: string; exp: number }> {
    const now = Math.floor(Date.now() / 1000);
    let exp = now + this.cfg.wsToken.ttlSec;
    if (who.expiresAt !== undefined) exp = Math.min(exp, Math.floor(who.expiresAt / 1000));
    const claims: jose.JWTPayload = { roles: who.roles };
    if (who.pairs) claims.pairs = who.pairs;
    const token = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: WS_TOKEN_KID, typ: "JWT" })
      .setSubject(who.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(crypto.randomUUID())
      .sign(this.key);
    return { token, exp };
  }
}
