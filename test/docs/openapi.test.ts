/**
 * docs/openapi.yaml against the real thing: the official parser validates it, and every operation
 * it documents is called on a running gateway (admin API and pages mounted as main.ts does), the
 * answer's status documented for that operation, its content type the documented one and its JSON
 * body valid against the documented schema.
 */
import { dereference, validate } from "@readme/openapi-parser";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { mountWebApp } from "../../src/web/web-app.ts";
import { mountAdmin, type AdminHandle } from "../../src/admin/admin-api.ts";
import { ADMIN_TOKEN, TestClient, startGateway, tokenFor, tryUpgrade, type TestGateway } from "../helpers/gateway-harness.ts";

const SPEC = join(import.meta.dir, "../../docs/openapi.yaml");
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;

type Json = Record<string, any>;

/** One HTTP call and the status it must get. */
interface Case {
  op: string;
  method: string;
  path: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

let spec: Json;
let gw: TestGateway;
let admin: AdminHandle;
let user1: string;
const ajv = new Ajv2020({ allErrors: true, strict: false });
const asAdmin = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  const raw = Bun.YAML.parse(await Bun.file(SPEC).text()) as Parameters<typeof validate>[0];
  const result = await validate(structuredClone(raw));
  expect(result.valid ? [] : result.errors.map((e) => e.message)).toEqual([]);
  spec = (await dereference(structuredClone(raw))) as unknown as Json;
  gw = await startGateway({ LOG_DIR: "" });
  admin = mountAdmin(gw.gateway, { env: {}, stats: { intervalMs: 200 } });
  await mountWebApp(gw.gateway);
  user1 = await tokenFor("user1");
  gw.publish([{ stream: "trades.btc_usdt", data: { id: 1, price: "1", qty: "1", side: "buy", timestamp: Date.now() } }]);
});
afterAll(async () => {
  admin?.stop();
  await gw?.stop();
});

/** The documented operation a concrete method + path falls under. */
function operationFor(method: string, path: string): { id: string; op: Json } | undefined {
  for (const [template, item] of Object.entries(spec.paths as Json)) {
    const re = new RegExp("^" + template.replace(/\{[^}]+\}/g, "[^/]+") + "$");
    const op = (item as Json)[method.toLowerCase()];
    if (op && re.test(path)) return { id: op.operationId, op };
  }
  return undefined;
}

async function call(c: Case): Promise<void> {
  const found = operationFor(c.method, c.path.split("?")[0]!);
  expect(found?.id, `${c.method} ${c.path} is documented`).toBe(c.op);
  const documented = found!.op.responses[String(c.status)];
  expect(documented, `${c.op}: status ${c.status} documented`).toBeDefined();
  const res =
    c.op === "websocket" && c.headers?.upgrade
      ? await fetchUpgrade(c)
      : await fetch(gw.httpUrl(c.path), {
          method: c.method,
          headers: { ...(c.body !== undefined ? { "content-type": "application/json" } : {}), ...c.headers },
          body: c.body === undefined ? undefined : JSON.stringify(c.body),
        });
  const text = await res.text();
  expect(res.status, `${c.method} ${c.path}: ${text.slice(0, 200)}`).toBe(c.status);
  const content = documented.content as Json | undefined;
  if (!content) {
    expect(text, `${c.op} ${c.status} has no body`).toBe("");
    return;
  }
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
  expect(Object.keys(content), `${c.op} ${c.status} content type`).toContain(type);
  if (type !== "application/json") return;
  const schema = content[type].schema;
  const check = ajv.compile(schema);
  expect(check(JSON.parse(text)), `${c.op} ${c.status}: ${JSON.stringify(check.errors)} body ${text.slice(0, 300)}`).toBe(true);
}

async function fetchUpgrade(c: Case): Promise<Response> {
  const r = await tryUpgrade(gw.port, { query: Object.fromEntries(new URL(gw.httpUrl(c.path)).searchParams), headers: c.headers });
  return new Response(JSON.stringify(r.body), { status: r.status, headers: r.headers });
}

