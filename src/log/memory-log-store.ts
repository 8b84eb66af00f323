/**
 * MemoryLogStore: the LogStore contract over plain arrays, for tests of other components.
 * Nothing survives the process; bounds mirror the mmap store (count, and bytes approximated as
 * record header + data length per event over segments x segmentBytes).
 */
import { type LogStoreOptions, type ResolvedLogOptions, randomEpoch, resolveLogOptions } from "./log-options.ts";
import { StreamLimitError, type LogPosition, type LogStore, type StreamLog } from "./log-store.ts";
import { RECORD_HEADER_BYTES } from "./segment.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";

/** One stream's log held in an array; oldest first. */
export class MemoryLog implements StreamLog {
  private events: StreamEvent[] = [];
  private start = 0;
  private bytes = 0;
  private head = 0;

  constructor(
    readonly stream: string,
    readonly epoch: string,
    private readonly maxEvents: number,
    private readonly maxBytes: number,
  ) {}

  append(ev: StreamEvent): void {
    if (!(ev.seq > this.head)) throw new RangeError(`log of ${this.stream}: seq ${ev.seq} is not greater than head ${this.head}`);
    this.events.push(ev);
    this.head = ev.seq;
    this.bytes += RECORD_HEADER_BYTES + ev.data.length;
    while (this.events.length - this.start > this.maxEvents || (this.bytes > this.maxBytes && this.events.length - this.start > 1)) {
      this.bytes -= RECORD_HEADER_BYTES + this.events[this.start]!.data.length;
      this.start++;
    }
    // Compact now and then instead of shifting on every drop.
    if (this.start > 1024 && this.start * 2 > this.events.length) {
      this.events = this.events.slice(this.start);
      this.start = 0;
    }
  }

  position(): LogPosition {
    const oldest = this.events[this.start];
    return { epoch: this.epoch, oldest: oldest === undefined ? 0 : oldest.seq, head: this.head };
  }

  readAfter(afterSeq: number, limit: number): StreamEvent[] {
    let lo = this.start;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.events[mid]!.seq > afterSeq) hi = mid;
      else lo = mid + 1;
    }
    return limit > 0 ? this.events.slice(lo, lo + limit) : [];
  }

  latest(): StreamEvent | undefined {
    return this.events.length > this.start ? this.events[this.events.length - 1] : undefined;
  }
}

/** The LogStore contract in memory: same bounds and epochs as the mmap store, no persistence. */
export class MemoryLogStore implements LogStore {
  private readonly opts: ResolvedLogOptions;
  private readonly logs = new Map<string, MemoryLog>();

  constructor(options: LogStoreOptions = {}) {
    this.opts = resolveLogOptions(options);
  }

  get(stream: string): StreamLog {
    let log = this.logs.get(stream);
    if (log === undefined) {
      if (stream.length === 0) throw new Error("stream name must not be empty");
      const o = this.opts;
      if (this.logs.size >= o.maxStreams) throw new StreamLimitError(stream, o.maxStreams);
      const z = o.sizeOf(stream);
      log = new MemoryLog(stream, o.epochFor(stream) ?? randomEpoch(), z.maxEvents, z.segments * z.segmentBytes);
      this.logs.set(stream, log);
    }
    return log;
  }

  find(stream: string): StreamLog | undefined {
    return this.logs.get(stream);
  }

  streams(): string[] {
    return [...this.logs.keys()];
  }

  get size(): number {
    return this.logs.size;
  }

  diskBytes(): number {
    return 0;
  }

  close(): void {
    // Logs stay readable: tests often inspect them after stopping the component under test.
  }
}
