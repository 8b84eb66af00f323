import { SignJWT } from "jose";
import { mountAdmin, type AdminHandle, type AdminOptions } from "../../src/admin/admin-api.ts";
import { loadConfig, type GatewayConfig } from "../../src/config/config.ts";
import { createGateway, type AssembledGateway } from "../../src/create-gateway.ts";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { Logger } from "../../src/util/logger.ts";

export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef";
export const JWT_SECRET = "test-jwt-secret-please-do-not-leak-42";

/** A running gateway (in-memory logs, port 0) with the admin routes mounted. */
export interface TestGateway {
  gateway: AssembledGateway;
  admin: AdminHandle;
  /** http://127.0.0.1:port */
  base: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  simulator?: boolean;
  eventsPerSecond?: number;
  env?: Record<string, string>;
  admin?: AdminOptions;
  /** Changes to the loaded config before the gateway is built. */
  tweak?: (cfg: GatewayConfig) => void;
}

export async function startGateway(opts: StartOptions = {}): Promise<TestGateway> {
  const cfg = loadConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    ADMIN_TOKEN,
    JWT_SECRET,
    SIMULATOR: opts.simulator ? "1" : "0",
    SIMULATOR_EVENTS_PER_SEC: String(opts.eventsPerSecond ?? 200),
    SHUTDOWN_GRACE_MS: "500",
    LOG_LEVEL: "error",
    ...opts.env,
  });
  cfg.log.dir = ""; // in-memory ring logs
  opts.tweak?.(cfg);
  const gateway = createGateway(cfg, { log: new Logger("error"), metrics: new GatewayMetrics({ defaultMetrics: false }) });
  const admin = mountAdmin(gateway, { env: {}, ...opts.admin });
  await gateway.start();
  return {
    gateway,
    admin,
    base: `http://127.0.0.1:${gateway.port}`,
    async stop() {
      admin.stop();
      await gateway.shutdown(300);
    },
  };
}

/** A JWT for `user` signed with the test secret. */
export async function tokenFor(user: string): Promise<string> {
  return new SignJWT({ roles: ["trader"] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(user)
    .setIssuedAt()
    .setExpirationTime("1h")
    .sign(new TextEncoder().encode(JWT_SECRET));
}

/** An open client WebSocket plus a promise of its close event. */
export interface TestClient {
  ws: WebSocket;
  closed: Promise<{ code: number; reason: string }>;
  /** Sends a request and waits for the next control answer of that event type. */
  request(msg: Record<string, unknown>, event: string): Promise<Record<string, unknown>>;
}

export async function connectClient(base: string, user: string, streams: string[] = []): Promise<TestClient> {
  const ws = new WebSocket(`${base.replace(/^http/, "ws")}/ws?token=${await tokenFor(user)}`);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason })));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`websocket for ${user} failed`)), { once: true });
  });
  const request = (msg: Record<string, unknown>, event: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} answer`)), 5000);
      const onMsg = (e: MessageEvent) => {
        if (typeof e.data !== "string") return;
        const m = JSON.parse(e.data) as Record<string, unknown>;
        if (m.event !== event) return;
        clearTimeout(timer);
        ws.removeEventListener("message", onMsg);
        resolve(m);
      };
      ws.addEventListener("message", onMsg);
      ws.send(JSON.stringify(msg));
    });
  const client = { ws, closed, request };
  if (streams.length) await request({ action: "subscribe", streams }, "subscribed");
  return client;
}

/** Polls `check` until it returns true or `ms` pass. */
export async function waitFor(check: () => boolean | Promise<boolean>, ms = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export function adminFetch(base: string, path: string, init: RequestInit & { token?: string | null } = {}): Promise<Response> {
  const { token = ADMIN_TOKEN, headers, ...rest } = init;
  const h = new Headers(headers);
  if (token !== null) h.set("authorization", `Bearer ${token}`);
  return fetch(base + path, { ...rest, headers: h });
}
