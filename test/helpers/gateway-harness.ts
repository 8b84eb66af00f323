/**
 * Test harness of the gateway tests: an in-process Gateway on an ephemeral port, the gateway as a
 * child process (`bun src/main.ts`) for restart / kill -9 / SIGTERM tests, JWT minting, a
 * WebSocket TestClient that collects frames, and a raw TCP WebSocket client (RawWsClient) that can
 * stop reading, for slow-consumer tests.
 *
 * Every gateway gets its own temp LOG_DIR; `stop()` removes it. Nothing here talks to the network
 * beyond 127.0.0.1.
 */
import { SignJWT, type JWTPayload } from "jose";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../src/config/config.ts";
import { Gateway, type GatewayDeps } from "../../src/gateway/gateway.ts";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { Logger } from "../../src/util/logger.ts";

/** Root of the repository (where src/main.ts lives). */
export const REPO_ROOT = path.resolve(import.meta.dir, "..", "..");

/** HS256 secret every harness gateway accepts unless a test overrides JWT_SECRET. */
export const JWT_SECRET = "test-jwt-secret-0123456789abcdef-0123456789";
/** Admin token for POST /publish. */
export const ADMIN_TOKEN = "test-admin-token-0123456789";

export type Env = Record<string, string | undefined>;

/** A fresh empty directory under the OS temp dir. */
export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `gw-${tag}-`));
}

/**
 * Environment of a test gateway: loopback, ephemeral port, no simulator, quiet logs, a known JWT
 * secret and admin token, a generous per-IP connection limit. `overrides` win; an override of
 * `undefined` removes the default.
 */
