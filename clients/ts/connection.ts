/**
 * The client's one WebSocket at a time: opening it (with a token refreshed first when needed),
 * the handshake timeout, the heartbeat, and what follows a close: reconnect with backoff, or stop
 * for good (close codes, reconnect.ts). What arrives and what the streams do about a new or lost
 * connection is the owner's business, through ConnectionHooks.
 */
import { CLOSE } from "../../protocol/close-codes.ts";
import { DEFAULT_BACKOFF } from "./backoff.ts";
import { GatewayClientError } from "./client-error.ts";
import type { ClientEvents, ClientStats, ConnectionState, StateInfo } from "./client-events.ts";
import type { GatewayClientOptions, TokenRequest, WebSocketCtor } from "./client-options.ts";
import { Heartbeat } from "./heartbeat.ts";
import { onNetworkOnline, ReconnectScheduler, shouldReconnect } from "./reconnect.ts";
import { detach, redact, socketParams } from "./socket.ts";
import type { ClientRequest, Format } from "./types.ts";

/** The client events a Connection emits itself. */
export type ConnectionEvent = "state" | "open" | "close" | "error";

/** What a Connection tells its owner. */
export interface ConnectionHooks {
  emit<K extends ConnectionEvent>(event: K, ...args: ClientEvents[K]): void;
  /** The socket is open and announced: join the streams. */
  opened(): void;
  /** A message arrived on the current socket. */
  message(data: unknown): void;
  /** The socket is gone (a reconnect may follow): what was tied to it is void. */
  lost(): void;
  /** No reconnect will follow: `err()` makes the error for whatever still waits. */
  gaveUp(err: () => Error): void;
  /** Sends a heartbeat ping. */
  ping(): void;
}

type WsMessage = { data: unknown };

/** Connection state machine of a GatewayClient. */
export class Connection {
  token?: string;
  private _state: ConnectionState = "closed";
  private ws?: WebSocket;
  private stopped = true;
  private tokenExpired = false;
  private lastCloseCode?: number;
  /** Messages received: the heartbeat's proof of life. */
  private rx = 0;
  private connectTimer?: ReturnType<typeof setTimeout>;
  private stopOnline?: () => void;
  private readonly reconnect: ReconnectScheduler;
  private readonly heartbeat?: Heartbeat;
  private readonly WS: WebSocketCtor;

  constructor(
    private readonly opts: GatewayClientOptions,
    private readonly format: Format,
    private readonly stats: ClientStats,
    private readonly hooks: ConnectionHooks,
  ) {
    this.token = opts.token;
    this.reconnect = new ReconnectScheduler({ ...DEFAULT_BACKOFF, ...opts.backoff }, opts.offlineAfterAttempts ?? 8, opts.random);
    const hb = opts.heartbeat === false ? false : (opts.heartbeat ?? { intervalMs: 25_000, timeoutMs: 10_000 });
    if (hb) this.heartbeat = new Heartbeat(hb.intervalMs, hb.timeoutMs);
    const WS = opts.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
    if (!WS) throw new Error("GatewayClient: no WebSocket implementation (pass options.WebSocket)");
    this.WS = WS;
  }

  get state(): ConnectionState {
    return this._state;
  }

  /** Starts connecting (no-op unless closed). */
  connect(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.reconnect.attempt = 0;
    this.setState("connecting", {});
    this.listenOnline();
    void this.openSocket("initial");
  }

