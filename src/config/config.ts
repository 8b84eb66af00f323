import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { isValidStreamPattern } from "../../protocol/stream-name.ts";
import { DEFAULT_MAX_PAYLOAD_DEPTH } from "../../protocol/json-depth.ts";
import { parseApiKeys } from "./api-keys.ts";
import { parseBindings } from "./bindings.ts";
import { parseCidr } from "./cidr.ts";
import { ConfigError } from "./config-error.ts";
import { Reader } from "./reader.ts";
import { validateSourceDefs, type SourceDef } from "./source-defs.ts";

/** JWT verification settings. */
export interface JwtConfig {
  /** HS256 shared secret. */
  secret?: string;
  /** PEM public key (RS256/ES256/EdDSA), inline or read from a file path. */
  publicKeyPem?: string;
  /** The auth service's JWKS endpoint, cached and refreshed. */
  jwksUrl?: string;
  /** Accepted algorithms; anything else (and `none`) is refused. */
  algorithms: string[];
  issuer?: string;
  audience?: string;
  /** Allowed clock skew in seconds for exp/nbf. */
  clockToleranceSec: number;
  /** Refuse tokens without `exp` (a token that never expires cannot be cut off by expiry). */
  requireExp: boolean;
}

/** Who may connect and how. */
export interface AuthConfig {
  jwt: JwtConfig;
  /** JSON file of hashed API keys: [{ "sha256": hex, "userId", "roles"?, "pairs"? }]. */
  apiKeysFile?: string;
  /** Lets clients without credentials connect, public streams only. */
  allowAnonymous: boolean;
  /** Seconds after a token's `exp` before its connection is closed with 4003. */
  expiryGraceSec: number;
  /** How revocations reach every gateway (src/gateway/auth/revocation-channel.ts). */
  revocation: RevocationConfig;
  /** Short-lived WebSocket tokens issued by `POST /realtime/token`. */
  wsToken: {
    /** HS256 secret shared by the gateways of a cluster; generated (this process only) when unset. */
    secret: string;
    secretGenerated: boolean;
    ttlSec: number;
  };
}

/** What `/realtime/*` tells clients and how private frames are signed. */
export interface RealtimeConfig {
  /** WebSocket URLs `GET /realtime/bootstrap` lists; default: this gateway's, from the request. */
  wsUrls?: string[];
  /** Ed25519 private key (PEM) signing `orders.<userId>` frames; unset = unsigned. */
  signingKeyPem?: string;
  /** Key id sent with each signature; default derived from the public key. */
  signingKeyId?: string;
  /** Older public keys still published by `/realtime/keys` (rotation): `kid=PEM or path`. */
  previousPublicKeys: { kid: string; pem: string }[];
}

/** Where revocations travel: `none` keeps them in this process. */
export interface RevocationConfig {
  backend: "none" | "redis" | "nats";
  /** redis:// or nats:// URL of the shared broker. */
  url?: string;
  /** How long a revocation is kept: at least the longest token life. */
  ttlSec: number;
  /** Key prefix (Redis) or stream/subject name (NATS). */
  name: string;
}

/** Which stream names exist; `*` matches one segment of [a-z0-9_-]. */
export interface StreamsConfig {
  public: string[];
  /** Per-user streams; the `*` segment must equal the connection's userId. */
  private: string[];
  /** When set, public streams must name one of these pairs. */
  pairs?: string[];
}

/** Per-connection and per-IP limits. */
export interface LimitsConfig {
  maxStreamsPerConnection: number;
  maxFrameBytes: number;
  /** Inbound client messages per second (token bucket rate) and burst. */
  messagesPerSecond: number;
  messageBurst: number;
  /** Rate-limit errors tolerated within 10 s before the connection is closed 1008. */
  maxRateViolations: number;
  connectionsPerIpPerMinute: number;
  /** Longest request line + headers (URL, tokens) accepted; over it: 431 with a JSON reason. */
  maxHeaderBytes: number;
  /** Most levels of nested arrays/objects in an event's data, on every source; deeper is refused. */
  maxPayloadDepth: number;
  /** Per-client send buffer; over it the client is closed 4008. */
  sendBufferBytes: number;
  /** How long a resume's replay may wait for a client that reads nothing before closing it 4008. */
  replayStallMs: number;
  /** Seconds without any inbound traffic (pongs count) before a client is closed. */
  idleTimeoutSec: number;
  /** How long SIGTERM waits for clients to go before exiting. */
  shutdownGraceMs: number;
}

