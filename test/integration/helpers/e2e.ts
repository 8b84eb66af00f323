/**
 * End-to-end test helpers: a small WebSocket test client, in-process and child-process gateways
 * configured with real sources and bindings, /metrics parsing, and cleanup of what was started.
 *
 * Nothing here talks to a broker; see drivers.ts for the per-source producers.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignJWT } from "jose";
import { loadConfig } from "../../../src/config/config.ts";
import { createGateway, type AssembledGateway } from "../../../src/create-gateway.ts";
import type { SourceDef } from "../../../src/config/source-defs.ts";
import { createSource } from "../../../src/sources/source-factory.ts";
import { Logger } from "../../../src/util/logger.ts";

export const JWT_SECRET = "e2e-jwt-secret-0123456789abcdef0123456789";
export const ADMIN_TOKEN = "e2e-admin-token";
const ROOT = new URL("../../../", import.meta.url).pathname;

/** A short id unique to this test process, for topic / stream / subject names. */
export const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
let uniq = 0;
/** A fresh name part: `<run>x<n>`, safe in Kafka topics, NATS subjects, Redis keys, stream names. */
export function uniqueId(): string {
  return `${RUN}x${++uniq}`;
}

const key = new TextEncoder().encode(JWT_SECRET);
/** An HS256 token for `user`, valid for an hour. */
export function tokenFor(user: string): Promise<string> {
  return new SignJWT({ roles: ["trader"] }).setProtectedHeader({ alg: "HS256" }).setSubject(user).setIssuedAt().setExpirationTime("1h").sign(key);
}

// ---------------------------------------------------------------------------------- WS client

export interface DataFrame {
  stream: string;
  seq: number;
  prev: number;
  data: any;
}
export type ControlFrame = { event: string; id?: number | string; [k: string]: any };
export type Frame = DataFrame | ControlFrame;

const isData = (f: Frame): f is DataFrame => typeof (f as DataFrame).stream === "string" && typeof (f as DataFrame).seq === "number" && !("event" in f);

/** A test WebSocket client that records every frame it receives (JSON format). */
export class WsClient {
  readonly frames: Frame[] = [];
  closeCode: number | undefined;
  readonly closed: Promise<number>;
  private nextId = 1;
  private onClosed!: (code: number) => void;

  private constructor(readonly ws: WebSocket, readonly url: string) {
    this.closed = new Promise((r) => (this.onClosed = r));
    ws.onmessage = (e) => this.frames.push(JSON.parse(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer)));
    ws.onclose = (e) => {
      this.closeCode = e.code;
      this.onClosed(e.code);
    };
  }

  /** Opens a socket to `wsUrl` as `user`; rejects if it is not open within `timeoutMs`. */
  static async connect(wsUrl: string, user: string, timeoutMs = 10_000): Promise<WsClient> {
    const url = `${wsUrl}?token=${await tokenFor(user)}`;
    const ws = new WebSocket(url);
    const c = new WsClient(ws, wsUrl);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`ws connect to ${wsUrl} timed out`)), timeoutMs);
      ws.onopen = () => (clearTimeout(t), resolve());
      ws.onerror = () => (clearTimeout(t), reject(new Error(`ws connect to ${wsUrl} failed`)));
    });
    return c;
  }

  /** Data frames, optionally of one stream, in arrival order. */
  data(stream?: string): DataFrame[] {
    return this.frames.filter((f): f is DataFrame => isData(f) && (stream === undefined || f.stream === stream));
  }

  /** Control frames (`event` set), optionally of one kind. */
  controls(event?: string): ControlFrame[] {
    return this.frames.filter((f): f is ControlFrame => "event" in f && (event === undefined || f.event === event));
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  /**
   * Subscribes and resolves with every answer to it (one `subscribed` and/or one `error` per
   * refusal code) once every requested stream is accounted for.
   */
  async subscribe(streams: string[], timeoutMs = 10_000): Promise<ControlFrame[]> {
    const id = this.nextId++;
    this.send({ action: "subscribe", streams, id });
    const answers = () => this.controls().filter((f) => f.id === id);
    await waitUntil(() => {
      const named = new Set(answers().flatMap((a) => (a.streams as string[] | undefined) ?? []));
      return streams.every((s) => named.has(s));
    }, timeoutMs, `answers to subscribe ${streams.join(",")}`);
    return answers();
  }

  /** The epoch the gateway reports for `stream` (re-subscribing is idempotent and answers it). */
  async epochOf(stream: string): Promise<string> {
    const [ack] = await this.subscribe([stream]);
    if (ack?.event !== "subscribed") throw new Error(`subscribe ${stream}: ${JSON.stringify(ack)}`);
    return (ack.epochs as Record<string, string>)[stream] ?? "";
  }

  /** Sends `resume` and resolves with its `resumed` or `error` answer. */
  async resume(positions: Record<string, number>, epochs: Record<string, string>, timeoutMs = 20_000): Promise<ControlFrame[]> {
    const id = this.nextId++;
    this.send({ action: "resume", positions, epochs, id });
    const streams = Object.keys(positions);
    const answers = () => this.controls().filter((f) => f.id === id && (f.event === "resumed" || f.event === "error"));
    await waitUntil(() => {
      const named = new Set(answers().flatMap((a) => [a.stream as string, ...((a.streams as string[] | undefined) ?? [])]));
      return streams.every((s) => named.has(s));
    }, timeoutMs, `answers to resume ${streams.join(",")}`);
    return answers();
  }

  /** Waits until `n` data frames of `stream` arrived. */
  waitData(stream: string, n: number, timeoutMs = 20_000): Promise<void> {
    return waitUntil(() => this.data(stream).length >= n, timeoutMs, () => `${n} frames of ${stream} (have ${this.data(stream).length})`);
  }

  close(): void {
    try {
      this.ws.close(1000);
    } catch {
      // already closed
    }
  }
}

