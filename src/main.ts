import { mountAdmin } from "./admin/admin-api.ts";
import { mountWebApp } from "./web/web-app.ts";
import { loadConfig, type GatewayConfig } from "./config/config.ts";
import { loadConfigOrExit } from "./config/load-config-or-exit.ts";
import { demoToken } from "./gateway/auth/demo-token.ts";
import { createGateway, type AssembledGateway } from "./create-gateway.ts";
import { stopOnSignals } from "./gateway/stop-on-signals.ts";
import { createSource } from "./sources/source-factory.ts";
import { Logger } from "./util/logger.ts";

/** Entry point: `bun run start`. Loads and validates config, starts, drains on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  const cfg = loadConfigOrExit();
  const log = new Logger(cfg.logLevel);
  // A stray error in a timer or a client library is logged, not allowed to drop every client.
  process.on("unhandledRejection", (err) => log.error("unhandled_rejection", { error: String((err as Error)?.stack ?? err).slice(0, 500) }));
  process.on("uncaughtException", (err) => log.error("uncaught_exception", { error: String(err?.stack ?? err).slice(0, 500) }));
  const sources = await Promise.all(cfg.sources.map(createSource));
  const gateway = createGateway(cfg, { log, sources });
  mountAdmin(gateway);
  await mountWebApp(gateway);
  await gateway.start();
  await printQuickStart(cfg, gateway, log);

  stopOnSignals(gateway, cfg.limits.shutdownGraceMs, (signal) => log.info("signal", { signal }));
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
async function printQuickStart(cfg: GatewayConfig, gateway: AssembledGateway, log: Logger): Promise<void> {
  if (!cfg.jwtSecretGenerated && !cfg.adminTokenGenerated) return;
  log.warn("dev_secrets", { note: "JWT_SECRET and/or ADMIN_TOKEN unset: generated for this run only; set them in production" });
  const lines = [`\n  CEX WebSocket gateway listening on port ${gateway.port}`];
  const demo = await demoToken(cfg);
  if (demo) {
    const { user, token } = demo;
    lines.push(
      `  demo user:   ${user}`,
      `  demo token:  ${token}`,
      `  connect:     ws://localhost:${gateway.port}/ws?token=${token}`,
      `  then send:   {"action":"subscribe","streams":["ticker.btc_usdt","trades.btc_usdt","orders.${user}"]}`,
      `  web client:  http://localhost:${gateway.port}/app?token=${token}`,
    );
  }
  if (cfg.adminTokenGenerated) lines.push(`  admin token: ${cfg.adminToken}   (POST /publish, /admin)`);
  lines.push(`  dashboard:   http://localhost:${gateway.port}/admin   metrics: /metrics`);
  console.log(lines.join("\n") + "\n");
}

await main();