/** The built-in market simulator that feeds the embedded source. */
export interface SimulatorConfig {
  enabled: boolean;
  pairs: string[];
  users: string[];
  /** Events per second across all streams. */
  eventsPerSecond: number;
}

/** Order books of depth streams (docs/protocol.md, "Order books"). */
export interface DepthConfig {
  /** Levels per side the CRC32 checksum of every depth frame covers. */
  checksumDepth: number;
}

/** Where and how much each stream's ring log keeps. */
export interface LogConfig {
  /** Directory of the memory-mapped logs; empty string keeps logs in memory only. */
  dir: string;
  segmentBytes: number;
  segments: number;
  maxEvents: number;
  /** Most streams with a log; a new stream over it is refused (logged, counted), none is evicted. */
  maxStreams: number;
  /** fdatasync written segments every this many ms, off the hot path; 0 = never (the kernel writes back). */
  syncIntervalMs: number;
  /** New streams' log files are made on a worker thread, first events held in memory (see log-creator.ts). */
  createInBackground: boolean;
  /** Smaller logs for private (per-user) streams: a gateway may carry thousands of them. */
  private: { segmentBytes: number; segments: number; maxEvents: number };
}

/** Everything the gateway needs, validated at start. */
export interface GatewayConfig {
  host: string;
  port: number;
  reusePort: boolean;
  /** Bearer token for /publish and /admin; generated and printed when unset in dev. */
  adminToken: string;
  adminTokenGenerated: boolean;
  auth: AuthConfig;
  jwtSecretGenerated: boolean;
  streams: StreamsConfig;
  limits: LimitsConfig;
  realtime: RealtimeConfig;
  /** Peers (CIDRs) whose X-Forwarded-For is believed; empty = the peer address is the client. */
  trustedProxies: string[];
  simulator: SimulatorConfig;
  depth: DepthConfig;
  log: LogConfig;
  /** External sources (kafka, nats, redis, rabbitmq); see source-defs.ts. */
  sources: SourceDef[];
  /** Routing and transformation per source; see bindings.ts. */
  bindings: unknown[];
  logLevel: "debug" | "info" | "warn" | "error";
}

const DEFAULT_PAIRS = ["btc_usdt", "eth_usdt", "sol_usdt", "bnb_usdt"];
const DEFAULT_USERS = ["user1", "user2", "user3"];

