import { DataFrames } from "./data-frames.ts";
import type { LogStore, StreamLog } from "../log/log-store.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Logger } from "../util/logger.ts";
import { CLOSE } from "../../protocol/close-codes.ts";
import type { ResumedFrame } from "../../protocol/frames.ts";
import type { RequestId } from "../../protocol/requests.ts";
import type { ResumeHandler, Session } from "./session.ts";
import type { SourceReplay } from "./source-replay.ts";

/** Events replayed per chunk before checking the client's send buffer. */
const CHUNK = 500;

const OLDER = "position is older than the log";
const AHEAD = "position is ahead of the log";
const NO_EVENTS = "no events logged for this stream";
/** How long a resume waits for this gateway to read as far as the client's position. */
const CATCH_UP_MS = 3000;
const CATCH_UP_POLL_MS = 20;

/** First and longest wait of a replay paused by a full client buffer. */
const PAUSE_MIN_MS = 5;
const PAUSE_MAX_MS = 100;

/** Why a position cannot be served completely. */
type Unavailable = { reason: string; oldest: number; head: number; epoch: string };

/** One replay in progress: where it is, and since when the client's full buffer holds it up. */
interface Replay {
  session: Session;
  log: StreamLog;
  stream: string;
  gen: number;
  from: number;
  cursor: number;
  sent: number;
  id?: RequestId;
  joinAt?: number;
  /** ms since epoch when the client's buffer last stopped draining; 0 while sending. */
  blockedSince: number;
  waitMs: number;
  /** Buffered bytes at the last look, to tell a client that reads from one that does not. */
  buffered: number;
}

/**
 * Serves `resume`: replays every logged event after the client's position, then switches the
 * stream to live delivery. Replay reads the log synchronously up to its head and subscribes in the
 * same tick, so no live event can fall between the last replayed one and the first live one; a
 * replay too big for one tick continues later from where it stopped, the log acting as the buffer.
 */
export class ResumeService implements ResumeHandler {
  private generation = 0;

  constructor(
    private readonly logs: LogStore,
    private readonly metrics: GatewayMetrics,
    private readonly log: Logger,
    /** Bytes of queued output above which a replay waits for the client to read. */
    private readonly pauseAboveBytes: number,
    /** How long a replay may wait for a client that reads nothing before it is closed 4008. */
    private readonly stallMs = 10_000,
    private readonly sourceReplay?: SourceReplay,
    /** Most events a source fallback may fill in for one resume. */
    private readonly maxSourceEvents = 100_000,
    /** Encodes (and signs) replayed frames exactly as the live fan-out does. */
    private readonly frames = new DataFrames(),
  ) {}

  epochOf(stream: string): string | undefined {
    return this.logs.find(stream)?.position().epoch;
  }

  resume(session: Session, positions: Record<string, number>, epochs: Record<string, string> | undefined, id?: RequestId): void {
    const { ok, refused } = session.authorize(Object.keys(positions));
    for (const r of refused) {
      this.metrics.resumes.inc({ result: r.code });
      session.sendError(r.code, r.message, id, { streams: r.streams });
    }
    for (const stream of ok) this.resumeStream(session, stream, positions[stream]!, epochs?.[stream], id);
  }

  private resumeStream(session: Session, stream: string, lastSeq: number, epoch: string | undefined, id?: RequestId): void {
    if (!session.streams.has(stream) && session.streams.size + session.resuming.size >= session.maxStreams) {
      session.sendError("too_many_streams", "stream limit reached", id, { streams: [stream] });
      return;
    }
    // Live delivery pauses while replaying so nothing arrives out of order; the log buffers it.
    session.removeStream(stream);
    const gen = ++this.generation;
    session.resuming.set(stream, gen);
    this.attempt(session, stream, gen, lastSeq, epoch, id, Date.now() + CATCH_UP_MS);
  }

