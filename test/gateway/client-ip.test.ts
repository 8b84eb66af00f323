/**
 * TRUSTED_PROXIES: X-Forwarded-For is believed only from a trusted peer, read right to left to the
 * first untrusted hop; per-IP limits and the connection's recorded address use that client IP.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { ClientIpResolver } from "../../src/gateway/client-ip.ts";
import { startGateway, TestClient, tokenFor, tryUpgrade, until, type TestGateway } from "../helpers/gateway-harness.ts";

describe("ClientIpResolver", () => {
  const r = new ClientIpResolver(["10.0.0.0/8", "192.168.1.7", "fd00::/8"]);
  test("an untrusted peer is the client, whatever it forwards", () => {
    expect(r.resolve("203.0.113.5", "1.2.3.4")).toBe("203.0.113.5");
  });
  test("from a trusted peer: the right-most untrusted hop", () => {
    expect(r.resolve("10.1.1.1", "1.2.3.4")).toBe("1.2.3.4");
    // A client prepending a forged hop does not win: the proxies' own entries are on the right.
    expect(r.resolve("10.1.1.1", "6.6.6.6, 1.2.3.4, 192.168.1.7")).toBe("1.2.3.4");
    expect(r.resolve("::ffff:10.1.1.1", "2001:db8::1, fd12::3")).toBe("2001:db8::1");
    expect(r.resolve("10.1.1.1", "[2001:db8::2]:443")).toBe("2001:db8::2");
    expect(r.resolve("10.1.1.1", "1.2.3.4:5555")).toBe("1.2.3.4");
  });
  test("every hop trusted: the left-most; garbage: the nearest address a trusted hop vouched for", () => {
    expect(r.resolve("10.1.1.1", "10.2.2.2, 10.3.3.3")).toBe("10.2.2.2");
    expect(r.resolve("10.1.1.1", "unknown, 10.3.3.3")).toBe("10.3.3.3");
    expect(r.resolve("10.1.1.1", "")).toBe("10.1.1.1");
  });
  test("no TRUSTED_PROXIES: the peer", () => {
    expect(new ClientIpResolver([]).resolve("10.1.1.1", "1.2.3.4")).toBe("10.1.1.1");
  });
  test("a bad CIDR is refused", () => {
    expect(() => new ClientIpResolver(["10.0.0.0/33"])).toThrow("TRUSTED_PROXIES");
    expect(() => new ClientIpResolver(["nope"])).toThrow("TRUSTED_PROXIES");
  });
});

const gateways: TestGateway[] = [];
afterAll(() => Promise.all(gateways.map((g) => g.stop())));

async function openWith(gw: TestGateway, xff: string): Promise<{ client: TestClient; ip: string }> {
  const before = new Set([...gw.gateway.sessions.all()].map((s) => s.id));
  const client = await TestClient.connect(gw.wsUrl(), { token: await tokenFor("ip_user"), headers: { "x-forwarded-for": xff } });
  const s = await until(() => [...gw.gateway.sessions.all()].find((x) => !before.has(x.id)), 5000, "session");
  return { client, ip: s.remoteAddress };
}

test("from a trusted peer (127.0.0.1): the forwarded client is the connection's IP and the per-IP limit's key", async () => {
  const gw = await startGateway({ TRUSTED_PROXIES: "127.0.0.0/8", CONNECTIONS_PER_IP_PER_MIN: "2" });
  gateways.push(gw);
  const a1 = await openWith(gw, "198.51.100.7");
  const a2 = await openWith(gw, "6.6.6.6, 198.51.100.7");
  expect([a1.ip, a2.ip]).toEqual(["198.51.100.7", "198.51.100.7"]);
  const third = await tryUpgrade(gw.port, { headers: { authorization: `Bearer ${await tokenFor("ip_user")}`, "x-forwarded-for": "198.51.100.7" } });
  expect(third.status).toBe(429);
  const b = await openWith(gw, "198.51.100.8"); // another client behind the same proxy is not limited
  expect(b.ip).toBe("198.51.100.8");
  await Promise.all([a1.client.close(), a2.client.close(), b.client.close()]);
});

test("from an untrusted peer, or with no TRUSTED_PROXIES, X-Forwarded-For is ignored", async () => {
  for (const env of [{ TRUSTED_PROXIES: "10.0.0.0/8" }, {}]) {
    const gw = await startGateway(env);
    gateways.push(gw);
    const c = await openWith(gw, "198.51.100.7");
    expect(c.ip).toBe("127.0.0.1");
    await c.client.close();
  }
});
