/**
 * Authentication at the upgrade: every way of presenting a credential, every key kind, and every
 * way a credential is refused (HTTP 401 with a short JSON reason, no socket opened).
 */
import * as flatbuffers from "flatbuffers";
import * as fb from "../../protocol/generated/frames_generated.ts";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as jose from "jose";
import fs from "node:fs";
import { decodeFrameFb } from "../../src/codec/flatbuffers-codec.ts";
import {
  JWT_SECRET,
  RawWsClient,
  TestClient,
  closeAll,
  mintJwt,
  startGateway,
  tempDir,
  tokenFor,
  tryUpgrade,
  unsignedJwt,
  writeApiKeysFile,
  type TestGateway,
} from "../helpers/gateway-harness.ts";

const keyDir = tempDir("auth");
const API_KEY = "ak_live_0123456789abcdef";
const API_KEY_BTC_ONLY = "ak_live_btc_only_9876543210";
const apiKeysFile = writeApiKeysFile(keyDir, [
  { key: API_KEY, userId: "apiuser", roles: ["trader"] },
  { key: API_KEY_BTC_ONLY, userId: "btcbot", pairs: ["btc_usdt"] },
]);

let hs: TestGateway;
afterAll(async () => {
  await hs?.stop();
  fs.rmSync(keyDir, { recursive: true, force: true });
});
beforeAll(async () => {
  hs = await startGateway({ API_KEYS_FILE: apiKeysFile });
});

/** Asserts an upgrade is refused with HTTP `status` and JSON `error`, and no session was opened. */
async function expectRefused(gw: TestGateway, opts: Parameters<typeof tryUpgrade>[1], status: number, error: string): Promise<any> {
  const before = gw.gateway.sessions.size;
  const r = await tryUpgrade(gw.port, opts);
  expect(r.status).toBe(status);
  expect(r.headers.get("content-type")).toContain("application/json");
  expect(r.body.error).toBe(error);
  expect(typeof r.body.message).toBe("string");
  expect(r.body.message.length).toBeLessThan(120);
  expect(gw.gateway.sessions.size).toBe(before);
  return r.body;
}

/** Connects with `opts` and proves the identity by subscribing to the user's private stream. */
async function expectUser(gw: TestGateway, opts: Parameters<typeof TestClient.connect>[1], userId: string): Promise<TestClient> {
  const c = await TestClient.connect(gw.wsUrl(), opts);
  const ack = await c.subscribe([`orders.${userId}`]);
  expect(ack.streams).toEqual([`orders.${userId}`]);
  const other = await c.request({ action: "subscribe", streams: ["orders.someone_else"] });
  expect(other.code).toBe("forbidden");
  return c;
}

