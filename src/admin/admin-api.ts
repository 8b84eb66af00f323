import { CLOSE } from "../../protocol/close-codes.ts";
import { httpError, json, safeEqual, type RouteHandler } from "../util/http.ts";
import type { AdminSession, AdminView } from "./admin-view.ts";
import { AdminStats, sourceViews, topStreams, type StatsOptions, type StatsSnapshot } from "./admin-stats.ts";
import { dashboardRoutes } from "./dashboard-page.ts";
import { adminConfigView } from "./redact.ts";

/** Options of `mountAdmin`; every field has a production default. */
export interface AdminOptions {
  /**
   * Origins (scheme://host[:port]) whose dashboards may call this gateway's admin API from the
   * browser. Default: `ADMIN_CORS_ORIGINS` (comma-separated); empty means same-origin only.
   */
  corsOrigins?: string[];
  /** Sampler settings for the live feed (tests shorten the interval). */
  stats?: StatsOptions;
  /** Environment to read defaults from (default `process.env`). */
  env?: Record<string, string | undefined>;
}

/** What `mountAdmin` returns: the sampler (for tests) and a stop for timers and open feeds. */
export interface AdminHandle {
  readonly stats: AdminStats;
  readonly corsOrigins: readonly string[];
  /** Stops the sampler and ends every open live feed. */
  stop(): void;
}

const API = "/admin/api/";
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;
const MAX_TOP = 1000;
/** Snapshots a feed may have queued for a client that does not read before it is cut off. */
const MAX_FEED_BACKLOG = 30;
/** Points of history sent when a feed opens (five minutes at 1 s). */
const FEED_HISTORY = 300;

/**
 * Mounts the admin dashboard (`GET /admin`, bundled by dashboard-page.ts) and API (`/admin/api/...`, bearer ADMIN_TOKEN) on
 * `gateway.routes`, and starts the 1 s stats sampler behind the live feed. `/admin/api/bindings`
 * is not here: createGateway mounts bindings-routes.ts, ahead of these routes.
 */
export function mountAdmin(gateway: AdminView, opts: AdminOptions = {}): AdminHandle {
  const env = opts.env ?? process.env;
  const corsOrigins = normalizeOrigins(opts.corsOrigins ?? (env.ADMIN_CORS_ORIGINS ?? "").split(","));
  const stats = new AdminStats(gateway, opts.stats);
  const feeds = new Set<() => void>();
  const page = dashboardRoutes((error) => gateway.log.error("dashboard_build_failed", { error: error.slice(0, 2000) }));
  const api = new AdminApi(gateway, stats, corsOrigins, feeds, page);
  const route: RouteHandler = (req, url) => api.handle(req, url);
  gateway.routes.push(route);
  stats.start();
  return {
    stats,
    corsOrigins,
    stop() {
      stats.stop();
      for (const end of [...feeds]) end();
      const i = gateway.routes.indexOf(route);
      if (i >= 0) gateway.routes.splice(i, 1);
    },
  };
}

/** Exact origins only: `*` and anything that is not a bare http(s) origin is ignored. */
function normalizeOrigins(list: string[]): string[] {
  const out: string[] = [];
  for (const raw of list) {
    const s = raw.trim();
    if (!s) continue;
    try {
      const u = new URL(s);
      if ((u.protocol === "http:" || u.protocol === "https:") && (u.pathname === "/" || u.pathname === "") && !u.search) out.push(u.origin);
    } catch {
      // Not an origin; ignored.
    }
  }
  return [...new Set(out)];
}

class AdminApi {
  constructor(
    private readonly gateway: AdminView,
    private readonly stats: AdminStats,
    private readonly corsOrigins: string[],
    private readonly feeds: Set<() => void>,
    private readonly page: RouteHandler,
  ) {}

  async handle(req: Request, url: URL): Promise<Response | undefined> {
    const path = url.pathname;
    const page = await this.page(req, url);
    if (page) return page;
    if (!path.startsWith(API)) return undefined;
    const cors = this.corsHeaders(req);
    if (req.method === "OPTIONS") return this.preflight(req, cors);
    const sub = path.slice(API.length);
    // The live feed also takes ?token=, for EventSource clients that cannot set headers.
    if (!this.authorized(req, sub === "stream" ? url : undefined)) {
      this.gateway.metrics.adminAuthFailures.inc();
      return httpError(401, "unauthorized", "admin token required (Authorization: Bearer <ADMIN_TOKEN>)", { ...cors, "www-authenticate": 'Bearer realm="admin"' });
    }
    try {
      const res = await this.route(req, url, sub);
      for (const [k, v] of Object.entries(cors)) res.headers.set(k, v);
      res.headers.set("cache-control", "no-store");
      return res;
    } catch (err) {
      this.gateway.log.error("admin_error", { path, error: (err as Error).message });
      return httpError(500, "internal", "internal error", cors);
    }
  }

