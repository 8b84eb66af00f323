/** Settings every test gateway shares: repo root, known secrets, a quiet loopback environment. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Root of the repository (where src/main.ts lives). */
export const REPO_ROOT = path.resolve(import.meta.dir, "..", "..");

/** HS256 secret every harness gateway accepts unless a test overrides JWT_SECRET. */
export const JWT_SECRET = "test-jwt-secret-0123456789abcdef-0123456789";
/** Admin token for POST /publish. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

/** Environment variables of a gateway; `undefined` removes one. */
export type Env = Record<string, string | undefined>;

/** A fresh empty directory under the OS temp dir. */
export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gw-${tag}-`));
}

/**
 * Environment of a test gateway: loopback, ephemeral port, no simulator, quiet logs, a known JWT
 * secret and admin token, a generous per-IP connection limit. `overrides` win; an override of
 * `undefined` removes the default.
 */
export function testEnv(overrides: Env = {}): Env {
  const env: Env = {
    HOST: "127.0.0.1",
    PORT: "0",
    SIMULATOR: "0",
    JWT_SECRET,
    ADMIN_TOKEN,
    LOG_LEVEL: "error",
    CONNECTIONS_PER_IP_PER_MIN: "1000000",
    SHUTDOWN_GRACE_MS: "2000",
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}