describe("token transports", () => {
  test("Authorization: Bearer", async () => {
    const c = await expectUser(hs, { token: await tokenFor("alice") }, "alice");
    await c.close();
  });

  test("?token= query parameter", async () => {
    const c = await expectUser(hs, { query: { token: await tokenFor("bob") } }, "bob");
    await c.close();
  });

  test("Sec-WebSocket-Protocol bearer.<token> alongside cex.v1.json: cex.v1.json is echoed", async () => {
    const token = await tokenFor("carol");
    const c = await expectUser(hs, { protocols: ["cex.v1.json", `bearer.${token}`] }, "carol");
    expect(c.protocol).toBe("cex.v1.json");
    await c.close();
    // On the wire: the answer carries exactly the format protocol, never the token.
    const raw = await RawWsClient.connect(hs.port, "/ws", { "Sec-WebSocket-Protocol": `bearer.${token}, cex.v1.json` });
    expect(raw.status).toBe(101);
    expect(raw.responseHeaders["sec-websocket-protocol"]).toBe("cex.v1.json");
    raw.destroy();
  });

  test("Sec-WebSocket-Protocol bearer.<token> alone: an offered protocol is echoed so browsers accept", async () => {
    const token = await tokenFor("dave");
    const c = await expectUser(hs, { protocols: [`bearer.${token}`] }, "dave");
    expect(c.protocol).toBe(`bearer.${token}`);
    await c.close();
  });

  test("no subprotocol offered: none is echoed", async () => {
    const raw = await RawWsClient.connect(hs.port, "/ws", { Authorization: `Bearer ${await tokenFor("erin")}` });
    expect(raw.status).toBe(101);
    expect(raw.responseHeaders["sec-websocket-protocol"]).toBeUndefined();
    raw.destroy();
  });

  test("a FlatBuffers schema v1 client (cex.v1.fb) is told, in a frame it can read, to upgrade, and closed 1000", async () => {
    const ws = new WebSocket(hs.wsUrl(), ["cex.v1.fb", `bearer.${await tokenFor("frank")}`]);
    ws.binaryType = "arraybuffer";
    const got: Uint8Array[] = [];
    ws.onmessage = (e) => got.push(new Uint8Array(e.data as ArrayBuffer));
    const closed = await new Promise<{ code: number; reason: string }>((r) => (ws.onclose = (e) => r({ code: e.code, reason: e.reason })));
    expect(ws.protocol).toBe("cex.v1.fb");
    expect(closed.code).toBe(1000);
    expect(closed.reason).toContain("cex.v2.fb");
    expect(got.length).toBe(1);
    // schema_version absent (1): a v1 reader accepts it and reads an error naming both versions.
    expect(fb.Frame.getRootAsFrame(new flatbuffers.ByteBuffer(got[0]!)).schemaVersion()).toBe(1);
    const e = decodeFrameFb(got[0]!) as any;
    expect(e).toMatchObject({ event: "error", code: "unsupported_version" });
    expect(e.message).toContain("schema v2");
    expect(e.message).toContain("schema v1");
  });

  test("cex.v2.fb selects FlatBuffers: echoed, and frames are binary", async () => {
    const c = await TestClient.connect(hs.wsUrl(), { token: await tokenFor("frank"), protocols: ["cex.v2.fb"] });
    expect(c.protocol).toBe("cex.v2.fb");
    c.send({ action: "subscribe", streams: ["orders.frank"], id: 7 });
    await c.waitFor((f) => f.binary !== undefined);
    hs.publish([{ stream: "orders.frank", data: { orderId: 1, status: "new" } }]);
    await c.waitFor((f) => f.binary !== undefined && (decodeFrameFb(f.binary) as any).seq !== undefined);
    const decoded = c.binary.map((b) => decodeFrameFb(b) as any);
    expect(decoded[0]).toMatchObject({ event: "subscribed", streams: ["orders.frank"], id: 7 });
    const data = decoded.find((d) => d.seq !== undefined);
    expect(data).toMatchObject({ stream: "orders.frank", seq: 1, prev: 0 });
    expect(c.frames.every((f) => f.binary !== undefined)).toBe(true);
    await c.close();
  });

  test("?format=xml is refused with 400", async () => {
    await expectRefused(hs, { query: { token: await tokenFor("gina"), format: "xml" } }, 400, "bad_request");
  });
});

describe("API keys (API_KEYS_FILE of sha256 hashes)", () => {
  test("X-API-Key header", async () => {
    const c = await expectUser(hs, { headers: { "X-API-Key": API_KEY } }, "apiuser");
    await c.close();
  });

  test("?apiKey= query parameter", async () => {
    const c = await expectUser(hs, { query: { apiKey: API_KEY } }, "apiuser");
    await c.close();
  });

  test("an unknown key is 401 invalid_api_key", async () => {
    await expectRefused(hs, { headers: { "X-API-Key": "ak_live_wrong" } }, 401, "invalid_api_key");
    await expectRefused(hs, { query: { apiKey: API_KEY + "x" } }, 401, "invalid_api_key");
  });

  test("the key's pairs restrict public pairs", async () => {
    const c = await TestClient.connect(hs.wsUrl(), { headers: { "X-API-Key": API_KEY_BTC_ONLY } });
    const id = 1;
    c.send({ action: "subscribe", streams: ["trades.btc_usdt", "trades.eth_usdt", "orders.btcbot"], id });
    await c.waitFor((f) => f.event === "error");
    await c.waitFor((f) => f.event === "subscribed");
    expect(c.answers(id).find((f) => f.event === "subscribed")!.streams).toEqual(["trades.btc_usdt", "orders.btcbot"]);
    expect(c.answers(id).find((f) => f.event === "error")).toMatchObject({ code: "forbidden", streams: ["trades.eth_usdt"] });
    await c.close();
  });

  test("a gateway without API_KEYS_FILE refuses keys", async () => {
    const gw = await startGateway();
    try {
      await expectRefused(gw, { headers: { "X-API-Key": API_KEY } }, 401, "invalid_api_key");
    } finally {
      await gw.stop();
    }
  });
});

