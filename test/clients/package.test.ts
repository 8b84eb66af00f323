/**
 * clients/ts as a published package would be used: built (bun build + tsc), packed with npm, checked
 * by publint and @arethetypeswrong/cli, installed from the tarball into a scratch project, and used
 * from Bun (the library and the `cex-ws` bin) and from headless Chromium (bundled through the
 * package's `browser` export) against a running gateway.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { chromium, type Browser } from "playwright-core";
import { buildClientPackage } from "../../clients/ts/build.ts";
import { REPO_ROOT, startGateway, tempDir, tokenFor, type TestGateway } from "../helpers/gateway-harness.ts";

const BIN = (name: string) => path.join(REPO_ROOT, "node_modules/.bin", name);
const PKG = "@cex-ws-gateway/client";
const S = "trades.pkg_usdt";

let work: string;
let tarball: string;
let packed: { path: string }[];
let scratch: string;
let gw: TestGateway;
let token: string;
let feeder: ReturnType<typeof setInterval>;

/** Runs a command without blocking this process's event loop (the gateway under test lives in it). */
async function run(cmd: string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(cmd, { cwd, stdout: "pipe", stderr: "pipe", env: { ...process.env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false", ...env }, timeout: 240_000 });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

beforeAll(async () => {
  work = tempDir("client-pkg");
  const pkgDir = path.join(work, "package");
  await buildClientPackage(pkgDir);
  const pack = await run(["npm", "pack", "--json", "--pack-destination", work], pkgDir);
  expect(pack.code, pack.out).toBe(0);
  const info = JSON.parse(pack.out.slice(pack.out.indexOf("["))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(work, info[0]!.filename);
  packed = info[0]!.files;
  scratch = path.join(work, "scratch");
  mkdirSync(scratch);
  writeFileSync(path.join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  const install = await run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", tarball], scratch);
  expect(install.code, install.out).toBe(0);
  gw = await startGateway({ LOG_DIR: "" });
  token = await tokenFor("pkguser");
  let i = 0;
  feeder = setInterval(() => gw.publish([{ stream: S, data: { id: ++i, price: "10.5", qty: "1", side: "buy", timestamp: Date.now() } }]), 50);
}, 300_000);

afterAll(async () => {
  clearInterval(feeder);
  await gw?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("the packed client package", () => {
  test("holds only the bundles, declarations, package.json and README; one runtime dependency", () => {
    const files = packed.map((f) => f.path).sort();
    for (const f of files) expect(f, f).toMatch(/^(package\.json|README\.md|dist\/(index\.js|index\.browser\.js|cli\.js|types\/.+\.d\.ts))$/);
    for (const f of ["dist/index.js", "dist/index.browser.js", "dist/cli.js", "dist/types/clients/ts/index.d.ts", "dist/types/protocol/frames.d.ts"]) expect(files).toContain(f);
    const manifest = JSON.parse(readFileSync(path.join(scratch, "node_modules", PKG, "package.json"), "utf8")) as Record<string, any>;
    expect(Object.keys(manifest.dependencies)).toEqual(["flatbuffers"]);
    expect(manifest.sideEffects).toBe(false);
    expect(Object.keys(manifest.exports["."])).toEqual(["types", "browser", "import", "default"]);
    // The bundles carry the shared protocol/ code inside; nothing points back into the repository.
    for (const f of ["index.js", "index.browser.js", "cli.js"]) {
      const js = readFileSync(path.join(scratch, "node_modules", PKG, "dist", f), "utf8");
      expect(js, f).not.toMatch(/from\s+["']\.{1,2}\//);
      expect([...js.matchAll(/from\s+["']([^"']+)["']/g)].map((m) => m[1]).filter((s) => s !== "flatbuffers" && !s!.startsWith("node:"))).toEqual([]);
    }
  });

  test("publint finds nothing, strict", async () => {
    const r = await run([BIN("publint"), "run", tarball, "--strict"], work);
    expect(r.code, r.out).toBe(0);
    expect(r.out).not.toMatch(/warning|error|suggestion/i);
  });

  test("@arethetypeswrong/cli finds no problem for an ESM-only package", async () => {
    // esm-only: CommonJS resolutions (node10, node16 from CJS) are reported but not counted.
    const r = await run([BIN("attw"), tarball, "--profile", "esm-only", "--format", "json"], work);
    expect(r.code, r.out).toBe(0);
    const problems = (JSON.parse(r.out.slice(r.out.indexOf("{"))) as { analysis: { problems: { resolutionKind?: string; kind: string }[] } }).analysis.problems;
    expect(problems.filter((p) => p.resolutionKind !== "node10" && p.resolutionKind !== "node16-cjs")).toEqual([]);
  }, 60_000);

  test("from Bun: the installed library subscribes and receives typed frames (FlatBuffers and JSON)", async () => {
    writeFileSync(
      path.join(scratch, "app.ts"),
      `import { GatewayClient, isKind } from "${PKG}";
const format = process.argv[2] as "fb" | "json";
const client = new GatewayClient({ url: process.env.GW_URL!, token: process.env.GW_TOKEN!, format });
const got: unknown[] = [];
client.subscribe("${S}", (f) => {
  got.push({ stream: f.stream, seq: f.seq, trade: isKind(f, "trades") ? f.data.price : null });
  if (got.length === 3) { console.log(JSON.stringify(got)); client.close(); process.exit(0); }
});
client.connect();
setTimeout(() => { console.error("no frames"); process.exit(1); }, 15000);
`,
    );
    for (const format of ["fb", "json"]) {
      const r = await run([process.execPath, "app.ts", format], scratch, { GW_URL: gw.wsUrl(), GW_TOKEN: token });
      expect(r.code, r.out).toBe(0);
      const frames = JSON.parse(r.out.trim().split("\n").at(-1)!) as { stream: string; seq: number; trade: string }[];
      expect(frames.map((f) => f.stream)).toEqual([S, S, S]);
      expect(frames[1]!.seq).toBeGreaterThan(frames[0]!.seq);
      expect(frames[0]!.trade).toBe("10.5");
    }
  }, 60_000);

  test("the cex-ws bin: --help under Node, a subscription under Bun", async () => {
    const help = await run(["node", path.join(scratch, "node_modules/.bin/cex-ws"), "--help"], scratch);
    expect(help.code, help.out).toBe(0);
    expect(help.out).toContain("subscribe <stream...>");
    const sub = await run([process.execPath, path.join(scratch, "node_modules/.bin/cex-ws"), "--url", gw.wsUrl(), "--token", token, "--format", "fb", "--raw", "-q", "--count", "2", "subscribe", S], scratch);
    expect(sub.code, sub.out).toBe(0);
    const lines = sub.out.trim().split("\n").map((l) => JSON.parse(l) as { stream: string });
    expect(lines.map((l) => l.stream)).toEqual([S, S]);
  }, 60_000);

  test("from headless Chromium: the app bundled through the package's browser export receives frames", async () => {
    writeFileSync(
      path.join(scratch, "page.ts"),
      `import { GatewayClient } from "${PKG}";
const q = new URLSearchParams(location.search);
const client = new GatewayClient({ url: q.get("ws")!, token: q.get("token")!, format: "fb" });
const seen: number[] = [];
client.subscribe("${S}", (f) => { seen.push(f.seq); if (seen.length === 3) document.title = "got " + JSON.stringify(seen); });
client.connect();
`,
    );
    const built = await Bun.build({ entrypoints: [path.join(scratch, "page.ts")], target: "browser", format: "esm" });
    expect(built.success, built.logs.map(String).join("\n")).toBe(true);
    const js = await built.outputs[0]!.text();
    // The browser export was the one resolved.
    expect(js).toContain("node_modules/@cex-ws-gateway/client/dist/index.browser.js");
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req) =>
        new URL(req.url).pathname === "/page.js"
          ? new Response(js, { headers: { "content-type": "text/javascript" } })
          : new Response('<!doctype html><title>wait</title><script type="module" src="/page.js"></script>', { headers: { "content-type": "text/html" } }),
    });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"] });
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${server.port}/?ws=${encodeURIComponent(gw.wsUrl())}&token=${encodeURIComponent(token)}`);
      await page.waitForFunction(() => document.title.startsWith("got "), undefined, { timeout: 15_000 });
      const seqs = JSON.parse((await page.title()).slice(4)) as number[];
      expect(seqs.length).toBe(3);
      expect(seqs[2]!).toBeGreaterThan(seqs[0]!);
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
      server.stop(true);
    }
  }, 60_000);
});
