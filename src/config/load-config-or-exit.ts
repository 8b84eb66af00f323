import { ConfigError } from "./config-error.ts";
import { loadConfig, type GatewayConfig } from "./config.ts";

/** loadConfig() for an entry point: an invalid configuration prints its problems and exits 2. */
export function loadConfigOrExit(): GatewayConfig {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
}
