import * as jose from "jose";
import type { JwtConfig } from "../../config/config.ts";
import { AuthError, type Identity } from "./identity.ts";

/**
 * Verifies JWTs with jose. Each algorithm family gets only its own key kind (the HMAC secret for
 * HS*, the public key or JWKS for the rest), so a token signed with the public key as an HMAC
 * secret (algorithm confusion) or with `alg: none` never verifies.
 */
export class JwtVerifier {
  private readonly hmacKey?: Uint8Array<ArrayBuffer>;
  /** Imported HMAC keys per algorithm: importing per verify doubled the cost of an upgrade. */
  private readonly hmacKeys = new Map<string, Promise<jose.CryptoKey>>();
  private readonly pemKeys = new Map<string, Promise<jose.CryptoKey>>();
  private readonly jwks?: ReturnType<typeof jose.createRemoteJWKSet>;

  constructor(private readonly cfg: JwtConfig) {
    if (cfg.secret) this.hmacKey = new TextEncoder().encode(cfg.secret);
    if (cfg.jwksUrl) {
      this.jwks = jose.createRemoteJWKSet(new URL(cfg.jwksUrl), {
        cacheMaxAge: 10 * 60_000,
        cooldownDuration: 30_000,
        timeoutDuration: 5_000,
      });
    }
  }

  /** True when some key is configured. */
  get enabled(): boolean {
    return !!(this.hmacKey || this.cfg.publicKeyPem || this.jwks);
  }

  async verify(token: string): Promise<Identity> {
    const options: jose.JWTVerifyOptions = {
      algorithms: this.cfg.algorithms,
      issuer: this.cfg.issuer,
      audience: this.cfg.audience,
      clockTolerance: this.cfg.clockToleranceSec,
      requiredClaims: this.cfg.requireExp ? ["exp"] : undefined,
    };
    let payload: jose.JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, (header) => this.keyFor(header), options));
    } catch (err) {
      throw toAuthError(err);
    }
    if (typeof payload.sub !== "string" || payload.sub === "") {
      throw new AuthError("invalid_token", "token has no sub claim");
    }
    return {
      userId: payload.sub,
      roles: stringList(payload.roles) ?? [],
      pairs: stringList(payload.pairs),
      via: "jwt",
      expiresAt: typeof payload.exp === "number" ? payload.exp * 1000 : undefined,
      issuedAt: typeof payload.iat === "number" ? payload.iat * 1000 : undefined,
      jti: typeof payload.jti === "string" && payload.jti !== "" ? payload.jti : undefined,
    };
  }

  private keyFor(header: jose.JWTHeaderParameters): Promise<jose.CryptoKey | Uint8Array> | Uint8Array {
    const alg = header.alg;
    if (!alg || alg === "none") throw new AuthError("invalid_token", "unsigned token");
    if (alg.startsWith("HS")) {
      if (!this.hmacKey) throw new AuthError("invalid_token", `algorithm ${alg} not accepted`);
      let key = this.hmacKeys.get(alg);
      if (!key) {
        const hash = `SHA-${alg.slice(2)}`;
        key = crypto.subtle.importKey("raw", this.hmacKey, { name: "HMAC", hash }, false, ["verify"]) as Promise<jose.CryptoKey>;
        this.hmacKeys.set(alg, key);
      }
      return key;
    }
    if (this.jwks) {
      // No key for this token is the token's problem; an unreachable key service or a bad answer
      // from it (plain JOSEError, JWKSInvalid, fetch errors) is not, and must not read as a bad token.
      return (this.jwks(header) as Promise<jose.CryptoKey>).catch((err: unknown) => {
        if (err instanceof jose.errors.JOSEError && err.constructor !== jose.errors.JOSEError && !(err instanceof jose.errors.JWKSInvalid)) throw err;
        throw new AuthError("auth_unavailable", "key service unavailable");
      });
    }
    if (this.cfg.publicKeyPem) {
      let key = this.pemKeys.get(alg);
      if (!key) {
        key = jose.importSPKI(this.cfg.publicKeyPem, alg);
        this.pemKeys.set(alg, key);
        key.catch(() => this.pemKeys.delete(alg));
      }
      return key;
    }
    throw new AuthError("invalid_token", `algorithm ${alg} not accepted`);
  }
}

function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined;
}

function toAuthError(err: unknown): AuthError {
  if (err instanceof AuthError) return err;
  if (err instanceof jose.errors.JWTExpired) return new AuthError("expired_token", "token expired");
  if (err instanceof jose.errors.JWKSTimeout || err instanceof jose.errors.JOSEError && err.code === "ERR_JWKS_TIMEOUT") {
    return new AuthError("auth_unavailable", "key service unavailable");
  }
  if (err instanceof jose.errors.JWTClaimValidationFailed) {
    if (err.reason === "missing") return new AuthError("invalid_token", `token has no ${err.claim} claim`);
    return new AuthError("invalid_token", `claim ${err.claim} invalid`);
  }
  if (err instanceof jose.errors.JOSEAlgNotAllowed) return new AuthError("invalid_token", "algorithm not accepted");
  if (err instanceof jose.errors.JWSSignatureVerificationFailed) return new AuthError("invalid_token", "bad signature");
  return new AuthError("invalid_token", "malformed token");
}
