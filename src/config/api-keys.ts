/** The API keys file: plain data, validated by a pure function (ApiKeyStore serves the keys). */

/** One entry of the API keys file; only the key's SHA-256 is stored, never the key. */
export interface ApiKeyRecord {
  sha256: string;
  userId: string;
  roles?: string[];
  pairs?: string[];
}

/** Checks the parsed content of an API keys file; throws naming the first bad entry (`where` prefixes it). */
export function parseApiKeys(raw: unknown, where: string): ApiKeyRecord[] {
  if (!Array.isArray(raw)) throw new Error(`${where}: expected an array of {sha256, userId, roles?, pairs?}`);
  raw.forEach((r, i) => {
    if (typeof r?.sha256 !== "string" || !/^[0-9a-f]{64}$/i.test(r.sha256) || typeof r.userId !== "string") {
      throw new Error(`${where}[${i}]: needs sha256 (64 hex chars) and userId`);
    }
  });
  return raw as ApiKeyRecord[];
}
