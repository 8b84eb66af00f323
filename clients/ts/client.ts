/**
 * GatewayClient: a typed client of the gateway for browsers, Bun and Node (>= 22, global
 * WebSocket). It only uses web platform APIs (WebSocket, fetch, URL, timers, TextDecoder).
 *
 * - Typed subscriptions: `subscribe("ticker.btc_usdt", (f) => f.data.price)` -> TickerData.
 * - Both wire formats (`format: "json" | "fb"`), decoded to the same objects.
 * - Reconnects with exponential backoff and jitter (1s, 2s, 4s, 8s, 16s, capped at 30s, ±20%),
 *   state "offline" after 8 failed attempts, and keeps trying.
 * - Resumes every stream from its last seq after a reconnect (positions + epochs), drops
 *   duplicates (seq <= last), detects gaps (prev != last seq) and resumes to fill them, reports
 *   `resume_unavailable` so the app can take a snapshot (`snapshot()`).
 * - Refreshes its token through an async callback before each reconnect (and first on 4003).
 * - Heartbeat: `{"action":"ping"}` every 25 s; nothing received within 10 s after a ping ->
 *   the socket is considered dead and replaced.
 * - Honours close codes (src/gateway/close-codes.ts): no reconnect after 4001 (kicked) unless
 *   `reconnectOnKick`, nor after a server 1000; 4003 (token expired) refreshes the token first.
 */
