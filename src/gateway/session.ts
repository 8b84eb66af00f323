import { CLOSE, closeReason, type CloseCode } from "../../protocol/close-codes.ts";
import type { ErrorCode } from "../../protocol/error-codes.ts";
import type { AuthenticatedFrame, ControlFrame, ErrorFrame, SubscribedFrame } from "../../protocol/frames.ts";
import type { ClientRequest, RequestId } from "../../protocol/requests.ts";
import { streamKind } from "../../protocol/stream-kind.ts";
import type { WireFormat } from "../../protocol/wire.ts";
import type { LimitsConfig } from "../config/config.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Logger } from "../util/logger.ts";
import type { Identity } from "./auth/identity.ts";
import { topicFor, type Connection } from "./connection.ts";
import { ExpirySchedule } from "./expiry-schedule.ts";
import { parseClientMessage } from "./protocol.ts";
import type { StreamPolicy } from "./stream-policy.ts";
import type { SubscriptionIndex } from "./subscription-index.ts";
import { TokenBucket } from "./token-bucket.ts";

/** Turns a control answer into a frame of the connection's format. */
export type ControlEncoder = (msg: ControlFrame, format: WireFormat) => string | Uint8Array;

/** The details some error codes carry besides code and message (protocol/frames.ts). */
export type ErrorDetails = Pick<ErrorFrame, "streams" | "stream" | "lastSequence" | "oldest" | "head" | "epoch">;

/** Serves resume requests; implemented by the ring-log layer. */
export interface ResumeHandler {
  /** The epoch of `stream`'s numbering, sent with `subscribed` so clients can resume safely. */
  epochOf(stream: string): string | undefined;
  resume(session: Session, positions: Record<string, number>, epochs: Record<string, string> | undefined, id?: RequestId): void;
}

/** Snapshot frames of the streams that keep an order book (src/books/depth-service.ts). */
export interface BookSnapshots {
  handles(stream: string): boolean;
  snapshotFrame(stream: string, format: WireFormat): string | Uint8Array;
}

/** What every session shares: policy, limits, counters. */
export interface SessionContext {
  policy: StreamPolicy;
  index: SubscriptionIndex;
  limits: LimitsConfig;
  metrics: GatewayMetrics;
  log: Logger;
  encodeControl: ControlEncoder;
  resume?: ResumeHandler;
  /** Verifies a token presented in-band (`auth`); absent when tokens are not accepted. */
  authenticate?: (token: string) => Promise<Identity>;
  /** How long after its token's `exp` a connection is closed with 4003. */
  expiryGraceMs: number;
  depth?: BookSnapshots;
  /** The one timer of every session's token expiry; a shared default when absent. */
  expiry?: ExpirySchedule<Session>;
}

let defaultExpiry: ExpirySchedule<Session> | undefined;

/** Attributes a connection is opened with, fixed for its lifetime. */
export interface SessionInit {
  id: number;
  identity: Identity;
  format: WireFormat;
  remoteAddress: string;
}

const VIOLATION_WINDOW_MS = 10_000;

/**
 * One client's state and request handling: subscriptions, permissions, rate limit. It knows its
 * socket only through Connection, so it runs in unit tests without Bun.
 */
export class Session {
  readonly id: number;
  readonly format: WireFormat;
  readonly remoteAddress: string;
  readonly openedAt = Date.now();
  readonly streams = new Set<string>();
  /** Slot in the expiry schedule (ExpirySchedule), -1 when no deadline is set. */
  expirySlot = -1;
  closed = false;
  /** A close was requested; no more frames are sent. */
  closing = false;
  readonly maxStreams: number;
  private readonly bucket: TokenBucket;
  private violations = 0;
  private violationWindowStart = 0;
  private _identity: Identity;
  /** Created by the first resume: most connections never resume, and 100K empty Maps add up. */
  private _resuming?: Map<string, number>;
  private readonly expiry: ExpirySchedule<Session>;