describe("docs/openapi.yaml", () => {
  test("the schemas are not vacuous: bodies that break them are refused", () => {
    const schema = (op: string, status: string) => {
      for (const item of Object.values(spec.paths as Json)) for (const m of METHODS) if ((item as Json)[m]?.operationId === op) return (item as Json)[m].responses[status].content["application/json"].schema;
    };
    expect(ajv.validate(schema("healthz", "200"), { status: "dead" })).toBe(false);
    expect(ajv.validate(schema("snapshot", "401"), { message: "no code" })).toBe(false);
    expect(ajv.validate(schema("adminConnections", "200"), { total: 1, offset: 0, limit: 1, items: [{ id: 1 }] })).toBe(false);
    expect(ajv.validate(schema("replay", "200"), { stream: "s", epoch: "", oldest: 0, head: 0, complete: true, events: [{ stream: "s", seq: -1, prev: 0, data: 1 }] })).toBe(false);
  });

  test("every operation answers as documented", async () => {
    const client = await TestClient.connect(gw.wsUrl(), { token: user1 });
    await client.request({ action: "subscribe", streams: ["trades.btc_usdt"] });
    const up = { upgrade: "websocket" };
    const cases: Case[] = [
      { op: "healthz", method: "GET", path: "/healthz", status: 200 },
      { op: "readyz", method: "GET", path: "/readyz", status: 200 },
      { op: "metrics", method: "GET", path: "/metrics", status: 200 },
      { op: "websocket", method: "GET", path: "/ws", status: 426 },
      { op: "websocket", method: "GET", path: "/ws", status: 401, headers: up },
      { op: "websocket", method: "GET", path: "/ws?format=xml", status: 400, headers: { ...up, authorization: `Bearer ${user1}` } },
      { op: "snapshot", method: "GET", path: "/snapshot/trades.btc_usdt", status: 200, headers: { authorization: `Bearer ${user1}` } },
      { op: "snapshot", method: "GET", path: "/snapshot/trades.btc_usdt", status: 401 },
      { op: "snapshot", method: "GET", path: "/snapshot/orders.user2", status: 403, headers: { authorization: `Bearer ${user1}` } },
      { op: "snapshot", method: "GET", path: "/snapshot/ticker.nothing_yet", status: 404, headers: { authorization: `Bearer ${user1}` } },
      { op: "replay", method: "GET", path: "/replay/trades.btc_usdt?fromSeq=0&limit=10", status: 200, headers: { authorization: `Bearer ${user1}` } },
      { op: "replay", method: "GET", path: "/replay/trades.btc_usdt?fromSeq=-1", status: 400, headers: { authorization: `Bearer ${user1}` } },
      { op: "publish", method: "POST", path: "/publish", status: 202, headers: asAdmin, body: { stream: "ticker.btc_usdt", data: { price: "1" } } },
      { op: "publish", method: "POST", path: "/publish", status: 202, headers: asAdmin, body: [{ stream: "ticker.btc_usdt", data: { price: "2" } }] },
      { op: "publish", method: "POST", path: "/publish", status: 400, headers: asAdmin, body: { stream: "no dots" } },
      { op: "publish", method: "POST", path: "/publish", status: 401, body: { stream: "ticker.btc_usdt", data: {} } },
      { op: "adminDashboard", method: "GET", path: "/admin", status: 200 },
      { op: "webApp", method: "GET", path: "/app", status: 200 },
      { op: "adminDashboardScript", method: "GET", path: "/admin/dashboard.js", status: 200 },
      { op: "adminDashboardStyles", method: "GET", path: "/admin/dashboard.css", status: 200 },
      { op: "webAppScript", method: "GET", path: "/app/app.js", status: 200 },
      { op: "webAppStyles", method: "GET", path: "/app/app.css", status: 200 },
      { op: "adminConnections", method: "GET", path: "/admin/api/connections?limit=5", status: 200, headers: asAdmin },
      { op: "adminConnections", method: "GET", path: "/admin/api/connections?limit=0", status: 400, headers: asAdmin },
      { op: "adminConnections", method: "GET", path: "/admin/api/connections", status: 401 },
      { op: "adminConnection", method: "GET", path: "/admin/api/connections/999999", status: 404, headers: asAdmin },
      { op: "adminStreams", method: "GET", path: "/admin/api/streams?limit=3", status: 200, headers: asAdmin },
      { op: "adminStreams", method: "GET", path: "/admin/api/streams?limit=99999", status: 400, headers: asAdmin },
      { op: "adminSources", method: "GET", path: "/admin/api/sources", status: 200, headers: asAdmin },
      { op: "adminConfig", method: "GET", path: "/admin/api/config", status: 200, headers: asAdmin },
      { op: "adminStats", method: "GET", path: "/admin/api/stats?history=5", status: 200, headers: asAdmin },
      { op: "adminFeed", method: "GET", path: "/admin/api/stream", status: 401 },
      { op: "listBindings", method: "GET", path: "/admin/api/bindings", status: 200, headers: asAdmin },
      { op: "listBindings", method: "GET", path: "/admin/api/bindings", status: 401 },
      { op: "upsertBinding", method: "PUT", path: "/admin/api/bindings/contract", status: 200, headers: asAdmin, body: { source: "embedded", match: "md.*" } },
      { op: "upsertBinding", method: "PUT", path: "/admin/api/bindings/contract", status: 400, headers: asAdmin, body: { source: "embedded", bogus: 1 } },
      { op: "replaceBindings", method: "PUT", path: "/admin/api/bindings", status: 200, headers: asAdmin, body: [{ id: "contract", source: "embedded" }] },
      { op: "replaceBindings", method: "PUT", path: "/admin/api/bindings", status: 400, headers: asAdmin, body: { not: "a list" } },
      { op: "deleteBinding", method: "DELETE", path: "/admin/api/bindings/contract", status: 204, headers: asAdmin },
      { op: "deleteBinding", method: "DELETE", path: "/admin/api/bindings/contract", status: 404, headers: asAdmin },
      { op: "adminKickUser", method: "POST", path: "/admin/api/users/nobody/kick", status: 200, headers: asAdmin },
      { op: "realtimeToken", method: "POST", path: "/realtime/token", status: 200, headers: { authorization: `Bearer ${user1}` } },
      { op: "realtimeToken", method: "POST", path: "/realtime/token", status: 401 },
      { op: "realtimeBootstrap", method: "GET", path: "/realtime/bootstrap", status: 200, headers: { authorization: `Bearer ${user1}` } },
      { op: "realtimeBootstrap", method: "GET", path: "/realtime/bootstrap", status: 401 },
      { op: "realtimeKeys", method: "GET", path: "/realtime/keys", status: 200 },
      { op: "adminRevoke", method: "POST", path: "/admin/api/revocations", status: 200, headers: asAdmin, body: { userId: "contract_revoked" } },
      { op: "adminRevoke", method: "POST", path: "/admin/api/revocations", status: 400, headers: asAdmin, body: { userId: "a", jti: "b" } },
      { op: "adminRevoke", method: "POST", path: "/admin/api/revocations", status: 401, body: { jti: "x" } },
    ];
    for (const c of cases) await call(c);
    // A live connection: its detail, then kicking it.
    const page = (await (await fetch(gw.httpUrl("/admin/api/connections"), { headers: asAdmin })).json()) as { items: { id: number }[] };
    const id = page.items[0]!.id;
    await call({ op: "adminConnection", method: "GET", path: `/admin/api/connections/${id}`, status: 200, headers: asAdmin });
    await call({ op: "adminKickConnection", method: "POST", path: `/admin/api/connections/${id}/kick`, status: 200, headers: asAdmin, body: { reason: "contract test" } });
    await call({ op: "adminKickConnection", method: "POST", path: `/admin/api/connections/${id}/kick`, status: 404, headers: asAdmin });
    expect((await client.closed).code).toBe(4001);
    // The SSE feed answers with an event stream (read its first bytes, then hang up).
    const ctl = new AbortController();
    const feed = await fetch(gw.httpUrl(`/admin/api/stream?token=${ADMIN_TOKEN}`), { signal: ctl.signal });
    expect(feed.status).toBe(200);
    expect(Object.keys(operationFor("GET", "/admin/api/stream")!.op.responses["200"].content)).toContain(feed.headers.get("content-type")!.split(";")[0]!);
    ctl.abort();
    cases.push({ op: "adminFeed", method: "GET", path: "", status: 200 }, { op: "adminConnection", method: "GET", path: "", status: 200 }, { op: "adminKickConnection", method: "POST", path: "", status: 200 });

    // Every documented operation was called, with each of its 2xx statuses but 101 (a real socket above).
    const documented: string[] = [];
    for (const item of Object.values(spec.paths as Json)) for (const m of METHODS) if ((item as Json)[m]) documented.push((item as Json)[m].operationId);
    expect([...new Set(cases.map((c) => c.op))].sort()).toEqual(documented.sort());
  });
});