/** Polls `cond` every 20 ms; rejects with `what` after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string)): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    await Bun.sleep(20);
  }
}

/**
 * Checks that `frames` are exactly the events `expectedSeqs` in order, each `prev` naming the seq
 * before it (the first one's prev is `firstPrev` when given); returns a problem or undefined.
 */
export function sequenceProblem(frames: DataFrame[], expectedSeqs: number[], firstPrev?: number): string | undefined {
  const got = frames.map((f) => f.seq);
  if (got.length !== expectedSeqs.length || got.some((s, i) => s !== expectedSeqs[i])) {
    const dupes = got.filter((s, i) => got.indexOf(s) !== i);
    const missing = expectedSeqs.filter((s) => !got.includes(s));
    const extra = got.filter((s) => !expectedSeqs.includes(s));
    return `got ${got.length} frames, expected ${expectedSeqs.length}; missing ${missing.length} (${missing.slice(0, 5).join(",")}), extra ${extra.length} (${extra.slice(0, 5).join(",")}), duplicated ${dupes.length} (${dupes.slice(0, 5).join(",")})`;
  }
  for (let i = 0; i < frames.length; i++) {
    const want = i === 0 ? firstPrev : frames[i - 1]!.seq;
    if (want !== undefined && frames[i]!.prev !== want) return `frame ${i} (seq ${frames[i]!.seq}) has prev ${frames[i]!.prev}, expected ${want}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------- gateways

/** What goes into CONFIG_FILE. */
export interface E2eConfigFile {
  sources: SourceDef[];
  bindings: unknown[];
  [k: string]: unknown;
}

const tmpDirs: string[] = [];
/** A fresh temp dir removed by cleanupAll(). */
export function tempDir(tag: string): string {
  const d = mkdtempSync(join(tmpdir(), `e2e-${tag}-`));
  tmpDirs.push(d);
  return d;
}

function writeConfig(cfg: E2eConfigFile): string {
  const file = join(tempDir("cfg"), "config.json");
  writeFileSync(file, JSON.stringify(cfg, null, 2));
  return file;
}

const baseEnv = {
  JWT_SECRET,
  ADMIN_TOKEN,
  SIMULATOR: "0",
  HOST: "127.0.0.1",
  PORT: "0",
  SHUTDOWN_GRACE_MS: "1000",
};

/** A running gateway, in-process or a child. */
export interface E2eGateway {
  readonly wsUrl: string;
  readonly httpUrl: string;
  /** GET /readyz: status and body. */
  readyz(): Promise<{ status: number; body: any }>;
  /** Value of one sample of /metrics (0 when absent). */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** PUT /admin/api/bindings/{id}. */
  putBinding(id: string, binding: unknown): Promise<Response>;
  /** GET /snapshot/{stream}: the latest event, or undefined (404). */
  snapshot(stream: string, user?: string): Promise<{ seq: number; epoch: string; data: unknown } | undefined>;
  stop(): Promise<void>;
}

abstract class GatewayBase implements E2eGateway {
  abstract readonly wsUrl: string;
  abstract readonly httpUrl: string;
  abstract stop(): Promise<void>;

  async readyz(): Promise<{ status: number; body: any }> {
    const r = await fetch(`${this.httpUrl}/readyz`);
    return { status: r.status, body: await r.json() };
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(`${this.httpUrl}/metrics`)).text();
    return metricValue(text, name, labels);
  }

  putBinding(id: string, binding: unknown): Promise<Response> {
    return fetch(`${this.httpUrl}/admin/api/bindings/${encodeURIComponent(id)}`, {
      method: "PUT",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify(binding),
    });
  }

  /** GET /snapshot/{stream} as `user`: the latest event, or undefined (404). */
  async snapshot(stream: string, user = "probe"): Promise<{ seq: number; epoch: string; data: unknown } | undefined> {
    const r = await fetch(`${this.httpUrl}/snapshot/${stream}`, { headers: { authorization: `Bearer ${await tokenFor(user)}` } });
    if (r.status === 404) return undefined;
    if (!r.ok) throw new Error(`snapshot ${stream}: HTTP ${r.status} ${await r.text()}`);
    return (await r.json()) as { seq: number; epoch: string; data: unknown };
  }
}

/** Sums the samples of `name` whose labels include `labels`, from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const lm of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) got[lm[1]!] = lm[2]!;
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** A Gateway object in this process, built from a config file exactly like src/main.ts does. */
export class InProcessGateway extends GatewayBase {
  private constructor(readonly gw: AssembledGateway) {
    super();
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.gw.port}/ws`;
  }
  get httpUrl(): string {
    return `http://127.0.0.1:${this.gw.port}`;
  }

  /** Starts it and waits until every source is connected (/readyz 200). */
  static async start(cfgFile: E2eConfigFile, env: Record<string, string> = {}, readyTimeoutMs = 60_000): Promise<InProcessGateway> {
    // log.dir "" keeps the ring logs in memory: nothing on disk to clean up.
    const file = writeConfig({ log: { dir: "" }, ...cfgFile });
    const cfg = loadConfig({ ...baseEnv, LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? "warn", ...env, CONFIG_FILE: file });
    const sources = await Promise.all(cfg.sources.map(createSource));
    const gw = createGateway(cfg, { sources, log: new Logger(cfg.logLevel) });
    const g = new InProcessGateway(gw);
    running.add(g);
    await gw.start();
    await waitUntil(() => gw.readiness().ready, readyTimeoutMs, () => `gateway ready: ${JSON.stringify(gw.readiness())}`);
    return g;
  }

  async stop(): Promise<void> {
    running.delete(this);
    await this.gw.shutdown(200);
  }
}

