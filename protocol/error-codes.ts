/**
 * Error codes: `code` of a WebSocket error frame and `error` of an HTTP error body. One closed set
 * each, so the server cannot send a code the docs and the client do not know.
 */

/** `code` of `{"event":"error","code":...}` on the socket. */
export type ErrorCode =
  | "bad_request"
  | "unknown_action"
  | "unknown_stream"
  | "forbidden"
  | "rate_limited"
  | "too_many_streams"
  | "resume_unavailable"
  | "invalid_token"
  | "internal";

/** Every ErrorCode, e.g. to pre-create metric series or check a decoded frame. */
export const ERROR_CODES: readonly ErrorCode[] = [
  "bad_request",
  "unknown_action",
  "unknown_stream",
  "forbidden",
  "rate_limited",
  "too_many_streams",
  "resume_unavailable",
  "invalid_token",
  "internal",
];

/** Why authentication was refused: the `error` of a refused upgrade or HTTP request (401/503). */
export type AuthErrorCode = "missing_credentials" | "invalid_token" | "expired_token" | "invalid_api_key" | "auth_unavailable" | "revoked";

/** `error` of an HTTP error body `{error, message}`. */
export type HttpErrorCode =
  | AuthErrorCode
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "no_data"
  | "unknown_stream"
  | "method_not_allowed"
  | "too_large"
  | "headers_too_large"
  | "too_deep"
  | "stream_limit"
  | "upgrade_required"
  | "rate_limited"
  | "internal"
  | "revocation_unavailable"
  | "draining";
