/**
 * When the client reconnects: after which close codes, with what delay (exponential backoff with
 * jitter, the attempt count reset by a stable connection), and at once when a browser's network
 * comes back.
 */
import { CLOSE } from "../../protocol/close-codes.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";

/** Whether a connection closed with `code` is retried (protocol/close-codes.ts). */
export function shouldReconnect(code: number, reconnectOnKick: boolean): boolean {
  if (code === CLOSE.kicked.code) return reconnectOnKick;
  for (const c of Object.values(CLOSE)) if (c.code === code) return c.reconnect;
  return true; // 1001, 1005, 1006, other: the connection broke
}

/** Attempt counting and timers of reconnects. */
export class ReconnectScheduler {
  /** Consecutive failed attempts since the last stable connection. */
  attempt = 0;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private stableTimer?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly backoff: BackoffOptions,
    /** Failed attempts after which the client shows "offline" (still retrying). */
    private readonly offlineAfter: number,
    private readonly random?: () => number,
  ) {}

  /** Counts a failed attempt and cancels a pending retry; returns the next delay and whether that is "offline". */
  next(): { delayMs: number; offline: boolean } {
    clearTimeout(this.retryTimer);
    const n = this.attempt++;
    const delayMs = backoffDelay(n, this.backoff, this.random);
    return { delayMs, offline: this.attempt > this.offlineAfter };
  }

  /** Runs `retry` after `delayMs`. */
  arm(delayMs: number, retry: () => void): void {
    this.retryTimer = setTimeout(retry, delayMs);
  }

  /** Cancels a pending retry. */
  cancel(): void {
    clearTimeout(this.retryTimer);
  }

  /** Resets the attempt count once a connection has stayed up `ms` (while `stillUp()`). */
  resetWhenStable(ms: number, stillUp: () => boolean): void {
    this.stableTimer = setTimeout(() => {
      if (stillUp()) this.attempt = 0;
    }, ms);
  }

  /** The connection ended before it was stable. */
  cancelStable(): void {
    clearTimeout(this.stableTimer);
  }
}

/**
 * Browsers: calls `fn` when the network comes back. Returns the function that stops listening,
 * or undefined where there is no such event (Bun, Node).
 */
export function onNetworkOnline(fn: () => void): (() => void) | undefined {
  const g = globalThis as {
    addEventListener?: (t: string, f: () => void) => void;
    removeEventListener?: (t: string, f: () => void) => void;
    document?: unknown;
  };
  if (typeof g.addEventListener !== "function" || g.document === undefined) return undefined;
  g.addEventListener("online", fn);
  return () => g.removeEventListener?.("online", fn);
}
