/**
 * GatewayClient: a typed client of the gateway for browsers, Bun and Node (>= 22, global
 * WebSocket). It only uses web platform APIs (WebSocket, fetch, URL, timers, TextDecoder).
 *
 * - Typed subscriptions: `subscribe("ticker.btc_usdt", (f) => f.data.price)` -> TickerData.
 * - Both wire formats (`format: "json" | "fb"`), decoded to the same objects.
 * - Reconnects with exponential backoff and jitter (1s, 2s, 4s, 8s, 16s, capped at 30s, ±20%),
 *   state "offline" after 8 failed attempts, and keeps trying (connection.ts, reconnect.ts).
 * - Resumes every stream from its last seq after a reconnect (positions + epochs), drops
 *   duplicates (seq <= last), detects gaps (prev != last seq) and resumes to fill them, reports
 *   `resume_unavailable` so the app can take a snapshot (`snapshot()`) (stream-tracker.ts).
 * - Refreshes its token through an async callback before each reconnect (and first on 4003), and
 *   in-band (`{"action":"auth"}`) before the open connection's token expires (token-refresher.ts).
 * - Heartbeat: `{"action":"ping"}` every 25 s; nothing received within 10 s after a ping ->
 *   the socket is considered dead and replaced (heartbeat.ts).
 * - Honours close codes (protocol/close-codes.ts): no reconnect after 4001 (kicked) unless
 *   `reconnectOnKick`, nor after a server 1000; 4003 (token expired) refreshes the token first.
 */
import { MAX_STREAMS_PER_REQUEST } from "../../protocol/requests.ts";
import { isDepthFamily, isDepthSnapshot } from "../../protocol/book/depth-payload.ts";
import type { OrderBook } from "../../protocol/book/order-book.ts";
import type { DepthData } from "../../protocol/frames.ts";
import { BookKeeper, type BookResyncInfo } from "./book-keeper.ts";
import { GatewayClientError } from "./client-error.ts";
import type { BookSubscription, ClientEvents, ClientStats, ConnectionState, FrameHandler, Subscription } from "./client-events.ts";
import type { GatewayClientOptions } from "./client-options.ts";
import { decodeMessage, type Decoded } from "./codec.ts";
import { Connection } from "./connection.ts";
import { Emitter } from "./emitter.ts";
import { getJson, httpBase } from "./http.ts";
import { PendingRequests, type RequestKind } from "./pending-requests.ts";
import { StreamTracker, type AnyHandler, type StreamState } from "./stream-tracker.ts";
import { jwtExp, TokenRefresher } from "./token-refresher.ts";
import { SignatureVerifier, type SigningJwk } from "./signature-verifier.ts";
import {
  isDataFrame,
  type ClientRequest,
  type ControlMessage,
  type DataFrame,
  type Format,
  type FrameMeta,
  type GatewayError,
  type PayloadOf,
  type Position,
  type ReplayPage,
  type ResumedAck,
  type ResumeUnavailable,
  type Snapshot,
  type StreamName,
  type SubscribedAck,
} from "./types.ts";

/** The typed gateway client: subscriptions, reconnect and resume, requests, snapshot and replay. */
export class GatewayClient extends Emitter<ClientEvents> {
  readonly format: Format;
  readonly stats: ClientStats = { frames: 0, delivered: 0, duplicates: 0, gaps: 0, resumes: 0, resumeUnavailable: 0, connects: 0, bookResyncs: 0 };

  private readonly opts: GatewayClientOptions;
  private readonly conn: Connection;
  private readonly streams: StreamTracker;
  private readonly requests = new PendingRequests();
  private readonly refresher?: TokenRefresher;
  private readonly verifier?: SignatureVerifier;
  /** Messages wait here behind a signature being verified, so everything stays in arrival order. */
  private inbound?: Promise<void>;
  private inboundPending = 0;

