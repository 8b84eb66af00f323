import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ADMIN_TOKEN, JWT_SECRET, adminFetch, connectClient, startGateway, waitFor, type TestClient, type TestGateway } from "./helpers.ts";

const DASHBOARD_ORIGIN = "https://ops.example.com";

let tg: TestGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  tg = await startGateway({ admin: { corsOrigins: [DASHBOARD_ORIGIN, "*", "not a url"] } });
});

afterAll(async () => {
  for (const c of clients) c.ws.close();
  await tg.stop();
});

async function open(user: string, streams: string[] = []): Promise<TestClient> {
  const c = await connectClient(tg.base, user, streams);
  clients.push(c);
  return c;
}

type Page = { total: number; offset: number; limit: number; items: { id: number; user: string | null; ip: string; format: string; streams: number; openedAt: number; bufferedBytes: number }[] };

describe("admin auth", () => {
  const routes: [string, string][] = [
    ["GET", "/admin/api/connections"],
    ["GET", "/admin/api/connections/1"],
    ["POST", "/admin/api/connections/1/kick"],
    ["POST", "/admin/api/users/alice/kick"],
    ["GET", "/admin/api/streams"],
    ["GET", "/admin/api/sources"],
    ["GET", "/admin/api/bindings"],
    ["GET", "/admin/api/config"],
    ["GET", "/admin/api/stats"],
    ["GET", "/admin/api/stream"],
    ["GET", "/admin/api/no-such-route"],
  ];

  test("every API route answers 401 without the token, with a wrong one, or another scheme", async () => {
    for (const [method, path] of routes) {
      for (const headers of [{} as Record<string, string>, { authorization: "Bearer wrong-token" }, { authorization: `Basic ${btoa("admin:" + ADMIN_TOKEN)}` }, { authorization: `Bearer ${JWT_SECRET}` }]) {
        const res = await fetch(tg.base + path, { method, headers });
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        // /admin/api/bindings is served by bindings-routes.ts (mounted by the Gateway), without the header.
        if (!path.includes("bindings")) expect(res.headers.get("www-authenticate"), `${method} ${path}`).toBe('Bearer realm="admin"');
        expect(((await res.json()) as { error: string }).error).toBe("unauthorized");
      }
    }
  });

  test("failed admin auth is counted", async () => {
    await fetch(tg.base + "/admin/api/config");
    const text = await (await fetch(tg.base + "/metrics")).text();
    const line = text.split("\n").find((l) => l.startsWith("gateway_admin_auth_failures_total "));
    expect(Number(line?.split(" ")[1])).toBeGreaterThan(0);
  });

  test("?token= is accepted on the live feed only", async () => {
    const q = `?token=${encodeURIComponent(ADMIN_TOKEN)}`;
    expect((await fetch(`${tg.base}/admin/api/connections${q}`)).status).toBe(401);
    expect((await fetch(`${tg.base}/admin/api/config${q}`)).status).toBe(401);
    const ctrl = new AbortController();
    const res = await fetch(`${tg.base}/admin/api/stream${q}`, { signal: ctrl.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    ctrl.abort();
    expect((await fetch(`${tg.base}/admin/api/stream?token=nope`)).status).toBe(401);
  });

  test("the dashboard page and its bundle are served without the token, same-origin only, under a strict CSP", async () => {
    const res = await fetch(tg.base + "/admin");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(csp).not.toContain("unsafe-eval");
    const html = await res.text();
    expect(html).toContain('id="chart-throughput"');
    // No inline script, style or handler: the only script and stylesheet are this gateway's files.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc="\/admin\/dashboard\.js")[^>]*>|<style|\sstyle=|\son[a-z]+=/i);
    expect([...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1])).toEqual(["data:,", "/admin/dashboard.css", "/admin/dashboard.js"]);
    for (const [file, type] of [["/admin/dashboard.js", "text/javascript"], ["/admin/dashboard.css", "text/css"]] as const) {
      const r = await fetch(tg.base + file);
      expect(r.status, file).toBe(200);
      expect(r.headers.get("content-type")).toContain(type);
      expect(r.headers.get("content-security-policy")).toBe(csp);
      const body = await r.text();
      expect(body.length, file).toBeGreaterThan(1000);
      expect(body).not.toContain(ADMIN_TOKEN);
    }
    expect(html).not.toContain(ADMIN_TOKEN);
    expect(html).not.toContain(JWT_SECRET);
    expect(html).not.toMatch(/https?:\/\/(?!gw-1\.example\.com)[a-z]/i);
  });
});

describe("connections", () => {
  test("paging with offset and limit, with every field", async () => {
    const before = (await (await adminFetch(tg.base, "/admin/api/connections")).json()) as Page;
    for (let i = 0; i < 5; i++) await open(`pager${i}`, i % 2 ? ["ticker.btc_usdt", `orders.pager${i}`] : []);
    await waitFor(() => tg.gateway.sessions.size >= before.total + 5, 3000, "sessions");
    const all = (await (await adminFetch(tg.base, "/admin/api/connections?limit=1000")).json()) as Page;
    expect(all.total).toBe(tg.gateway.sessions.size);
    expect(all.items.length).toBe(all.total);
    const ids = all.items.map((c) => c.id);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);

    const p1 = (await (await adminFetch(tg.base, "/admin/api/connections?offset=0&limit=2")).json()) as Page;
    const p2 = (await (await adminFetch(tg.base, "/admin/api/connections?offset=2&limit=2")).json()) as Page;
    const last = (await (await adminFetch(tg.base, `/admin/api/connections?offset=${all.total - 1}&limit=2`)).json()) as Page;
    const past = (await (await adminFetch(tg.base, `/admin/api/connections?offset=${all.total + 10}&limit=2`)).json()) as Page;
    expect(p1.items.map((c) => c.id)).toEqual(ids.slice(0, 2));
    expect(p2.items.map((c) => c.id)).toEqual(ids.slice(2, 4));
    expect(last.items.map((c) => c.id)).toEqual(ids.slice(-1));
    expect(past.items).toEqual([]);
    expect(p1).toMatchObject({ total: all.total, offset: 0, limit: 2 });

    const row = all.items.find((c) => c.user === "pager1")!;
    expect(row).toMatchObject({ user: "pager1", ip: "127.0.0.1", format: "json", streams: 2 });
    expect(row.openedAt).toBeGreaterThan(Date.now() - 60_000);
    expect(typeof row.bufferedBytes).toBe("number");

    const one = (await (await adminFetch(tg.base, `/admin/api/connections/${row.id}`)).json()) as { streamNames: string[] };
    expect(one.streamNames.sort()).toEqual(["orders.pager1", "ticker.btc_usdt"]);

    const filtered = (await (await adminFetch(tg.base, "/admin/api/connections?user=pager3")).json()) as Page;
    expect(filtered.total).toBe(1);
    expect(filtered.items[0]!.user).toBe("pager3");
  });

  test("bad paging parameters are refused", async () => {
    for (const q of ["limit=0", "limit=100000", "offset=-1", "limit=abc", "offset=1.5"]) {
      const res = await adminFetch(tg.base, `/admin/api/connections?${q}`);
      expect(res.status, q).toBe(400);
    }
  });

  test("kick closes the connection with 4001 and removes it", async () => {
    const victim = await open("victim", ["trades.btc_usdt"]);
    const bystander = await open("bystander", ["trades.btc_usdt"]);
    const list = (await (await adminFetch(tg.base, "/admin/api/connections?user=victim")).json()) as Page;
    const id = list.items[0]!.id;
    const res = await adminFetch(tg.base, `/admin/api/connections/${id}/kick`, { method: "POST", body: JSON.stringify({ reason: "testing\u0000 kicks" }), headers: { "content-type": "application/json" } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ kicked: 1, ids: [id], code: 4001 });
    const closed = await victim.closed;
    expect(closed.code).toBe(4001);
    expect(closed.reason).toBe("kicked by operator: testing kicks");
    await waitFor(() => tg.gateway.sessions.get(id) === undefined, 3000, "session removal");
    const after = (await (await adminFetch(tg.base, "/admin/api/connections?limit=1000")).json()) as Page;
    expect(after.items.some((c) => c.id === id)).toBe(false);
    expect(bystander.ws.readyState).toBe(WebSocket.OPEN);
    expect((await adminFetch(tg.base, `/admin/api/connections/${id}/kick`, { method: "POST" })).status).toBe(404);

    const metrics = await (await fetch(tg.base + "/metrics")).text();
    expect(metrics).toMatch(/gateway_connections_closed_total\{code="4001",reason="kicked"\} [1-9]/);
    expect(metrics).toMatch(/gateway_admin_kicks_total\{scope="connection"\} [1-9]/);
  });

  test("kick a user closes all of that user's connections with 4001", async () => {
    const a = [await open("mallory"), await open("mallory", ["orders.mallory"]), await open("mallory")];
    const other = await open("trent");
    const res = await adminFetch(tg.base, "/admin/api/users/mallory/kick", { method: "POST" });
    const body = (await res.json()) as { kicked: number; ids: number[] };
    expect(res.status).toBe(200);
    expect(body.kicked).toBe(3);
    for (const c of a) expect((await c.closed).code).toBe(4001);
    await waitFor(() => tg.gateway.sessions.ofUser("mallory").length === 0, 3000, "user sessions removal");
    expect(other.ws.readyState).toBe(WebSocket.OPEN);
    const again = (await (await adminFetch(tg.base, "/admin/api/users/mallory/kick", { method: "POST" })).json()) as { kicked: number };
    expect(again.kicked).toBe(0);
  });

  test("unknown ids, wrong methods and routes", async () => {
    expect((await adminFetch(tg.base, "/admin/api/connections/999999/kick", { method: "POST" })).status).toBe(404);
    expect((await adminFetch(tg.base, "/admin/api/connections/abc/kick", { method: "POST" })).status).toBe(404);
    expect((await adminFetch(tg.base, "/admin/api/connections/1/kick")).status).toBe(405);
    expect((await adminFetch(tg.base, "/admin/api/connections", { method: "POST" })).status).toBe(405);
    expect((await adminFetch(tg.base, "/admin/api/users/%E0%A4%A/kick", { method: "POST" })).status).toBe(400);
    expect((await adminFetch(tg.base, "/admin/api/nope")).status).toBe(404);
  });
});