describe("HS256 refusals", () => {
  test("no credentials: 401 missing_credentials, and a WebSocket client cannot open", async () => {
    await expectRefused(hs, {}, 401, "missing_credentials");
    await expect(TestClient.connect(hs.wsUrl())).rejects.toThrow();
  });

  test("expired token: 401 expired_token", async () => {
    const token = await mintJwt("alice", {}, { expInSec: -60 });
    await expectRefused(hs, { headers: { authorization: `Bearer ${token}` } }, 401, "expired_token");
  });

  test("nbf in the future (beyond clock tolerance): 401", async () => {
    const token = await mintJwt("alice", {}, { nbfInSec: 120 });
    const body = await expectRefused(hs, { query: { token } }, 401, "invalid_token");
    expect(body.message).toContain("nbf");
  });

  test("exp and nbf within the clock tolerance are accepted", async () => {
    const c = await expectUser(hs, { token: await mintJwt("tol", {}, { expInSec: -2, nbfInSec: 2 }) }, "tol");
    await c.close();
  });

  test("wrong secret: 401 invalid_token", async () => {
    const token = await mintJwt("alice", {}, { key: JWT_SECRET + "-other" });
    await expectRefused(hs, { headers: { authorization: `Bearer ${token}` } }, 401, "invalid_token");
  });

  test("alg none: 401", async () => {
    await expectRefused(hs, { headers: { authorization: `Bearer ${unsignedJwt("alice")}` } }, 401, "invalid_token");
    await expectRefused(hs, { query: { token: unsignedJwt("alice") } }, 401, "invalid_token");
  });

  test("an HS512 token is refused when only HS256 is accepted", async () => {
    const token = await mintJwt("alice", {}, { alg: "HS512" });
    await expectRefused(hs, { query: { token } }, 401, "invalid_token");
  });

  test("garbage and a token without sub: 401", async () => {
    await expectRefused(hs, { query: { token: "not.a.jwt" } }, 401, "invalid_token");
    await expectRefused(hs, { query: { token: await mintJwt(undefined) } }, 401, "invalid_token");
  });

  test("a bad token is refused even when a valid API key is also sent", async () => {
    await expectRefused(hs, { query: { token: "garbage" }, headers: { "X-API-Key": API_KEY } }, 401, "invalid_token");
  });

  test("a token without exp is refused by default; JWT_REQUIRE_EXP=0 accepts it", async () => {
    const token = await mintJwt("forever", {}, { expInSec: null });
    const body = await expectRefused(hs, { query: { token } }, 401, "invalid_token");
    expect(body.message).toContain("exp");
    const relaxed = await startGateway({ JWT_REQUIRE_EXP: "0" });
    try {
      const c = await expectUser(relaxed, { token }, "forever");
      await c.close();
    } finally {
      await relaxed.stop();
    }
  });

  test("a 64 KB query string or a 1 MB token is refused with 431 and a JSON reason, like every refusal", async () => {
    const long = "a".repeat(64 * 1024);
    const q = await expectRefused(hs, { query: { token: long } }, 431, "headers_too_large");
    expect(q.message).toContain(String(16 * 1024));
    await expectRefused(hs, { headers: { authorization: `Bearer ${"b".repeat(1 << 20)}` } }, 431, "headers_too_large");
    await expectRefused(hs, { headers: { "x-api-key": "c".repeat(1 << 20) } }, 431, "headers_too_large");
    // Other routes answer the same way, and the gateway serves on.
    const r = await fetch(hs.httpUrl(`/readyz?x=${long}`));
    expect(r.status).toBe(431);
    expect(((await r.json()) as { error: string }).error).toBe("headers_too_large");
    expect((await fetch(hs.httpUrl("/healthz"))).status).toBe(200);
  });

  test("refusals are counted in gateway_auth_failures_total", async () => {
    const expired = async () =>
      (await hs.gateway.metrics.authFailures.get()).values.filter((x) => x.labels.reason === "expired_token").reduce((a, x) => a + x.value, 0);
    const before = await expired();
    await tryUpgrade(hs.port, { query: { token: await mintJwt("x", {}, { expInSec: -100 }) } });
    expect(await expired()).toBe(before + 1);
  });
});