  /** Closes for good (until `connect()` again). */
  close(code: number, reason: string): void {
    if (this.stopped && this._state === "closed") return;
    this.stopped = true;
    this.reconnect.cancel();
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

  /** Open and announced as such: requests can be sent. */
  isOpen(): boolean {
    return this.ws !== undefined && this.ws.readyState === 1 && this._state === "open";
  }

  /** Sends a request as JSON; false when there is no open socket. */
  send(req: ClientRequest | Record<string, unknown>): boolean {
    const ws = this.ws;
    if (!ws || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(req));
    return true;
  }

  private setState(state: ConnectionState, info: Omit<StateInfo, "previous" | "attempt">): void {
    const previous = this._state;
    if (previous === state && state !== "reconnecting" && state !== "offline") return;
    this._state = state;
    this.hooks.emit("state", state, { previous, attempt: this.reconnect.attempt, ...info });
  }

  private async openSocket(why: "initial" | "retry"): Promise<void> {
    if (this.stopped) return;
    const getToken = this.opts.getToken;
    if (getToken && (why === "retry" || this.token === undefined)) {
      const reason: TokenRequest["reason"] = this.tokenExpired ? "expired" : why === "initial" ? "initial" : "reconnect";
      try {
        const t = await getToken({ reason, attempt: this.reconnect.attempt, closeCode: this.lastCloseCode });
        if (t !== undefined) this.token = t;
      } catch (err) {
        if (this.stopped) return;
        this.hooks.emit("error", new GatewayClientError("token", `token refresh failed: ${(err as Error)?.message ?? err}`));
        this.scheduleReconnect({ code: this.lastCloseCode });
        return;
      }
      if (this.stopped) return;
    }
    let ws: WebSocket;
    const { url, protocols } = socketParams(this.opts.url, this.format, this.token, this.opts.tokenTransport ?? "protocol");
    try {
      ws = new this.WS(url, protocols);
    } catch (err) {
      this.hooks.emit("error", new GatewayClientError("connect", `cannot open ${redact(url)}: ${(err as Error)?.message ?? err}`));
      this.scheduleReconnect({});
      return;
    }
    this.ws = ws;
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      if (this.ws === ws) this.onOpen(ws);
    };
    ws.onmessage = (ev: WsMessage) => {
      if (this.ws !== ws) return;
      this.rx++;
      this.hooks.message(ev.data);
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
      this.hooks.emit("error", new GatewayClientError("connect", `no handshake within ${timeout} ms`));
      this.dropSocket(ws, 4000, "connect timeout");
    }, timeout);
  }

  private onOpen(ws: WebSocket): void {
    clearTimeout(this.connectTimer);
    this.stats.connects++;
    this.tokenExpired = false;
    const attempt = this.reconnect.attempt;
    this.reconnect.resetWhenStable(this.opts.stableAfterMs ?? 5000, () => this.ws === ws);
    this.setState("open", {});
    this.hooks.emit("open", { url: redact(this.opts.url), format: this.format, attempt });
    this.hooks.opened();
    this.heartbeat?.start({
      current: () => this.ws === ws,
      ping: () => this.hooks.ping(),
      received: () => this.rx,
      dead: () => {
        this.hooks.emit("error", new GatewayClientError("heartbeat", `nothing received within ${this.heartbeat!.timeoutMs} ms of a ping`));
        this.dropSocket(ws, 4000, "heartbeat timeout");
      },
    });
  }

  private onSocketClosed(code: number, reason: string, local: boolean): void {
    this.teardown();
    if (this.stopped) {
      this.setState("closed", { code, reason });
      return;
    }
    this.lastCloseCode = code;
    const willReconnect = shouldReconnect(code, this.opts.reconnectOnKick ?? false);
    if (code === CLOSE.tokenExpired.code) this.tokenExpired = true;
    this.hooks.emit("close", { code, reason, local, willReconnect });
    if (!willReconnect) {
      this.stopped = true;
      this.unlistenOnline();
      this.hooks.gaveUp(() => new GatewayClientError("closed", `connection closed ${code} ${reason}`));
      this.setState("closed", { code, reason });
      return;
    }
    this.scheduleReconnect({ code, reason });
  }

  /** Marks the connection gone: timers stopped, then the owner's part (requests, streams). */
  private teardown(): void {
    const ws = this.ws;
    this.ws = undefined;
    if (ws) detach(ws);
    clearTimeout(this.connectTimer);
    this.reconnect.cancelStable();
    this.heartbeat?.stop();
    this.hooks.lost();
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
    const { delayMs, offline } = this.reconnect.next();
    this.setState(offline ? "offline" : "reconnecting", { delayMs, ...info });
    this.reconnect.arm(delayMs, () => void this.openSocket("retry"));
  }

  /** Browsers: retry at once when the network comes back. */
  private listenOnline(): void {
    this.stopOnline ??= onNetworkOnline(() => {
      if ((this._state === "reconnecting" || this._state === "offline") && !this.ws) {
        this.reconnect.cancel();
        void this.openSocket("retry");
      }
    });
  }

  private unlistenOnline(): void {
    this.stopOnline?.();
    this.stopOnline = undefined;
  }
}
