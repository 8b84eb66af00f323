import { redactConfig, type GatewayConfig } from "../config/config.ts";

/** Placeholder for a hidden value. */
export const REDACTED = "[redacted]";

/**
 * Key names whose values are secrets wherever they appear (source settings are free-form: Kafka
 * SASL, NATS credentials, Redis passwords...). Booleans and numbers under such keys are kept
 * (`adminTokenGenerated` is not a secret); strings and objects are hidden.
 */
const SENSITIVE_KEY = /pass|secret|token|cred|private|cookie|authorization|api[-_]?key$|^key$|nkey|seed$|sasl|ssl\.key|signing/i;

/** `scheme://user:pass@host` */
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^@/\s]+@/gi;
/** `?password=...`, `&token=...` inside URLs and connection strings. */
const SECRET_QUERY = /([?&;](?:pass|password|secret|token|key|apikey|api_key|auth|access_token)=)[^&;#\s]*/gi;

/**
 * A deep copy of `value` with secrets hidden: sensitive keys, credentials inside URLs. Used on
 * top of `redactConfig` because source definitions and bindings are opaque to it.
 */
export function deepRedact(value: unknown, depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => deepRedact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SENSITIVE_KEY.test(k) && v !== null && v !== undefined && typeof v !== "boolean" && typeof v !== "number") out[k] = REDACTED;
    else out[k] = deepRedact(v, depth + 1);
  }
  return out;
}

function redactString(s: string): string {
  return s.replace(URL_USERINFO, `$1${REDACTED}@`).replace(SECRET_QUERY, `$1${REDACTED}`);
}

/** The effective configuration as the admin API shows it: `redactConfig`, then `deepRedact`. */
export function adminConfigView(cfg: GatewayConfig): unknown {
  return deepRedact(redactConfig(cfg));
}
