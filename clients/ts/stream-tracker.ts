/**
 * What the client knows of each stream: who wants it, the last seq delivered and the epoch of that
 * numbering (so a resume can start right after it), whether the gateway has acknowledged it on the
 * current connection or a resume is in flight, and the promises waiting for that acknowledgement.
 * Arriving frames are judged against it: next in line, duplicate or gap.
 */
import { GatewayClientError } from "./client-error.ts";
import type { DataFrame, FrameMeta, Position, ResumedAck, SubscribedAck } from "./types.ts";

/** A subscription's handler, on any of its streams. */
export type AnyHandler = (frame: DataFrame, meta: FrameMeta) => void;

/** One subscription's entry on each of its streams. */
export interface SubscriptionEntry {
  fn?: AnyHandler;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** The client's record of one stream. */
export interface StreamState {
  readonly stream: string;
  /** One entry per subscription of the stream; the stream is wanted while there is one. */
  readonly subs: Set<SubscriptionEntry>;
  /** Last seq delivered; undefined until the first frame (or after resume_unavailable). */
  last?: number;
  /** Epoch of the numbering `last` belongs to. */
  epoch?: string;
  /** Acknowledged on the current connection. */
  live: boolean;
  /** A resume of this stream is in flight on the current connection. */
  resuming: boolean;
  /** The epoch was asked for with a no-op resume (see GatewayClient.onData). */
  epochProbed: boolean;
  waiters: Waiter[];
}

/**
 * How an arriving data frame fits its stream: "next" in line (or the first), a "duplicate"
 * (seq <= last), a "gap" (prev != last), or a gap while a resume is in flight ("replaying": the
 * replay brings the missing frames, and this one, in order).
 */
export type Arrival = "next" | "duplicate" | "gap" | "replaying";

/** Every stream of one client, by name. */
export class StreamTracker {
  private readonly streams = new Map<string, StreamState>();

  constructor(positions: Record<string, Position> = {}) {
    for (const [stream, p] of Object.entries(positions)) this.streams.set(stream, newState(stream, p));
  }

  get(stream: string): StreamState | undefined {
    return this.streams.get(stream);
  }

  /** How `frame` fits what was delivered of its stream `st`. */
  arrival(st: StreamState, frame: DataFrame): Arrival {
    const last = st.last;
    if (last === undefined) return "next";
    if (frame.seq <= last) return "duplicate";
    if (frame.prev !== last) return st.resuming ? "replaying" : "gap";
    return "next";
  }

  /**
   * Adds `entry` to each of `streams`. Returns the streams to join on the connection now (new ones,
   * and ones known only from positions) and a promise per stream of its acknowledgement.
   */
  add(streams: readonly string[], entry: SubscriptionEntry): { fresh: StreamState[]; acks: Promise<void>[] } {
    const fresh: StreamState[] = [];
    const acks: Promise<void>[] = [];
    for (const s of streams) {
      let st = this.streams.get(s);
      if (!st) {
        st = newState(s);
        this.streams.set(s, st);
        fresh.push(st);
      } else if (st.subs.size === 0 && !st.live && !st.resuming) {
        fresh.push(st); // known only from positions: join it now
      }
      st.subs.add(entry);
      acks.push(st.live ? Promise.resolve() : waitFor(st));
    }
    return { fresh, acks };
  }

  /** Removes `entry` from `streams`; returns those left without any subscription. */
  removeEntry(streams: readonly string[], entry: SubscriptionEntry): string[] {
    const drop: string[] = [];
    for (const s of streams) {
      const st = this.streams.get(s);
      if (!st) continue;
      st.subs.delete(entry);
      if (st.subs.size === 0) drop.push(s);
    }
    return drop;
  }

  /**
   * Forgets `streams` whatever subscriptions they have (their waiters are rejected); returns those
   * the gateway has to be told about (acknowledged or being resumed).
   */
  forget(streams: readonly string[]): string[] {
    const joined: string[] = [];
    for (const s of streams) {
      const st = this.streams.get(s);
      if (!st) continue;
      this.streams.delete(s);
      rejectWaiters(st, new GatewayClientError("closed", `unsubscribed from ${s}`));
      if (st.live || st.resuming) joined.push(s);
    }
    return joined;
  }

  /** Forgets streams the gateway refused (they would be refused again), failing their waiters. */
  refuse(streams: readonly string[], err: Error): void {
    for (const s of streams) {
      const st = this.streams.get(s);
      if (!st) continue;
      this.streams.delete(s);
      rejectWaiters(st, err);
    }
  }

  /** Streams some subscription wants. */
  wanted(): StreamState[] {
    return [...this.streams.values()].filter((st) => st.subs.size > 0);
  }

  /** Streams with a resume in flight. */
  resuming(): StreamState[] {
    return [...this.streams.values()].filter((st) => st.resuming);
  }

  /** Names of the streams some subscription wants. */
  subscriptions(): string[] {
    return this.wanted().map((s) => s.stream);
  }

  /** Every stream's position. */
  positions(): Record<string, Position> {
    const out: Record<string, Position> = {};
    for (const st of this.streams.values()) {
      if (st.last !== undefined) out[st.stream] = st.epoch ? { seq: st.last, epoch: st.epoch } : { seq: st.last };
    }
    return out;
  }

  /** Sets a stream's position, creating its record when there is none. */
  setPosition(stream: string, pos: Position | undefined): void {
    let st = this.streams.get(stream);
    if (!st) this.streams.set(stream, (st = newState(stream)));
    st.last = validPosition(pos?.seq);
    if (pos?.epoch !== undefined) st.epoch = pos.epoch || undefined;
  }

  /** Takes a snapshot's seq as the stream's position when it is ahead of what was delivered. */
  adopt(stream: string, seq: number, epoch: string): void {
    const st = this.streams.get(stream);
    if (st && (st.last === undefined || st.last < seq)) {
      st.last = seq;
      if (epoch) st.epoch = epoch;
    }
  }

  /** `subscribed`: the streams are live; a stream without a position takes the ack's epoch. */
  subscribed(ack: SubscribedAck): void {
    for (const s of ack.streams) {
      const st = this.streams.get(s);
      if (!st) continue;
      const epoch = ack.epochs?.[s];
      if (epoch && st.last === undefined) st.epoch = epoch;
      st.live = true;
      resolveWaiters(st);
    }
  }

  /** `resumed`: the replay is complete and the stream live, in the ack's epoch. */
  resumed(ack: ResumedAck): void {
    const st = this.streams.get(ack.stream);
    if (!st) return;
    st.resuming = false;
    st.live = true;
    if (ack.epoch) st.epoch = ack.epoch;
    resolveWaiters(st);
  }

  /** The stream is live but could not be resumed: the next frame starts a new baseline. */
  restartLive(st: StreamState, epoch: string | undefined): void {
    st.last = undefined;
    st.epoch = epoch;
    st.resuming = false;
    st.live = true;
    resolveWaiters(st);
  }

  /** The connection is gone: every stream is to be joined again on the next one. */
  connectionLost(): void {
    for (const st of this.streams.values()) {
      st.live = false;
      st.resuming = false;
    }
  }

  /** Fails every promise waiting for an acknowledgement, with an error made per stream. */
  rejectAll(err: () => Error): void {
    for (const st of this.streams.values()) rejectWaiters(st, err());
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