describe("issuer and audience", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ JWT_ISSUER: "https://auth.example", JWT_AUDIENCE: "cex-ws" });
  });
  afterAll(() => gw.stop());

  test("matching iss and aud are accepted", async () => {
    const c = await expectUser(gw, { token: await mintJwt("ivan", {}, { issuer: "https://auth.example", audience: "cex-ws" }) }, "ivan");
    await c.close();
  });

  test.each([
    ["wrong iss", { issuer: "https://evil.example", audience: "cex-ws" }, "iss"],
    ["wrong aud", { issuer: "https://auth.example", audience: "other" }, "aud"],
    ["missing iss", { audience: "cex-ws" }, "iss"],
    ["missing aud", { issuer: "https://auth.example" }, "aud"],
  ])("%s: 401", async (_what, o, claim) => {
    const body = await expectRefused(gw, { query: { token: await mintJwt("ivan", {}, o) } }, 401, "invalid_token");
    expect(body.message).toContain(claim);
  });
});

describe.each([
  ["RS256", { modulusLength: 2048 }],
  ["ES256", {}],
  ["EdDSA", { crv: "Ed25519" }],
] as const)("%s with JWT_PUBLIC_KEY (PEM)", (alg, genOpts) => {
  let gw: TestGateway;
  let priv: CryptoKey;
  let pem: string;
  let otherPriv: CryptoKey;
  beforeAll(async () => {
    const kp = await jose.generateKeyPair(alg, { ...genOpts, extractable: true });
    priv = kp.privateKey;
    pem = await jose.exportSPKI(kp.publicKey);
    otherPriv = (await jose.generateKeyPair(alg, { ...genOpts, extractable: true })).privateKey;
    gw = await startGateway({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: pem });
  }, 30_000);
  afterAll(() => gw.stop());

  test("a token signed with the private key is accepted", async () => {
    const c = await expectUser(gw, { token: await mintJwt("kate", { roles: ["trader"] }, { alg, key: priv }) }, "kate");
    await c.close();
  });

  test("a token signed with another key is refused", async () => {
    const token = await mintJwt("kate", {}, { alg, key: otherPriv });
    await expectRefused(gw, { query: { token } }, 401, "invalid_token");
  });

  test("expired: 401 expired_token", async () => {
    const token = await mintJwt("kate", {}, { alg, key: priv, expInSec: -30 });
    await expectRefused(gw, { query: { token } }, 401, "expired_token");
  });

  test("algorithm confusion: HS256 signed with the public key PEM as the secret is refused", async () => {
    const token = await mintJwt("kate", {}, { alg: "HS256", key: pem });
    await expectRefused(gw, { query: { token } }, 401, "invalid_token");
    // Also with the PEM as sent in the env without trailing newline, a common variant of the attack.
    const token2 = await mintJwt("kate", {}, { alg: "HS256", key: pem.trim() });
    await expectRefused(gw, { query: { token: token2 } }, 401, "invalid_token");
  });

  test("alg none: 401", async () => {
    await expectRefused(gw, { query: { token: unsignedJwt("kate") } }, 401, "invalid_token");
  });

  test("an HS256 token with the shared test secret is refused (no HMAC key configured)", async () => {
    await expectRefused(gw, { query: { token: await tokenFor("kate") } }, 401, "invalid_token");
  });
});

