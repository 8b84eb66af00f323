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
/** A JWT (or any JWS) anywhere in a string, e.g. in an error message or a logged URL path. */
const JWS = /\beyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*/g;
/** `Bearer <credential>` inside a string (a logged header). */
const BEARER = /\b(bearer\s+)[^\s"',;]+/gi;

/**
 * A deep copy of `value` with secrets hidden at any depth: sensitive keys, credentials inside
 * strings. Used by the logger on every field, and by the admin API on top of `redactConfig`
 * because source definitions and bindings are opaque to it.
 */
export function deepRedact(value: unknown, depth = 0): unknown {
  if (depth > 32) return REDACTED;
  if (typeof value === "string") return redactString(value);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => deepRedact(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (isSecretField(k, v)) out[k] = REDACTED;
    else out[k] = deepRedact(v, depth + 1);
  }
  return out;
}

/** `s` with credentials inside it (URL userinfo and query secrets, JWTs, bearer values) hidden. */
export function redactString(s: string): string {
  return s.replace(URL_USERINFO, `$1${REDACTED}@`).replace(SECRET_QUERY, `$1${REDACTED}`).replace(JWS, REDACTED).replace(BEARER, `$1${REDACTED}`);
}

/** Whether a field named `key` holding `value` is a secret (strings and objects under sensitive names). */
export function isSecretField(key: string, value: unknown): boolean {
  return SENSITIVE_KEY.test(key) && value !== null && value !== undefined && typeof value !== "boolean" && typeof value !== "number";
}