/**
 * Builds the configuration from an optional JSON file (`CONFIG_FILE`) overlaid by environment
 * variables, and throws one ConfigError listing every problem, so a bad deploy fails at start.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  let file: Record<string, unknown> = {};
  if (env.CONFIG_FILE) {
    try {
      file = JSON.parse(readFileSync(env.CONFIG_FILE, "utf8"));
    } catch (err) {
      throw new ConfigError([`CONFIG_FILE ${env.CONFIG_FILE}: ${(err as Error).message}`]);
    }
  }
  const r = new Reader(env, file);

  const jwtSecretEnv = r.str("JWT_SECRET", "auth.jwt.secret");
  const publicKey = r.str("JWT_PUBLIC_KEY", "auth.jwt.publicKeyPem");
  const jwksUrl = r.str("JWKS_URL", "auth.jwt.jwksUrl");
  const apiKeysFile = r.str("API_KEYS_FILE", "auth.apiKeysFile");
  // A dev quick start needs no secrets; a production deploy sets them (the log warns otherwise).
  const jwtSecretGenerated = !jwtSecretEnv && !publicKey && !jwksUrl;
  const jwtSecret = jwtSecretEnv ?? (jwtSecretGenerated ? randomSecret() : undefined);
  const defaultAlgs = [jwtSecret ? "HS256" : undefined, publicKey || jwksUrl ? "RS256,ES256,EdDSA" : undefined]
    .filter(Boolean)
    .join(",");
  const algorithms = r.list("JWT_ALGORITHMS", "auth.jwt.algorithms", defaultAlgs.split(","));
  for (const alg of algorithms) {
    if (!/^(HS|RS|PS|ES)(256|384|512)$|^EdDSA$/.test(alg)) r.problem(`JWT_ALGORITHMS: unsupported algorithm "${alg}"`);
  }
  const adminTokenEnv = r.str("ADMIN_TOKEN", "adminToken");
  const wsTokenSecret = r.str("WS_TOKEN_SECRET", "auth.wsToken.secret");
  const signingKey = r.str("SIGNING_KEY", "realtime.signingKey");

  const cfg: GatewayConfig = {
    host: r.str("HOST", "host") ?? "0.0.0.0",
    port: r.int("PORT", "port", 8080, 0, 65535),
    reusePort: r.bool("REUSE_PORT", "reusePort", false),
    adminToken: adminTokenEnv ?? randomSecret(),
    adminTokenGenerated: !adminTokenEnv,
    auth: {
      jwt: {
        secret: jwtSecret,
        publicKeyPem: publicKey ? readMaybeFile(publicKey, r) : undefined,
        jwksUrl,
        algorithms,
        issuer: r.str("JWT_ISSUER", "auth.jwt.issuer"),
        audience: r.str("JWT_AUDIENCE", "auth.jwt.audience"),
        clockToleranceSec: r.int("JWT_CLOCK_TOLERANCE_SEC", "auth.jwt.clockToleranceSec", 5, 0, 300),
        requireExp: r.bool("JWT_REQUIRE_EXP", "auth.jwt.requireExp", true),
      },
      apiKeysFile,
      allowAnonymous: r.bool("ALLOW_ANONYMOUS", "auth.allowAnonymous", false),
      expiryGraceSec: 0,
      revocation: {
        backend: r.oneOf("REVOCATION_BACKEND", "auth.revocation.backend", ["none", "redis", "nats"] as const, "none"),
        url: r.str("REVOCATION_URL", "auth.revocation.url"),
        ttlSec: r.int("REVOCATION_TTL_SEC", "auth.revocation.ttlSec", 86_400, 1, 90 * 86_400),
        name: r.str("REVOCATION_NAME", "auth.revocation.name") ?? "cexws-revocations",
      },
      wsToken: {
        secret: wsTokenSecret ?? randomSecret(),
        secretGenerated: !wsTokenSecret,
        ttlSec: r.int("WS_TOKEN_TTL_SEC", "auth.wsToken.ttlSec", 60, 5, 86_400),
      },
    },
    realtime: {
      wsUrls: r.optList("PUBLIC_WS_URLS", "realtime.wsUrls"),
      signingKeyPem: signingKey ? readPrivateKey(signingKey, r) : undefined,
      signingKeyId: r.str("SIGNING_KEY_ID", "realtime.signingKeyId"),
      previousPublicKeys: (r.optList("SIGNING_PREVIOUS_KEYS", "realtime.previousPublicKeys") ?? []).flatMap((entry) => previousKey(entry, r)),
    },
    trustedProxies: r.list("TRUSTED_PROXIES", "trustedProxies", []),
    jwtSecretGenerated,
    streams: {
      public: r.list("PUBLIC_STREAMS", "streams.public", ["trades.*", "depth.*", "depth5.*", "depth20.*", "ticker.*"]),
      private: r.list("PRIVATE_STREAMS", "streams.private", ["orders.*"]),
      pairs: r.optList("PAIRS", "streams.pairs"),
    },
    limits: {
      maxStreamsPerConnection: r.int("MAX_STREAMS_PER_CONNECTION", "limits.maxStreamsPerConnection", 1024, 1, 1_000_000),
      maxFrameBytes: r.int("MAX_FRAME_BYTES", "limits.maxFrameBytes", 64 * 1024, 128, 16 * 1024 * 1024),
      messagesPerSecond: r.num("CLIENT_MESSAGES_PER_SEC", "limits.messagesPerSecond", 20, 0.1, 1e6),
      messageBurst: r.int("CLIENT_MESSAGE_BURST", "limits.messageBurst", 50, 1, 1e6),
      maxRateViolations: r.int("MAX_RATE_VIOLATIONS", "limits.maxRateViolations", 20, 1, 1e6),
      connectionsPerIpPerMinute: r.int("CONNECTIONS_PER_IP_PER_MIN", "limits.connectionsPerIpPerMinute", 600, 1, 1e9),
      maxHeaderBytes: r.int("MAX_HEADER_BYTES", "limits.maxHeaderBytes", 16 * 1024, 1024, 1024 * 1024),
      maxPayloadDepth: r.int("MAX_PAYLOAD_DEPTH", "limits.maxPayloadDepth", DEFAULT_MAX_PAYLOAD_DEPTH, 1, 1000),
      sendBufferBytes: r.int("SEND_BUFFER_BYTES", "limits.sendBufferBytes", 1024 * 1024, 16 * 1024, 1024 ** 3),
      replayStallMs: r.int("REPLAY_STALL_MS", "limits.replayStallMs", 10_000, 100, 600_000),
      idleTimeoutSec: r.int("IDLE_TIMEOUT_SEC", "limits.idleTimeoutSec", 60, 5, 960),
      shutdownGraceMs: r.int("SHUTDOWN_GRACE_MS", "limits.shutdownGraceMs", 5000, 0, 600_000),
    },
    simulator: {
      enabled: r.bool("SIMULATOR", "simulator.enabled", true),
      pairs: r.list("SIMULATOR_PAIRS", "simulator.pairs", DEFAULT_PAIRS),
      users: r.list("SIMULATOR_USERS", "simulator.users", DEFAULT_USERS),
      eventsPerSecond: r.num("SIMULATOR_EVENTS_PER_SEC", "simulator.eventsPerSecond", 200, 0, 1e7),
    },
    depth: {
      checksumDepth: r.int("BOOK_CHECKSUM_DEPTH", "depth.checksumDepth", 25, 1, 1000),
    },
    log: {
      // An explicitly empty LOG_DIR means "memory only", unlike other empty variables (= unset).
      dir: env.LOG_DIR === "" ? "" : (r.str("LOG_DIR", "log.dir") ?? "./data/log"),
      segmentBytes: r.int("LOG_SEGMENT_BYTES", "log.segmentBytes", 1024 * 1024, 4096, 1024 ** 3),
      segments: r.int("LOG_SEGMENTS", "log.segments", 4, 2, 1024),
      maxEvents: r.int("LOG_MAX_EVENTS", "log.maxEvents", 10_000, 1, 1e9),
      maxStreams: r.int("LOG_MAX_STREAMS", "log.maxStreams", 10_000, 1, 1_000_000),
      syncIntervalMs: r.int("LOG_SYNC_INTERVAL_MS", "log.syncIntervalMs", 0, 0, 3_600_000),
      createInBackground: r.bool("LOG_CREATE_IN_BACKGROUND", "log.createInBackground", false),
      private: {
        segmentBytes: r.int("LOG_PRIVATE_SEGMENT_BYTES", "log.private.segmentBytes", 64 * 1024, 4096, 1024 ** 3),
        segments: r.int("LOG_PRIVATE_SEGMENTS", "log.private.segments", 2, 2, 1024),
        maxEvents: r.int("LOG_PRIVATE_MAX_EVENTS", "log.private.maxEvents", 1000, 1, 1e9),
      },
    },
    sources: [],
    bindings: [],
    logLevel: r.oneOf("LOG_LEVEL", "logLevel", ["debug", "info", "warn", "error"] as const, "info"),
  };
  loadSourcesAndBindings(cfg, file, r);
  const rev = cfg.auth.revocation;
  if (rev.backend !== "none") {
    const scheme = rev.backend === "redis" ? /^rediss?:\/\// : /^(nats|tls):\/\//;
    if (!rev.url || !scheme.test(rev.url)) r.problem(`REVOCATION_URL: a ${rev.backend} URL is required with REVOCATION_BACKEND=${rev.backend}`);
  }
  for (const c of cfg.trustedProxies) if (!parseCidr(c)) r.problem(`TRUSTED_PROXIES: "${c}" is not an address or CIDR`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(rev.name)) r.problem("REVOCATION_NAME: 1 to 64 of A-Z a-z 0-9 _ -");
  // The upgrade accepts a token up to the clock tolerance past its exp; a shorter grace would
  // close such a connection the moment it opens.
  const tolerance = cfg.auth.jwt.clockToleranceSec;
  cfg.auth.expiryGraceSec = r.int("TOKEN_EXPIRY_GRACE_SEC", "auth.expiryGraceSec", tolerance, 0, 3600);
  if (cfg.auth.expiryGraceSec < tolerance) r.problem(`TOKEN_EXPIRY_GRACE_SEC (${cfg.auth.expiryGraceSec}) must be at least JWT_CLOCK_TOLERANCE_SEC (${tolerance})`);
  if (cfg.limits.messageBurst < cfg.limits.messagesPerSecond) {
    // A burst below the rate would refuse traffic the rate allows.
    cfg.limits.messageBurst = Math.ceil(cfg.limits.messagesPerSecond);
  }
  if (apiKeysFile) {
    // Loaded here too so a missing or malformed file is a ConfigError (exit 2), not a crash at start.
    try {
      parseApiKeys(JSON.parse(readFileSync(apiKeysFile, "utf8")), apiKeysFile);
    } catch (err) {
      r.problem(`API_KEYS_FILE (${apiKeysFile}): ${(err as Error).message}`);
    }
  }
  if (!jwtSecret && !cfg.auth.jwt.publicKeyPem && !jwksUrl && !apiKeysFile && !cfg.auth.allowAnonymous) {
    r.problem("no way to authenticate: set JWT_SECRET, JWT_PUBLIC_KEY, JWKS_URL, API_KEYS_FILE or ALLOW_ANONYMOUS=1");
  }
  for (const p of [...cfg.streams.public, ...cfg.streams.private]) {
    // Exactly two segments: the policy reads a bare kind as kind.* and ignores a third segment.
    if (!isValidStreamPattern(p)) r.problem(`stream pattern "${p}" is not of the form kind.* or kind.name`);
  }
  if (r.problems.length) throw new ConfigError(r.problems);
  return cfg;
}

/** The configuration with every secret replaced, safe for logs and the admin API. */
export function redactConfig(cfg: GatewayConfig): unknown {
  const hide = (v: string | undefined) => (v ? "[redacted]" : undefined);
  return {
    ...cfg,
    adminToken: "[redacted]",
    auth: { ...cfg.auth, jwt: { ...cfg.auth.jwt, secret: hide(cfg.auth.jwt.secret) }, wsToken: { ...cfg.auth.wsToken, secret: "[redacted]" } },
    realtime: { ...cfg.realtime, signingKeyPem: hide(cfg.realtime.signingKeyPem) },
  };
}