test("algorithm confusion with both JWT_SECRET and an RSA JWT_PUBLIC_KEY configured: refused", async () => {
  const kp = await jose.generateKeyPair("RS256", { extractable: true });
  const pem = await jose.exportSPKI(kp.publicKey);
  const gw = await startGateway({ JWT_PUBLIC_KEY: pem });
  try {
    // Both genuine kinds work...
    const a = await expectUser(gw, { token: await mintJwt("lee", {}, { alg: "RS256", key: kp.privateKey }) }, "lee");
    const b = await expectUser(gw, { token: await tokenFor("lee") }, "lee");
    await closeAll([a, b]);
    // ...but the public key never serves as an HMAC secret.
    await expectRefused(gw, { query: { token: await mintJwt("lee", {}, { alg: "HS256", key: pem }) } }, 401, "invalid_token");
  } finally {
    await gw.stop();
  }
}, 30_000);

test("JWT_PUBLIC_KEY may name a PEM file", async () => {
  const kp = await jose.generateKeyPair("ES256", { extractable: true });
  const file = `${keyDir}/es256.pem`;
  fs.writeFileSync(file, await jose.exportSPKI(kp.publicKey));
  const gw = await startGateway({ JWT_SECRET: undefined, JWT_PUBLIC_KEY: file });
  try {
    const c = await expectUser(gw, { token: await mintJwt("mia", {}, { alg: "ES256", key: kp.privateKey }) }, "mia");
    await c.close();
  } finally {
    await gw.stop();
  }
}, 30_000);

describe("JWKS_URL", () => {
  let gw: TestGateway;
  let jwksServer: ReturnType<typeof Bun.serve>;
  let priv: CryptoKey;
  let rsaPem: string;
  let edPriv: CryptoKey;
  let jwksHits = 0;
  beforeAll(async () => {
    const kp = await jose.generateKeyPair("RS256", { extractable: true });
    const ed = await jose.generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
    priv = kp.privateKey;
    rsaPem = await jose.exportSPKI(kp.publicKey);
    edPriv = ed.privateKey;
    const keys = [
      { ...(await jose.exportJWK(kp.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await jose.exportJWK(ed.publicKey)), kid: "ed-1", alg: "EdDSA", use: "sig" },
    ];
    jwksServer = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        if (new URL(req.url).pathname !== "/.well-known/jwks.json") return new Response("no", { status: 404 });
        jwksHits++;
        return Response.json({ keys });
      },
    });
    gw = await startGateway({ JWT_SECRET: undefined, JWKS_URL: `http://127.0.0.1:${jwksServer.port}/.well-known/jwks.json` });
  }, 30_000);
  afterAll(async () => {
    await gw.stop();
    jwksServer.stop(true);
  });

  test("RS256 and EdDSA tokens whose kid is in the JWKS are accepted; the JWKS is fetched and cached", async () => {
    const a = await expectUser(gw, { token: await mintJwt("nina", {}, { alg: "RS256", key: priv, kid: "rsa-1" }) }, "nina");
    const b = await expectUser(gw, { token: await mintJwt("omar", {}, { alg: "EdDSA", key: edPriv, kid: "ed-1" }) }, "omar");
    await closeAll([a, b]);
    expect(jwksHits).toBeGreaterThanOrEqual(1);
    const hits = jwksHits;
    const c = await expectUser(gw, { token: await mintJwt("nina", {}, { alg: "RS256", key: priv, kid: "rsa-1" }) }, "nina");
    await c.close();
    expect(jwksHits).toBe(hits);
  });

  test("a token signed with a key not in the JWKS is refused", async () => {
    const other = await jose.generateKeyPair("RS256", { extractable: true });
    await expectRefused(gw, { query: { token: await mintJwt("nina", {}, { alg: "RS256", key: other.privateKey, kid: "rsa-1" }) } }, 401, "invalid_token");
  });

  test("an expired JWKS-signed token is refused", async () => {
    await expectRefused(gw, { query: { token: await mintJwt("nina", {}, { alg: "RS256", key: priv, kid: "rsa-1", expInSec: -60 }) } }, 401, "expired_token");
  });

  test("a kid that is not in the JWKS is refused as a bad token", async () => {
    await expectRefused(gw, { query: { token: await mintJwt("nina", {}, { alg: "RS256", key: priv, kid: "unknown-kid" }) } }, 401, "invalid_token");
  });

  test("HS256 signed with a JWKS public key (as PEM) is refused", async () => {
    await expectRefused(gw, { query: { token: await mintJwt("nina", {}, { alg: "HS256", key: rsaPem }) } }, 401, "invalid_token");
    await expectRefused(gw, { query: { token: await mintJwt("nina", {}, { alg: "HS256", key: rsaPem, kid: "rsa-1" }) } }, 401, "invalid_token");
  });
});

