/** SIGTERM on a gateway child process: every client gets 1012 and the process exits within the bound. */
import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import { RawWsClient, TestClient, connectMany, publishHttp, spawnGateway, tempDir, tokenFor, until, type ChildGateway } from "../helpers/gateway-harness.ts";

let child: ChildGateway | undefined;
let dir: string | undefined;
afterEach(async () => {
  await child?.kill("SIGKILL");
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  child = dir = undefined;
});

test("SIGTERM: every client is closed with 1012 and the process exits 0 promptly", async () => {
  dir = tempDir("sigterm");
  const grace = 3000;
  child = await spawnGateway({ LOG_DIR: dir, SHUTDOWN_GRACE_MS: String(grace) });
  const clients = await connectMany(child.wsUrl(), 6, { token: await tokenFor("u1") });
  await Promise.all(clients.slice(0, 3).map((c) => c.subscribe(["trades.btc_usdt", "orders.u1"])));
  const r = await publishHttp(child.port, { stream: "trades.btc_usdt", data: { before: "sigterm" } });
  expect(r.status).toBe(202);
  await Promise.all(clients.slice(0, 3).map((c) => c.waitForSeq("trades.btc_usdt", 1)));

  const t0 = Date.now();
  child.proc.kill("SIGTERM");
  const closes = await Promise.all(clients.map((c) => c.waitClosed(grace + 2000)));
  for (const c of closes) {
    expect(c.code).toBe(1012);
    expect(c.reason).toBe("server restart");
  }
  const code = await child.exited;
  const took = Date.now() - t0;
  expect(code).toBe(0);
  // Clients that answer the close frame let it exit long before the grace period.
  expect(took).toBeLessThan(grace);
  expect(child.lines.some((l) => l.event === "gateway_draining")).toBe(true);
  expect(child.lines.find((l) => l.event === "gateway_stopped")).toMatchObject({ leftover: 0 });
  await expect(fetch(`http://127.0.0.1:${child.port}/healthz`)).rejects.toThrow();
}, 20_000);

test("SIGTERM with a client that has a backlog: it still gets its backlog and 1012, exit within the grace bound", async () => {
  dir = tempDir("sigterm-backlog");
  const grace = 2000;
  child = await spawnGateway({ LOG_DIR: dir, SHUTDOWN_GRACE_MS: String(grace), SEND_BUFFER_BYTES: String(64 << 20), LOG_SEGMENT_BYTES: String(16 << 20) });
  const S = "trades.btc_usdt";
  const behind = await RawWsClient.connect(child.port, "/ws", { Authorization: `Bearer ${await tokenFor("u1")}` });
  behind.send({ action: "subscribe", streams: [S], id: 1 });
  await until(() => behind.frames.some((f) => f.id === 1), 5000, "subscribed");
  behind.pause(); // stops reading: the kernel buffers fill, then the gateway queues the rest
  const polite = await TestClient.connect(child.wsUrl(), { token: await tokenFor("u2") });
  let published = 0;
  for (let i = 0; i < 40; i++) {
    const r = await publishHttp(child.port, Array.from({ length: 50 }, () => ({ stream: S, data: { pad: "x".repeat(4000) } })));
    published += r.body.results.length;
  }

  const t0 = Date.now();
  child.proc.kill("SIGTERM");
  expect((await polite.waitClosed(grace)).code).toBe(1012);
  await Bun.sleep(300);
  behind.resume();
  await until(() => behind.socketClosed, grace + 3000, "the lagging client's socket to close");
  const code = await child.exited;
  const took = Date.now() - t0;
  expect(code).toBe(0);
  expect(took).toBeLessThan(grace + 4000);
  // Everything queued for it arrived, then the 1012.
  expect(behind.data(S).map((f) => f.seq)).toEqual(Array.from({ length: published }, (_, i) => i + 1));
  expect(behind.closeFrame).toEqual({ code: 1012, reason: "server restart" });
}, 20_000);

test("SIGINT drains the same way", async () => {
  dir = tempDir("sigint");
  child = await spawnGateway({ LOG_DIR: dir });
  const c = await TestClient.connect(child.wsUrl(), { token: await tokenFor("u1") });
  child.proc.kill("SIGINT");
  expect((await c.waitClosed(5000)).code).toBe(1012);
  expect(await child.exited).toBe(0);
}, 20_000);
