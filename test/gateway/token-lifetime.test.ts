/**
 * Token lifetime after the handshake, with real EdDSA JWTs: a connection is closed with 4003
 * `token_expired` at its `exp` plus the grace, and an in-band `{"action":"auth"}` refresh moves
 * that point (same `sub` only; the new claims apply at once).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as jose from "jose";
import { mintJwt, startGateway, TestClient, type TestGateway } from "../helpers/gateway-harness.ts";

const GRACE_SEC = 1;
let gw: TestGateway;
let privateKey: CryptoKey;

/** An EdDSA token for `sub`, expiring `expInSec` from now. */
function token(sub: string, expInSec: number, claims: Record<string, unknown> = {}): Promise<string> {
  return mintJwt(sub, claims, { alg: "EdDSA", key: privateKey, expInSec });
}

beforeAll(async () => {
  const pair = await jose.generateKeyPair("EdDSA", { crv: "Ed25519" });
  privateKey = pair.privateKey as CryptoKey;
  gw = await startGateway({
    JWT_SECRET: undefined,
    JWT_PUBLIC_KEY: await jose.exportSPKI(pair.publicKey),
    JWT_CLOCK_TOLERANCE_SEC: "0",
    TOKEN_EXPIRY_GRACE_SEC: String(GRACE_SEC),
  });
});
afterAll(() => gw?.stop());

test("a connection is closed 4003 token_expired at exp + grace, not before", async () => {
  const t = await token("exp_user", 2);
  const exp = (jose.decodeJwt(t).exp as number) * 1000;
  const c = await TestClient.connect(gw.wsUrl(), { token: t });
  await c.subscribe(["orders.exp_user"]);
  const closed = await c.waitClosed(15_000);
  const at = Date.now();
  expect(closed).toEqual({ code: 4003, reason: "token_expired" });
  // Timers never fire early; a few ms of slack for clock reads on both sides.
  expect(at).toBeGreaterThanOrEqual(exp + GRACE_SEC * 1000 - 20);
}, 20_000);

describe("in-band refresh", () => {
  test("a fresh token for the same sub extends the connection past the old exp", async () => {
    const c = await TestClient.connect(gw.wsUrl(), { token: await token("refresh_user", 2) });
    await c.subscribe(["orders.refresh_user"]);
    const fresh = await token("refresh_user", 120);
    const ack = await c.request({ action: "auth", token: fresh });
    expect(ack).toEqual({ event: "authenticated", exp: jose.decodeJwt(fresh).exp, id: ack.id });
    // Past the old exp + grace: still open, still delivering.
    await Bun.sleep((2 + GRACE_SEC) * 1000 + 1000);
    expect(c.isOpen).toBe(true);
    const [seq] = gw.publish([{ stream: "orders.refresh_user", data: { orderId: 1 } }]);
    await c.waitForSeq("orders.refresh_user", seq!);
    await c.close();
  }, 20_000);

  test("a token naming another sub is refused with invalid_token; the old token still ends the connection", async () => {
    const c = await TestClient.connect(gw.wsUrl(), { token: await token("alice_r", 3) });
    await c.subscribe(["orders.alice_r"]);
    c.send({ action: "auth", token: await token("mallory_r", 120), id: "x" });
    const err = await c.waitFor((f) => f.id === "x");
    expect(err.event).toBe("error");
    expect(err.code).toBe("invalid_token");
    expect(err.message).toContain("same sub");
    // Still alice, still subscribed, and mallory's stream stays forbidden.
    const other = await c.request({ action: "subscribe", streams: ["orders.mallory_r"] });
    expect(other.code).toBe("forbidden");
    expect((await c.request({ action: "list" })).streams).toEqual(["orders.alice_r"]);
    expect(await c.waitClosed(15_000)).toEqual({ code: 4003, reason: "token_expired" });
  }, 20_000);

  test("bad and expired tokens are refused with invalid_token and change nothing", async () => {
    const c = await TestClient.connect(gw.wsUrl(), { token: await token("bad_r", 120) });
    const garbage = await c.request({ action: "auth", token: "not.a.jwt" });
    expect(garbage.code).toBe("invalid_token");
    const expired = await c.request({ action: "auth", token: await token("bad_r", -10) });
    expect(expired.code).toBe("invalid_token");
    const signedElsewhere = await c.request({
      action: "auth",
      token: await mintJwt("bad_r", {}, { alg: "EdDSA", key: (await jose.generateKeyPair("EdDSA", { crv: "Ed25519" })).privateKey as CryptoKey }),
    });
    expect(signedElsewhere.code).toBe("invalid_token");
    const missing = await c.request({ action: "auth" });
    expect(missing.code).toBe("bad_request");
    expect(c.isOpen).toBe(true);
    await c.close();
  });

  test("narrowed claims end the streams they no longer allow with unsubscribed reason forbidden", async () => {
    const c = await TestClient.connect(gw.wsUrl(), { token: await token("narrow_user", 120, { pairs: ["btc_usdt", "eth_usdt"] }) });
    await c.subscribe(["ticker.btc_usdt", "ticker.eth_usdt", "orders.narrow_user"]);
    const from = c.frames.length;
    const ack = await c.request({ action: "auth", token: await token("narrow_user", 120, { pairs: ["btc_usdt"] }) });
    expect(ack.event).toBe("authenticated");
    const dropped = c.frames.slice(from).find((f) => f.event === "unsubscribed");
    expect(dropped).toEqual({ event: "unsubscribed", streams: ["ticker.eth_usdt"], reason: "forbidden" });
    expect(((await c.request({ action: "list" })).streams as string[]).sort()).toEqual(["orders.narrow_user", "ticker.btc_usdt"]);
    const [eth, btc] = gw.publish([
      { stream: "ticker.eth_usdt", data: { price: "1" } },
      { stream: "ticker.btc_usdt", data: { price: "2" } },
    ]);
    await c.waitForSeq("ticker.btc_usdt", btc!);
    expect(c.seqs("ticker.eth_usdt")).not.toContain(eth!);
    // The new claims also govern new subscriptions.
    expect((await c.request({ action: "subscribe", streams: ["ticker.eth_usdt"] })).code).toBe("forbidden");
    await c.close();
  });
});
