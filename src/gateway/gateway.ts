import type { Server } from "bun";
import { CLOSE } from "../../protocol/close-codes.ts";
import type { DepthService } from "../books/depth-service.ts";
import type { GatewayConfig } from "../config/config.ts";
import type { LogStore } from "../log/log-store.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { MessageRouter } from "../sources/routing/message-router.ts";
import type { Source } from "../sources/source.ts";
import { httpError, type RouteHandler } from "../util/http.ts";
import type { Logger } from "../util/logger.ts";
import type { BunTopicPublisher } from "./bun-publisher.ts";
import type { EventPipeline } from "./event-pipeline.ts";
import type { ExpirySchedule } from "./expiry-schedule.ts";
import type { Fanout } from "./fanout.ts";
import { GatewayTimers } from "./gateway-timers.ts";
import { HttpRouter } from "./http-router.ts";
import { raiseParserHeadLimit } from "./request-head.ts";
import type { RevocationService } from "./revocation-service.ts";
import type { Session, SessionContext } from "./session.ts";
import type { SessionRegistry } from "./session-registry.ts";
import type { SlowClientPolicy } from "./slow-client-policy.ts";
import { SocketHandler } from "./socket-handler.ts";
import type { StreamHttp } from "./stream-http.ts";
import type { SubscriptionIndex } from "./subscription-index.ts";
import type { UpgradeData, UpgradeHandler } from "./upgrade.ts";

/** Something started with the gateway and stopped when it drains (the market simulator). */
export interface Feeder {
  start(): void;
  stop(): void;
}

/** The wired parts a Gateway runs; createGateway (src/create-gateway.ts) builds them. */
export interface GatewayParts<R extends MessageRouter = MessageRouter> {
  cfg: GatewayConfig;
  log: Logger;
  metrics: GatewayMetrics;
  logs: LogStore;
  sessions: SessionRegistry;
  index: SubscriptionIndex;
  /** Every source, started once the server listens. */
  sources: Source[];
  pipeline: EventPipeline<R>;
  fanout: Fanout;
  publisher: BunTopicPublisher;
  session: SessionContext;
  /** Token expiry of every session, on one timer (the one in `session`). */
  expiry: ExpirySchedule<Session>;
  upgrade: UpgradeHandler;
  streamHttp: StreamHttp;
  /** `POST /publish` into the embedded source. */
  publish: (req: Request) => Response | Promise<Response>;
  slow: SlowClientPolicy;
  /** Order books of depth streams and their views (timers stopped at shutdown). */
  depth: DepthService;
  /** Revoked credentials, shared across the cluster; started before the server listens. */
  revocations: RevocationService;
  /** Extra HTTP routes, tried in order after the gateway's own; more may be added before start. */
  routes: RouteHandler[];
  feeders: Feeder[];
}

/**
 * The gateway's lifecycle over its wired parts: `start()` listens (Bun.serve with the HTTP router
 * and the socket handler) and starts timers, sources and feeders; `readiness()` says whether it
 * takes clients; `shutdown()` drains with 1012 and stops everything.
 */
export class Gateway<R extends MessageRouter = MessageRouter> {
  readonly cfg: GatewayConfig;
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly logs: LogStore;
  readonly sessions: SessionRegistry;
  readonly index: SubscriptionIndex;
  readonly sources: Source[];
  readonly pipeline: EventPipeline<R>;
  readonly routes: RouteHandler[];
  readonly revocations: RevocationService;
  /** Order books of depth streams and their views. */
  readonly depth: DepthService;
  private readonly fanout: Fanout;
  private readonly parts: GatewayParts<R>;
  private readonly http: HttpRouter;
  private readonly sockets: SocketHandler;
  private readonly timers: GatewayTimers;
  private server?: Server<UpgradeData>;
  private drainingNow = false;

