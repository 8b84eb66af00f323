import type { Identity } from "./identity.ts";

/** One revocation: every credential of a user issued up to `revokedAt`, or one token by its `jti`. */
export interface Revocation {
  kind: "user" | "jti";
  value: string;
  /** ms since epoch. */
  revokedAt: number;
  /** ms since epoch: after this the revoked tokens have expired and the entry is dropped. */
  until: number;
}

/** Longest user id or jti accepted in a revocation. */
export const MAX_REVOCATION_VALUE = 256;

/** Parses a revocation as stored or broadcast; undefined for anything malformed. */
export function parseRevocation(text: string): Revocation | undefined {
  try {
    const r = JSON.parse(text) as Partial<Revocation>;
    if ((r.kind !== "user" && r.kind !== "jti") || typeof r.value !== "string" || r.value === "" || r.value.length > MAX_REVOCATION_VALUE) return undefined;
    if (!Number.isFinite(r.revokedAt) || !Number.isFinite(r.until)) return undefined;
    return { kind: r.kind, value: r.value, revokedAt: r.revokedAt!, until: r.until! };
  } catch {
    return undefined;
  }
}

/**
 * The revocations this gateway knows, from its own admin API and from the cluster's channel. A
 * user revocation refuses that user's tokens issued at or before it (a token without `iat`, and an
 * API key, until the entry ends); a jti revocation refuses that one token.
 */
export class RevocationList {
  private readonly users = new Map<string, Revocation>();
  private readonly jtis = new Map<string, Revocation>();

  /** Adds `r`; false when it changes nothing (already known, or already over). */
  apply(r: Revocation, now = Date.now()): boolean {
    if (r.until <= now) return false;
    const map = r.kind === "user" ? this.users : this.jtis;
    const old = map.get(r.value);
    if (old && old.revokedAt >= r.revokedAt && old.until >= r.until) return false;
    map.set(r.value, { ...r, revokedAt: Math.max(r.revokedAt, old?.revokedAt ?? 0), until: Math.max(r.until, old?.until ?? 0) });
    return true;
  }

  /** Whether `who`'s credential is revoked now. */
  isRevoked(who: Identity, now = Date.now()): boolean {
    if (who.jti !== undefined) {
      const j = this.jtis.get(who.jti);
      if (j && j.until > now) return true;
    }
    if (who.userId === undefined) return false;
    const u = this.users.get(who.userId);
    if (!u || u.until <= now) return false;
    return who.issuedAt === undefined || who.issuedAt <= u.revokedAt;
  }

  /** Drops entries whose tokens have all expired. */
  prune(now = Date.now()): void {
    for (const map of [this.users, this.jtis]) for (const [k, r] of map) if (r.until <= now) map.delete(k);
  }

  get size(): number {
    return this.users.size + this.jtis.size;
  }
}