  private async route(req: Request, url: URL, sub: string): Promise<Response> {
    const parts = sub.split("/");
    const m = req.method;
    const get = m === "GET" || m === "HEAD";
    switch (parts[0]) {
      case "connections":
        if (parts.length === 1) return get ? this.connections(url) : notAllowed("GET");
        if (parts.length === 2) return get ? this.connection(parts[1]!) : notAllowed("GET");
        if (parts.length === 3 && parts[2] === "kick") return m === "POST" ? this.kickConnection(req, parts[1]!) : notAllowed("POST");
        break;
      case "users":
        if (parts.length === 3 && parts[2] === "kick") return m === "POST" ? this.kickUser(req, parts[1]!) : notAllowed("POST");
        break;
      case "streams":
        if (parts.length === 1) return get ? this.streams(url) : notAllowed("GET");
        break;
      case "sources":
        if (parts.length === 1) return get ? this.sources() : notAllowed("GET");
        break;
      case "config":
        if (parts.length === 1) return get ? json({ config: adminConfigView(this.gateway.cfg), admin: { corsOrigins: this.corsOrigins } }) : notAllowed("GET");
        break;
      case "stats":
        if (parts.length === 1) return get ? json({ current: await this.stats.current(), history: this.stats.history(intParam(url, "history", FEED_HISTORY, 0, 10_000) ?? FEED_HISTORY) }) : notAllowed("GET");
        break;
      case "stream":
        if (parts.length === 1) return get ? this.feed(req) : notAllowed("GET");
        break;
    }
    return httpError(404, "not_found", "no such admin route");
  }

  /** `GET /admin/api/connections?offset&limit[&user]`: one page, in connection order. */
  private connections(url: URL): Response {
    const offset = intParam(url, "offset", 0, 0, Number.MAX_SAFE_INTEGER);
    const limit = intParam(url, "limit", DEFAULT_PAGE, 1, MAX_PAGE);
    if (offset === undefined || limit === undefined) return httpError(400, "bad_request", `offset must be >= 0 and limit 1..${MAX_PAGE}`);
    const user = url.searchParams.get("user");
    const items: ReturnType<typeof connectionView>[] = [];
    let total: number;
    if (user !== null && user !== "") {
      const list = this.gateway.sessions.ofUser(user).sort((a, b) => a.id - b.id);
      total = list.length;
      for (const s of list.slice(offset, offset + limit)) items.push(connectionView(s));
    } else {
      total = this.gateway.sessions.size;
      let i = 0;
      for (const s of this.gateway.sessions.all()) {
        if (i++ < offset) continue;
        items.push(connectionView(s));
        if (items.length >= limit) break;
      }
    }
    return json({ total, offset, limit, items });
  }

  /** `GET /admin/api/connections/{id}`: one connection with its stream names. */
  private connection(idText: string): Response {
    const s = this.session(idText);
    if (!s) return httpError(404, "not_found", "no such connection");
    return json({ ...connectionView(s), streamNames: [...s.streams].slice(0, MAX_PAGE), resumingStreams: [...s.resuming.keys()].slice(0, MAX_PAGE) });
  }

  /** `POST /admin/api/connections/{id}/kick`: closes it with 4001. */
  private async kickConnection(req: Request, idText: string): Promise<Response> {
    const s = this.session(idText);
    if (!s || s.closed) return httpError(404, "not_found", "no such connection");
    const detail = await kickDetail(req);
    const kicked = s.closing ? 0 : 1;
    s.close(CLOSE.kicked, detail);
    if (kicked) this.gateway.metrics.adminKicks.inc({ scope: "connection" });
    this.gateway.log.info("admin_kick", { conn: s.id, user: s.identity.userId, detail });
    return json({ kicked, ids: kicked ? [s.id] : [], code: CLOSE.kicked.code });
  }

  /** `POST /admin/api/users/{userId}/kick`: closes every connection of the user with 4001. */
  private async kickUser(req: Request, encoded: string): Promise<Response> {
    let user: string;
    try {
      user = decodeURIComponent(encoded);
    } catch {
      return httpError(400, "bad_request", "malformed user id");
    }
    if (!user) return httpError(400, "bad_request", "user id required");
    const detail = await kickDetail(req);
    const ids: number[] = [];
    for (const s of this.gateway.sessions.ofUser(user)) {
      if (s.closed || s.closing) continue;
      s.close(CLOSE.kicked, detail);
      ids.push(s.id);
    }
    if (ids.length) this.gateway.metrics.adminKicks.inc({ scope: "user" }, ids.length);
    this.gateway.log.info("admin_kick_user", { user, connections: ids.length, detail });
    return json({ kicked: ids.length, ids, code: CLOSE.kicked.code });
  }