describe("streams, sources, bindings", () => {
  test("streams sorted by subscribers, top N", async () => {
    await open("s1", ["depth.eth_usdt", "ticker.sol_usdt"]);
    await open("s2", ["depth.eth_usdt"]);
    await open("s3", ["depth.eth_usdt", "ticker.sol_usdt", "orders.s3"]);
    const body = (await (await adminFetch(tg.base, "/admin/api/streams?limit=3")).json()) as { total: number; items: { stream: string; subscribers: number; json: number; fb: number }[] };
    expect(body.items.length).toBe(3);
    expect(body.total).toBe(tg.gateway.index.streamCount);
    for (let i = 1; i < body.items.length; i++) expect(body.items[i - 1]!.subscribers).toBeGreaterThanOrEqual(body.items[i]!.subscribers);
    const depth = body.items.find((s) => s.stream === "depth.eth_usdt");
    expect(depth).toBeDefined();
    expect(depth!.subscribers).toBe(depth!.json + depth!.fb);
    const prefixed = (await (await adminFetch(tg.base, "/admin/api/streams?prefix=ticker.sol")).json()) as { items: { stream: string; subscribers: number }[] };
    expect(prefixed.items).toEqual([{ stream: "ticker.sol_usdt", subscribers: 2, json: 2, fb: 0 } as never]);
  });

  test("sources with state", async () => {
    const body = (await (await adminFetch(tg.base, "/admin/api/sources")).json()) as { ready: boolean; sources: { name: string; kind: string; connected: boolean }[] };
    expect(body.ready).toBe(true);
    expect(body.sources).toContainEqual(expect.objectContaining({ name: "embedded", kind: "embedded", connected: true }));
  });

  test("bindings answer what there is", async () => {
    const res = await adminFetch(tg.base, "/admin/api/bindings");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { from: string; bindings: unknown[] };
    expect(Array.isArray(body.bindings)).toBe(true);
  });
});