  constructor(
    readonly conn: Connection,
    init: SessionInit,
    private readonly ctx: SessionContext,
  ) {
    this.id = init.id;
    this._identity = init.identity;
    this.format = init.format;
    this.remoteAddress = init.remoteAddress;
    this.maxStreams = ctx.limits.maxStreamsPerConnection;
    this.bucket = new TokenBucket(ctx.limits.messagesPerSecond, ctx.limits.messageBurst);
    this.expiry = ctx.expiry ?? (defaultExpiry ??= new ExpirySchedule<Session>((s) => s.expire()));
    this.armExpiry();
  }

  /**
   * Streams being replayed by a resume, with a generation number: live delivery starts when the
   * replay ends, and a newer resume or an unsubscribe of the stream cancels the older replay.
   */
  get resuming(): Map<string, number> {
    return (this._resuming ??= new Map());
  }

  /** Streams live or being resumed: what counts against the per-connection limit. */
  private get joined(): number {
    return this.streams.size + (this._resuming?.size ?? 0);
  }

  /** Who this connection is: the upgrade's identity until an in-band `auth` replaces it. */
  get identity(): Identity {
    return this._identity;
  }

  /** Handles one inbound frame. Binary frames are refused: client requests are JSON text. */
  handleMessage(message: string | Uint8Array): void {
    if (this.closed || this.closing) return;
    if (!this.bucket.take()) {
      this.ctx.metrics.rateLimited.inc();
      this.sendError("rate_limited", "too many requests", undefined);
      this.violation("rate limit");
      return;
    }
    if (typeof message !== "string") {
      this.sendError("bad_request", "requests are JSON text frames", undefined);
      this.violation("binary request");
      return;
    }
    const req = parseClientMessage(message);
    if ("error" in req) {
      this.ctx.metrics.clientMessages.inc({ action: "invalid" });
      this.sendError(req.error, req.message, req.id);
      this.violation(req.error);
      return;
    }
    this.ctx.metrics.clientMessages.inc({ action: req.action });
    this.dispatch(req);
  }

  private dispatch(req: ClientRequest): void {
    switch (req.action) {
      case "subscribe":
        return this.subscribe(req.streams, req.id);
      case "unsubscribe":
        return this.unsubscribe(req.streams, req.id);
      case "list":
        this.sendControl(withId({ event: "list", streams: [...this.streams] }, req.id));
        return;
      case "ping":
        this.sendControl(withId({ event: "pong", ts: Date.now() }, req.id));
        return;
      case "resume":
        if (!this.ctx.resume) return this.sendError("resume_unavailable", "resume is not enabled", req.id);
        return this.ctx.resume.resume(this, req.positions, req.epochs, req.id);
      case "auth":
        void this.refresh(req.token, req.id);
        return;
    }
  }

  /**
   * In-band token refresh. The new token must verify and name the same `sub`; then its claims
   * apply: streams they no longer allow end with `unsubscribed` (reason forbidden), and the
   * expiry moves to the new `exp`. A refused token leaves the connection on its old one.
   */
  private async refresh(token: string, id: RequestId | undefined): Promise<void> {
    if (!this.ctx.authenticate) return this.sendError("invalid_token", "tokens are not accepted here", id);
    let next: Identity;
    try {
      next = await this.ctx.authenticate(token);
    } catch (err) {
      if (this.closed || this.closing) return;
      this.ctx.metrics.authFailures.inc({ reason: (err as { code?: string }).code ?? "invalid_token" });
      this.sendError("invalid_token", (err as Error).message || "token refused", id);
      this.violation("refused token");
      return;
    }
    if (this.closed || this.closing) return;
    if (next.userId === undefined || next.userId !== this._identity.userId) {
      this.ctx.metrics.authFailures.inc({ reason: "other_subject" });
      this.sendError("invalid_token", "a refreshed token must name the same sub", id);
      this.violation("refused token");
      return;
    }
    this._identity = next;
    this.armExpiry();
    const lost = [...new Set([...this.streams, ...(this._resuming?.keys() ?? [])])].filter((s) => this.ctx.policy.check(s, next) !== "ok");
    for (const s of lost) {
      this._resuming?.delete(s);
      this.removeStream(s);
    }
    if (lost.length) this.sendControl({ event: "unsubscribed", streams: lost, reason: "forbidden" });
    const ack: AuthenticatedFrame = { event: "authenticated" };
    if (next.expiresAt !== undefined) ack.exp = Math.floor(next.expiresAt / 1000);
    this.sendControl(withId(ack, id));
    this.ctx.log.info("token_refreshed", { conn: this.id, user: next.userId, exp: ack.exp, dropped: lost.length });
  }

