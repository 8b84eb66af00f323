import type { Server, ServerWebSocket } from "bun";
import { encodeControlFb } from "../codec/flatbuffers-codec.ts";
import { encodeControlJson } from "../codec/json-codec.ts";
import { bindingsRoutes } from "../admin/bindings-routes.ts";
import { revocationRoutes } from "./revocation-http.ts";
import { realtimeRoutes } from "./realtime-http.ts";
import { DataFrames } from "./data-frames.ts";
import { FrameSigner } from "./frame-signer.ts";
import type { GatewayConfig } from "../config/config.ts";
import type { LogStore } from "../log/log-store.ts";
import { openLogStore } from "../log/open-log-store.ts";
import { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import { DepthService } from "../books/depth-service.ts";
import { EmbeddedSource } from "../sources/embedded/embedded-source.ts";
import { MarketSimulator } from "../sources/embedded/market-simulator.ts";
import { BindingRouter } from "../sources/routing/binding-router.ts";
import type { Source } from "../sources/source.ts";
import { Logger } from "../util/logger.ts";
import { Authenticator } from "./auth/authenticator.ts";
import { openRevocationChannel } from "./auth/open-revocation-channel.ts";
import { BunConnection } from "./bun-connection.ts";
import { CLOSE, closeLabel } from "../../protocol/close-codes.ts";
import { EventPipeline } from "./event-pipeline.ts";
import { Fanout } from "./fanout.ts";
import { httpError, json } from "./http.ts";
import { IpRateLimiter } from "./ip-rate-limiter.ts";
import { handlePublish } from "./publish-http.ts";
import { raiseParserHeadLimit, requestHeadBytes } from "./request-head.ts";
import { ResumeService } from "./resume-service.ts";
import { RevocationService } from "./revocation-service.ts";
import { Session, type SessionContext } from "./session.ts";
import { ExpirySchedule } from "./expiry-schedule.ts";
import { SessionRegistry } from "./session-registry.ts";
import { SlowClientPolicy } from "./slow-client-policy.ts";
import { SourceReplay } from "./source-replay.ts";
import { StreamHttp } from "./stream-http.ts";
import { StreamPolicy } from "./stream-policy.ts";
import { SubscriptionIndex } from "./subscription-index.ts";
import { UpgradeHandler, type UpgradeData } from "./upgrade.ts";

/** Extra HTTP routes mounted by other layers (admin), tried before the 404. */
export type RouteHandler = (req: Request, url: URL) => Promise<Response | undefined> | Response | undefined;

/** Optional parts a caller (main, tests, benches) may supply instead of the defaults. */
export interface GatewayDeps {
  log?: Logger;
  metrics?: GatewayMetrics;
  logs?: LogStore;
  /** External sources, started after the server listens. */
  sources?: Source[];
}

/**
 * The slow-client sweep runs after a published batch at most this often (and on a timer of the
 * same period for frames released later, e.g. by conflation). Shorter catches bursts before Bun's
 * hard limit; each sweep costs ~1 µs per session.
 */
const SWEEP_INTERVAL_MS = 50;

/**
 * The whole gateway: a Bun.serve WebSocket server, its sessions, the event pipeline and the
 * sources feeding it. `start()` listens; `shutdown()` drains with 1012 and stops.
 */
export class Gateway {
  readonly log: Logger;
  readonly metrics: GatewayMetrics;
  readonly logs: LogStore;
  readonly sessions = new SessionRegistry();
  readonly index = new SubscriptionIndex();
  /** Token expiry of every session, on one timer. */
  private readonly expiry = new ExpirySchedule<Session>((s) => s.expire());
  readonly embedded = new EmbeddedSource();
  readonly sources: Source[];
  readonly pipeline: EventPipeline;
  readonly policy: StreamPolicy;
  readonly routes: RouteHandler[] = [];
  readonly router: BindingRouter;
  readonly revocations: RevocationService;
  private readonly slow: SlowClientPolicy;
  private readonly fanout: Fanout;
  /** Order books of depth streams and their views. */
  readonly depth: DepthService;
  private readonly upgrade: UpgradeHandler;
  private readonly streamHttp: StreamHttp;
  private readonly ctx: SessionContext;
  private readonly simulator?: MarketSimulator;
  private server?: Server<UpgradeData>;
  private timers: ReturnType<typeof setInterval>[] = [];
  private draining = false;
  private lastSweep = 0;

  constructor(
    readonly cfg: GatewayConfig,
    deps: GatewayDeps = {},
  ) {
    this.log = deps.log ?? new Logger(cfg.logLevel);
    this.metrics = deps.metrics ?? new GatewayMetrics();
    // Streams numbered by their source share one epoch per source origin on every gateway.
    const epochFor = (stream: string) => {
      const o = this.pipeline?.origins.get(stream);
      return o?.positional ? `src:${o.source}:${o.origin}` : undefined;
    };
    const sizeFor = (stream: string) => (this.policy.isPrivate(stream) ? cfg.log.private : undefined);
    this.logs =
      deps.logs ??
      openLogStore(
        cfg.log.dir === ""
          ? { kind: "memory", maxEvents: cfg.log.maxEvents, maxStreams: cfg.log.maxStreams, epochFor, sizeFor }
          : { dir: cfg.log.dir, maxEvents: cfg.log.maxEvents, maxStreams: cfg.log.maxStreams, segments: cfg.log.segments, segmentBytes: cfg.log.segmentBytes, epochFor, sizeFor },
      );
    this.policy = new StreamPolicy(cfg.streams);
    const rev = cfg.auth.revocation;
    this.revocations = new RevocationService(rev, openRevocationChannel(rev, this.log), this.sessions, this.metrics, this.log);
    const auth = new Authenticator(cfg.auth, undefined, (who) => this.revocations.isRevoked(who));
    this.slow = new SlowClientPolicy(cfg.limits.sendBufferBytes, this.metrics, this.log);
    this.upgrade = new UpgradeHandler(auth, new IpRateLimiter(cfg.limits.connectionsPerIpPerMinute), this.metrics, this.log);
    this.streamHttp = new StreamHttp(auth, this.policy, this.logs);
    const signer = cfg.realtime.signingKeyPem ? new FrameSigner(cfg.realtime.signingKeyPem, cfg.realtime.signingKeyId) : undefined;
    // Private streams (orders.<userId>) are signed when a key is configured; public ones never.
    const frames = new DataFrames(signer ? (ev) => (this.policy.isPrivate(ev.stream) ? signer.signatureFor(ev) : undefined) : undefined);
    this.fanout = new Fanout({ publish: (t, f) => this.server?.publish(t, f) ?? 0 }, this.index, this.metrics, frames);
    this.sources = [this.embedded, ...(deps.sources ?? [])];
    this.router = new BindingRouter(cfg.bindings, () => new Set(this.sources.map((s) => s.name)), cfg.limits.maxPayloadDepth);
    this.pipeline = new EventPipeline(this.router, this.logs, this.fanout, this.metrics, this.log, this.policy);
    this.router.onDeferred = (source, ev) => this.pipeline.commit(source, ev);
    this.depth = new DepthService(this.logs, cfg.depth.checksumDepth, (stream, data) => this.pipeline.commit("depth_views", { stream, data, sourceTs: 0 }));
    this.pipeline.depth = this.depth;
    this.ctx = {
      policy: this.policy,
      index: this.index,
      limits: cfg.limits,
      metrics: this.metrics,
      log: this.log,
      depth: this.depth,
      encodeControl: (msg, format) => (format === "json" ? encodeControlJson(msg) : encodeControlFb(msg)),
      resume: new ResumeService(
        this.logs,
        this.metrics,
        this.log,
        cfg.limits.sendBufferBytes / 2,
        cfg.limits.replayStallMs,
        new SourceReplay(this.pipeline.origins, () => this.sources, this.router),
        undefined,
        frames,
      ),
      authenticate: (token) => auth.authenticate({ token, protocols: [] }),
      expiryGraceMs: cfg.auth.expiryGraceSec * 1000,
      expiry: this.expiry,
    };
    this.routes.push(bindingsRoutes(this.router, cfg.adminToken, this.log));
    this.routes.push(revocationRoutes(this.revocations, cfg.adminToken, this.log));
    this.routes.push(realtimeRoutes(auth, this.policy, cfg, signer));
    if (cfg.simulator.enabled) {
      this.simulator = new MarketSimulator(cfg.simulator, (batch) => this.embedded.publish(batch));
    }
    // Source health, readiness and stream count are read when /metrics is scraped, not per event.
    this.metrics.attach(this);
  }

  get port(): number {
    return this.server?.port ?? 0;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
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
      routes: this.fixedRoutes(),
      fetch: (req) => this.fetch(req),
      error: (err) => {
        this.log.error("http_error", { error: err.message });
        return httpError(500, "internal", "internal error");
      },
      websocket: {
        maxPayloadLength: limits.maxFrameBytes,
        backpressureLimit: this.slow.hardLimitBytes,
        closeOnBackpressureLimit: true,
        idleTimeout: limits.idleTimeoutSec,
        sendPings: true,
        perMessageDeflate: false,
        publishToSelf: false,
        open: (ws) => this.onOpen(ws),
        message: (ws, msg) => this.onMessage(ws, msg),
        close: (ws, code, reason) => this.onClose(ws, code, reason),
      },
    });
    this.timers.push(setInterval(() => this.sweep(), SWEEP_INTERVAL_MS));
    this.timers.push(setInterval(() => this.fanout.prune(), 60_000));
    for (const t of this.timers) t.unref?.();
    for (const s of this.sources) this.startSource(s);
    this.simulator?.start();
    this.log.info("gateway_started", { port: this.port, sources: this.sources.map((s) => s.name), simulator: !!this.simulator });
  }

  /** Whether the gateway takes new clients: listening, not draining, every source connected. */
  readiness(): { ready: boolean; sources: Record<string, unknown> } {
    const sources: Record<string, unknown> = {};
    let ok = !!this.server && !this.draining;
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
    if (this.draining) return;
    this.draining = true;
    this.log.info("gateway_draining", { connections: this.sessions.size });
    this.simulator?.stop();
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
    for (const t of this.timers) clearInterval(t);
    this.expiry.stop();
    await Promise.allSettled([...this.sources.map((s) => s.stop()), this.revocations.stop()]);
    this.router.stop();
    this.server?.stop(true);
    this.logs.close();
    this.log.info("gateway_stopped", { leftover: this.sessions.size });
  }

  private startSource(s: Source): void {
    // start() may wait for a broker that is down; the gateway serves meanwhile and /readyz says so.
    s.start((batch) => {
      const out = this.pipeline.ingest(s.name, batch);
      if (performance.now() - this.lastSweep >= SWEEP_INTERVAL_MS) this.sweep();
      return out;
    }).catch((err) => {
      this.log.error("source_start_failed", { source: s.name, error: (err as Error).message });
    });
  }

  /** 431 when the request line and headers are over MAX_HEADER_BYTES; checked on every route. */
  private headTooLarge(req: Request): Response | undefined {
    const max = this.cfg.limits.maxHeaderBytes;
    if (req.url.length <= max && requestHeadBytes(req) <= max) return undefined;
    if (new URL(req.url).pathname === "/ws") this.metrics.upgradesRejected.inc({ reason: "headers_too_large" });
    return httpError(431, "headers_too_large", `request line and headers over ${max} bytes`);
  }

  /**
   * The gateway's own endpoints, matched by Bun.serve's router; what other layers mount
   * (`routes`: admin API, pages) and the 404 go through fetch().
   */
  private fixedRoutes() {
    type Handler = (req: Request, server: Server<UpgradeData>) => Response | undefined | Promise<Response | undefined>;
    const guarded = (h: Handler) => (req: Request, server: Server<UpgradeData>) => (this.headTooLarge(req) ?? h(req, server)) as Response | Promise<Response>;
    const streamHttp: Handler = (req) => this.streamHttp.handle(req, new URL(req.url));
    return {
      "/ws": guarded((req, server) => (this.draining ? httpError(503, "draining", "gateway is shutting down") : this.upgrade.handle(req, new URL(req.url), server))),
      "/healthz": guarded(() => json({ status: "ok" })),
      "/readyz": guarded(() => {
        const r = this.readiness();
        return json({ status: r.ready ? "ready" : "not_ready", ...r }, r.ready ? 200 : 503);
      }),
      "/metrics": guarded(async () => {
        this.metrics.connections.set(this.sessions.size);
        return new Response(await this.metrics.render(), { headers: { "content-type": this.metrics.registry.contentType } });
      }),
      "/publish": guarded((req) => handlePublish(req, { adminToken: this.cfg.adminToken, source: this.embedded, known: this.policy, metrics: this.metrics, maxDepth: this.cfg.limits.maxPayloadDepth })),
      "/snapshot/*": guarded(streamHttp),
      "/replay/*": guarded(streamHttp),
    };
  }

  private async fetch(req: Request): Promise<Response | undefined> {
    const tooLarge = this.headTooLarge(req);
    if (tooLarge) return tooLarge;
    const url = new URL(req.url);
    for (const r of this.routes) {
      const res = await r(req, url);
      if (res) return res;
    }
    return httpError(404, "not_found", "no such route");
  }

  private onOpen(ws: ServerWebSocket<UpgradeData>): void {
    const d = ws.data;
    if (d.retiredSchema !== undefined) {
      // A schema v1 reader cannot decode our frames: tell it, in a frame it can read, and close.
      const message = "this gateway sends FlatBuffers schema v2 (subprotocol cex.v2.fb); this client reads schema v1: upgrade it, or use cex.v1.json";
      ws.send(encodeControlFb({ event: "error", code: "unsupported_version", message }, 1));
      ws.close(CLOSE.normal.code, "unsupported schema v1: use cex.v2.fb");
      this.metrics.upgradesRejected.inc({ reason: "schema_v1" });
      return;
    }
    const session = new Session(new BunConnection(ws), { id: this.sessions.newId(), identity: d.identity, format: d.format, remoteAddress: d.ip }, this.ctx);
    d.session = session;
    this.sessions.add(session);
    this.metrics.connections.set(this.sessions.size);
    this.metrics.connectionsOpened.inc({ auth: d.identity.via });
    this.log.info("connection_open", { conn: session.id, user: d.identity.userId, via: d.identity.via, ip: d.ip, format: d.format });
  }

  private onMessage(ws: ServerWebSocket<UpgradeData>, msg: string | Buffer): void {
    const session = ws.data.session;
    if (!session) return;
    try {
      session.handleMessage(typeof msg === "string" ? msg : new Uint8Array(msg));
    } catch (err) {
      // A bug in handling one request costs that client its connection, never the process.
      this.log.error("request_failed", { conn: session.id, user: session.identity.userId, error: (err as Error).message, stack: (err as Error).stack?.split("\n").slice(0, 4).join(" | ") });
      session.sendError("internal", "internal error", undefined);
      session.close(CLOSE.internal);
    }
  }

  private onClose(ws: ServerWebSocket<UpgradeData>, code: number, reason: string): void {
    const session = ws.data.session;
    if (!session) return;
    session.onClosed();
    this.sessions.remove(session);
    this.metrics.connections.set(this.sessions.size);
    const label = closeLabel(code);
    this.metrics.connectionsClosed.inc({ code: String(code), reason: label });
    this.log.info("connection_closed", { conn: session.id, user: session.identity.userId, code, reason: reason.slice(0, 80), ms: Date.now() - session.openedAt });
  }

  private sweep(): void {
    // Buffers only grow when frames are published; an idle gateway skips the scan.
    if (this.fanout.published === 0) return;
    this.lastSweep = performance.now();
    this.fanout.published = 0;
    this.slow.sweep(this.sessions.all());
  }
}
