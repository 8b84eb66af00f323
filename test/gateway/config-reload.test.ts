import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnGateway } from "../helpers/child-gateway.ts";
import { ADMIN_TOKEN, tempDir } from "../helpers/test-env.ts";

/** Bindings of the running gateway, as the admin API lists them. */
async function bindingIds(port: number): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${port}/admin/api/bindings`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { bindings: { id: string }[] }).bindings.map((b) => b.id);
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await Bun.sleep(50);
  }
  return false;
}

test("SIGHUP re-reads the bindings from CONFIG_FILE; a bad file keeps the old ones and the gateway serving", async () => {
  const dir = tempDir("reload");
  const file = path.join(dir, "gateway.json");
  const write = (bindings: unknown[]) => fs.writeFileSync(file, JSON.stringify({ bindings }));
  write([{ id: "a", source: "embedded" }]);
  const gw = await spawnGateway({ CONFIG_FILE: file, LOG_DIR: path.join(dir, "log") });
  try {
    expect(await bindingIds(gw.port)).toEqual(["a"]);

    write([{ id: "a", source: "embedded" }, { id: "b", source: "embedded", conflateMs: 100 }]);
    gw.proc.kill("SIGHUP");
    expect(await until(async () => (await bindingIds(gw.port)).length === 2, 5000)).toBe(true);
    expect(await bindingIds(gw.port)).toEqual(["a", "b"]);

    // A broken binding is refused as a whole: the running set stays, the failure is logged.
    write([{ id: "c", source: "embedded", transforms: [{ explode: true }] }]);
    gw.proc.kill("SIGHUP");
    expect(await until(async () => gw.lines.some((l) => l.event === "bindings_reload_failed"), 5000)).toBe(true);
    expect(await bindingIds(gw.port)).toEqual(["a", "b"]);
    expect((await fetch(`http://127.0.0.1:${gw.port}/healthz`)).status).toBe(200);
  } finally {
    await gw.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 30_000);
