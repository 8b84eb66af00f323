/**
 * Options shared by both LogStore implementations, their defaults and validation.
 *
 * Sizes are per stream. The defaults keep one stream small (4 x 1 MiB on disk, at most 10,000
 * events) because a gateway carries hundreds of streams and every segment is one mapping.
 */

/** How stream logs are stored and bounded; every size is per stream. */
export interface LogStoreOptions {
  /** "mmap" (default): persistent, survives restarts. "memory": arrays, for tests of other components. */
  kind?: "mmap" | "memory";
  /** Directory of the mmap store; default "./data/log". */
  dir?: string;
  /** Most events a stream's log holds; older ones are dropped. Default 10,000. */
  maxEvents?: number;
  /** Segment files per stream (at least 2). Default 4. Fixed when a stream's log is created. */
  segments?: number;
  /** Bytes per segment file. Default 1 MiB. Fixed when a stream's log is created. */
  segmentBytes?: number;
  /**
   * Epoch for `stream` when its seq comes from the source and is the same on every gateway, e.g.
   * "src:kafka-main"; undefined means a random epoch created with the log.
   */
  epochFor?: (stream: string) => string | undefined;
  /** Most stream logs the store holds; creating one more throws StreamLimitError. Default unbounded. */
  maxStreams?: number;
  /** mmap only: fdatasync written segments every this many ms, off the hot path; 0 (default) = never. */
  syncIntervalMs?: number;
  /**
   * mmap only: create a new stream's files on a worker thread, its first events held in memory
   * meanwhile (default false: created inline, every append durable at once). The gateway turns it
   * on: the event loop never waits for a file system. Events of a stream's first milliseconds are
   * then lost if the process dies before its files exist (a clean close() writes them).
   */
  createInBackground?: boolean;
  /**
   * Sizes for particular streams, e.g. small logs for per-user streams (a gateway may carry
   * thousands); undefined keeps the store's sizes. Applied when a stream's log is created.
   */
  sizeFor?: (stream: string) => LogSize | undefined;
}

/** How big one stream's log is. */
export interface LogSize {
  maxEvents: number;
  segments: number;
  segmentBytes: number;
}

/** LogStoreOptions with every default applied and checked. */
export interface ResolvedLogOptions {
  dir: string;
  maxEvents: number;
  segments: number;
  segmentBytes: number;
  epochFor: (stream: string) => string | undefined;
  syncIntervalMs: number;
  createInBackground: boolean;
  maxStreams: number;
  /** The size of `stream`'s log: sizeFor's answer or the store's defaults. */
  sizeOf: (stream: string) => LogSize;
}

export const DEFAULT_LOG_DIR = "./data/log";
export const DEFAULT_MAX_EVENTS = 10_000;
export const DEFAULT_SEGMENTS = 4;
export const DEFAULT_SEGMENT_BYTES = 1 << 20;

// Offsets are computed with 32-bit integer ops on the hot path, so a segment stays below 1 GiB.
const MAX_SEGMENT_BYTES = 1 << 30;
const MIN_SEGMENT_BYTES = 4096;

/** Applies defaults; throws on values that would break the log's invariants. */
export function resolveLogOptions(opts: LogStoreOptions = {}): ResolvedLogOptions {
  const r: ResolvedLogOptions = {
    dir: opts.dir ?? DEFAULT_LOG_DIR,
    maxEvents: opts.maxEvents ?? DEFAULT_MAX_EVENTS,
    segments: opts.segments ?? DEFAULT_SEGMENTS,
    segmentBytes: opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES,
    epochFor: opts.epochFor ?? (() => undefined),
    syncIntervalMs: opts.syncIntervalMs ?? 0,
    createInBackground: opts.createInBackground ?? false,
    maxStreams: opts.maxStreams ?? Infinity,
    sizeOf: () => r,
  };
  if (opts.sizeFor) {
    const sizeFor = opts.sizeFor;
    r.sizeOf = (stream) => {
      const z = sizeFor(stream);
      if (!z) return r;
      checkSize(z);
      return z;
    };
  }
  checkSize(r);
  if (!(r.maxStreams >= 1)) throw new RangeError(`maxStreams must be >= 1, got ${r.maxStreams}`);
  if (!(r.syncIntervalMs >= 0)) throw new RangeError(`syncIntervalMs must be >= 0, got ${r.syncIntervalMs}`);
  return r;
}

function checkSize(r: LogSize): void {
  if (!Number.isInteger(r.maxEvents) || r.maxEvents < 1) throw new RangeError(`maxEvents must be an integer >= 1, got ${r.maxEvents}`);
  // One segment is always being written, so a ring of one could hold nothing while it rolls.
  if (!Number.isInteger(r.segments) || r.segments < 2 || r.segments > 4096) {
    throw new RangeError(`segments must be an integer in [2, 4096], got ${r.segments}`);
  }
  if (!Number.isInteger(r.segmentBytes) || r.segmentBytes < MIN_SEGMENT_BYTES || r.segmentBytes > MAX_SEGMENT_BYTES || r.segmentBytes % 8 !== 0) {
    throw new RangeError(`segmentBytes must be a multiple of 8 in [${MIN_SEGMENT_BYTES}, ${MAX_SEGMENT_BYTES}], got ${r.segmentBytes}`);
  }
}

/** A fresh random epoch: 16 hex chars, short enough to travel in every resume token. */
export function randomEpoch(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}
