/**
 * The dashboard's side of the admin API: bearer requests, the SSE feed read over fetch (so the
 * token travels in a header, not the URL), and where tokens and gateway URLs are kept.
 */
import type { StatsPoint, StatsSnapshot } from "../admin-stats.ts";

const TOKENS_KEY = "cexgw.admin.tokens";
const BASE_KEY = "cexgw.admin.base";
const GATEWAYS_KEY = "cexgw.admin.gateways";

/** The admin token was refused (401). */
export class AuthError extends Error {}

/** One gateway's admin API, called with its token. */
export class AdminClient {
  constructor(
    readonly base: string,
    readonly token: string,
  ) {}

  /** GET/POST `path`; throws AuthError on 401 and Error with the server's message otherwise. */
  async call<T>(path: string, opts: RequestInit = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(this.base + path, { ...opts, cache: "no-store", headers: { ...(opts.headers as Record<string, string>), authorization: "Bearer " + this.token } });
    } catch {
      throw new Error(this.base === location.origin ? "gateway unreachable" : "gateway unreachable or this origin is not in its ADMIN_CORS_ORIGINS");
    }
    if (res.status === 401) throw new AuthError("401");
    const body = (await res.json().catch(() => ({}))) as T & { message?: string };
    if (!res.ok) throw new Error(body.message || "HTTP " + res.status);
    return body;
  }

  /**
   * Reads `/admin/api/stream` until it ends or `signal` aborts: `onOpen` once the answer is 200,
   * then `history` and `snapshot` events. Throws AuthError on 401.
   */
  async feed(signal: AbortSignal, on: { open(): void; history(points: StatsPoint[]): void; snapshot(s: StatsSnapshot): void }): Promise<void> {
    const res = await fetch(this.base + "/admin/api/stream", { headers: { authorization: "Bearer " + this.token, accept: "text/event-stream" }, signal, cache: "no-store" });
    if (res.status === 401) throw new AuthError("401");
    if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
    on.open();
    const reader = res.body.getReader();
    const dec = new TextDecoder();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += dec.decode(value, { stream: true });
      let i: number;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const raw = buf.slice(0, i);
        buf = buf.slice(i + 2);
        let event = "message";
        let data = "";
        for (const line of raw.split("\n")) {
          if (line.startsWith("event:")) event = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (!data) continue;
        if (event === "history") on.history(JSON.parse(data) as StatsPoint[]);
        else if (event === "snapshot") on.snapshot(JSON.parse(data) as StatsSnapshot);
      }
    }
  }
}

/** Tokens live in this tab's session storage, per gateway; gateway URLs (never tokens) in local storage. */
export const storage = {
  tokens(): Record<string, string> {
    try {
      return JSON.parse(sessionStorage.getItem(TOKENS_KEY) || "{}") as Record<string, string>;
    } catch {
      return {};
    }
  },
  saveToken(base: string, token: string): void {
    const t = storage.tokens();
    if (token) t[base] = token;
    else delete t[base];
    sessionStorage.setItem(TOKENS_KEY, JSON.stringify(t));
  },
  gateways(): string[] {
    try {
      return JSON.parse(localStorage.getItem(GATEWAYS_KEY) || "[]") as string[];
    } catch {
      return [];
    }
  },
  /** Puts `base` first in the recent gateways (ten kept); returns the list. */
  rememberGateway(base: string): string[] {
    const list = [base, ...storage.gateways().filter((x) => x !== base)].slice(0, 10);
    localStorage.setItem(GATEWAYS_KEY, JSON.stringify(list));
    return list;
  },
  lastBase(): string | null {
    return sessionStorage.getItem(BASE_KEY);
  },
  setLastBase(base: string): void {
    sessionStorage.setItem(BASE_KEY, base);
  },
};

/** `https://gw:8443/x` -> its origin; a bare host gets this page's scheme; empty -> this origin. */
export function normalizeBase(s: string): string {
  s = s.trim();
  if (!s) return location.origin;
  if (!/^https?:\/\//i.test(s)) s = location.protocol + "//" + s;
  return new URL(s).origin;
}
