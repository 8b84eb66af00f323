/**
 * The gateway with the web app mounted, for trying the page (and for the browser test) before
 * src/main.ts mounts it itself. Same configuration (environment variables) as `bun src/main.ts`.
 *
 *   bun clients/web/dev.ts      # then open the printed http://localhost:8080/app?token=... URL
 */
import { SignJWT } from "jose";
import { ConfigError } from "../../src/config/config-error.ts";
import { loadConfig, type GatewayConfig } from "../../src/config/config.ts";
import { Gateway } from "../../src/gateway/gateway.ts";
import { Logger } from "../../src/util/logger.ts";
import { mountWebApp } from "./serve.ts";

let cfg: GatewayConfig;
try {
  cfg = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
const log = new Logger(cfg.logLevel);
const gateway = new Gateway(cfg, { log });
const mounted = await mountWebApp(gateway);
if (!mounted.ok) process.exit(1);
await gateway.start();

if (cfg.jwtSecretGenerated && cfg.auth.jwt.secret) {
  // Dev only: a generated secret, so this token is good for this run only (as in src/main.ts).
  const user = cfg.simulator.users[0] ?? "user1";
  const token = await new SignJWT({ roles: ["trader"] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime("12h")
    .sign(new TextEncoder().encode(cfg.auth.jwt.secret));
  console.log(`\n  web app:  http://localhost:${gateway.port}${mounted.basePath}?token=${token}\n  (user ${user}; add &format=json for the JSON wire format)\n`);
} else {
  console.log(`\n  web app:  http://localhost:${gateway.port}${mounted.basePath}?token=<jwt>\n`);
}

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), cfg.limits.shutdownGraceMs + 5000).unref();
  await gateway.shutdown();
  process.exit(0);
};
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
