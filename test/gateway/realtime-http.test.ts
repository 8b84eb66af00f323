/** POST /realtime/token and GET /realtime/bootstrap (seed 002 section 9), with real JWTs and API keys. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as jose from "jose";
import fs from "node:fs";
import { JWT_SECRET, mintJwt, startGateway, tempDir, TestClient, tokenFor, tryUpgrade, writeApiKeysFile, type TestGateway } from "../helpers/gateway-harness.ts";

const dir = tempDir("realtime");
const API_KEY = "ak_live_realtime_0123456789";
let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ API_KEYS_FILE: writeApiKeysFile(dir, [{ key: API_KEY, userId: "keyuser", pairs: ["eth_usdt"] }]), WS_TOKEN_TTL_SEC: "60" });
});
afterAll(async () => {
  await gw?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

function post(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(gw.httpUrl(path), { method: "POST", headers });
}

test("POST /realtime/token: a short-lived token bound to the caller, carrying its claims, that opens the socket", async () => {
  const longLived = await tokenFor("rt_user", { pairs: ["btc_usdt"], roles: ["trader"] });
  const res = await post("/realtime/token", { authorization: `Bearer ${longLived}` });
  expect(res.status).toBe(200);
  expect(res.headers.get("cache-control")).toBe("no-store");
  const { token, exp } = (await res.json()) as { token: string; exp: number };
  const now = Date.now() / 1000;
  expect(exp).toBeGreaterThan(now + 50);
  expect(exp).toBeLessThanOrEqual(Math.ceil(now) + 60);
  const claims = jose.decodeJwt(token);
  expect(claims).toMatchObject({ sub: "rt_user", pairs: ["btc_usdt"], roles: ["trader"], exp });
  expect(typeof claims.jti).toBe("string");
  const c = await TestClient.connect(gw.wsUrl(), { token });
  expect((await c.subscribe(["orders.rt_user", "ticker.btc_usdt"])).streams).toEqual(["orders.rt_user", "ticker.btc_usdt"]);
  expect((await c.request({ action: "subscribe", streams: ["ticker.eth_usdt"] })).code).toBe("forbidden");
  await c.close();
});

test("an API key gets a token too; it never outlives the credential it came from", async () => {
  const res = await post("/realtime/token", { "x-api-key": API_KEY });
  expect(res.status).toBe(200);
  expect(jose.decodeJwt(((await res.json()) as { token: string }).token)).toMatchObject({ sub: "keyuser", pairs: ["eth_usdt"] });
  const shortLived = await mintJwt("brief", {}, { expInSec: 20 });
  const capped = (await (await post("/realtime/token", { authorization: `Bearer ${shortLived}` })).json()) as { exp: number };
  expect(capped.exp).toBe(jose.decodeJwt(shortLived).exp!);
});

test("refusals: no or bad credentials 401, GET 405; a forged gateway token (kid cexws-ws, wrong key) is refused", async () => {
  expect((await post("/realtime/token")).status).toBe(401);
  expect((await post("/realtime/token", { authorization: "Bearer nope" })).status).toBe(401);
  expect((await fetch(gw.httpUrl("/realtime/token"))).status).toBe(405);
  // Signed with the users' JWT secret but naming the gateway's token key: must not verify.
  const forged = await new jose.SignJWT({}).setProtectedHeader({ alg: "HS256", kid: "cexws-ws" }).setSubject("mallory").setIssuer("cex-ws-gateway").setAudience("cex-ws").setIssuedAt().setExpirationTime("1m").sign(new TextEncoder().encode(JWT_SECRET));
  const r = await tryUpgrade(gw.port, { headers: { authorization: `Bearer ${forged}` } });
  expect(r.status).toBe(401);
});

test("GET /realtime/bootstrap: WebSocket URL, the streams this identity may read, the wire formats", async () => {
  const res = await fetch(gw.httpUrl("/realtime/bootstrap"), { headers: { authorization: `Bearer ${await tokenFor("boot_user", { pairs: ["btc_usdt", "sol_usdt"] })}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, unknown>;
  expect(body).toMatchObject({
    userId: "boot_user",
    wsUrls: [`ws://127.0.0.1:${gw.port}/ws`],
    tokenUrl: "/realtime/token",
    keysUrl: "/realtime/keys",
    formats: [
      { format: "json", subprotocol: "cex.v1.json" },
      { format: "fb", subprotocol: "cex.v2.fb" },
    ],
    signed: [],
    tokenTtlSec: 60,
  });
  const streams = body.streams as string[];
  for (const s of ["depth.btc_usdt", "depth.sol_usdt", "orders.boot_user", "ticker.btc_usdt", "ticker.sol_usdt", "trades.btc_usdt", "trades.sol_usdt"]) expect(streams).toContain(s);
  // Only the token's pairs, only the user's own private stream.
  expect(streams.every((s) => s === "orders.boot_user" || s.endsWith(".btc_usdt") || s.endsWith(".sol_usdt"))).toBe(true);
  const all = (await (await fetch(gw.httpUrl("/realtime/bootstrap"), { headers: { authorization: `Bearer ${await tokenFor("any_pair")}` } })).json()) as { streams: string[] };
  for (const s of ["depth.*", "orders.any_pair", "ticker.*", "trades.*"]) expect(all.streams).toContain(s);
  expect(all.streams.every((s) => s === "orders.any_pair" || s.endsWith(".*"))).toBe(true);
  expect((await fetch(gw.httpUrl("/realtime/bootstrap"))).status).toBe(401);
});