  constructor(opts: GatewayClientOptions) {
    super();
    this.opts = opts;
    this.format = opts.format ?? "json";
    this.conn = new Connection(opts, this.format, this.stats, {
      emit: (event, ...args) => this.emit(event, ...args),
      // Every wanted stream: resumed from its position when it has one, else subscribed.
      opened: () => {
        this.refresher?.start(jwtExp(this.conn.token));
        this.join(this.streams.wanted());
      },
      message: (data) => this.onMessage(data),
      lost: () => {
        this.refresher?.stop();
        this.streams.connectionLost();
        this.requests.connectionClosed();
      },
      gaveUp: (err) => this.streams.rejectAll(err),
      ping: () => void this.request<number>("ping", (id) => ({ action: "ping", id })).catch(() => {}),
    });
    this.streams = new StreamTracker(opts.positions);
    if (opts.verifySignatures !== false) this.verifier = new SignatureVerifier(() => this.http<{ keys: SigningJwk[] }>("/realtime/keys"));
    const getToken = opts.getToken;
    const lead = opts.refreshAheadMs ?? 30_000;
    if (getToken && lead > 0) {
      this.refresher = new TokenRefresher(lead, {
        fetchToken: async () => getToken({ reason: "refresh", attempt: 0 }),
        authenticate: (token) => this.request<number | undefined>("auth", (id) => ({ action: "auth", token, id })),
        accepted: (token) => (this.conn.token = token),
        failed: (err) => {
          // A refusal by the gateway was already reported as its error frame.
          if (err instanceof GatewayClientError && err.kind === "gateway") return;
          this.emit("error", new GatewayClientError("token", `token refresh failed: ${(err as Error)?.message ?? err}`));
        },
      });
    }
  }

  // ---- public API ------------------------------------------------------------------------------

  get state(): ConnectionState {
    return this.conn.state;
  }

  get token(): string | undefined {
    return this.conn.token;
  }

  /** Replaces the token used by the next connect (the current connection keeps its own). */
  setToken(token: string | undefined): void {
    this.conn.token = token;
  }

  /** Starts connecting (no-op unless closed). Frames flow to subscriptions as they arrive. */
  connect(): void {
    this.conn.connect();
  }

  /** Closes for good (until `connect()` again); pending requests are rejected. */
  close(code = 1000, reason = "client close"): void {
    this.conn.close(code, reason);
  }

  /**
   * Subscribes to one or more streams; `handler` gets their frames with typed payloads. Streams
   * already subscribed (by another subscription) are shared; a resume position known for a stream
   * (from `positions` or `setPosition`) is resumed from instead of starting live.
   */
  subscribe<S extends StreamName>(streams: S | readonly S[], handler?: FrameHandler<S>): Subscription<S> {
    const list = [...new Set(typeof streams === "string" ? [streams] : streams)] as S[];
    if (list.length === 0) throw new TypeError("subscribe: no streams");
    const entry = { fn: handler as AnyHandler | undefined };
    const { fresh, acks } = this.streams.add(list, entry);
    if (this.isOpen()) this.join(fresh);
    const ready = Promise.all(acks).then(() => undefined);
    ready.catch(() => {}); // the app may ignore `ready`; no unhandled rejection then
    let done = false;
    return {
      streams: list,
      ready,
      unsubscribe: () => {
        if (done) return;
        done = true;
        const drop = this.streams.removeEntry(list, entry);
        if (drop.length) this.unsubscribe(drop);
      },
    };
  }

  /**
   * Keeps the order book of a depth stream (`depth.<pair>`, `depth.<pair>@100ms`, `depth5.<pair>`,
   * `depth20.<pair>`): snapshot, then diffs, the checksum checked after every frame. On a gap or a
   * mismatch the book is re-requested by itself and "bookResync" is emitted; `onChange` gets the
   * book after every verified frame.
   */
  book(stream: string, onChange?: (book: OrderBook, frame: DataFrame<DepthData>) => void): BookSubscription {
    if (!isDepthFamily(stream)) throw new TypeError(`book: ${stream} is not a depth stream`);
    const keeper = new BookKeeper(stream, this.bookHost, this.opts.bookChecksumDepth);
    const sub = this.subscribe(stream, (f) => {
      if (keeper.onFrame(f as DataFrame<DepthData>)) onChange?.(keeper.book, f as DataFrame<DepthData>);
    });
    return {
      stream,
      book: keeper.book,
      get synced() {
        return keeper.synced;
      },
      get resyncs() {
        return keeper.resyncs;
      },
      ready: sub.ready,
      unsubscribe: () => sub.unsubscribe(),
    };
  }