/** Sources and bindings come from the config file only; both are checked here, at start. */
function loadSourcesAndBindings(cfg: GatewayConfig, file: Record<string, unknown>, r: Reader): void {
  const sources = file.sources ?? [];
  const bindings = file.bindings ?? [];
  if (!Array.isArray(sources)) return r.problem("sources: expected an array");
  if (!Array.isArray(bindings)) return r.problem("bindings: expected an array");
  for (const p of validateSourceDefs(sources)) r.problem(p);
  cfg.sources = sources as SourceDef[];
  const names = new Set(["embedded", ...cfg.sources.map((s) => s.name)]);
  try {
    parseBindings(bindings, names);
    cfg.bindings = bindings;
  } catch (err) {
    r.problem(`bindings: ${(err as Error).message}`);
  }
}

function randomSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("base64url");
}

/** An Ed25519 private key, inline PEM or a path to one. */
function readPrivateKey(value: string, r: Reader): string | undefined {
  const pem = pemOrFile(value, "SIGNING_KEY", r);
  if (pem === undefined) return undefined;
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== "ed25519") r.problem(`SIGNING_KEY: an Ed25519 key is required, got ${key.asymmetricKeyType}`);
  } catch (err) {
    r.problem(`SIGNING_KEY: not a valid PEM private key (${(err as Error).message})`);
    return undefined;
  }
  return pem;
}