  /** Serves the resume from the log, the source, or not at all; may wait for this gateway to catch up. */
  private attempt(session: Session, stream: string, gen: number, lastSeq: number, epoch: string | undefined, id: RequestId | undefined, deadline: number): void {
    if (session.closed || session.closing || session.resuming.get(stream) !== gen) return;
    const log = this.logs.find(stream);
    const problem = this.check(log, lastSeq, epoch);
    if (problem && this.behindSource(log, problem, epoch) && Date.now() < deadline) {
      // A client failing over from a gateway that had read further: going live now would send it
      // seqs it already has, so wait (live delivery stays paused) until this log reaches it.
      setTimeout(() => this.attempt(session, stream, gen, lastSeq, epoch, id, deadline), CATCH_UP_POLL_MS);
      return;
    }
    // A book stream is better served by its snapshot than by raw producer events from the source.
    if (problem && log && problem.reason === OLDER && !session.keepsBook(stream) && this.sourceReplay?.canReplay(stream)) {
      void this.fillFromSource(session, log, stream, gen, lastSeq, problem, id);
      return;
    }
    if (problem) {
      session.resuming.delete(stream);
      this.unavailable(session, stream, lastSeq, problem, id);
      return;
    }
    if (!log) {
      // Nothing logged yet and the client has seen nothing (position 0): nothing to replay, go live.
      session.resuming.delete(stream);
      session.addStream(stream);
      this.metrics.resumes.inc({ result: "served" });
      const msg: ResumedFrame = { event: "resumed", stream, from: 0, to: 0, replayed: 0, epoch: "" };
      if (id !== undefined) msg.id = id;
      session.sendControl(msg);
      return;
    }
    this.replay(session, log, stream, gen, lastSeq, lastSeq, 0, id);
  }

  /**
   * Whether this gateway is merely behind: the stream is numbered by its source (same numbering on
   * every gateway) and the client's position is one this log has not reached yet.
   */
  private behindSource(log: StreamLog | undefined, problem: Unavailable, epoch: string | undefined): boolean {
    if (problem.reason === AHEAD) return (log?.position().epoch ?? "").startsWith("src:");
    if (problem.reason === NO_EVENTS) return (epoch ?? "").startsWith("src:");
    return false;
  }

  /**
   * The log does not reach back far enough: read the gap from the source, send it, then hand over
   * to the log replay, which checks that the source's part joins the log's without a hole.
   */
  private async fillFromSource(session: Session, log: StreamLog, stream: string, gen: number, lastSeq: number, problem: Unavailable, id?: RequestId): Promise<void> {
    let events: StreamEvent[] | undefined;
    // The seq where the source's part must join the log's.
    const joinAt = log.position().oldest;
    try {
      events = await this.sourceReplay!.fetch(stream, lastSeq, joinAt, this.maxSourceEvents);
    } catch (err) {
      this.log.warn("source_replay_failed", { stream, error: (err as Error).message });
    }
    if (session.closed || session.closing || session.resuming.get(stream) !== gen) return;
    if (!events) {
      session.resuming.delete(stream);
      this.unavailable(session, stream, lastSeq, { ...problem, reason: "position is older than the log and the source cannot replay it" }, id);
      return;
    }
    let cursor = lastSeq;
    for (const ev of events) {
      session.conn.send(this.encode(ev, session.format));
      cursor = ev.seq;
    }
    this.metrics.replayedEvents.inc(events.length);
    this.metrics.resumes.inc({ result: "source_fallback" });
    this.replay(session, log, stream, gen, lastSeq, cursor, events.length, id, joinAt);
  }

  /** Undefined when every event after `lastSeq` is still in the log; otherwise why not. */
  private check(log: StreamLog | undefined, lastSeq: number, epoch: string | undefined): Unavailable | undefined {
    if (!log) return lastSeq === 0 ? undefined : { reason: NO_EVENTS, oldest: 0, head: 0, epoch: "" };
    const pos = log.position();
    const at = { oldest: pos.oldest, head: pos.head, epoch: pos.epoch };
    if (epoch !== undefined && epoch !== "" && epoch !== pos.epoch) return { reason: "unknown epoch", ...at };
    if (lastSeq > pos.head) return { reason: AHEAD, ...at };
    if (pos.head === 0 || lastSeq >= pos.oldest) return undefined;
    // Sparse seqs (source offsets) are fine as long as nothing between lastSeq and oldest was evicted.
    const oldest = log.readAfter(pos.oldest - 1, 1)[0];
    // prev 0 above seq 1 means the log began mid-stream (this gateway started reading after
    // earlier events): what preceded it is unknown, not absent, so only the source can tell.
    if (oldest && oldest.prev <= lastSeq && (oldest.prev > 0 || oldest.seq === 1)) return undefined;
    return { reason: OLDER, ...at };
  }

  private replay(session: Session, log: StreamLog, stream: string, gen: number, from: number, cursor: number, sent: number, id?: RequestId, joinAt?: number): void {
    this.step({ session, log, stream, gen, from, cursor, sent, id, joinAt, blockedSince: 0, waitMs: 0, buffered: 0 });
  }