export function testEnv(overrides: Env = {}): Env {
  const env: Env = {
    HOST: "127.0.0.1",
    PORT: "0",
    SIMULATOR: "0",
    JWT_SECRET,
    ADMIN_TOKEN,
    LOG_LEVEL: "error",
    CONNECTIONS_PER_IP_PER_MIN: "1000000",
    SHUTDOWN_GRACE_MS: "2000",
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

// ---- In-process gateway ------------------------------------------------------------------------

/** A started in-process gateway and what tests need around it. */
export interface TestGateway {
  gateway: Gateway;
  port: number;
  /** Its LOG_DIR (a temp dir unless the test passed one). */
  logDir: string;
  /** JSON log lines the gateway wrote (at the configured LOG_LEVEL). */
  logLines: Record<string, unknown>[];
  /** `ws://127.0.0.1:port/ws` plus an optional query string. */
  wsUrl(query?: Record<string, string>): string;
  /** `http://127.0.0.1:port` + path. */
  httpUrl(p: string): string;
  /** Publishes events in one batch through the embedded source; returns their seqs. */
  publish(events: { stream: string; data: unknown }[]): number[];
  /** Shuts down (drains with 1012) and removes the temp LOG_DIR unless `keepLogDir`. */
  stop(opts?: { keepLogDir?: boolean; graceMs?: number }): Promise<void>;
}

/**
 * Starts a Gateway in this process with `loadConfig(testEnv(env))` on port 0. LOG_DIR defaults to
 * a fresh temp dir that stop() removes.
 */
export async function startGateway(env: Env = {}, deps: GatewayDeps = {}): Promise<TestGateway> {
  const ownDir = env.LOG_DIR === undefined;
  const logDir = env.LOG_DIR ?? tempDir("log");
  const cfg = loadConfig(testEnv({ ...env, LOG_DIR: logDir }));
  const logLines: Record<string, unknown>[] = [];
  const log = new Logger(cfg.logLevel, {}, (line) => logLines.push(JSON.parse(line) as Record<string, unknown>));
  const gateway = new Gateway(cfg, { log, metrics: new GatewayMetrics({ defaultMetrics: false }), ...deps });
  await gateway.start();
  const port = gateway.port;
  let stopped = false;
  return {
    gateway,
    port,
    logDir,
    logLines,
    wsUrl: (query) => `ws://127.0.0.1:${port}/ws${query ? "?" + new URLSearchParams(query).toString() : ""}`,
    httpUrl: (p) => `http://127.0.0.1:${port}${p}`,
    publish: (events) =>
      gateway.embedded.publish(events).map((o) => {
        if (!("seq" in o)) throw new Error(`event skipped: ${o.skipped}`);
        return o.seq;
      }),
    async stop(opts = {}) {
      if (stopped) return;
      stopped = true;
      await gateway.shutdown(opts.graceMs ?? 500);
      if (ownDir && !opts.keepLogDir) fs.rmSync(logDir, { recursive: true, force: true });
    },
  };
}

// ---- Credentials -------------------------------------------------------------------------------

/** Options of a minted JWT. */
export interface MintOptions {
  alg?: string;
  /** Key: HMAC secret (string) or a private CryptoKey. Defaults to JWT_SECRET. */
  key?: string | CryptoKey | Uint8Array;
  kid?: string;
  /** Seconds from now; negative for an expired token. Default 3600. `null` omits exp. */
  expInSec?: number | null;
  /** Seconds from now for nbf. */
  nbfInSec?: number;
  issuer?: string;
  audience?: string;
}

/** A signed JWT with `sub` and extra claims (roles, pairs, ...). */
export async function mintJwt(sub: string | undefined, claims: JWTPayload = {}, o: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(claims).setProtectedHeader({ alg: o.alg ?? "HS256", ...(o.kid ? { kid: o.kid } : {}) }).setIssuedAt(now);
  if (sub !== undefined) jwt.setSubject(sub);
  if (o.expInSec !== null) jwt.setExpirationTime(now + (o.expInSec ?? 3600));
  if (o.nbfInSec !== undefined) jwt.setNotBefore(now + o.nbfInSec);
  if (o.issuer) jwt.setIssuer(o.issuer);
  if (o.audience) jwt.setAudience(o.audience);
  const key = o.key ?? JWT_SECRET;
  return jwt.sign(typeof key === "string" ? new TextEncoder().encode(key) : key);
}

/** An unsigned `alg: none` token (which the gateway must refuse). */
export function unsignedJwt(sub: string, claims: Record<string, unknown> = {}): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub, iat: now, exp: now + 3600, ...claims })}.`;
}

/** A JWT the harness gateway accepts for `userId`. */
export function tokenFor(userId: string, claims: JWTPayload = {}): Promise<string> {
  return mintJwt(userId, claims);
}

/** Writes an API_KEYS_FILE of `{sha256, userId, roles?, pairs?}` for plain keys; returns its path. */
export function writeApiKeysFile(dir: string, keys: { key: string; userId: string; roles?: string[]; pairs?: string[] }[]): string {
  const p = path.join(dir, "api-keys.json");
  const recs = keys.map(({ key, ...rest }) => ({ sha256: new Bun.CryptoHasher("sha256").update(key).digest("hex"), ...rest }));
  fs.writeFileSync(p, JSON.stringify(recs));
  return p;
}

// ---- HTTP helpers ------------------------------------------------------------------------------

/** POST /publish with the admin token; returns status and parsed body. */
export async function publishHttp(port: number, body: unknown, token: string | null = ADMIN_TOKEN): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${port}/publish`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** GET a path; returns status, parsed JSON body (or text) and headers. */
export async function getHttp(port: number, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`, { headers });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: res.status, body, headers: res.headers };
}

/**
 * Attempts a WebSocket upgrade of `/ws` + query over HTTP and returns the HTTP answer: what a
 * refused upgrade looks like on the wire (status, JSON reason), without a WebSocket client hiding it.
 */
export async function tryUpgrade(port: number, opts: { query?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const q = opts.query ? "?" + new URLSearchParams(opts.query).toString() : "";
  return getHttp(port, `/ws${q}`, {
    upgrade: "websocket",
    connection: "Upgrade",
    "sec-websocket-key": Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64"),
    "sec-websocket-version": "13",
    ...opts.headers,
  });
}

/** Prometheus text -> value of the sample `name{labels}` (labels matched as a subset); sum over matches. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("#") || !line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const pair of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[pair[1]!] = pair[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) {
      sum += Number(m[4]);
      found = true;
    }
  }
  return found ? sum : NaN;
}

/** Fetches /metrics and returns the value of one metric (see metricValue); 0 when absent. */
export async function scrapeMetric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const v = metricValue(await res.text(), name, labels);
  return Number.isNaN(v) ? 0 : v;
}

// ---- Waiting -----------------------------------------------------------------------------------

/** Polls `check` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function until<T>(check: () => T | Promise<T>, timeoutMs = 5000, what = "condition", intervalMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(intervalMs);
  }
}

// ---- WebSocket test client ---------------------------------------------------------------------

/** A frame as received: JSON text parsed, binary kept as bytes. */
export type Frame = Record<string, any>;

/** A data frame `{stream, seq, prev, data}`. */
export interface DataFrame {
  stream: string;
  seq: number;
  prev: number;
  data: any;
}

export interface ConnectOptions {
  /** Sent as `Authorization: Bearer`. */
  token?: string;
  headers?: Record<string, string>;
  protocols?: string[];
  query?: Record<string, string>;
  /** How long to wait for the open. Default 5000 ms. */
  timeoutMs?: number;
}

interface Waiter {
  pred: (f: Frame) => boolean;
  from: number;
  resolve: (f: Frame) => void;
}

/**
 * A real WebSocket client (Bun's) that records every frame in arrival order. `waitFor` resolves
 * with the first frame (from an index on) that matches, `request` sends with an id and waits for
 * the answer carrying it.
 */
export class TestClient {
  readonly frames: Frame[] = [];
  /** Binary frames received (the JSON format never sends any). */
  readonly binary: Uint8Array[] = [];
  closeEvent?: { code: number; reason: string };
  readonly closed: Promise<{ code: number; reason: string }>;
  private waiters: Waiter[] = [];
  private nextId = 1;
  private resolveClosed!: (c: { code: number; reason: string }) => void;

  private constructor(readonly ws: WebSocket) {
    this.closed = new Promise((r) => (this.resolveClosed = r));
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (e) => this.onMessage(e.data));
    ws.addEventListener("close", (e) => {
      this.closeEvent = { code: e.code, reason: e.reason };
      this.resolveClosed(this.closeEvent);
    });
  }

  /** Opens a connection to `url`; rejects when the upgrade is refused or times out. */
  static connect(url: string, o: ConnectOptions = {}): Promise<TestClient> {
    const u = o.query ? `${url}${url.includes("?") ? "&" : "?"}${new URLSearchParams(o.query).toString()}` : url;
    const headers = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
    const options: Bun.WebSocketOptions = { headers, protocols: o.protocols };
    // lib.dom's WebSocket constructor type hides Bun's (url, options) overload.
    const ws = new WebSocket(u, options as unknown as string[]);
    const client = new TestClient(ws);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        ws.close();
        reject(new Error(`connect to ${url} timed out`));
      }, o.timeoutMs ?? 5000);
      ws.addEventListener("open", () => {
        clearTimeout(timer);
        resolve(client);
      });
      ws.addEventListener("close", (e) => {
        clearTimeout(timer);
        reject(new Error(`connection refused or closed before open (code ${e.code})`));
      });
      ws.addEventListener("error", () => {
        clearTimeout(timer);
        reject(new Error("connection failed"));
      });
    });
  }

  /** The subprotocol the server selected. */
  get protocol(): string {
    return this.ws.protocol;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  private onMessage(data: unknown): void {
    let f: Frame;
    if (typeof data === "string") {
      f = JSON.parse(data) as Frame;
    } else {
      const bytes = new Uint8Array(data as ArrayBuffer);
      this.binary.push(bytes);
      f = { binary: bytes };
    }
    const idx = this.frames.length;
    this.frames.push(f);
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (idx >= w.from && w.pred(f)) w.resolve(f);
      else still.push(w);
    }
    this.waiters = still;
  }

  /** Sends a JSON object (or a raw string / bytes as is). */
  send(msg: unknown): void {
    if (typeof msg === "string" || msg instanceof Uint8Array) this.ws.send(msg);
    else this.ws.send(JSON.stringify(msg));
  }

  /** The first frame from index `from` on matching `pred`, already received or yet to come. */
  waitFor(pred: (f: Frame) => boolean, timeoutMs = 5000, from = 0): Promise<Frame> {
    for (let i = from; i < this.frames.length; i++) if (pred(this.frames[i]!)) return Promise.resolve(this.frames[i]!);
    return new Promise((resolve, reject) => {
      const w: Waiter = {
        pred,
        from,
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        const tail = this.frames.slice(-5).map((f) => JSON.stringify(f).slice(0, 200));
        reject(new Error(`waitFor timed out after ${timeoutMs} ms; ${this.frames.length} frames, last: ${tail.join(" | ")}; close: ${JSON.stringify(this.closeEvent)}`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Sends `msg` with a fresh id and resolves with the first answer carrying that id. */
  async request(msg: Record<string, unknown>, timeoutMs = 5000): Promise<Frame> {
    const id = this.nextId++;
    const from = this.frames.length;
    this.send({ ...msg, id });
    return this.waitFor((f) => f.id === id, timeoutMs, from);
  }

  /** Every answer with `id` received so far. */
  answers(id: string | number): Frame[] {
    return this.frames.filter((f) => f.id === id);
  }

  /** Subscribes and resolves with the `subscribed` answer (throws on an error answer). */
  async subscribe(streams: string[], timeoutMs = 5000): Promise<Frame> {
    const id = this.nextId++;
    const from = this.frames.length;
    this.send({ action: "subscribe", streams, id });
    const f = await this.waitFor((x) => x.id === id, timeoutMs, from);
    if (f.event !== "subscribed") throw new Error(`subscribe refused: ${JSON.stringify(f)}`);
    return f;
  }

  /** Data frames received, optionally of one stream. */
  data(stream?: string): DataFrame[] {
    return this.frames.filter((f) => typeof f.seq === "number" && (stream === undefined || f.stream === stream)) as DataFrame[];
  }

  /** Seqs received of `stream`, in arrival order. */
  seqs(stream: string): number[] {
    return this.data(stream).map((f) => f.seq);
  }

  /** Highest seq received of `stream`, or 0. */
  lastSeq(stream: string): number {
    const d = this.data(stream);
    return d.length ? d[d.length - 1]!.seq : 0;
  }

  /** Waits until a data frame of `stream` with seq >= `seq` arrived. */
  waitForSeq(stream: string, seq: number, timeoutMs = 5000): Promise<Frame> {
    return this.waitFor((f) => f.stream === stream && typeof f.seq === "number" && f.seq >= seq, timeoutMs);
  }

  /** Errors received. */
  errors(code?: string): Frame[] {
    return this.frames.filter((f) => f.event === "error" && (code === undefined || f.code === code));
  }

  /** Closes (normal) and waits for the close to complete. */
  async close(code = 1000): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(code);
    await Promise.race([this.closed, Bun.sleep(2000)]);
  }

  /** Waits for the close with a timeout; resolves with code and reason. */
  async waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    const r = await Promise.race([this.closed, Bun.sleep(timeoutMs).then(() => undefined)]);
    if (!r) throw new Error(`not closed within ${timeoutMs} ms`);
    return r;
  }
}

/** Connects `n` clients (in parallel) with the same options. */
export function connectMany(url: string, n: number, o: ConnectOptions = {}): Promise<TestClient[]> {
  return Promise.all(Array.from({ length: n }, () => TestClient.connect(url, o)));
}

/** Closes every client, ignoring failures. */
export async function closeAll(clients: (TestClient | undefined)[]): Promise<void> {
  await Promise.allSettled(clients.map((c) => c?.close()));
}

/** Checks that `got` is exactly the run `expected` (same seqs in the same order); a message on mismatch. */
export function diffSeqs(got: number[], expected: number[]): string | undefined {
  if (got.length === expected.length && got.every((s, i) => s === expected[i])) return undefined;
  const dup = got.filter((s, i) => got.indexOf(s) !== i);
  const set = new Set(got);
  const missing = expected.filter((s) => !set.has(s));
  const exp = new Set(expected);
  const extra = got.filter((s) => !exp.has(s));
  const outOfOrder = got.findIndex((s, i) => i > 0 && s <= got[i - 1]!);
  return `got ${got.length} seqs, expected ${expected.length}; missing ${JSON.stringify(missing.slice(0, 10))}${missing.length > 10 ? "..." : ""} (${missing.length}), duplicated ${JSON.stringify(dup.slice(0, 10))}, unexpected ${JSON.stringify(extra.slice(0, 10))}, first out-of-order index ${outOfOrder}`;
}

/** [from, from+1, ..., to]. */
export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

// ---- Raw WebSocket client over TCP -------------------------------------------------------------

/**
 * A WebSocket client written by hand over `Bun.connect`: it does the handshake itself, so the test
 * sees the HTTP answer as sent, and it can `pause()` reading so the kernel buffers and then the
 * gateway's send buffer fill up (a slow consumer). Frames are parsed only while reading.
 */
export class RawWsClient {
  status = 0;
  responseHeaders: Record<string, string> = {};
  /** Text frames parsed as JSON. */
  readonly frames: Frame[] = [];
  closeFrame?: { code: number; reason: string };
  socketClosed = false;
  bytesRead = 0;
  private buf = Buffer.alloc(0);
  private handshaken = false;
  private handshakeDone!: () => void;
  private handshakeFailed!: (e: Error) => void;
  private socket!: Awaited<ReturnType<typeof Bun.connect>>;

  private constructor() {}

  /** Connects and performs the upgrade of `path` with extra `headers`; resolves after the 101. */
  static async connect(port: number, path = "/ws", headers: Record<string, string> = {}): Promise<RawWsClient> {
    const c = new RawWsClient();
    const done = new Promise<void>((resolve, reject) => {
      c.handshakeDone = resolve;
      c.handshakeFailed = reject;
    });
    c.socket = await Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data: (_s, d) => c.onData(d),
        close: () => {
          c.socketClosed = true;
          c.handshakeFailed(new Error("socket closed during handshake"));
        },
        error: (_s, e) => c.handshakeFailed(e),
      },
    });
    const key = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64");
    const lines = [`GET ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Key: ${key}`, "Sec-WebSocket-Version: 13"];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    c.socket.write(lines.join("\r\n") + "\r\n\r\n");
    await done;
    if (c.status !== 101) throw new Error(`upgrade refused with HTTP ${c.status}`);
    return c;
  }

  private onData(d: Uint8Array): void {
    this.bytesRead += d.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : Buffer.from(d);
    if (!this.handshaken) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString("latin1").split("\r\n");
      this.status = Number(head[0]!.split(" ")[1]);
      for (const h of head.slice(1)) {
        const i = h.indexOf(":");
        if (i > 0) this.responseHeaders[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
      }
      this.buf = this.buf.subarray(end + 4);
      this.handshaken = true;
      this.handshakeDone();
    }
    this.parseFrames();
  }

  private parseFrames(): void {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1]! & 0x7f;
      let off = 2;
      if (len === 126) {
        if (b.length < 4) return;
        len = b.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (b.length < 10) return;
        len = Number(b.readBigUInt64BE(2));
        off = 10;
      }
      if (b.length < off + len) return;
      const op = b[0]! & 0x0f;
      const payload = b.subarray(off, off + len);
      this.buf = b.subarray(off + len);
      if (op === 0x1) this.frames.push(JSON.parse(payload.toString("utf8")) as Frame);
      else if (op === 0x8) {
        this.closeFrame = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString("utf8") };
      } else if (op === 0x9) this.writeFrame(0xa, payload);
    }
  }

  private writeFrame(opcode: number, payload: Uint8Array): void {
    if (this.socketClosed) return;
    const mask = crypto.getRandomValues(new Uint8Array(4));
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, 0x80 | n]) : n < 65536 ? Buffer.from([0x80 | opcode, 0x80 | 126, n >> 8, n & 0xff]) : (() => {
      const h = Buffer.alloc(10);
      h[0] = 0x80 | opcode;
      h[1] = 0x80 | 127;
      h.writeBigUInt64BE(BigInt(n), 2);
      return h;
    })();
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.socket.write(Buffer.concat([head, mask, masked]));
  }

  /** Sends a JSON text frame. */
  send(msg: unknown): void {
    this.writeFrame(0x1, Buffer.from(JSON.stringify(msg)));
  }

  /** Stops reading from the socket: the kernel buffers fill, then the gateway's send buffer. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Data frames of `stream` received so far. */
  data(stream: string): DataFrame[] {
    return this.frames.filter((f) => f.stream === stream && typeof f.seq === "number") as DataFrame[];
  }

  /** Drops the TCP connection. */
  destroy(): void {
    this.socket.end();
  }
}

// ---- Child-process gateway ---------------------------------------------------------------------

/** A gateway running as `bun src/main.ts` in a child process. */
export interface ChildGateway {
  proc: ReturnType<typeof Bun.spawn>;
  port: number;
  /** Parsed JSON log lines from stdout so far. */
  lines: Record<string, unknown>[];
  stderr(): string;
  wsUrl(): string;
  /** Sends a signal; resolves with the exit code once the process is gone. */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number>;
}

/**
 * Spawns `bun src/main.ts` with `testEnv(env)` (LOG_LEVEL info, so the start line carries the
 * port) and resolves once it listens. Rejects with its output if it exits first.
 */
export async function spawnGateway(env: Env, timeoutMs = 15_000): Promise<ChildGateway> {
  // Only what the test sets (plus PATH/HOME/TMPDIR): settings of the developer's shell must not leak in.
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ...testEnv({ LOG_LEVEL: "info", ...env }) })) {
    if (v !== undefined) fullEnv[k] = v;
  }
  const proc = Bun.spawn([process.execPath, "src/main.ts"], { cwd: REPO_ROOT, env: fullEnv, stdout: "pipe", stderr: "pipe" });
  const lines: Record<string, unknown>[] = [];
  let errText = "";
  let onLine: (() => void) | undefined;
  void (async () => {
    const dec = new TextDecoder();
    let rest = "";
    for await (const chunk of chunks(proc.stdout as ReadableStream<Uint8Array>)) {
      rest += dec.decode(chunk, { stream: true });
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const l of parts) {
        if (!l.startsWith("{")) continue;
        try {
          lines.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          // not a log line
        }
      }
      onLine?.();
    }
  })();
  void (async () => {
    const dec = new TextDecoder();
    for await (const chunk of chunks(proc.stderr as ReadableStream<Uint8Array>)) errText += dec.decode(chunk, { stream: true });
  })();
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`gateway child did not start within ${timeoutMs} ms: ${errText}`));
    }, timeoutMs);
    onLine = () => {
      const l = lines.find((x) => x.event === "gateway_started");
      if (l) {
        clearTimeout(timer);
        resolve(l);
      }
    };
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`gateway child exited with ${code} before listening: ${errText}`));
    });
  });
  onLine = undefined;
  const port = Number(started.port);
  return {
    proc,
    port,
    lines,
    stderr: () => errText,
    wsUrl: () => `ws://127.0.0.1:${port}/ws`,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await proc.exited;
      return proc.exitCode;
    },
    exited: proc.exited,
  };
}

