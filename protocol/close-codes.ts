/**
 * Every close code the gateway sends, with what a client should do about it. Kept in one place, in
 * the protocol leaf, so the server, the docs and the clients agree (centrifuge's disconnect.go does
 * the same). Browser-safe.
 */

/** A close code, its reason text and whether the client should reconnect. */
export interface CloseCode {
  code: number;
  /** Short machine-readable reason, sent as the close reason (<= 123 bytes with any detail). */
  reason: string;
  /** True when reconnecting (and resuming) is the expected recovery. */
  reconnect: boolean;
  /** Bounded label for metrics. */
  label: string;
}

export const CLOSE = {
  /** Normal close requested by the client or after an admin action that allows coming back. */
  normal: { code: 1000, reason: "normal", reconnect: false, label: "normal" },
  /** Abuse: too many bad or rate-limited messages. Reconnect after a pause. */
  policy: { code: 1008, reason: "policy violation", reconnect: true, label: "policy" },
  /** An inbound frame over the size limit. Bun sends this itself for oversize frames. */
  tooLarge: { code: 1009, reason: "frame too large", reconnect: true, label: "frame_too_large" },
  /** Server internal error while handling this connection. */
  internal: { code: 1011, reason: "internal error", reconnect: true, label: "internal" },
  /** The gateway is shutting down or restarting: reconnect (elsewhere) and resume. */
  restart: { code: 1012, reason: "server restart", reconnect: true, label: "restart" },
  /** The client did not keep up: its send buffer went over the limit. Reconnect and resume. */
  slowConsumer: { code: 4008, reason: "slow consumer", reconnect: true, label: "slow_consumer" },
  /** Kicked by an operator. Reconnecting is allowed but the credential may be revoked. */
  kicked: { code: 4001, reason: "kicked by operator", reconnect: false, label: "kicked" },
  /** The credential expired while connected; refresh it before reconnecting. */
  tokenExpired: { code: 4003, reason: "token_expired", reconnect: true, label: "token_expired" },
  /** The credential (or every credential of its user) was revoked: do not come back with it. */
  revoked: { code: 4004, reason: "revoked", reconnect: false, label: "revoked" },
} as const satisfies Record<string, CloseCode>;

/** Bun's own codes for closes it performs, mapped to our labels for metrics. */
export function closeLabel(code: number): string {
  for (const c of Object.values(CLOSE)) if (c.code === code) return c.label;
  if (code === 1001) return "going_away";
  if (code === 1005) return "no_status";
  // Bun drops idle sockets (no pong within the idle timeout) and backpressure overruns without a
  // close frame; both surface here as 1006.
  if (code === 1006) return "abnormal";
  return code >= 4000 ? "app_other" : "other";
}

/** Most UTF-8 bytes of a close frame's reason (RFC 6455: 125-byte payload minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Close reason with detail, clipped to the 123-byte limit of a close frame (a cut character is dropped). */
export function closeReason(c: CloseCode, detail?: string): string {
  const s = detail ? `${c.reason}: ${detail}` : c.reason;
  const bytes = utf8Encoder.encode(s);
  if (bytes.length <= MAX_CLOSE_REASON_BYTES) return s;
  return utf8Decoder.decode(bytes.subarray(0, MAX_CLOSE_REASON_BYTES)).replace(/\uFFFD$/, "");
}