/** `bun src/main.ts` in a child process, with its own CONFIG_FILE, LOG_DIR and port. */
export class ChildGateway extends GatewayBase {
  readonly output: string[] = [];
  port = 0;
  private constructor(readonly proc: ReturnType<typeof Bun.spawn>, readonly logDir: string) {
    super();
  }
  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }
  get httpUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Spawns it and waits until it listens and every source is connected. */
  static async spawn(name: string, cfgFile: E2eConfigFile, env: Record<string, string> = {}, readyTimeoutMs = 60_000): Promise<ChildGateway> {
    const file = writeConfig(cfgFile);
    const logDir = tempDir(`log-${name}`);
    const proc = Bun.spawn([process.execPath, "src/main.ts"], {
      cwd: ROOT,
      env: { ...process.env, ...baseEnv, LOG_LEVEL: "info", LOG_DIR: logDir, CONFIG_FILE: file, ...env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const g = new ChildGateway(proc, logDir);
    running.add(g);
    void g.pump(proc.stdout as ReadableStream<Uint8Array>);
    void g.pump(proc.stderr as ReadableStream<Uint8Array>);
    await waitUntil(
      () => {
        if (proc.exitCode !== null) throw new Error(`gateway ${name} exited ${proc.exitCode}:\n${g.tail()}`);
        return g.port > 0;
      },
      readyTimeoutMs,
      () => `gateway ${name} to listen:\n${g.tail()}`,
    );
    await waitUntil(async () => (await g.readyz()).status === 200, readyTimeoutMs, () => `gateway ${name} ready:\n${g.tail()}`);
    return g;
  }

  private async pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    const reader = stream.getReader();
    for (;;) {
      const { value: chunk, done } = await reader.read();
      if (done) break;
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (this.output.length > 2000) this.output.shift();
        this.output.push(line);
        if (this.port === 0 && line.includes('"gateway_started"')) {
          try {
            this.port = (JSON.parse(line) as { port: number }).port;
          } catch {
            // not our JSON line
          }
        }
      }
    }
  }

  /** The last lines the child printed, for failure messages. */
  tail(n = 30): string {
    return this.output.slice(-n).join("\n");
  }

  /** SIGKILL: no drain, no flush. */
  async kill9(): Promise<void> {
    this.noteChildren();
    this.proc.kill(9);
    await this.proc.exited;
    running.delete(this);
  }

  async stop(): Promise<void> {
    running.delete(this);
    if (this.proc.exitCode !== null) return;
    this.noteChildren();
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill(9), 8000);
    await this.proc.exited;
    clearTimeout(t);
  }

  /** Processes the gateway started (the Kafka worker), remembered before it goes away. */
  private children: Proc[] = [];
  get startedProcesses(): readonly Proc[] {
    return this.children;
  }
  private noteChildren(): void {
    this.children = descendants(this.proc.pid);
    exited.add(this);
  }

  /**
   * Waits up to `waitMs` for the processes this gateway had started to end by themselves after it
   * died; SIGKILLs (by pid) those still there and returns them.
   */
  async reapOrphans(waitMs: number): Promise<Proc[]> {
    const deadline = Date.now() + waitMs;
    let alive = this.children.filter(isAlive);
    while (alive.length && Date.now() < deadline) {
      await Bun.sleep(50);
      alive = alive.filter(isAlive);
    }
    for (const p of alive) process.kill(p.pid, 9);
    this.children = [];
    exited.delete(this);
    return alive;
  }
}