async function* chunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    yield value;
  }
}

/** Runs `bun src/main.ts` to completion with `env` (not testEnv) and returns exit code and output. */
export async function runMain(env: Env, timeoutMs = 15_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ PATH: process.env.PATH, HOME: process.env.HOME, ...env })) if (v !== undefined) fullEnv[k] = v;
  const proc = Bun.spawn([process.execPath, "src/main.ts"], { cwd: REPO_ROOT, env: fullEnv, stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  return { code: proc.exitCode, stdout, stderr };
}

// ---- Event flow --------------------------------------------------------------------------------

/**
 * Publishes events round-robin over `streams` in the background (`perTick` events every
 * `intervalMs`) until stopped, recording every published seq and payload per stream, so a test
 * can compare what clients received with exactly what was published.
 */
export class EventFlow {
  readonly published = new Map<string, { seq: number; data: Record<string, unknown> }[]>();
  private running = false;
  private loop?: Promise<void>;
  /** Why the background loop stopped early, if it did. */
  error?: Error;
  private n = 0;

  constructor(
    private readonly publishFn: (events: { stream: string; data: unknown }[]) => number[] | Promise<number[]>,
    readonly streams: string[],
    private readonly opts: { perTick?: number; intervalMs?: number; pad?: number } = {},
  ) {
    for (const s of streams) this.published.set(s, []);
  }

  /** Publishes one batch of `count` events now (round-robin over the streams). */
  async publishBatch(count = this.opts.perTick ?? 4): Promise<void> {
    const pad = this.opts.pad ? "p".repeat(this.opts.pad) : undefined;
    const events = Array.from({ length: count }, () => {
      const n = ++this.n;
      const stream = this.streams[n % this.streams.length]!;
      return { stream, data: pad ? { n, pad } : { n } };
    });
    const seqs = await this.publishFn(events);
    events.forEach((e, i) => this.published.get(e.stream)!.push({ seq: seqs[i]!, data: e.data }));
  }

  start(): this {
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        try {
          await this.publishBatch();
        } catch (e) {
          // The gateway went away under a failing test: stop quietly, the test reports its own failure.
          this.error = e as Error;
          this.running = false;
          return;
        }
        await Bun.sleep(this.opts.intervalMs ?? 2);
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  seqs(stream: string): number[] {
    return this.published.get(stream)!.map((e) => e.seq);
  }

  head(stream: string): number {
    return this.published.get(stream)!.at(-1)?.seq ?? 0;
  }

  /** Total events published. */
  get count(): number {
    return this.n;
  }
}