  /** Sends chunks until caught up (then goes live) or the client's buffer is full (then waits). */
  private step(r: Replay): void {
    const { session, log, stream } = r;
    if (session.closed || session.closing || session.resuming.get(stream) !== r.gen) return;
    if (r.cursor !== r.from || r.joinAt !== undefined) {
      // Resumed after a pause or a source fill: the log may have dropped what we had not sent yet.
      // After a fill, the log still holding the seq the fill stopped before is the join.
      const oldest = log.position().oldest;
      const joined = r.joinAt !== undefined && oldest !== 0 && oldest <= r.joinAt;
      const problem = joined ? undefined : this.check(log, r.cursor, undefined);
      if (problem) {
        session.resuming.delete(stream);
        this.unavailable(session, stream, r.cursor, { ...problem, reason: "log moved past the replay (client too slow)" }, r.id);
        return;
      }
    }
    for (;;) {
      // Checked before each chunk, also when resuming after a pause: a client that has not read
      // what it was sent gets nothing more until it does (the log buffers meanwhile).
      const buffered = session.conn.bufferedAmount();
      if (buffered > this.pauseAboveBytes) return this.wait(r, buffered);
      r.blockedSince = 0;
      const events = log.readAfter(r.cursor, CHUNK);
      let n = 0;
      for (const ev of events) {
        // The log's first event may not name its predecessor (prev 0); the client's is `cursor`.
        session.conn.send(this.encode(ev.prev < r.cursor ? { ...ev, prev: r.cursor } : ev, session.format));
        r.cursor = ev.seq;
        // Big events fill the buffer before a chunk ends: stop early, the next chunk starts here.
        if ((++n & 63) === 0 && session.conn.bufferedAmount() > this.pauseAboveBytes) break;
      }
      r.sent += n;
      this.metrics.replayedEvents.inc(n);
      if (n === events.length && events.length < CHUNK) break;
    }
    // Caught up with the head in this tick: subscribing now leaves no gap and no duplicate.
    session.resuming.delete(stream);
    session.addStream(stream);
    this.metrics.resumes.inc({ result: "served" });
    const msg: ResumedFrame = { event: "resumed", stream, from: r.from, to: r.cursor, replayed: r.sent, epoch: log.position().epoch };
    if (r.id !== undefined) msg.id = r.id;
    session.sendControl(msg);
    this.log.debug("resume", { conn: session.id, user: session.identity.userId, stream, from: r.from, to: r.cursor, replayed: r.sent });
  }

  /**
   * The client's buffer is full: look again later. The wait backs off (a stuck replay costs a
   * timer every PAUSE_MAX_MS, not every PAUSE_MIN_MS) and restarts whenever the client reads;
   * a client that has not read for `stallMs` is dropped like any slow consumer, so it can
   * reconnect and resume instead of holding its replay (and its streams' live delivery) forever.
   */
  private wait(r: Replay, buffered: number): void {
    const now = Date.now();
    if (r.blockedSince === 0 || buffered < r.buffered) {
      r.blockedSince = now;
      r.waitMs = PAUSE_MIN_MS;
    } else if (now - r.blockedSince >= this.stallMs) {
      const s = r.session;
      this.metrics.slowConsumerDrops.inc();
      this.log.warn("replay_stalled", { conn: s.id, user: s.identity.userId, ip: s.remoteAddress, stream: r.stream, buffered, sent: r.sent, ms: now - r.blockedSince });
      s.close(CLOSE.slowConsumer, `replay stalled ${now - r.blockedSince} ms with ${buffered} bytes unread`);
      return;
    } else {
      r.waitMs = Math.min(r.waitMs * 2, PAUSE_MAX_MS);
    }
    r.buffered = buffered;
    setTimeout(() => this.step(r), r.waitMs);
  }

  private unavailable(session: Session, stream: string, lastSeq: number, p: Unavailable, id?: RequestId): void {
    // The client stays subscribed live so it can take a snapshot and carry on.
    session.addStream(stream);
    if (session.sendSnapshot(stream)) {
      // A book stream needs no log to recover: the book itself, then live, in this tick.
      this.metrics.resumes.inc({ result: "snapshot" });
      const head = this.logs.find(stream)?.position().head ?? 0;
      const msg: ResumedFrame = { event: "resumed", stream, from: lastSeq, to: head, replayed: 0, snapshot: true, epoch: p.epoch };
      if (id !== undefined) msg.id = id;
      session.sendControl(msg);
      return;
    }
    this.metrics.resumes.inc({ result: "unavailable" });
    session.sendError("resume_unavailable", p.reason, id, { stream, lastSequence: lastSeq, oldest: p.oldest, head: p.head, epoch: p.epoch });
  }

  private encode(ev: StreamEvent, format: "json" | "fb"): string | Uint8Array {
    return this.frames.encode(ev, format);
  }
}