describe("configuration", () => {
  test("is served with every secret redacted", async () => {
    const secrets = {
      kafka: "kafka-sasl-password-77",
      redis: "redis-url-password-88",
      nats: "nats-token-99",
      query: "query-secret-11",
    };
    // Source definitions are opaque to redactConfig; inject some with secrets in typical places.
    (tg.gateway.cfg as unknown as { sources: unknown[] }).sources = [
      { name: "k", kind: "kafka", brokers: ["b:9092"], topics: ["t"], sasl: { mechanism: "plain", username: "svc", password: secrets.kafka } },
      { name: "r", kind: "redis", url: `redis://default:${secrets.redis}@redis:6379/0`, streams: ["s"] },
      { name: "n", kind: "nats", servers: ["nats://n:4222"], token: secrets.nats, mode: "core", subjects: ["x"] },
      { name: "q", kind: "redis", url: `redis://redis:6379/?password=${secrets.query}`, streams: ["s"] },
    ];
    const res = await adminFetch(tg.base, "/admin/api/config");
    expect(res.status).toBe(200);
    const text = await res.text();
    for (const s of [ADMIN_TOKEN, JWT_SECRET, ...Object.values(secrets)]) expect(text).not.toContain(s);
    const body = JSON.parse(text) as { config: { adminToken: string; port: number; auth: { jwt: { secret: string; algorithms: string[] } }; sources: { url?: string; sasl?: unknown }[] } };
    expect(body.config.adminToken).toBe("[redacted]");
    expect(body.config.auth.jwt.secret).toBe("[redacted]");
    expect(body.config.auth.jwt.algorithms).toEqual(["HS256"]);
    expect(body.config.port).toBe(0);
    expect(body.config.sources[1]!.url).toBe("redis://[redacted]@redis:6379/0");
    expect(body.config.sources[0]!.sasl).toBe("[redacted]");
    (tg.gateway.cfg as unknown as { sources: unknown[] }).sources = [];
  });
});

