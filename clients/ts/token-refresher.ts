/**
 * Refreshes the token of an open connection before it expires: at `exp` minus a lead, it asks the
 * app's token callback for a fresh token and sends it in-band (`{"action":"auth"}`), so the
 * gateway never closes the connection with 4003. A refused refresh is reported and retried once
 * more closer to `exp`; if that fails too, the 4003 reconnect path takes over.
 */

/** What a TokenRefresher acts on. */
export interface TokenRefresherHooks {
  /** A fresh token from the app (undefined: none, keep the current one). */
  fetchToken(): Promise<string | undefined>;
  /** Sends `{"action":"auth","token"}`; resolves with the new `exp` (unix s) or rejects when refused. */
  authenticate(token: string): Promise<number | undefined>;
  /** The gateway took `token`: use it for later reconnects too. */
  accepted(token: string): void;
  /** A refresh failed (callback threw, token refused). */
  failed(err: unknown): void;
}

/** Longest delay setTimeout accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The `exp` claim (unix s) of a JWT, read without verifying it (only to schedule the refresh). */
export function jwtExp(token: string | undefined): number | undefined {
  const part = token?.split(".")[1];
  if (!part) return undefined;
  try {
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const json = JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4))) as { exp?: unknown };
    return typeof json.exp === "number" && Number.isFinite(json.exp) ? json.exp : undefined;
  } catch {
    return undefined;
  }
}

/** Schedules in-band refreshes of one connection's token. */
export class TokenRefresher {
  private timer?: ReturnType<typeof setTimeout>;
  private generation = 0;

  constructor(
    /** How long before `exp` to refresh, ms (at most half the time left). */
    private readonly leadMs: number,
    private readonly hooks: TokenRefresherHooks,
  ) {}

  /** Arms the refresh for a connection whose token expires at `exp` (unix s). */
  start(exp: number | undefined): void {
    this.stop();
    this.arm(exp, this.generation, false);
  }

  /** The connection is gone: no refresh until the next start. */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.generation++;
  }

  private arm(exp: number | undefined, gen: number, retry: boolean): void {
    if (exp === undefined) return;
    const left = exp * 1000 - Date.now();
    if (left <= 0) return; // expired already: the gateway closes with 4003 and the reconnect refreshes
    // A retry waits half of what is left; the first try refreshes `leadMs` early (or halfway).
    const wait = retry ? left / 2 : Math.max(left - this.leadMs, left / 2);
    this.timer = setTimeout(() => void this.refresh(exp, gen, retry), Math.min(wait, MAX_TIMER_MS));
  }

  private async refresh(exp: number, gen: number, retried: boolean): Promise<void> {
    if (gen !== this.generation) return;
    if (exp * 1000 - Date.now() > MAX_TIMER_MS) return this.arm(exp, gen, retried);
    try {
      const token = await this.hooks.fetchToken();
      if (gen !== this.generation) return;
      if (token === undefined) throw new Error("the token callback returned no token");
      const next = await this.hooks.authenticate(token);
      if (gen !== this.generation) return;
      this.hooks.accepted(token);
      this.arm(next ?? jwtExp(token), gen, false);
    } catch (err) {
      if (gen !== this.generation) return;
      this.hooks.failed(err);
      if (!retried) this.arm(exp, gen, true);
    }
  }
}
