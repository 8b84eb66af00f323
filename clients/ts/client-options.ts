import type { BackoffOptions } from "./backoff.ts";
import type { Format, Position, ResumeUnavailable } from "./types.ts";

/** Why the token callback is called. */
export interface TokenRequest {
  /**
   * "initial": first connect without a token; "reconnect": before any reconnect; "expired": after
   * close 4003; "refresh": the open connection's token nears its `exp` (sent in-band, no reconnect).
   */
  reason: "initial" | "reconnect" | "expired" | "refresh";
  /** Number of this attempt since the last stable connection (1 = first retry; 0 = initial connect). */
  attempt: number;
  /** Close code of the connection that ended, if any. */
  closeCode?: number;
}

/** The part of the WebSocket constructor the client uses. */
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocket;

/** Options of a GatewayClient; only `url` is required. */
export interface GatewayClientOptions {
  /** WebSocket endpoint, e.g. `ws://localhost:8080/ws`. */
  url: string;
  /** Wire format; the app sees the same objects either way. Default "json". */
  format?: Format;
  /** Levels per side the gateway's book checksum covers (its BOOK_CHECKSUM_DEPTH). Default 25. */
  bookChecksumDepth?: number;
  /** Bearer token (JWT) for the first connect. */
  token?: string;
  /**
   * Called before every reconnect (and before the first connect when `token` is unset) to get a
   * fresh token; return undefined to keep the current one. After close 4003 it is called with
   * reason "expired". A throw counts as a failed attempt and is retried with backoff.
   */
  getToken?: (req: TokenRequest) => string | undefined | Promise<string | undefined>;
  /**
   * With `getToken`, the open connection's token is refreshed in-band this long before its `exp`
   * (at most halfway through the time left). Default 30000 ms; 0 disables in-band refresh.
   */
  refreshAheadMs?: number;
  /**
   * How the token travels: "protocol" (subprotocol `bearer.<token>`, the browser-friendly way that
   * keeps it out of URLs and access logs) or "query" (`?token=`). Default "protocol".
   */
  tokenTransport?: "protocol" | "query";
  /** Backoff of reconnects. Default 1s doubling to 30s, ±20% jitter. */
  backoff?: Partial<BackoffOptions>;
  /** Consecutive failed attempts after which the state is "offline" (still retrying). Default 8. */
  offlineAfterAttempts?: number;
  /** A connection open this long resets the attempt counter. Default 5000 ms. */
  stableAfterMs?: number;
  /** Heartbeat; false disables it. Default every 25 s, dead after 10 s of silence following a ping. */
  heartbeat?: { intervalMs: number; timeoutMs: number } | false;
  /** Opening handshake timeout. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect after close 4001 (kicked by an operator). Default false. */
  reconnectOnKick?: boolean;
  /** On a gap: "resume" (drop the frame and resume from the last seq, default) or "deliver" (report and deliver). */
  onGap?: "resume" | "deliver";
  /** Called when a stream cannot be resumed (also emitted as "resumeUnavailable"). */
  onResumeUnavailable?: (info: ResumeUnavailable) => void;
  /** Positions to resume from on the first connect (e.g. persisted by a previous page load). */
  positions?: Record<string, Position>;
  /**
   * Signed private frames (`sig`/`kid`) are verified with the keys of `GET /realtime/keys`; one
   * that does not verify is an "error" event (kind "signature"), never data. With
   * `requireSignatures`, a private (`orders.*`) frame without a signature is such an error too.
   * Default: verify, do not require.
   */
  verifySignatures?: boolean;
  requireSignatures?: boolean;
  /** HTTP base for snapshot/replay; default derived from `url` (ws -> http, without the `/ws` path). */
  httpUrl?: string;
  /** WebSocket implementation; default the global one. */
  WebSocket?: WebSocketCtor;
  /** fetch implementation; default the global one. */
  fetch?: typeof fetch;
  /** Random source for jitter (tests). */
  random?: () => number;
}
