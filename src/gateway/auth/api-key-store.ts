import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { parseApiKeys, type ApiKeyRecord } from "../../config/api-keys.ts";
import { AuthError, type Identity } from "./identity.ts";

/** API keys loaded from a file of hashed keys, looked up by the hash of what the client sends. */
export class ApiKeyStore {
  private readonly byHash = new Map<string, ApiKeyRecord>();

  constructor(records: ApiKeyRecord[]) {
    for (const r of records) this.byHash.set(r.sha256.toLowerCase(), r);
  }

  static fromFile(path: string): ApiKeyStore {
    return new ApiKeyStore(parseApiKeys(JSON.parse(readFileSync(path, "utf8")), path));
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