  /** Closes with 4003 at the identity's expiry plus the grace; re-armed by a refresh. */
  private armExpiry(): void {
    const exp = this._identity.expiresAt;
    if (exp === undefined) this.expiry.remove(this);
    else this.expiry.set(this, exp + this.ctx.expiryGraceMs);
  }

  /** Called by the expiry schedule once the token's expiry plus the grace has passed. */
  expire(): void {
    if (this.closed || this.closing) return;
    this.ctx.log.info("token_expired", { conn: this.id, user: this._identity.userId });
    this.close(CLOSE.tokenExpired);
  }


  /** Checks each stream; subscribes the allowed ones and names the refused ones per error code. */
  subscribe(streams: string[], id?: RequestId): void {
    const { ok, refused } = this.authorize(streams);
    const added: string[] = [];
    const tooMany: string[] = [];
    const books: string[] = [];
    for (const s of ok) {
      if (this.streams.has(s) || this._resuming?.has(s)) {
        added.push(s); // idempotent: already live, answer as subscribed
        if (this.streams.has(s) && this.ctx.depth?.handles(s)) books.push(s); // a client re-syncing its book
        continue;
      }
      if (this.joined >= this.maxStreams) {
        tooMany.push(s);
        continue;
      }
      this.addStream(s);
      added.push(s);
      if (this.ctx.depth?.handles(s)) books.push(s);
    }
    if (added.length) {
      const ack: SubscribedFrame = { event: "subscribed", streams: added };
      const resume = this.ctx.resume;
      if (resume) ack.epochs = Object.fromEntries(added.map((s) => [s, resume.epochOf(s) ?? ""]));
      this.sendControl(withId(ack, id));
      this.ctx.log.debug("subscribe", { conn: this.id, user: this.identity.userId, streams: added });
    }
    // A book stream starts with the book as of the last event sent, in this tick: the live
    // events after it follow with no gap and no overlap.
    for (const s of books) this.sendSnapshot(s);
    if (tooMany.length) {
      refused.push({ code: "too_many_streams", streams: tooMany, message: `at most ${this.ctx.limits.maxStreamsPerConnection} streams per connection` });
    }
    for (const r of refused) this.sendError(r.code, r.message, id, { streams: r.streams });
  }

  unsubscribe(streams: string[], id?: RequestId): void {
    const removed: string[] = [];
    for (const s of streams) {
      const wasResuming = this._resuming?.delete(s) ?? false;
      if (this.removeStream(s) || wasResuming) removed.push(s);
    }
    // Unsubscribing from something not subscribed is harmless; the answer lists what was removed.
    this.sendControl(withId({ event: "unsubscribed", streams: removed }, id));
  }

  /** Splits requested streams into allowed ones and refusals grouped by code. */
  authorize(streams: string[]): { ok: string[]; refused: { code: ErrorCode; streams: string[]; message: string }[] } {
    const ok: string[] = [];
    const unknown: string[] = [];
    const forbidden: string[] = [];
    for (const s of streams) {
      const v = this.ctx.policy.check(s, this.identity);
      if (v === "ok") ok.push(s);
      else if (v === "forbidden") forbidden.push(s);
      else unknown.push(s);
    }
    const refused: { code: ErrorCode; streams: string[]; message: string }[] = [];
    if (unknown.length) refused.push({ code: "unknown_stream", streams: unknown, message: "no such stream" });
    if (forbidden.length) {
      refused.push({ code: "forbidden", streams: forbidden, message: "not allowed for this credential" });
      this.ctx.log.info("permission_denied", { conn: this.id, user: this.identity.userId, streams: forbidden });
    }
    return { ok, refused };
  }