/** `value` when it is a PEM, else the text of the file it names (a problem when unreadable). */
function pemOrFile(value: string, name: string, r: Reader): string | undefined {
  if (value.includes("-----BEGIN")) return value;
  try {
    return readFileSync(value, "utf8");
  } catch (err) {
    r.problem(`${name}: not a PEM and not a readable file (${(err as Error).message})`);
    return undefined;
  }
}

/** `kid=<PEM or path>` of an older signing key still published for verification. */
function previousKey(entry: string, r: Reader): { kid: string; pem: string }[] {
  const i = entry.indexOf("=");
  if (i <= 0) {
    r.problem(`SIGNING_PREVIOUS_KEYS: expected kid=<public key PEM or path>, got "${entry.slice(0, 40)}"`);
    return [];
  }
  const kid = entry.slice(0, i);
  let pem = entry.slice(i + 1);
  try {
    if (!pem.includes("-----BEGIN")) pem = readFileSync(pem, "utf8");
    if (createPublicKey(pem).asymmetricKeyType !== "ed25519") throw new Error("not an Ed25519 key");
  } catch (err) {
    r.problem(`SIGNING_PREVIOUS_KEYS (${kid}): ${(err as Error).message}`);
    return [];
  }
  return [{ kid, pem }];
}

function readMaybeFile(value: string, r: Reader): string | undefined {
  const pem = pemOrFile(value, "JWT_PUBLIC_KEY", r);
  if (pem === undefined) return undefined;
  // A key that does not parse would refuse every token at runtime; refuse the deploy instead.
  try {
    createPublicKey(pem);
  } catch (err) {
    r.problem(`JWT_PUBLIC_KEY: not a valid PEM public key (${(err as Error).message})`);
    return undefined;
  }
  return pem;
}
