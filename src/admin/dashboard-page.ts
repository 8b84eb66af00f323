/**
 * The admin dashboard page: dashboard/main.ts (with uPlot and the CSS) bundled by Bun.build into
 * memory when the admin API is mounted, as /app is. Served as three files under a strict CSP:
 * no inline script or style, so a script injected into the page cannot run.
 */
import path from "node:path";

/** The page's files, built. */
export interface DashboardBundle {
  html: string;
  js: string;
  css: string;
}

const DIR = path.join(import.meta.dir, "dashboard");

/** Bundles the dashboard; throws with Bun's build messages when it fails. */
export async function buildDashboard(opts: { minify?: boolean } = {}): Promise<DashboardBundle> {
  const result = await Bun.build({ entrypoints: [path.join(DIR, "main.ts")], target: "browser", format: "esm", minify: opts.minify ?? true, sourcemap: "none" });
  if (!result.success) throw new Error(`dashboard build failed:\n${result.logs.map((l) => String(l)).join("\n")}`);
  const js = result.outputs.find((o) => o.kind === "entry-point");
  const css = result.outputs.filter((o) => o.path.endsWith(".css"));
  if (!js || css.length === 0) throw new Error("dashboard build produced no script or no stylesheet");
  return { js: await js.text(), css: (await Promise.all(css.map((c) => c.text()))).join("\n"), html: await Bun.file(path.join(DIR, "index.html")).text() };
}

/**
 * Headers of the page and its files. `connect-src *`: the page may watch other gateways (they
 * must list this origin in ADMIN_CORS_ORIGINS); everything else is same-origin only.
 */
export const DASHBOARD_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src *; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** Paths of the page and its files, and what each is. */
const FILES: Record<string, { key: keyof DashboardBundle; type: string }> = {
  "/admin": { key: "html", type: "text/html; charset=utf-8" },
  "/admin/": { key: "html", type: "text/html; charset=utf-8" },
  "/admin/dashboard.js": { key: "js", type: "text/javascript; charset=utf-8" },
  "/admin/dashboard.css": { key: "css", type: "text/css; charset=utf-8" },
};

/** Starts the build and returns the handler of the page's paths (undefined for any other path). */
export function dashboardRoutes(onBuildError: (error: string) => void): (req: Request, url: URL) => Promise<Response | undefined> {
  const build = buildDashboard().then(
    (b) => ({ ok: true as const, b }),
    (err: unknown) => {
      const error = (err as Error)?.message ?? String(err);
      onBuildError(error);
      return { ok: false as const, error };
    },
  );
  return async (req, url) => {
    const file = FILES[url.pathname];
    if (!file) return undefined;
    if (req.method !== "GET" && req.method !== "HEAD") return new Response(JSON.stringify({ error: "method_not_allowed", message: "use GET" }), { status: 405, headers: { "content-type": "application/json", allow: "GET" } });
    const r = await build;
    if (!r.ok) return new Response("dashboard unavailable: build failed (see the gateway log)", { status: 500, headers: { "content-type": "text/plain; charset=utf-8" } });
    return new Response(r.b[file.key], { headers: { ...DASHBOARD_HEADERS, "content-type": file.type } });
  };
}
