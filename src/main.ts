import { SignJWT } from "jose";
import { mountAdmin } from "./admin/admin-api.ts";
import { mountWebApp } from "../clients/web/serve.ts";
import { ConfigError } from "./config/config-error.ts";
import { loadConfig, type GatewayConfig } from "./config/config.ts";
import { Gateway } from "./gateway/gateway.ts";
import { createSource } from "./sources/source-factory.ts";
import { Logger } from "./util/logger.ts";

/** Entry point: `bun run start`. Loads and validates config, starts, drains on SIGTERM/SIGINT. */
async function main(): Promise<void> {
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
  // A stray error in a timer or a client library is logged, not allowed to drop every client.
  process.on("unhandledRejection", (err) => log.error("unhandled_rejection", { error: String((err as Error)?.stack ?? err).slice(0, 500) }));
  process.on("uncaughtException", (err) => log.error("uncaught_exception", { error: String(err?.stack ?? err).slice(0, 500) }));
  const sources = await Promise.all(cfg.sources.map(createSource));
  const gateway = new Gateway(cfg, { log, sources });
  mountAdmin(gateway);
  await mountWebApp(gateway);
  await gateway.start();
  await printQuickStart(cfg, gateway, log);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("signal", { signal });
    // A hard bound on exit even if something hangs while draining.
    setTimeout(() => process.exit(1), cfg.limits.shutdownGraceMs + 5000).unref();
    await gateway.shutdown();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  // Config reload: bindings are re-read from CONFIG_FILE and swapped in without dropping clients.
  process.on("SIGHUP", () => {
    try {
      gateway.router.set(loadConfig().bindings);
      log.info("bindings_reloaded", { count: gateway.router.bindings().length });
    } catch (err) {
      log.error("bindings_reload_failed", { error: (err as Error).message });
    }
  });
}

/** In dev (generated secrets), prints a demo token per simulated user and the admin token. */
async function printQuickStart(cfg: GatewayConfig, gateway: Gateway, log: Logger): Promise<void> {
  if (!cfg.jwtSecretGenerated && !cfg.adminTokenGenerated) return;
  log.warn("dev_secrets", { note: "JWT_SECRET and/or ADMIN_TOKEN unset: generated for this run only; set them in production" });
  const lines = [`\n  CEX WebSocket gateway listening on port ${gateway.port}`];
  if (cfg.jwtSecretGenerated && cfg.auth.jwt.secret) {
    const key = new TextEncoder().encode(cfg.auth.jwt.secret);
    const user = cfg.simulator.users[0] ?? "user1";
    const token = await new SignJWT({ roles: ["trader"] }).setProtectedHeader({ alg: "HS256" }).setSubject(user).setIssuedAt().setExpirationTime("12h").sign(key);
    lines.push(
      `  demo user:   ${user}`,
      `  demo token:  ${token}`,
      `  connect:     ws://localhost:${gateway.port}/ws?token=${token}`,
      `  then send:   {"action":"subscribe","streams":["ticker.btc_usdt","trades.btc_usdt","orders.${user}"]}`,
    );
  }
  if (cfg.adminTokenGenerated) lines.push(`  admin token: ${cfg.adminToken}   (POST /publish, /admin)`);
  console.log(lines.join("\n") + "\n");
}

await main();
