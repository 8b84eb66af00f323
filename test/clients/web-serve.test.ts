/**
 * mountWebApp (clients/web/serve.ts): routes pushed to gateway.routes, the bundle built in memory
 * at mount; and the client library bundles for browsers with no Node built-ins.
 */
import { expect, test } from "bun:test";
import path from "node:path";
import type { RouteHandler } from "../../src/util/http.ts";
import { mountWebApp } from "../../src/web/web-app.ts";

async function get(routes: RouteHandler[], p: string, method = "GET"): Promise<Response | undefined> {
  const url = new URL(`http://gw.test${p}`);
  for (const r of routes) {
    const res = await r(new Request(url, { method }), url);
    if (res) return res;
  }
  return undefined;
}

test("mountWebApp serves the page, its bundle and its CSS under /app; other paths fall through", async () => {
  const gw = { routes: [] as RouteHandler[] };
  const mounted = mountWebApp(gw);
  expect(gw.routes.length).toBe(1); // pushed at once; requests wait for the build
  const early = get(gw.routes, "/app");
  const m = await mounted;
  expect(m).toMatchObject({ ok: true, basePath: "/app" });
  expect(m.bytes).toBeGreaterThan(10_000);

  const page = (await early)!;
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toContain("text/html");
  const html = await page.text();
  expect(html).toContain('src="/app/app.js"');
  expect(html).toContain('href="/app/app.css"');
  expect((await get(gw.routes, "/app/"))!.status).toBe(200);

  const js = (await get(gw.routes, "/app/app.js"))!;
  expect(js.headers.get("content-type")).toContain("javascript");
  const code = await js.text();
  expect(code).toContain("cex.v2.fb");
  expect(code).not.toMatch(/from\s*["']node:|require\(["']node:/);
  expect((await get(gw.routes, "/app/app.css"))!.headers.get("content-type")).toContain("text/css");
  expect(await get(gw.routes, "/ws")).toBeUndefined();
  expect(await get(gw.routes, "/application")).toBeUndefined();
  expect((await get(gw.routes, "/app", "POST"))!.status).toBe(405);
});

test("basePath is configurable", async () => {
  const gw = { routes: [] as RouteHandler[] };
  expect(await mountWebApp(gw, { basePath: "/ui/", minify: false })).toMatchObject({ ok: true, basePath: "/ui" });
  expect(await (await get(gw.routes, "/ui"))!.text()).toContain('src="/ui/app.js"');
  expect(await get(gw.routes, "/app")).toBeUndefined();
});

test("the client library bundles for the browser without Node built-ins", async () => {
  const r = await Bun.build({ entrypoints: [path.resolve(import.meta.dir, "../../clients/ts/index.ts")], target: "browser" });
  expect(r.success).toBe(true);
  const code = await r.outputs[0]!.text();
  expect(code).not.toMatch(/from\s*["']node:|require\(["']node:|\bprocess\.env\b/);
  expect(code).toContain("class GatewayClient");
});
