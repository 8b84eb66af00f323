/** The gateway's HTTP endpoints (snapshot, replay) as the client reaches them. */
import { GatewayClientError } from "./client-error.ts";

/** HTTP base of the gateway: `httpUrl`, or derived from the WebSocket URL (ws -> http, without `/ws`). */
export function httpBase(wsUrl: string, httpUrl?: string): string {
  if (httpUrl) return httpUrl.replace(/\/$/, "");
  const u = new URL(wsUrl);
  u.protocol = u.protocol === "wss:" ? "https:" : "http:";
  u.pathname = u.pathname.replace(/\/ws\/?$/, "");
  u.search = "";
  u.hash = "";
  return u.toString().replace(/\/$/, "");
}

/** GET `base + path` with the bearer token; the JSON answer, or a GatewayClientError of kind "http". */
export async function getJson<T>(f: typeof fetch, base: string, path: string, token: string | undefined): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await f(base + path, { headers });
  if (!res.ok) {
    let msg = res.statusText;
    try {
      const body = (await res.json()) as { error?: string; message?: string };
      msg = `${body.error ?? res.status}: ${body.message ?? ""}`;
    } catch {
      // not JSON
    }
    throw new GatewayClientError("http", `GET ${path}: ${res.status} ${msg}`, undefined, res.status);
  }
  return (await res.json()) as T;
}
