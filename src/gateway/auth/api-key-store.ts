import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { AuthError, type Identity } from "./identity.ts";

/** One entry of the API keys file; only the key's SHA-256 is stored, never the key. */
export interface ApiKeyRecord {
  sha256: string;
  userId: string;
  roles?: string[];
  pairs?: string[];
}

/** API keys loaded from a file of hashed keys, looked up by the hash of what the client sends. */
export class ApiKeyStore {
  private readonly byHash = new Map<string, ApiKeyRecord>();

  constructor(records: ApiKeyRecord[]) {
    for (const r of records) this.byHash.set(r.sha256.toLowerCase(), r);
  }

  static fromFile(path: string): ApiKeyStore {
    const raw = JSON.parse(readFileSync(path, "utf8"));
    if (!Array.isArray(raw)) throw new Error(`${path}: expected an array of {sha256, userId, roles?, pairs?}`);
    raw.forEach((r, i) => {
      if (typeof r?.sha256 !== "string" || !/^[0-9a-f]{64}$/i.test(r.sha256) || typeof r.userId !== "string") {
        throw new Error(`${path}[${i}]: needs sha256 (64 hex chars) and userId`);
      }
    });
    return new ApiKeyStore(raw);
  }

  static hash(key: string): string {
    return createHash("sha256").update(key).digest("hex");
  }

  get size(): number {
    return this.byHash.size;
  }

  verify(key: string): Identity {
    const rec = this.byHash.get(ApiKeyStore.hash(key));
    if (!rec) throw new AuthError("invalid_api_key", "unknown api key");
    return { userId: rec.userId, roles: rec.roles ?? [], pairs: rec.pairs, via: "api_key" };
  }
}
