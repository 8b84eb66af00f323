/**
 * The wiring: builds every part of a gateway from its configuration and hands them to Gateway.
 * The only place (with src/main.ts) that knows the concrete classes; everything else depends on
 * the narrow interfaces between them (docs/architecture.md, Layers).
 */
import { bindingsRoutes } from "./admin/bindings-routes.ts";
import { DepthService } from "./books/depth-service.ts";
import { encodeControlFb } from "./codec/flatbuffers-codec.ts";
import { encodeControlJson } from "./codec/json-codec.ts";
import type { GatewayConfig } from "./config/config.ts";
import { Authenticator } from "./gateway/auth/authenticator.ts";
import { openRevocationChannel } from "./gateway/auth/open-revocation-channel.ts";
import { BunTopicPublisher } from "./gateway/bun-publisher.ts";
import { EventPipeline } from "./gateway/event-pipeline.ts";
import { ExpirySchedule } from "./gateway/expiry-schedule.ts";
import { DataFrames } from "./gateway/data-frames.ts";
import { Fanout } from "./gateway/fanout.ts";
import { ClientIpResolver } from "./gateway/client-ip.ts";
import { FrameSigner } from "./gateway/frame-signer.ts";
import { Gateway, type Feeder } from "./gateway/gateway.ts";
import { IpRateLimiter } from "./gateway/ip-rate-limiter.ts";
import { handlePublish } from "./gateway/publish-http.ts";
import { realtimeRoutes } from "./gateway/realtime-http.ts";
import { ResumeService } from "./gateway/resume-service.ts";
import { revocationRoutes } from "./gateway/revocation-http.ts";
import { RevocationService } from "./gateway/revocation-service.ts";
import type { Session, SessionContext } from "./gateway/session.ts";
import { SessionRegistry } from "./gateway/session-registry.ts";
import { SlowClientPolicy } from "./gateway/slow-client-policy.ts";
import { SourceReplay } from "./gateway/source-replay.ts";
import { StreamHttp } from "./gateway/stream-http.ts";
import { StreamOrigins } from "./gateway/stream-origins.ts";
import { StreamPolicy } from "./gateway/stream-policy.ts";
import { SubscriptionIndex } from "./gateway/subscription-index.ts";
import { UpgradeHandler } from "./gateway/upgrade.ts";
import type { LogStore } from "./log/log-store.ts";
import { openLogStore } from "./log/open-log-store.ts";
import { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { EmbeddedSource } from "./sources/embedded/embedded-source.ts";
import { MarketSimulator } from "./sources/embedded/market-simulator.ts";
import { BindingRouter } from "./sources/routing/binding-router.ts";
import type { Source } from "./sources/source.ts";
import type { RouteHandler } from "./util/http.ts";
import { Logger } from "./util/logger.ts";

/** Optional parts a caller (main, tests, benches) may supply instead of the defaults. */
export interface GatewayDeps {
  log?: Logger;
  metrics?: GatewayMetrics;
  logs?: LogStore;
  /** External sources, started after the server listens. */
  sources?: Source[];
}

/** A wired gateway, with the concrete parts main and tests drive directly. */
export type AssembledGateway = Gateway<BindingRouter> & {
  /** The live bindings (SIGHUP reload, admin API). */
  readonly router: BindingRouter;
  /** The in-process source behind the simulator and `POST /publish`. */
  readonly embedded: EmbeddedSource;
  readonly policy: StreamPolicy;
};

/** Builds a gateway from `cfg`: nothing listens until `start()`. */
export function createGateway(cfg: GatewayConfig, deps: GatewayDeps = {}): AssembledGateway {
  const log = deps.log ?? new Logger(cfg.logLevel);
  const metrics = deps.metrics ?? new GatewayMetrics();
  const policy = new StreamPolicy(cfg.streams);
  const origins = new StreamOrigins();
  const epochFor = (stream: string) => origins.epochOf(stream);
  const sizeFor = (stream: string) => (policy.isPrivate(stream) ? cfg.log.private : undefined);
  const logs =
    deps.logs ??
    openLogStore(
      cfg.log.dir === ""
        ? { kind: "memory", maxEvents: cfg.log.maxEvents, maxStreams: cfg.log.maxStreams, epochFor, sizeFor }
        : { dir: cfg.log.dir, maxEvents: cfg.log.maxEvents, maxStreams: cfg.log.maxStreams, segments: cfg.log.segments, segmentBytes: cfg.log.segmentBytes, syncIntervalMs: cfg.log.syncIntervalMs, epochFor, sizeFor, createInBackground: cfg.log.createInBackground },
    );
  const sessions = new SessionRegistry();
  const rev = cfg.auth.revocation;
  const revocations = new RevocationService(rev, openRevocationChannel(rev, log), sessions, metrics, log);
  const auth = new Authenticator(cfg.auth, undefined, (who) => revocations.isRevoked(who));
  const index = new SubscriptionIndex();
  const publisher = new BunTopicPublisher();
  const signer = cfg.realtime.signingKeyPem ? new FrameSigner(cfg.realtime.signingKeyPem, cfg.realtime.signingKeyId) : undefined;
  // Private streams (orders.<userId>) are signed when a key is configured; public ones never.
  const frames = new DataFrames(signer ? (ev) => (policy.isPrivate(ev.stream) ? signer.signatureFor(ev) : undefined) : undefined);
  const fanout = new Fanout(publisher, index, metrics, frames);
  const embedded = new EmbeddedSource();
  const sources: Source[] = [embedded, ...(deps.sources ?? [])];
  const sourceNames = () => new Set(sources.map((s) => s.name));
  const pipeline = new EventPipeline(
    (deferred) => new BindingRouter(cfg.bindings, sourceNames, cfg.limits.maxPayloadDepth, deferred),
    logs,
    fanout,
    metrics,
    log,
    policy,
    origins,
    (commitView) => new DepthService(logs, cfg.depth.checksumDepth, commitView),
  );
  const router = pipeline.router;
  const depth = pipeline.depth!;
  const expiry = new ExpirySchedule<Session>((s) => s.expire());
  const session: SessionContext = {
    policy,
    index,
    limits: cfg.limits,
    metrics,
    log,
    depth,
    encodeControl: (msg, format) => (format === "json" ? encodeControlJson(msg) : encodeControlFb(msg)),
    resume: new ResumeService(logs, metrics, log, cfg.limits.sendBufferBytes / 2, cfg.limits.replayStallMs, new SourceReplay(origins, () => sources, router), undefined, frames),
    authenticate: (token) => auth.authenticate({ token, protocols: [] }),
    expiryGraceMs: cfg.auth.expiryGraceSec * 1000,
    expiry,
  };
  const routes: RouteHandler[] = [
    bindingsRoutes(router, cfg.adminToken, log),
    revocationRoutes(revocations, cfg.adminToken, log),
    realtimeRoutes(auth, policy, cfg, signer),
  ];
  const feeders: Feeder[] = [];
  if (cfg.simulator.enabled) feeders.push(new MarketSimulator(cfg.simulator, (batch) => embedded.publish(batch)));
  const gateway = new Gateway({
    cfg,
    log,
    metrics,
    logs,
    sessions,
    index,
    sources,
    pipeline,
    fanout,
    publisher,
    session,
    expiry,
    upgrade: new UpgradeHandler(auth, new IpRateLimiter(cfg.limits.connectionsPerIpPerMinute), metrics, log, new ClientIpResolver(cfg.trustedProxies)),
    streamHttp: new StreamHttp(auth, policy, logs),
    publish: (req) => handlePublish(req, { adminToken: cfg.adminToken, source: embedded, known: policy, metrics, maxDepth: cfg.limits.maxPayloadDepth }),
    slow: new SlowClientPolicy(cfg.limits.sendBufferBytes, metrics, log),
    depth,
    revocations,
    routes,
    feeders,
  });
  return Object.assign(gateway, { router, embedded, policy });
}
