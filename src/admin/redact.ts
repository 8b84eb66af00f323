import { redactConfig, type GatewayConfig } from "../config/config.ts";
import { deepRedact } from "../util/redact.ts";

export { deepRedact, REDACTED } from "../util/redact.ts";

/** The effective configuration as the admin API shows it: `redactConfig`, then `deepRedact`. */
export function adminConfigView(cfg: GatewayConfig): unknown {
  return deepRedact(redactConfig(cfg));
}