  constructor(parts: GatewayParts<R>) {
    this.parts = parts;
    this.cfg = parts.cfg;
    this.log = parts.log;
    this.metrics = parts.metrics;
    this.logs = parts.logs;
    this.sessions = parts.sessions;
    this.index = parts.index;
    this.sources = parts.sources;
    this.pipeline = parts.pipeline;
    this.routes = parts.routes;
    this.revocations = parts.revocations;
    this.depth = parts.depth;
    this.fanout = parts.fanout;
    this.http = new HttpRouter(this, {
      upgrade: parts.upgrade,
      streamHttp: parts.streamHttp,
      publish: parts.publish,
      sessions: parts.sessions,
      metrics: parts.metrics,
      routes: parts.routes,
      maxHeaderBytes: parts.cfg.limits.maxHeaderBytes,
    });
    this.sockets = new SocketHandler(parts.sessions, parts.session, parts.metrics, parts.log);
    this.timers = new GatewayTimers(parts.sessions, parts.fanout, parts.slow, parts.expiry);
    // Source health, readiness and stream count are read when /metrics is scraped, not per event.
    this.metrics.attach(this);
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  /** True once shutdown() began: new connections are refused. */
  get draining(): boolean {
    return this.drainingNow;
  }

  async start(): Promise<void> {
    const limits = this.cfg.limits;
    raiseParserHeadLimit(limits.maxHeaderBytes);
    // Before listening: a gateway that starts later must already refuse what was revoked.
    await this.revocations.start();
    this.server = Bun.serve<UpgradeData>({
      hostname: this.cfg.host,
      port: this.cfg.port,
      reusePort: this.cfg.reusePort,
      routes: this.http.fixedRoutes(),
      fetch: (req) => this.http.fetch(req),
      error: (err) => {
        this.log.error("http_error", { error: err.message });
        return httpError(500, "internal", "internal error");
      },
      websocket: {
        maxPayloadLength: limits.maxFrameBytes,
        backpressureLimit: this.parts.slow.hardLimitBytes,
        closeOnBackpressureLimit: true,
        idleTimeout: limits.idleTimeoutSec,
        sendPings: true,
        perMessageDeflate: false,
        publishToSelf: false,
        open: (ws) => this.sockets.open(ws),
        message: (ws, msg) => this.sockets.message(ws, msg),
        close: (ws, code, reason) => this.sockets.close(ws, code, reason),
      },
    });
    this.parts.publisher.attach(this.server);
    this.timers.start();
    for (const s of this.sources) this.startSource(s);
    for (const f of this.parts.feeders) f.start();
    this.log.info("gateway_started", { port: this.port, sources: this.sources.map((s) => s.name), simulator: this.parts.feeders.length > 0 });
  }

  /** Whether the gateway takes new clients: listening, not draining, every source connected. */
  readiness(): { ready: boolean; sources: Record<string, unknown> } {
    const sources: Record<string, unknown> = {};
    let ok = !!this.server && !this.drainingNow;
    for (const s of this.sources) {
      const h = s.health();
      sources[s.name] = { kind: s.kind, ...h };
      if (!h.connected) ok = false;
    }
    return { ready: ok, sources };
  }

  /**
   * Graceful stop: refuse new connections, close every client with 1012 so it reconnects to
   * another gateway and resumes, wait for them up to the grace period, then stop sources and logs.
   */
  async shutdown(graceMs = this.cfg.limits.shutdownGraceMs): Promise<void> {
    if (this.drainingNow) return;
    this.drainingNow = true;
    this.log.info("gateway_draining", { connections: this.sessions.size });
    for (const f of this.parts.feeders) f.stop();
    this.depth.stop();
    this.server?.stop(false);
    // Bun runs the close handler as soon as close() is called and writes what is still queued in
    // the background, where stop(true) would cut it off (the client would lose its backlog and the
    // 1012). So a client with output queued gets up to the grace period to read it.
    let backlog = false;
    for (const s of this.sessions.all()) {
      if (s.conn.bufferedAmount() > 0) backlog = true;
      s.close(CLOSE.restart);
    }
    const deadline = Date.now() + graceMs;
    while ((this.sessions.size > 0 || backlog) && Date.now() < deadline) await Bun.sleep(20);
    this.timers.stop();
    await Promise.allSettled([...this.sources.map((s) => s.stop()), this.revocations.stop()]);
    this.pipeline.stop();
    this.server?.stop(true);
    this.logs.close();
    this.log.info("gateway_stopped", { leftover: this.sessions.size });
  }

  private startSource(s: Source): void {
    // start() may wait for a broker that is down; the gateway serves meanwhile and /readyz says so.
    s.start((batch) => {
      const out = this.pipeline.ingest(s.name, batch);
      this.timers.afterBatch();
      return out;
    }).catch((err) => {
      this.log.error("source_start_failed", { source: s.name, error: (err as Error).message });
    });
  }
}