  /** Starts live delivery of `stream` to this client. */
  addStream(stream: string): void {
    if (this.streams.has(stream)) return;
    const name = this.ctx.index.add(stream, this.format);
    this.streams.add(name);
    this.conn.subscribe(topicFor(name, this.format));
    this.ctx.metrics.subscriptions.inc({ kind: streamKind(stream) });
  }

  /** Stops live delivery of `stream`; false when it was not subscribed. */
  removeStream(stream: string): boolean {
    if (!this.streams.delete(stream)) return false;
    this.conn.unsubscribe(topicFor(stream, this.format));
    this.ctx.index.remove(stream, this.format);
    this.ctx.metrics.subscriptions.dec({ kind: streamKind(stream) });
    return true;
  }

  /** Whether `stream` keeps an order book (snapshot + diffs). */
  keepsBook(stream: string): boolean {
    return this.ctx.depth?.handles(stream) ?? false;
  }

  /** Sends the order-book snapshot of `stream`; false when `stream` keeps no book. */
  sendSnapshot(stream: string): boolean {
    if (!this.ctx.depth?.handles(stream)) return false;
    if (!this.closed && !this.closing) this.conn.send(this.ctx.depth.snapshotFrame(stream, this.format));
    return true;
  }

  /** Sends a control answer in this connection's format; 0 once the connection is closing. */
  sendControl(msg: ControlFrame): number {
    if (this.closed || this.closing) return 0;
    return this.conn.send(this.ctx.encodeControl(msg, this.format));
  }

  /** Sends an error frame (and counts it). */
  sendError(code: ErrorCode, message: string, id: RequestId | undefined, details?: ErrorDetails): void {
    this.ctx.metrics.clientErrors.inc({ code });
    this.sendControl(withId({ event: "error", code, message, ...details }, id));
  }

  /**
   * Closes with a code from protocol/close-codes.ts. Live delivery stops first, so the close frame queues
   * right behind what is already buffered. Bun runs the close handler (our bookkeeping) inside
   * this call and then flushes the queue itself, dropping a client that never reads it.
   */
  close(c: CloseCode, detail?: string): void {
    if (this.closed || this.closing) return;
    this.closing = true;
    this.expiry.remove(this);
    for (const s of this.streams) this.conn.unsubscribe(topicFor(s, this.format));
    this._resuming?.clear();
    this.conn.close(c.code, closeReason(c, detail));
  }

  /** Called once the socket is gone: releases subscriptions from the index. */
  onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.expiry.remove(this);
    for (const s of this.streams) {
      this.ctx.index.remove(s, this.format);
      this.ctx.metrics.subscriptions.dec({ kind: streamKind(s) });
    }
    this.streams.clear();
    this._resuming?.clear();
  }

  /** Abuse accounting: repeated bad or rate-limited requests end the connection with 1008. */
  private violation(what: string): void {
    const now = Date.now();
    if (now - this.violationWindowStart > VIOLATION_WINDOW_MS) {
      this.violationWindowStart = now;
      this.violations = 0;
    }
    if (++this.violations > this.ctx.limits.maxRateViolations) {
      this.ctx.log.warn("client_policy_violation", { conn: this.id, user: this.identity.userId, ip: this.remoteAddress, what });
      this.close(CLOSE.policy, what);
    }
  }
}

/** `msg` with the request's id appended (the key order of the JSON answer: id last). */
function withId<T extends ControlFrame>(msg: T, id: RequestId | undefined): T {
  if (id !== undefined) msg.id = id;
  return msg;
}