describe("CORS", () => {
  test("only configured origins are allowed; * is ignored", async () => {
    expect(tg.admin.corsOrigins).toEqual([DASHBOARD_ORIGIN]);
    const ok = await adminFetch(tg.base, "/admin/api/sources", { headers: { origin: DASHBOARD_ORIGIN } });
    expect(ok.headers.get("access-control-allow-origin")).toBe(DASHBOARD_ORIGIN);
    const evil = await adminFetch(tg.base, "/admin/api/sources", { headers: { origin: "https://evil.example.com" } });
    expect(evil.headers.get("access-control-allow-origin")).toBeNull();
    // A 401 is readable by an allowed dashboard, so it can say "token refused".
    const denied = await adminFetch(tg.base, "/admin/api/sources", { token: null, headers: { origin: DASHBOARD_ORIGIN } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(DASHBOARD_ORIGIN);

    const pre = await fetch(tg.base + "/admin/api/connections/1/kick", {
      method: "OPTIONS",
      headers: { origin: DASHBOARD_ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-headers")).toContain("authorization");
    const preEvil = await fetch(tg.base + "/admin/api/connections/1/kick", { method: "OPTIONS", headers: { origin: "https://evil.example.com", "access-control-request-method": "POST" } });
    expect(preEvil.status).toBe(403);
    expect(preEvil.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("metrics", () => {
  test("/metrics has source health collected at scrape time and bounded labels", async () => {
    const text = await (await fetch(tg.base + "/metrics")).text();
    expect(text).toContain('gateway_source_up{source="embedded",kind="embedded"} 1');
    expect(text).toContain("gateway_ready 1");
    expect(text).toMatch(/gateway_connections \d+/);
    expect(text).toContain('gateway_resumes_total{result="unavailable"} 0');
    expect(text).toContain('gateway_subscriptions{kind="orders"}');
    // No user id or per-pair stream name ever becomes a label value.
    for (const line of text.split("\n")) {
      if (line.startsWith("#")) continue;
      expect(line).not.toMatch(/pager\d|mallory|btc_usdt|eth_usdt/);
    }
  });
});
