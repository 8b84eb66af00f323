/** Credentials the harness gateway accepts (or must refuse): JWTs and API key files. */
import { SignJWT, type JWTPayload } from "jose";
import fs from "node:fs";
import path from "node:path";
import { JWT_SECRET } from "./test-env.ts";

/** Options of a minted JWT. */
export interface MintOptions {
  alg?: string;
  /** Key: HMAC secret (string) or a private CryptoKey. Defaults to JWT_SECRET. */
  key?: string | CryptoKey | Uint8Array;
  kid?: string;
  /** Seconds from now; negative for an expired token. Default 3600. `null` omits exp. */
  expInSec?: number | null;
  /** Seconds from now for nbf. */
  nbfInSec?: number;
  issuer?: string;
  audience?: string;
}

/** A signed JWT with `sub` and extra claims (roles, pairs, ...). */
export async function mintJwt(sub: string | undefined, claims: JWTPayload = {}, o: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: o.alg ?? "HS256", ...(o.kid ? { kid: o.kid } : {}) }).setIssuedAt(now);
  if (sub !== undefined) jwt.setSubject(sub);
  if (o.expInSec !== null) jwt.setExpirationTime(now + (o.expInSec ?? 3600));
  if (o.nbfInSec !== undefined) jwt.setNotBefore(now + o.nbfInSec);
  if (o.issuer) jwt.setIssuer(o.issuer);
  if (o.audience) jwt.setAudience(o.audience);
  const key = o.key ?? JWT_SECRET;
  return jwt.sign(typeof key === "string" ? new TextEncoder().encode(key) : key);
}

/** An unsigned `alg: none` token (which the gateway must refuse). */
export function unsignedJwt(sub: string, claims: Record<string, unknown> = {}): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub, iat: now, exp: now + 3600, ...claims })}.`;
}

/** A JWT the harness gateway accepts for `userId`. */
export function tokenFor(userId: string, claims: JWTPayload = {}): Promise<string> {
  return mintJwt(userId, claims);
}

/** Writes an API_KEYS_FILE of `{sha256, userId, roles?, pairs?}` for plain keys; returns its path. */
export function writeApiKeysFile(dir: string, keys: { key: string; userId: string; roles?: string[]; pairs?: string[] }[]): string {
  const p = path.join(dir, "api-keys.json");
  const recs = keys.map(({ key, ...rest }) => ({ sha256: new Bun.CryptoHasher("sha256").update(key).digest("hex"), ...rest }));
  fs.writeFileSync(p, JSON.stringify(recs));
  return p;
}
