import type { Server } from "bun";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import { httpError, json, type RouteHandler } from "../util/http.ts";
import { requestHeadBytes } from "./request-head.ts";
import type { SessionRegistry } from "./session-registry.ts";
import type { StreamHttp } from "./stream-http.ts";
import type { UpgradeData, UpgradeHandler } from "./upgrade.ts";

/** What the HTTP routes read of the gateway's lifecycle. */
export interface LifecycleView {
  readonly draining: boolean;
  readiness(): { ready: boolean; sources: Record<string, unknown> };
}

/** The handlers and limits an HttpRouter serves. */
export interface HttpRoutesParts {
  upgrade: UpgradeHandler;
  streamHttp: StreamHttp;
  /** `POST /publish` into the embedded source. */
  publish: (req: Request) => Response | Promise<Response>;
  sessions: SessionRegistry;
  metrics: GatewayMetrics;
  /** Routes mounted by main (bindings, admin, pages), tried in order before the 404. */
  routes: readonly RouteHandler[];
  /** Longest request line plus headers accepted; longer ones get 431. */
  maxHeaderBytes: number;
}

type Handler = (req: Request, server: Server<UpgradeData>) => Response | undefined | Promise<Response | undefined>;

/**
 * The gateway's HTTP routes. Its own endpoints (`/ws`, `/healthz`, `/readyz`, `/metrics`,
 * `/publish`, `/snapshot/*`, `/replay/*`) are matched by Bun.serve's router; the mounted routes and
 * the 404 go through fetch(). Every request whose head is over the limit gets 431 first.
 */
export class HttpRouter {
  constructor(
    private readonly lifecycle: LifecycleView,
    private readonly p: HttpRoutesParts,
  ) {}

  /** The `routes` option of Bun.serve. */
  fixedRoutes() {
    const guarded = (h: Handler) => (req: Request, server: Server<UpgradeData>) => (this.headTooLarge(req) ?? h(req, server)) as Response | Promise<Response>;
    const streamHttp: Handler = (req) => this.p.streamHttp.handle(req, new URL(req.url));
    return {
      "/ws": guarded((req, server) => (this.lifecycle.draining ? httpError(503, "draining", "gateway is shutting down") : this.p.upgrade.handle(req, new URL(req.url), server))),
      "/healthz": guarded(() => json({ status: "ok" })),
      "/readyz": guarded(() => {
        const r = this.lifecycle.readiness();
        return json({ status: r.ready ? "ready" : "not_ready", ...r }, r.ready ? 200 : 503);
      }),
      "/metrics": guarded(async () => {
        this.p.metrics.connections.set(this.p.sessions.size);
        return new Response(await this.p.metrics.render(), { headers: { "content-type": this.p.metrics.registry.contentType } });
      }),
      "/publish": guarded((req) => this.p.publish(req)),
      "/snapshot/*": guarded(streamHttp),
      "/replay/*": guarded(streamHttp),
    };
  }

  /** Everything Bun's router did not match: the mounted routes, then 404. */
  async fetch(req: Request): Promise<Response | undefined> {
    const tooLarge = this.headTooLarge(req);
    if (tooLarge) return tooLarge;
    const url = new URL(req.url);
    for (const r of this.p.routes) {
      const res = await r(req, url);
      if (res) return res;
    }
    return httpError(404, "not_found", "no such route");
  }

  /** 431 when the request line and headers are over MAX_HEADER_BYTES; checked on every route. */
  private headTooLarge(req: Request): Response | undefined {
    const max = this.p.maxHeaderBytes;
    if (req.url.length <= max && requestHeadBytes(req) <= max) return undefined;
    if (new URL(req.url).pathname === "/ws") this.p.metrics.upgradesRejected.inc({ reason: "headers_too_large" });
    return httpError(431, "headers_too_large", `request line and headers over ${max} bytes`);
  }
}
