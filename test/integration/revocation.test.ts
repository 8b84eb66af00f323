/**
 * Revocation across a cluster: gateway processes (`bun src/main.ts`) sharing a real Redis or a
 * real NATS JetStream. A revocation posted to one gateway closes the matching connections on every
 * gateway with 4004 `revoked`, and a gateway started afterwards still refuses those tokens.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as jose from "jose";
import { ADMIN_TOKEN, mintJwt, spawnGateway, TestClient, tryUpgrade, type ChildGateway } from "../helpers/gateway-harness.ts";
import { ensureServices, NATS_URL, REDIS_URL, SERVICES_TIMEOUT_MS } from "../helpers/services.ts";

beforeAll(() => ensureServices(["redis", "nats"]), SERVICES_TIMEOUT_MS);

function revoke(gw: ChildGateway, body: unknown, token = ADMIN_TOKEN): Promise<Response> {
  return fetch(`http://127.0.0.1:${gw.port}/admin/api/revocations`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** A JWT with a jti (RS256, a real key pair). */
let signingKey: CryptoKey;
let publicPem: string;
function tokenFor(sub: string, jti: string): Promise<string> {
  return mintJwt(sub, { jti }, { alg: "RS256", key: signingKey });
}

beforeAll(async () => {
  const pair = await jose.generateKeyPair("RS256");
  signingKey = pair.privateKey as CryptoKey;
  publicPem = await jose.exportSPKI(pair.publicKey);
});

for (const backend of ["redis", "nats"] as const) {
  describe(`revocation through ${backend}`, () => {
    const gateways: ChildGateway[] = [];
    const env = () => ({
      JWT_SECRET: undefined,
      JWT_PUBLIC_KEY: publicPem,
      REVOCATION_BACKEND: backend,
      REVOCATION_URL: backend === "redis" ? REDIS_URL : NATS_URL,
      // A fresh name per run: revocations of earlier runs stay stored until their TTL.
      REVOCATION_NAME: `rev-test-${Date.now().toString(36)}-${backend}`,
      REVOCATION_TTL_SEC: "600",
      LOG_DIR: "",
    });
    let shared: ReturnType<typeof env>;
    beforeAll(async () => {
      shared = env();
      // One at a time, each kept as soon as it runs, so afterAll stops whatever started.
      for (let i = 0; i < 2; i++) gateways.push(await spawnGateway(shared));
    }, 60_000);
    afterAll(async () => {
      await Promise.all(gateways.map((g) => g.kill("SIGTERM")));
    });

    test("a user revoked on one gateway is closed 4004 on both; other users stay; a later gateway refuses", async () => {
      const [a, b] = gateways as [ChildGateway, ChildGateway];
      const aliceOld = await tokenFor("alice", "alice-1");
      const aliceOnA = await TestClient.connect(`ws://127.0.0.1:${a.port}/ws`, { token: await tokenFor("alice", "alice-2") });
      const aliceOnB = await TestClient.connect(`ws://127.0.0.1:${b.port}/ws`, { token: aliceOld });
      const bobOnB = await TestClient.connect(`ws://127.0.0.1:${b.port}/ws`, { token: await tokenFor("bob", "bob-1") });
      const carolToken = await tokenFor("carol", "carol-1");
      const carolOnA = await TestClient.connect(`ws://127.0.0.1:${a.port}/ws`, { token: carolToken });
      for (const c of [aliceOnA, aliceOnB, bobOnB, carolOnA]) await c.request({ action: "ping" });

      const res = await revoke(a, { userId: "alice" });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({ kind: "user", value: "alice", closed: 1 });
      expect(await aliceOnA.waitClosed(5000)).toEqual({ code: 4004, reason: "revoked" });
      expect(await aliceOnB.waitClosed(5000)).toEqual({ code: 4004, reason: "revoked" });
      // Refused at the upgrade on the other gateway too.
      const refused = await tryUpgrade(b.port, { headers: { authorization: `Bearer ${aliceOld}` } });
      expect(refused.status).toBe(401);
      expect(refused.body.error).toBe("revoked");

      // One token by jti, revoked through the other gateway.
      expect((await revoke(b, { jti: "carol-1" })).status).toBe(200);
      expect(await carolOnA.waitClosed(5000)).toEqual({ code: 4004, reason: "revoked" });
      expect(bobOnB.isOpen).toBe(true);
      expect((await bobOnB.request({ action: "ping" })).event).toBe("pong");

      // A gateway that starts afterwards learns both from the broker before it listens.
      const late = await spawnGateway(shared);
      gateways.push(late);
      for (const t of [aliceOld, carolToken]) {
        const r = await tryUpgrade(late.port, { headers: { authorization: `Bearer ${t}` } });
        expect(r.status).toBe(401);
        expect(r.body.error).toBe("revoked");
      }
      const bobLate = await TestClient.connect(`ws://127.0.0.1:${late.port}/ws`, { token: await tokenFor("bob", "bob-2") });
      // Alice logs in again: a token issued after the revocation is accepted (iat has 1 s resolution).
      await Bun.sleep(1100);
      const aliceNew = await TestClient.connect(`ws://127.0.0.1:${late.port}/ws`, { token: await tokenFor("alice", "alice-3") });
      expect((await aliceNew.request({ action: "ping" })).event).toBe("pong");
      // A refresh with a revoked token is refused in-band.
      const inBand = await aliceNew.request({ action: "auth", token: carolToken });
      expect(inBand.code).toBe("invalid_token");
      await Promise.all([bobOnB.close(), bobLate.close(), aliceNew.close()]);
    }, 60_000);

    test("bad requests: no admin token 401, malformed bodies 400, GET 405", async () => {
      const a = gateways[0]!;
      expect((await revoke(a, { userId: "x" }, "wrong")).status).toBe(401);
      for (const body of [{}, { userId: "" }, { userId: "a", jti: "b" }, { userId: 5 }, [1], "x".repeat(5000)]) {
        const r = await revoke(a, body);
        expect(r.status).toBe(400);
        expect(((await r.json()) as { error: string }).error).toBe("bad_request");
      }
      const get = await fetch(`http://127.0.0.1:${a.port}/admin/api/revocations`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(get.status).toBe(405);
    });
  });
}
