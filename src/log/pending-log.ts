/**
 * PendingLog: a new stream's log while its files are being created off the event loop. Its first
 * events are held in memory and served from there; once the files exist, adopt() writes them into
 * the RingLog and from then on every call goes to it. Whoever kept a reference keeps working.
 */
import type { LogPosition, StreamLog } from "./log-store.ts";
import { MemoryLog } from "./memory-log-store.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";

/** A stream log that lives in memory until its RingLog is ready, then forwards to it. */
export class PendingLog implements StreamLog {
  private target: StreamLog;
  private ring: StreamLog | undefined;

  constructor(
    readonly stream: string,
    epoch: string,
    maxEvents: number,
    maxBytes: number,
  ) {
    this.target = new MemoryLog(stream, epoch, maxEvents, maxBytes);
  }

  /** Whether the events already live in the RingLog. */
  get adopted(): boolean {
    return this.ring !== undefined;
  }

  /** Moves the buffered events into `ring` (same epoch, empty) and forwards to it from now on. */
  adopt(ring: StreamLog): void {
    const buffered = this.target.readAfter(0, Number.MAX_SAFE_INTEGER);
    for (const ev of buffered) ring.append(ev);
    this.ring = this.target = ring;
  }

  append(ev: StreamEvent): void {
    this.target.append(ev);
  }

  position(): LogPosition {
    return this.target.position();
  }

  readAfter(afterSeq: number, limit: number): StreamEvent[] {
    return this.target.readAfter(afterSeq, limit);
  }

  latest(): StreamEvent | undefined {
    return this.target.latest();
  }
}
