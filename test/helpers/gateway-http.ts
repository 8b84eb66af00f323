/** HTTP requests to a test gateway: /publish, plain GETs, refused upgrades, /metrics. */
import { ADMIN_TOKEN } from "./test-env.ts";

/** POST /publish with the admin token; returns status and parsed body. */
export async function publishHttp(port: number, body: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}/publish`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** GET a path; returns status, parsed JSON body (or text) and headers. */
export async function getHttp(port: number, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

/**
 * Attempts a WebSocket upgrade of `/ws` + query over HTTP and returns the HTTP answer: what a
 * refused upgrade looks like on the wire (status, JSON reason), without a WebSocket client hiding it.
 */
export async function tryUpgrade(port: number, opts: { query?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const q = opts.query ? "?" + new URLSearchParams(opts.query).toString() : "";
  return getHttp(port, `/ws${q}`, {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64"),
    "sec-websocket-version": "13",
    ...opts.headers,
  });
}

/** Prometheus text -> value of the sample `name{labels}` (labels matched as a subset); sum over matches. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const pair of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) {
      sum += Number(m[4]);
      found = true;
    }
  }
  return found ? sum : NaN;
}

/** Fetches /metrics and returns the value of one metric (see metricValue); 0 when absent. */
export async function scrapeMetric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const v = metricValue(await res.text(), name, labels);
  return Number.isNaN(v) ? 0 : v;
}