  private readonly bookHost = {
    requestSnapshot: (stream: string) => {
      if (this.isOpen()) this.send({ action: "subscribe", streams: [stream], id: this.requests.nextId() });
    },
    resync: (info: BookResyncInfo) => {
      this.stats.bookResyncs++;
      this.emit("bookResync", info);
    },
  };

  /** Unsubscribes streams whatever subscriptions they have; their positions are forgotten. */
  unsubscribe(streams: string | readonly string[]): Promise<void> {
    const sent = this.streams.forget(typeof streams === "string" ? [streams] : [...streams]);
    if (sent.length === 0 || !this.isOpen()) return Promise.resolve();
    const ps = chunks(sent).map((c) => this.request<void>("unsubscribe", (id) => ({ action: "unsubscribe", streams: c, id })));
    return Promise.all(ps).then(() => undefined, () => undefined);
  }

  /** Streams this client wants (whether or not acknowledged yet). */
  subscriptions(): string[] {
    return this.streams.subscriptions();
  }

  /** Every stream's position: persist it to resume after a restart of the app (`positions` option). */
  positions(): Record<string, Position> {
    return this.streams.positions();
  }

  /** Sets a stream's position (e.g. from a snapshot); frames up to `seq` are then dropped as already seen. */
  setPosition(stream: string, pos: Position | undefined): void {
    this.streams.setPosition(stream, pos);
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
    if (opts.adopt) this.streams.adopt(stream, snap.seq, snap.epoch);
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
    if (this.conn.state === state) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`waitForState(${state}): still ${this.conn.state} after ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on("state", (s) => {
        if (s !== state) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  // ---- requests ------------------------------------------------------------------------------------

  private isOpen(): boolean {
    return this.conn.isOpen();
  }

  private send(req: ClientRequest | Record<string, unknown>): boolean {
    return this.conn.send(req);
  }

  private request<T>(kind: RequestKind, build: (id: number) => ClientRequest): Promise<T> {
    return this.requests.request<T>(kind, build, (req) => this.send(req));
  }

  /** Joins streams on the open connection: resume those with a position, subscribe the others. */
  private join(states: StreamState[]): void {
    const resume = states.filter((st) => st.last !== undefined);
    const subscribe = states.filter((st) => st.last === undefined);
    if (resume.length) this.sendResume(resume);
    for (const c of chunks(subscribe.map((st) => st.stream))) this.send({ action: "subscribe", streams: c, id: this.requests.nextId() });
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
      const req: ClientRequest = { action: "resume", positions, id: this.requests.nextId() };
      if (Object.keys(epochs).length) req.epochs = epochs;
      this.send(req);
    }
  }

  private async http<T>(path: string): Promise<T> {
    return getJson<T>(this.opts.fetch ?? fetch, httpBase(this.opts.url, this.opts.httpUrl), path, this.conn.token);
  }

  // ---- inbound -------------------------------------------------------------------------------------

  private onMessage(data: unknown): void {
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
    const check = isDataFrame(f) ? this.signatureCheck(f, d) : undefined;
    if (!check && this.inboundPending === 0) return this.dispatchFrame(f, d, receivedAt);
    // Behind (or itself) a verification: queued, so nothing overtakes a frame being verified.
    this.inboundPending++;
    this.inbound = (this.inbound ?? Promise.resolve())
      .then(async () => {
        if (check && !(await check.catch(() => false))) {
          const df = f as DataFrame;
          this.emit("error", new GatewayClientError("signature", `${df.stream} seq ${df.seq}: ${d.signed ? "bad signature" : "missing signature"}; frame dropped`));
          return;
        }
        this.dispatchFrame(f, d, receivedAt);
      })
      .finally(() => this.inboundPending--);
  }

  /** The verification a data frame needs: undefined for none, a promise of the verdict otherwise. */
  private signatureCheck(f: DataFrame, d: Decoded): Promise<boolean> | undefined {
    if (!this.verifier) return undefined;
    if (d.signed) return this.verifier.verify(f.stream, f.seq, d.signed);
    if (this.opts.requireSignatures && f.stream.startsWith("orders.")) return Promise.resolve(false);
    if (f.sig !== undefined) return Promise.resolve(false); // a sig the wire format cannot tie to its data
    return undefined;
  }

  private dispatchFrame(f: DataFrame | ControlMessage, d: Decoded, receivedAt: number): void {
    if (isDataFrame(f)) this.onData(f, d, receivedAt);
    else this.onControl(f as ControlMessage);
  }

  private onData(frame: DataFrame, d: Decoded, receivedAt: number): void {
    const st = this.streams.get(frame.stream);
    if (!st) return; // in flight after an unsubscribe
    // A book snapshot replaces everything before it: it is the new baseline, whatever came before.
    const snapshot = isDepthFamily(frame.stream) && isDepthSnapshot(frame.data);
    switch (snapshot ? "next" : this.streams.arrival(st, frame)) {
      case "duplicate":
        this.stats.duplicates++;
        this.emit("duplicate", { stream: st.stream, seq: frame.seq, last: st.last! });
        return;
      case "replaying":
        return;
      case "gap": {
        const resume = (this.opts.onGap ?? "resume") === "resume" && this.isOpen();
        this.stats.gaps++;
        this.emit("gap", { stream: st.stream, last: st.last!, prev: frame.prev, seq: frame.seq, resuming: resume });
        if (resume) {
          this.sendResume([st]);
          return;
        }
        break;
      }
      case "next":
        break;
    }
    st.last = frame.seq > 0 ? frame.seq : undefined;
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
      case "subscribed":
        this.streams.subscribed(f as SubscribedAck);
        break;
      case "resumed": {
        const ack = f as ResumedAck;
        this.streams.resumed(ack);
        this.stats.resumes++;
        this.emit("resumed", ack);
        break;
      }
      case "unsubscribed":
        if (f.reason === "forbidden" && f.id === undefined) {
          // A refreshed token no longer allows these streams: the gateway ended them.
          const err = new GatewayClientError("gateway", `forbidden after token refresh: ${f.streams.join(", ")}`);
          this.streams.refuse(f.streams, err);
          this.emit("error", err);
        } else this.requests.answer(f);
        break;
      case "list":
      case "pong":
      case "authenticated":
        this.requests.answer(f);
        break;
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
        // The gateway keeps the stream live: the next frame starts a new baseline.
        if (st) this.streams.restartLive(st, e.epoch || undefined);
        this.stats.resumeUnavailable++;
        this.opts.onResumeUnavailable?.(info);
        this.emit("resumeUnavailable", info);
        return;
      }
      // Resume is not served at all: start the resuming streams over, live.
      const restart = this.streams.resuming();
      for (const st of restart) {
        st.resuming = false;
        st.last = undefined;
        this.opts.onResumeUnavailable?.({ stream: st.stream, lastSequence: undefined, oldest: undefined, head: undefined, epoch: undefined, reason: e.message });
      }
      this.join(restart);
    } else if (e.streams?.length) {
      // Refused streams (unknown_stream, forbidden, too_many_streams) would be refused again: drop them.
      this.streams.refuse(e.streams, new GatewayClientError("gateway", `${e.code}: ${e.message} (${e.streams.join(", ")})`, e));
    } else if (e.id !== undefined) {
      this.requests.fail(e.id, () => new GatewayClientError("gateway", `${e.code}: ${e.message}`, e));
    }
    this.emit("error", new GatewayClientError("gateway", `${e.code}: ${e.message}`, e));
  }
}

/** `items` in runs of at most MAX_STREAMS_PER_REQUEST, the gateway's limit per request. */
function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += MAX_STREAMS_PER_REQUEST) out.push(items.slice(i, i + MAX_STREAMS_PER_REQUEST));
  return out;
}