  /** `GET /admin/api/streams?limit&prefix`: streams by subscriber count, most first. */
  private streams(url: URL): Response {
    const limit = intParam(url, "limit", 20, 1, MAX_TOP);
    if (limit === undefined) return httpError(400, "bad_request", `limit must be 1..${MAX_TOP}`);
    const prefix = url.searchParams.get("prefix") ?? "";
    return json({ total: this.gateway.index.streamCount, limit, items: topStreams(this.gateway, limit, prefix) });
  }

  private sources(): Response {
    const r = this.gateway.readiness();
    return json({ ready: r.ready, sources: sourceViews(this.gateway) });
  }

  /**
   * `GET /admin/api/stream`: Server-Sent Events. First `history` (recent points for the charts),
   * then a `snapshot` every second. A client that stops reading is cut off, not buffered forever.
   */
  private feed(req: Request): Response {
    const enc = new TextEncoder();
    let unsubscribe: (() => void) | undefined;
    let end: (() => void) | undefined;
    const stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          let done = false;
          end = () => {
            if (done) return;
            done = true;
            unsubscribe?.();
            this.feeds.delete(end!);
            try {
              controller.close();
            } catch {
              // Already closed or errored by the client going away.
            }
          };
          this.feeds.add(end);
          const send = (event: string, data: unknown) => {
            if (done) return;
            if ((controller.desiredSize ?? 0) < -MAX_FEED_BACKLOG) return end!();
            try {
              controller.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
            } catch {
              end!();
            }
          };
          controller.enqueue(enc.encode(`retry: 2000\n\n`));
          send("history", this.stats.history(FEED_HISTORY));
          unsubscribe = this.stats.subscribe((s: StatsSnapshot) => send("snapshot", s));
          void this.stats.current().then((s) => send("snapshot", s));
          req.signal.addEventListener("abort", () => end?.());
        },
        cancel: () => end?.(),
      },
      { highWaterMark: 1 },
    );
    return new Response(stream, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "x-accel-buffering": "no", connection: "keep-alive" },
    });
  }

  private session(idText: string): AdminSession | undefined {
    if (!/^\d{1,15}$/.test(idText)) return undefined;
    return this.gateway.sessions.get(Number(idText));
  }

  private authorized(req: Request, queryTokenUrl?: URL): boolean {
    const token = this.gateway.cfg.adminToken;
    if (!token) return false;
    const h = req.headers.get("authorization");
    if (h && /^bearer\s+/i.test(h)) return safeEqual(h.replace(/^bearer\s+/i, "").trim(), token);
    const q = queryTokenUrl?.searchParams.get("token");
    return q ? safeEqual(q, token) : false;
  }

  /** CORS headers for an allowed Origin; none otherwise (the browser then refuses to expose the answer). */
  private corsHeaders(req: Request): Record<string, string> {
    const origin = req.headers.get("origin");
    if (!origin || !this.corsOrigins.includes(origin)) return {};
    return { "access-control-allow-origin": origin, vary: "Origin" };
  }

  private preflight(req: Request, cors: Record<string, string>): Response {
    if (!cors["access-control-allow-origin"]) return httpError(403, "forbidden", "origin not allowed (ADMIN_CORS_ORIGINS)", { vary: "Origin" });
    const method = req.headers.get("access-control-request-method") ?? "";
    if (method && method !== "GET" && method !== "POST") return httpError(405, "method_not_allowed", "GET and POST only", cors);
    return new Response(null, {
      status: 204,
      headers: {
        ...cors,
        "access-control-allow-methods": "GET, POST",
        "access-control-allow-headers": "authorization, content-type",
        "access-control-max-age": "600",
      },
    });
  }
}

/** One row of the connections list. */
function connectionView(s: AdminSession) {
  let buffered = 0;
  try {
    buffered = s.conn.bufferedAmount();
  } catch {
    // Socket already gone.
  }
  return {
    id: s.id,
    user: s.identity.userId ?? null,
    via: s.identity.via,
    ip: s.remoteAddress,
    format: s.format,
    streams: s.streams.size,
    resuming: s.resuming.size,
    openedAt: s.openedAt,
    bufferedBytes: buffered,
    closing: s.closing,
  };
}

/** Optional `{"reason": "..."}` body of a kick: printable ASCII, 60 chars at most. */
async function kickDetail(req: Request): Promise<string | undefined> {
  const len = Number(req.headers.get("content-length") ?? 0);
  if (!len || len > 4096) return undefined;
  try {
    const body = (await req.json()) as { reason?: unknown };
    if (typeof body?.reason !== "string") return undefined;
    const r = body.reason.replace(/[^\x20-\x7e]/g, "").trim().slice(0, 60);
    return r || undefined;
  } catch {
    return undefined;
  }
}

/** An integer query parameter in [min, max]; `def` when absent, undefined when invalid. */
function intParam(url: URL, name: string, def: number, min: number, max: number): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return def;
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= min && n <= max ? n : undefined;
}

function notAllowed(allow: string): Response {
  return httpError(405, "method_not_allowed", `use ${allow}`, { allow });
}