describe("JWKS_URL outage: 503 auth_unavailable, not a bad-token 401", () => {
  test.each([
    ["unreachable", async () => ({ url: "http://127.0.0.1:1/jwks.json", stop: () => {} })],
    [
      "answering 500",
      async () => {
        const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("down", { status: 500 }) });
        return { url: `http://127.0.0.1:${s.port}/jwks.json`, stop: () => s.stop(true) };
      },
    ],
    [
      "answering garbage",
      async () => {
        const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ keys: "nope" }) });
        return { url: `http://127.0.0.1:${s.port}/jwks.json`, stop: () => s.stop(true) };
      },
    ],
  ])("key service %s", async (_what, serve) => {
    const svc = await serve();
    const gw = await startGateway({ JWT_SECRET: undefined, JWKS_URL: svc.url });
    try {
      const kp = await jose.generateKeyPair("ES256", { extractable: true });
      await expectRefused(gw, { query: { token: await mintJwt("pat", {}, { alg: "ES256", key: kp.privateKey, kid: "k1" }) } }, 503, "auth_unavailable");
    } finally {
      await gw.stop();
      svc.stop();
    }
  });
});

test("more upgrades from one IP than CONNECTIONS_PER_IP_PER_MIN: 429 with Retry-After, before auth", async () => {
  const gw = await startGateway({ CONNECTIONS_PER_IP_PER_MIN: "3" });
  try {
    const token = await tokenFor("u1");
    // The limiter counts in fixed one-minute windows: stay clear of a window edge.
    const inMinute = Date.now() % 60_000;
    if (inMinute > 58_000) await Bun.sleep(60_000 - inMinute + 50);
    const ok = await Promise.all([1, 2, 3].map(() => TestClient.connect(gw.wsUrl(), { token })));
    const r = await tryUpgrade(gw.port, { query: { token } });
    expect(r.status).toBe(429);
    expect(r.body.error).toBe("rate_limited");
    const retry = Number(r.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    // Bad credentials count too, and are refused with 429 rather than 401.
    expect((await tryUpgrade(gw.port, { query: { token: "garbage" } })).status).toBe(429);
    await closeAll(ok);
  } finally {
    await gw.stop();
  }
}, 15_000);

describe("ALLOW_ANONYMOUS=1", () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startGateway({ ALLOW_ANONYMOUS: "1" });
  });
  afterAll(() => gw.stop());

  test("no credentials connects, public streams only", async () => {
    const c = await TestClient.connect(gw.wsUrl());
    const id = 3;
    c.send({ action: "subscribe", streams: ["trades.btc_usdt", "orders.user1", "ticker.eth_usdt"], id });
    await c.waitFor((f) => f.event === "error" && f.id === id);
    await c.waitFor((f) => f.event === "subscribed" && f.id === id);
    expect(c.answers(id).find((f) => f.event === "subscribed")!.streams).toEqual(["trades.btc_usdt", "ticker.eth_usdt"]);
    expect(c.answers(id).find((f) => f.event === "error")).toMatchObject({ code: "forbidden", streams: ["orders.user1"] });
    gw.publish([
      { stream: "orders.user1", data: { secret: true } },
      { stream: "trades.btc_usdt", data: { p: 1 } },
    ]);
    await c.waitForSeq("trades.btc_usdt", 1);
    await Bun.sleep(50);
    expect(c.data("orders.user1")).toEqual([]);
    await c.close();
  });

  test("a bad token is still refused (anonymous is not a fallback for invalid credentials)", async () => {
    await expectRefused(gw, { query: { token: "garbage" } }, 401, "invalid_token");
  });

  test("a valid token still gets its private stream", async () => {
    const c = await expectUser(gw, { token: await tokenFor("user1") }, "user1");
    await c.close();
  });
});