import { CLOSE } from "../../src/gateway/close-codes.ts";
import { TOKEN_PROTOCOL_PREFIX } from "../../src/gateway/auth/credentials.ts";
import { MAX_STREAMS_PER_REQUEST } from "../../src/gateway/protocol.ts";
import { backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.ts";
import { decodeMessage, type Decoded } from "./codec.ts";
import { Emitter } from "./emitter.ts";
import {
  isDataFrame,
  type ClientRequest,
  type ControlMessage,
  type DataFrame,
  type Format,
  type FrameMeta,
  type FrameOf,
  type GatewayError,
  type PayloadOf,
  type Position,
  type ReplayPage,
  type RequestId,
  type ResumedAck,
  type ResumeUnavailable,
  type Snapshot,
  type StreamName,
  type SubscribedAck,
} from "./types.ts";

/** Subprotocols that select the wire format (src/gateway/upgrade.ts; a test checks they match). */
export const PROTOCOL_JSON = "cex.v1.json";
export const PROTOCOL_FB = "cex.v1.fb";

export type ConnectionState = "connecting" | "open" | "reconnecting" | "offline" | "closed";

/** Why the token callback is called. */
export interface TokenRequest {
  /** "initial": first connect without a token; "reconnect": before any reconnect; "expired": after close 4003. */
  reason: "initial" | "reconnect" | "expired";
  /** Number of this attempt since the last stable connection (1 = first retry; 0 = initial connect). */
  attempt: number;
  /** Close code of the connection that ended, if any. */
  closeCode?: number;
}

export interface GatewayClientOptions {
  /** WebSocket endpoint, e.g. `ws://localhost:8080/ws`. */
  url: string;
  /** Wire format; the app sees the same objects either way. Default "json". */
  format?: Format;
  /** Bearer token (JWT) for the first connect. */
  token?: string;
  /**
   * Called before every reconnect (and before the first connect when `token` is unset) to get a
   * fresh token; return undefined to keep the current one. After close 4003 it is called with
   * reason "expired". A throw counts as a failed attempt and is retried with backoff.
   */
  getToken?: (req: TokenRequest) => string | undefined | Promise<string | undefined>;
  /**
   * How the token travels: "protocol" (subprotocol `bearer.<token>`, the browser-friendly way that
   * keeps it out of URLs and access logs) or "query" (`?token=`). Default "protocol".
   */
  tokenTransport?: "protocol" | "query";
  /** Backoff of reconnects. Default 1s doubling to 30s, ±20% jitter. */
  backoff?: Partial<BackoffOptions>;
  /** Consecutive failed attempts after which the state is "offline" (still retrying). Default 8. */
  offlineAfterAttempts?: number;
  /** A connection open this long resets the attempt counter. Default 5000 ms. */
  stableAfterMs?: number;
  /** Heartbeat; false disables it. Default every 25 s, dead after 10 s of silence following a ping. */
  heartbeat?: { intervalMs: number; timeoutMs: number } | false;
  /** Opening handshake timeout. Default 10000 ms. */
  connectTimeoutMs?: number;
  /** Reconnect after close 4001 (kicked by an operator). Default false. */
  reconnectOnKick?: boolean;
  /** On a gap: "resume" (drop the frame and resume from the last seq, default) or "deliver" (report and deliver). */
  onGap?: "resume" | "deliver";
  /** Called when a stream cannot be resumed (also emitted as "resumeUnavailable"). */
  onResumeUnavailable?: (info: ResumeUnavailable) => void;
  /** Positions to resume from on the first connect (e.g. persisted by a previous page load). */
  positions?: Record<string, Position>;
  /** HTTP base for snapshot/replay; default derived from `url` (ws -> http, without the `/ws` path). */
  httpUrl?: string;
  /** WebSocket implementation; default the global one. */
  WebSocket?: WebSocketCtor;
  /** fetch implementation; default the global one. */
  fetch?: typeof fetch;
  /** Random source for jitter (tests). */
  random?: () => number;
}

/** The part of the WebSocket constructor the client uses. */
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocket;

export interface StateInfo {
  previous: ConnectionState;
  /** Consecutive failed attempts. */
  attempt: number;
  /** Reconnecting/offline: the delay before the next attempt. */
  delayMs?: number;
  /** The close code that caused the transition, if any. */
  code?: number;
  reason?: string;
}

export interface CloseInfo {
  code: number;
  reason: string;
  /** True when the close was not initiated by the server (heartbeat or connect timeout). */
  local: boolean;
  willReconnect: boolean;
}

export interface GapInfo {
  stream: string;
  /** Last seq delivered. */
  last: number;
  /** `prev` of the frame that revealed the gap (should have been `last`). */
  prev: number;
  seq: number;
  /** True when a resume was requested to fill it. */
  resuming: boolean;
}

export type ClientErrorKind = "gateway" | "decode" | "token" | "heartbeat" | "connect" | "http" | "closed";

/** An error reported through the "error" event or a rejected promise. */
export class GatewayClientError extends Error {
  readonly kind: ClientErrorKind;
  /** The gateway's error frame, for kind "gateway". */
  readonly frame?: GatewayError;
  /** HTTP status, for kind "http". */
  readonly status?: number;

  constructor(kind: ClientErrorKind, message: string, frame?: GatewayError, status?: number) {
    super(message);
    this.name = "GatewayClientError";
    this.kind = kind;
    this.frame = frame;
    this.status = status;
  }
}

export interface ClientEvents {
  state: [state: ConnectionState, info: StateInfo];
  open: [info: { url: string; format: Format; attempt: number }];
  close: [info: CloseInfo];
  /** Every delivered data frame, after dedupe and gap handling. */
  data: [frame: DataFrame, meta: FrameMeta];
  /** Every control frame as received. */
  control: [frame: ControlMessage];
  gap: [info: GapInfo];
  duplicate: [info: { stream: string; seq: number; last: number }];
  resumed: [ack: ResumedAck];
  resumeUnavailable: [info: ResumeUnavailable];
  error: [err: GatewayClientError];
}

/** A handler of one subscription's frames. */
export type FrameHandler<S extends string> = (frame: FrameOf<S>, meta: FrameMeta) => void;

/** What `subscribe` returns. */
export interface Subscription<S extends string> {
  readonly streams: readonly S[];
  /** Resolves when every stream is acknowledged (subscribed or resumed); rejects when one is refused. */
  readonly ready: Promise<void>;
  /** Removes this handler; a stream with no handler left is unsubscribed. */
  unsubscribe(): void;
}

export interface ClientStats {
  /** Frames received (data and control). */
  frames: number;
  /** Data frames delivered to the app. */
  delivered: number;
  duplicates: number;
  gaps: number;
  /** Streams resumed successfully (replay + live). */
  resumes: number;
  resumeUnavailable: number;
  /** Connections opened. */
  connects: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

type AnyHandler = (frame: DataFrame, meta: FrameMeta) => void;

interface StreamState {
  readonly stream: string;
  /** One entry per subscription of the stream; the stream is wanted while there is one. */
  readonly subs: Set<{ fn?: AnyHandler }>;
  /** Last seq delivered; undefined until the first frame (or after resume_unavailable). */
  last?: number;
  /** Epoch of the numbering `last` belongs to. */
  epoch?: string;
  /** Acknowledged on the current connection. */
  live: boolean;
  /** A resume of this stream is in flight on the current connection. */
  resuming: boolean;
  /** The epoch was asked for with a no-op resume (see onData). */
  epochProbed: boolean;
  waiters: Waiter[];
}

interface Pending {
  kind: "ping" | "list" | "unsubscribe";
  sentAt: number;
  resolve: (v: unknown) => void;
  reject: (err: Error) => void;
}

type WsMessage = { data: unknown };

export class GatewayClient extends Emitter<ClientEvents> {
  readonly format: Format;
  readonly stats: ClientStats = { frames: 0, delivered: 0, duplicates: 0, gaps: 0, resumes: 0, resumeUnavailable: 0, connects: 0 };

  private readonly opts: GatewayClientOptions;
  private readonly backoffOpts: BackoffOptions;
  private readonly heartbeat: { intervalMs: number; timeoutMs: number } | false;
  private readonly WS: WebSocketCtor;
  private readonly streams = new Map<string, StreamState>();
  private readonly pending = new Map<RequestId, Pending>();
  private _state: ConnectionState = "closed";
  private _token?: string;
  private ws?: WebSocket;
  private attempt = 0;
  private stopped = true;
  private tokenExpired = false;
  private lastCloseCode?: number;
  private nextId = 1;
  private rx = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private connectTimer?: ReturnType<typeof setTimeout>;
  private stableTimer?: ReturnType<typeof setTimeout>;
  private pingTimer?: ReturnType<typeof setInterval>;
  private pongTimer?: ReturnType<typeof setTimeout>;
  private onlineListener?: () => void;

  constructor(opts: GatewayClientOptions) {
    super();
    this.opts = opts;
    this.format = opts.format ?? "json";
    this._token = opts.token;
    this.backoffOpts = { ...DEFAULT_BACKOFF, ...opts.backoff };
    this.heartbeat = opts.heartbeat === false ? false : (opts.heartbeat ?? { intervalMs: 25_000, timeoutMs: 10_000 });
    const WS = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!WS) throw new Error("GatewayClient: no WebSocket implementation (pass options.WebSocket)");
    this.WS = WS;
    for (const [stream, p] of Object.entries(opts.positions ?? {})) {
      this.streams.set(stream, newState(stream, p));
    }
  }

  // ---- public API ------------------------------------------------------------------------------

  get state(): ConnectionState {
    return this._state;
  }

  get token(): string | undefined {
    return this._token;
  }

  /** Replaces the token used by the next connect (the current connection keeps its own). */
  setToken(token: string | undefined): void {
    this._token = token;
  }

  /** Starts connecting (no-op unless closed). Frames flow to subscriptions as they arrive. */
  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.setState("connecting", {});
    this.listenOnline();
    void this.openSocket("initial");
  }

  /** Closes for good (until `connect()` again); pending requests are rejected. */
  close(code = 1000, reason = "client close"): void {
    if (this.stopped && this._state === "closed") return;
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    this.teardown();
    if (ws) {
      detach(ws);
      try {
        ws.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.unlistenOnline();
    this.setState("closed", { code, reason });
  }

  /**
   * Subscribes to one or more streams; `handler` gets their frames with typed payloads. Streams
   * already subscribed (by another subscription) are shared; a resume position known for a stream
   * (from `positions` or `setPosition`) is resumed from instead of starting live.
   */
  subscribe<S extends StreamName>(streams: S | readonly S[], handler?: FrameHandler<S>): Subscription<S> {
    const list = [...new Set(typeof streams === "string" ? [streams] : streams)] as S[];
    if (list.length === 0) throw new TypeError("subscribe: no streams");
    const fresh: StreamState[] = [];
    const entry = { fn: handler as AnyHandler | undefined };
    const waits: Promise<void>[] = [];
    for (const s of list) {
      let st = this.streams.get(s);
      if (!st) {
        st = newState(s);
        this.streams.set(s, st);
        fresh.push(st);
      } else if (st.subs.size === 0 && !st.live && !st.resuming) {
        fresh.push(st); // known only from positions: join it now
      }
      st.subs.add(entry);
      waits.push(st.live ? Promise.resolve() : waitFor(st));
    }
    if (this.isOpen()) this.join(fresh);
    const ready = Promise.all(waits).then(() => undefined);
    ready.catch(() => {}); // the app may ignore `ready`; no unhandled rejection then
    let done = false;
    return {
      streams: list,
      ready,
      unsubscribe: () => {
        if (done) return;
        done = true;
        const drop: string[] = [];
        for (const s of list) {
          const st = this.streams.get(s);
          if (!st) continue;
          st.subs.delete(entry);
          if (st.subs.size === 0) drop.push(s);
        }
        if (drop.length) this.unsubscribe(drop);
      },
    };
  }

  /** Unsubscribes streams whatever subscriptions they have; their positions are forgotten. */
  unsubscribe(streams: string | readonly string[]): Promise<void> {
    const list = typeof streams === "string" ? [streams] : [...streams];
    const sent: string[] = [];
    for (const s of list) {
      const st = this.streams.get(s);
      if (!st) continue;
      this.streams.delete(s);
      rejectWaiters(st, new GatewayClientError("closed", `unsubscribed from ${s}`));
      if (st.live || st.resuming) sent.push(s);
    }
    if (sent.length === 0 || !this.isOpen()) return Promise.resolve();
    const ps = chunks(sent).map((c) => this.request<void>("unsubscribe", (id) => ({ action: "unsubscribe", streams: c, id })));
    return Promise.all(ps).then(() => undefined, () => undefined);
  }

  /** Streams this client wants (whether or not acknowledged yet). */
  subscriptions(): string[] {
    return [...this.streams.values()].filter((s) => s.subs.size > 0).map((s) => s.stream);
  }

  /** Every stream's position: persist it to resume after a restart of the app (`positions` option). */
  positions(): Record<string, Position> {
    const out: Record<string, Position> = {};
    for (const st of this.streams.values()) {
      if (st.last !== undefined) out[st.stream] = st.epoch ? { seq: st.last, epoch: st.epoch } : { seq: st.last };
    }
    return out;
  }

  /** Sets a stream's position (e.g. from a snapshot); frames up to `seq` are then dropped as already seen. */
  setPosition(stream: string, pos: Position | undefined): void {
    let st = this.streams.get(stream);
    if (!st) this.streams.set(stream, (st = newState(stream)));
    st.last = validPosition(pos?.seq);
    if (pos?.epoch !== undefined) st.epoch = pos.epoch || undefined;
  }

  /** Asks the gateway to replay `stream` after its last seq now (what a gap does by itself). */
  resync(stream: string): boolean {
    const st = this.streams.get(stream);
    if (!st || st.last === undefined || !this.isOpen()) return false;
    this.sendResume([st]);
    return true;
  }

  /** The gateway's list of this connection's streams. */
  list(): Promise<string[]> {
    return this.request<string[]>("list", (id) => ({ action: "list", id }));
  }

  /** Round-trip time of a ping, ms. */
  ping(): Promise<number> {
    return this.request<number>("ping", (id) => ({ action: "ping", id }));
  }

  /**
   * `GET /snapshot/{stream}`: the stream's latest event, typed. With `adopt`, the client takes its
   * seq as the stream's position when that is ahead of what it has, so older frames are dropped
   * and a gap after it is resumed — the usual answer to `resume_unavailable`.
   */
  async snapshot<S extends StreamName>(stream: S, opts: { adopt?: boolean } = {}): Promise<Snapshot<PayloadOf<S>>> {
    const snap = await this.http<Snapshot<PayloadOf<S>>>(`/snapshot/${encodeURIComponent(stream)}`);
    const st = this.streams.get(stream);
    if (opts.adopt && st && (st.last === undefined || st.last < snap.seq)) {
      st.last = snap.seq;
      if (snap.epoch) st.epoch = snap.epoch;
    }
    return snap;
  }

  /** `GET /replay/{stream}?fromSeq=&limit=`: logged events after `fromSeq`, typed. */
  replay<S extends StreamName>(stream: S, fromSeq: number, limit = 1000): Promise<ReplayPage<PayloadOf<S>>> {
    return this.http(`/replay/${encodeURIComponent(stream)}?fromSeq=${fromSeq}&limit=${limit}`);
  }

  /** Sends a raw request (debugging, tools). False when not connected. */
  sendRaw(req: ClientRequest | Record<string, unknown>): boolean {
    return this.send(req);
  }

  /** Resolves when the state becomes `state` (at once if it is); rejects after `timeoutMs`. */
  waitForState(state: ConnectionState, timeoutMs = 30_000): Promise<void> {
    if (this._state === state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`waitForState(${state}): still ${this._state} after ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on("state", (s) => {
        if (s !== state) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  // ---- connection lifecycle ----------------------------------------------------------------------

  private isOpen(): boolean {
    return this.ws !== undefined && this.ws.readyState === 1 && this._state === "open";
  }

  private setState(state: ConnectionState, info: Omit<StateInfo, "previous" | "attempt">): void {
    const previous = this._state;
    if (previous === state && state !== "reconnecting" && state !== "offline") return;
    this._state = state;
    this.emit("state", state, { previous, attempt: this.attempt, ...info });
  }

  private async openSocket(why: "initial" | "retry"): Promise<void> {
    if (this.stopped) return;
    const getToken = this.opts.getToken;
    if (getToken && (why === "retry" || this._token === undefined)) {
      const reason: TokenRequest["reason"] = this.tokenExpired ? "expired" : why === "initial" ? "initial" : "reconnect";
      try {
        const t = await getToken({ reason, attempt: this.attempt, closeCode: this.lastCloseCode });
        if (t !== undefined) this._token = t;
      } catch (err) {
        if (this.stopped) return;
        this.emit("error", new GatewayClientError("token", `token refresh failed: ${(err as Error)?.message ?? err}`));
        this.scheduleReconnect({ code: this.lastCloseCode });
        return;
      }
      if (this.stopped) return;
    }
    let ws: WebSocket;
    const { url, protocols } = this.connectParams();
    try {
      ws = new this.WS(url, protocols);
    } catch (err) {
      this.emit("error", new GatewayClientError("connect", `cannot open ${redact(url)}: ${(err as Error)?.message ?? err}`));
      this.scheduleReconnect({});
      return;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      if (this.ws === ws) this.onOpen(ws);
    };
    ws.onmessage = (ev: WsMessage) => {
      if (this.ws === ws) this.onMessage(ev.data);
    };
    ws.onclose = (ev: { code: number; reason: string }) => {
      if (this.ws === ws) this.onSocketClosed(ev.code, ev.reason, false);
    };
    ws.onerror = () => {
      // A close event follows; it carries what there is to know.
    };
    const timeout = this.opts.connectTimeoutMs ?? 10_000;
    this.connectTimer = setTimeout(() => {
      if (this.ws !== ws || ws.readyState === 1) return;
      this.emit("error", new GatewayClientError("connect", `no handshake within ${timeout} ms`));
      this.dropSocket(ws, 4000, "connect timeout");
    }, timeout);
  }

  private connectParams(): { url: string; protocols: string[] } {
    const u = new URL(this.opts.url);
    const protocols = [this.format === "fb" ? PROTOCOL_FB : PROTOCOL_JSON];
    const token = this._token;
    if (token) {
      if ((this.opts.tokenTransport ?? "protocol") === "query") u.searchParams.set("token", token);
      else protocols.push(TOKEN_PROTOCOL_PREFIX + token);
    }
    return { url: u.toString(), protocols };
  }

  private onOpen(ws: WebSocket): void {
    clearTimeout(this.connectTimer);
    this.stats.connects++;
    this.tokenExpired = false;
    const attempt = this.attempt;
    const stableAfter = this.opts.stableAfterMs ?? 5000;
    this.stableTimer = setTimeout(() => {
      if (this.ws === ws) this.attempt = 0;
    }, stableAfter);
    this.setState("open", {});
    this.emit("open", { url: redact(this.opts.url), format: this.format, attempt });
    // Every wanted stream: resumed from its position when it has one, else subscribed.
    const wanted = [...this.streams.values()].filter((st) => st.subs.size > 0);
    this.join(wanted);
    this.startHeartbeat(ws);
  }

  private onSocketClosed(code: number, reason: string, local: boolean): void {
    this.teardown();
    if (this.stopped) {
      this.setState("closed", { code, reason });
      return;
    }
    this.lastCloseCode = code;
    const willReconnect = this.shouldReconnect(code);
    if (code === CLOSE.tokenExpired.code) this.tokenExpired = true;
    this.emit("close", { code, reason, local, willReconnect });
    if (!willReconnect) {
      this.stopped = true;
      this.unlistenOnline();
      for (const st of this.streams.values()) rejectWaiters(st, new GatewayClientError("closed", `connection closed ${code} ${reason}`));
      this.setState("closed", { code, reason });
      return;
    }
    this.scheduleReconnect({ code, reason });
  }

  private shouldReconnect(code: number): boolean {
    if (code === CLOSE.kicked.code) return this.opts.reconnectOnKick ?? false;
    for (const c of Object.values(CLOSE)) if (c.code === code) return c.reconnect;
    return true; // 1001, 1005, 1006, other: the connection broke
  }

  /** Marks the connection gone: timers stopped, requests failed, streams to be re-joined. */
  private teardown(): void {
    const ws = this.ws;
    this.ws = undefined;
    if (ws) detach(ws);
    clearTimeout(this.connectTimer);
    clearTimeout(this.stableTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    for (const st of this.streams.values()) {
      st.live = false;
      st.resuming = false;
    }
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      if (p.kind === "unsubscribe") p.resolve(undefined);
      else p.reject(new GatewayClientError("closed", "connection closed"));
    }
  }

  /** Abandons a socket considered dead (no close handshake to wait for) and reconnects. */
  private dropSocket(ws: WebSocket, code: number, reason: string): void {
    if (this.ws !== ws) return;
    detach(ws);
    try {
      ws.close(code, reason);
    } catch {
      // not open yet or already closed
    }
    this.onSocketClosed(code, reason, true);
  }

  private scheduleReconnect(info: { code?: number; reason?: string }): void {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const n = this.attempt++;
    const delayMs = backoffDelay(n, this.backoffOpts, this.opts.random);
    const offlineAfter = this.opts.offlineAfterAttempts ?? 8;
    this.setState(this.attempt > offlineAfter ? "offline" : "reconnecting", { delayMs, ...info });
    this.reconnectTimer = setTimeout(() => void this.openSocket("retry"), delayMs);
  }

  /** Browsers: retry at once when the network comes back. */
  private listenOnline(): void {
    const g = globalThis as { addEventListener?: (t: string, f: () => void) => void; document?: unknown };
    if (this.onlineListener || typeof g.addEventListener !== "function" || g.document === undefined) return;
    this.onlineListener = () => {
      if ((this._state === "reconnecting" || this._state === "offline") && !this.ws) {
        clearTimeout(this.reconnectTimer);
        void this.openSocket("retry");
      }
    };
    g.addEventListener("online", this.onlineListener);
  }

  private unlistenOnline(): void {
    const g = globalThis as { removeEventListener?: (t: string, f: () => void) => void };
    if (this.onlineListener) g.removeEventListener?.("online", this.onlineListener);
    this.onlineListener = undefined;
  }

  private startHeartbeat(ws: WebSocket): void {
    const hb = this.heartbeat;
    if (!hb) return;
    this.pongTimer = undefined;
    this.pingTimer = setInterval(() => {
      if (this.ws !== ws) return;
      const rxAtPing = this.rx;
      this.request<number>("ping", (id) => ({ action: "ping", id })).catch(() => {});
      if (this.pongTimer !== undefined) return; // an earlier ping's deadline is still running
      this.pongTimer = setTimeout(() => {
        this.pongTimer = undefined;
        // Anything received since the ping (a pong or data queued before it) proves the link alive.
        if (this.ws !== ws || this.rx !== rxAtPing) return;
        this.emit("error", new GatewayClientError("heartbeat", `nothing received within ${hb.timeoutMs} ms of a ping`));
        this.dropSocket(ws, 4000, "heartbeat timeout");
      }, hb.timeoutMs);
    }, hb.intervalMs);
  }

  // ---- requests ------------------------------------------------------------------------------------

  private send(req: ClientRequest | Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(req));
    return true;
  }

  private request<T>(kind: Pending["kind"], build: (id: number) => ClientRequest): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (!this.send(build(id))) {
        reject(new GatewayClientError("closed", "not connected"));
        return;
      }
      this.pending.set(id, { kind, sentAt: Date.now(), resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /** Joins streams on the open connection: resume those with a position, subscribe the others. */
  private join(states: StreamState[]): void {
    const resume = states.filter((st) => st.last !== undefined);
    const subscribe = states.filter((st) => st.last === undefined);
    if (resume.length) this.sendResume(resume);
    for (const c of chunks(subscribe.map((st) => st.stream))) this.send({ action: "subscribe", streams: c, id: this.nextId++ });
  }

  private sendResume(states: StreamState[]): void {
    for (const c of chunks(states)) {
      const positions: Record<string, number> = {};
      const epochs: Record<string, string> = {};
      for (const st of c) {
        positions[st.stream] = st.last!;
        if (st.epoch) epochs[st.stream] = st.epoch;
        st.resuming = true;
      }
      const req: ClientRequest = { action: "resume", positions, id: this.nextId++ };
      if (Object.keys(epochs).length) req.epochs = epochs;
      this.send(req);
    }
  }

  // ---- inbound -------------------------------------------------------------------------------------

  private onMessage(data: unknown): void {
    this.rx++;
    this.stats.frames++;
    const receivedAt = Date.now();
    let d: Decoded;
    try {
      d = decodeMessage(data as string | ArrayBuffer);
    } catch (err) {
      this.emit("error", new GatewayClientError("decode", `undecodable frame: ${(err as Error)?.message ?? err}`));
      return;
    }
    const f = d.frame;
    if (f === null || typeof f !== "object") return;
    if (isDataFrame(f)) this.onData(f, d, receivedAt);
    else this.onControl(f);
  }

  private onData(frame: DataFrame, d: Decoded, receivedAt: number): void {
    const st = this.streams.get(frame.stream);
    if (!st) return; // in flight after an unsubscribe
    const last = st.last;
    if (last !== undefined) {
      if (frame.seq <= last) {
        this.stats.duplicates++;
        this.emit("duplicate", { stream: st.stream, seq: frame.seq, last });
        return;
      }
      if (frame.prev !== last) {
        // While a resume is in flight, the replay brings the missing frames (and this one) in order.
        if (st.resuming) return;
        const resume = (this.opts.onGap ?? "resume") === "resume" && this.isOpen();
        this.stats.gaps++;
        this.emit("gap", { stream: st.stream, last, prev: frame.prev, seq: frame.seq, resuming: resume });
        if (resume) {
          this.sendResume([st]);
          return;
        }
      }
    }
    st.last = frame.seq;
    this.stats.delivered++;
    const meta: FrameMeta = { receivedAt, size: d.size, replay: st.resuming };
    if (d.gatewayTs !== undefined) {
      meta.gatewayTs = d.gatewayTs;
      meta.sourceTs = d.sourceTs;
    }
    if (st.epoch === undefined && !st.resuming && !st.epochProbed && this.isOpen()) {
      // Subscribed before the stream had a log, so the ack carried no epoch. Without one, a resume
      // after the gateway lost its log would be served from another numbering without notice; a
      // resume from here (nothing to replay; duplicates are dropped) answers with the epoch.
      st.epochProbed = true;
      this.sendResume([st]);
    }
    for (const sub of [...st.subs]) {
      if (!sub.fn) continue;
      try {
        sub.fn(frame, meta);
      } catch (err) {
        this.onListenerError(err, `subscription ${st.stream}`);
      }
    }
    this.emit("data", frame, meta);
  }

  private onControl(f: ControlMessage): void {
    switch (f.event) {
      case "subscribed": {
        const ack = f as SubscribedAck;
        for (const s of ack.streams) {
          const st = this.streams.get(s);
          if (!st) continue;
          const epoch = ack.epochs?.[s];
          if (epoch && st.last === undefined) st.epoch = epoch;
          st.live = true;
          resolveWaiters(st);
        }
        break;
      }
      case "resumed": {
        const ack = f as ResumedAck;
        const st = this.streams.get(ack.stream);
        if (st) {
          st.resuming = false;
          st.live = true;
          if (ack.epoch) st.epoch = ack.epoch;
          resolveWaiters(st);
        }
        this.stats.resumes++;
        this.emit("resumed", ack);
        break;
      }
      case "unsubscribed":
      case "list":
      case "pong": {
        const p = f.id !== undefined ? this.pending.get(f.id) : undefined;
        if (p) {
          this.pending.delete(f.id!);
          p.resolve(f.event === "list" ? f.streams : f.event === "pong" ? Date.now() - p.sentAt : undefined);
        }
        break;
      }
      case "error":
        this.onGatewayError(f);
        break;
    }
    this.emit("control", f);
  }

  private onGatewayError(e: GatewayError): void {
    if (e.code === "resume_unavailable") {
      if (e.stream !== undefined) {
        const st = this.streams.get(e.stream);
        const info: ResumeUnavailable = {
          stream: e.stream,
          lastSequence: e.lastSequence ?? st?.last,
          oldest: e.oldest,
          head: e.head,
          epoch: e.epoch,
          reason: e.message,
        };
        if (st) {
          // The gateway keeps the stream live: the next frame starts a new baseline.
          st.last = undefined;
          st.epoch = e.epoch || undefined;
          st.resuming = false;
          st.live = true;
          resolveWaiters(st);
        }
        this.stats.resumeUnavailable++;
        this.opts.onResumeUnavailable?.(info);
        this.emit("resumeUnavailable", info);
        return;
      }
      // Resume is not served at all: start the resuming streams over, live.
      const restart = [...this.streams.values()].filter((st) => st.resuming);
      for (const st of restart) {
        st.resuming = false;
        st.last = undefined;
        this.opts.onResumeUnavailable?.({ stream: st.stream, lastSequence: undefined, oldest: undefined, head: undefined, epoch: undefined, reason: e.message });
      }
      this.join(restart);
    } else if (e.streams?.length) {
      // Refused streams (unknown_stream, forbidden, too_many_streams) would be refused again: drop them.
      const err = new GatewayClientError("gateway", `${e.code}: ${e.message} (${e.streams.join(", ")})`, e);
      for (const s of e.streams) {
        const st = this.streams.get(s);
        if (!st) continue;
        this.streams.delete(s);
        rejectWaiters(st, err);
      }
    } else if (e.id !== undefined && this.pending.has(e.id)) {
      const p = this.pending.get(e.id)!;
      this.pending.delete(e.id);
      p.reject(new GatewayClientError("gateway", `${e.code}: ${e.message}`, e));
    }
    this.emit("error", new GatewayClientError("gateway", `${e.code}: ${e.message}`, e));
  }

  // ---- HTTP helpers ----------------------------------------------------------------------------------

  private httpBase(): string {
    if (this.opts.httpUrl) return this.opts.httpUrl.replace(/\/$/, "");
    const u = new URL(this.opts.url);
    u.protocol = u.protocol === "wss:" ? "https:" : "http:";
    u.pathname = u.pathname.replace(/\/ws\/?$/, "");
    u.search = "";
    u.hash = "";
    return u.toString().replace(/\/$/, "");
  }

  private async http<T>(path: string): Promise<T> {
    const f = this.opts.fetch ?? fetch;
    const headers: Record<string, string> = {};
    if (this._token) headers.authorization = `Bearer ${this._token}`;
    const res = await f(this.httpBase() + path, { headers });
    if (!res.ok) {
      let msg = res.statusText;
      try {
        const body = (await res.json()) as { error?: string; message?: string };
        msg = `${body.error ?? res.status}: ${body.message ?? ""}`;
      } catch {
        // not JSON
      }
      throw new GatewayClientError("http", `GET ${path}: ${res.status} ${msg}`, undefined, res.status);
    }
    return (await res.json()) as T;
  }
}

function newState(stream: string, pos?: Position): StreamState {
  return { stream, subs: new Set(), last: validPosition(pos?.seq), epoch: pos?.epoch || undefined, live: false, resuming: false, epochProbed: false, waiters: [] };
}

/**
 * A position worth resuming from: a seq >= 1. Position 0 ("from the start") is never sent: the
 * gateway (resume-service.ts) crashes on a resume from 0 of a stream that has no log yet.
 */
function validPosition(seq: number | undefined): number | undefined {
  return seq !== undefined && Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

function waitFor(st: StreamState): Promise<void> {
  return new Promise((resolve, reject) => st.waiters.push({ resolve, reject }));
}

function resolveWaiters(st: StreamState): void {
  const w = st.waiters;
  st.waiters = [];
  for (const x of w) x.resolve();
}

function rejectWaiters(st: StreamState, err: Error): void {
  const w = st.waiters;
  st.waiters = [];
  for (const x of w) x.reject(err);
}

function detach(ws: WebSocket): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += MAX_STREAMS_PER_REQUEST) out.push(items.slice(i, i + MAX_STREAMS_PER_REQUEST));
  return out;
}

/** A URL without its token, for messages. */
function redact(url: string): string {
  return url.replace(/([?&]token=)[^&]*/, "$1***");
}