/** A process by pid and command line (the command line guards against pid reuse). */
export interface Proc {
  pid: number;
  cmd: string;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

function isAlive(p: Proc): boolean {
  const cmd = cmdline(p.pid);
  if (cmd !== p.cmd) return false;
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${p.pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/** Every descendant of `pid`, from /proc. */
function descendants(pid: number): Proc[] {
  const out: Proc[] = [];
  const walk = (p: number) => {
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = "";
      try {
        kids = readFileSync(`/proc/${p}/task/${t}/children`, "utf8");
      } catch {
        continue;
      }
      for (const k of kids.split(/\s+/).filter(Boolean).map(Number)) {
        out.push({ pid: k, cmd: cmdline(k) });
        walk(k);
      }
    }
  };
  walk(pid);
  return out;
}

/** Child gateways that are gone but may have left processes behind. */
const exited = new Set<ChildGateway>();

const running = new Set<E2eGateway>();
const clients = new Set<WsClient>();

/** Connects a client that cleanupAll() closes. */
export async function client(g: E2eGateway | string, user = "alice"): Promise<WsClient> {
  const c = await WsClient.connect(typeof g === "string" ? g : g.wsUrl, user);
  clients.add(c);
  return c;
}

/** Closes every client, stops every gateway still running, removes temp dirs. */
export async function cleanupAll(): Promise<void> {
  for (const c of clients) c.close();
  clients.clear();
  await Promise.allSettled([...running].map((g) => g.stop()));
  running.clear();
  for (const g of [...exited]) {
    const left = await g.reapOrphans(5000);
    if (left.length) console.warn(`e2e cleanup: killed ${left.length} process(es) a gateway left behind: ${left.map((p) => `${p.pid} ${p.cmd.slice(0, 120)}`).join("; ")}`);
  }
  for (const d of tmpDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
