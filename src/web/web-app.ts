/**
 * Serves the live page (clients/web) from the gateway at `/app`. The page's TypeScript is bundled
 * with Bun.build when the gateway starts, into memory: nothing is written to disk, so there is no
 * build step and no stale artifact. The page is read by path, never imported, so the server and
 * the clients stay apart. Wired in src/main.ts:
 *
 *   await mountWebApp(gateway);
 *
 * Routes: GET {basePath} (and {basePath}/) -> the page, {basePath}/app.js, {basePath}/app.css.
 * The returned promise never rejects: a failed build is logged and the routes answer 500, so the
 * gateway itself keeps serving.
 */
import path from "node:path";
import type { RouteHandler } from "../util/http.ts";
import type { Logger } from "../util/logger.ts";

export interface WebAppOptions {
  /** URL prefix of the page. Default "/app". */
  basePath?: string;
  /** Minify the bundle. Default true. */
  minify?: boolean;
}

/** Outcome of the build, for callers that care. */
export interface WebAppMount {
  ok: boolean;
  basePath: string;
  error?: string;
  /** Bundle size in bytes (ok only). */
  bytes?: number;
  buildMs: number;
}

interface Built {
  html: string;
  js: string;
  css: string;
}

/** Where the page's sources live. */
const DIR = path.resolve(import.meta.dir, "../../clients/web");

/** What the page is mounted on: a list of extra routes, and a log for the build's outcome. */
export interface WebAppHost {
  readonly routes: RouteHandler[];
  readonly log?: Logger;
}

/** Bundles the page. Throws with Bun's build messages on failure. */
export async function buildWebApp(opts: WebAppOptions = {}): Promise<Built> {
  const base = normaliseBase(opts.basePath ?? "/app");
  const result = await Bun.build({
    entrypoints: [path.join(DIR, "app.ts")],
    target: "browser",
    format: "esm",
    minify: opts.minify ?? true,
    sourcemap: "none",
  });
  if (!result.success) {
    throw new Error(`web app build failed:\n${result.logs.map((l) => String(l)).join("\n")}`);
  }
  const entry = result.outputs.find((o) => o.kind === "entry-point") ?? result.outputs[0];
  if (!entry) throw new Error("web app build produced no output");
  const [js, html, css] = await Promise.all([entry.text(), Bun.file(path.join(DIR, "index.html")).text(), Bun.file(path.join(DIR, "app.css")).text()]);
  return { js, css, html: html.replaceAll("%BASE%", base) };
}

const SECURITY_HEADERS: Record<string, string> = {
  "cache-control": "no-cache",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
};

/**
 * Adds the page's routes to `gateway.routes` at once and builds the bundle; requests that come
 * before the build is done wait for it.
 */
export function mountWebApp(gateway: WebAppHost, opts: WebAppOptions = {}): Promise<WebAppMount> {
  const base = normaliseBase(opts.basePath ?? "/app");
  const started = performance.now();
  const build = buildWebApp(opts).then(
    (b) => ({ ok: true as const, b }),
    (err: unknown) => ({ ok: false as const, error: (err as Error)?.message ?? String(err) }),
  );
  const route: RouteHandler = async (req, url) => {
    const p = url.pathname;
    if (p !== base && p !== `${base}/` && p !== `${base}/app.js` && p !== `${base}/app.css`) return undefined;
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("use GET", { status: 405 });
    const r = await build;
    if (!r.ok) return new Response("web app unavailable: build failed (see the gateway log)", { status: 500 });
    if (p.endsWith("/app.js")) return new Response(r.b.js, { headers: { ...SECURITY_HEADERS, "content-type": "text/javascript; charset=utf-8" } });
    if (p.endsWith("/app.css")) return new Response(r.b.css, { headers: { ...SECURITY_HEADERS, "content-type": "text/css; charset=utf-8" } });
    return new Response(r.b.html, { headers: { ...SECURITY_HEADERS, "content-type": "text/html; charset=utf-8" } });
  };
  gateway.routes.push(route);
  return build.then((r) => {
    const buildMs = Math.round(performance.now() - started);
    if (!r.ok) {
      if (gateway.log) gateway.log.error("web_app_build_failed", { error: r.error.slice(0, 2000) });
      else console.error(r.error);
      return { ok: false, basePath: base, error: r.error, buildMs };
    }
    gateway.log?.info("web_app_ready", { path: base, bytes: r.b.js.length, buildMs });
    return { ok: true, basePath: base, bytes: r.b.js.length, buildMs };
  });
}

function normaliseBase(p: string): string {
  const s = "/" + p.replace(/^\/+|\/+$/g, "");
  return s === "/" ? "" : s;
}
