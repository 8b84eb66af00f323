/**
 * RingLog: one stream's log in a ring of fixed, pre-sized, memory-mapped segment files.
 *
 * Appending writes straight into the current segment's mapping (no syscall); when a record does
 * not fit, the log rolls into the next segment of the ring, dropping the records of the oldest
 * turn. An in-memory index (seq and location of every held record, in a growable ring) serves
 * readAfter by binary search and enforces the event-count bound.
 *
 * Bun cannot unmap explicitly (a mapping is released when its ArrayBuffer is garbage-collected) and
 * a mapped file must never be truncated, so segment files are reused in place, never deleted or
 * resized while the process runs. See segment.ts for the on-disk format.
 */
import type { LogPosition, StreamLog } from "./log-store.ts";
import {
  SEGMENT_HEADER_BYTES,
  type Segment,
  decodeRecord,
  exactRecordBytes,
  readSegmentHeader,
  recordSeq,
  syncSegmentFile,
  validRecordEnd,
  worstCaseRecordBytes,
  writeRecord,
  writeSegmentHeader,
} from "./segment.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";

/** Identity of a stream's log files: which log they belong to and which numbering they carry. */
export interface RingLogIdentity {
  /** Numbering of the stream; reported in every position. */
  epoch: string;
  /** Random id of this set of segment files; a segment with another logId is not ours. */
  logId: number;
}

/** Writes a sync has to make durable: the segment files and the write position they reach. */
export interface UnsyncedWrites {
  paths: string[];
  gen: number;
  off: number;
}

const INITIAL_INDEX = 64;

/** One stream's persistent log over a ring of mapped segments. */
export class RingLog implements StreamLog {
  private segs: Segment[];
  private readonly segBytes: number;
  private cur: Segment;
  private curIdx = 0;
  private curBase = 0;
  private gen = 0;
  private writeOff = SEGMENT_HEADER_BYTES;
  private head = 0;
  private last: StreamEvent | undefined;
  private closed = false;

  // Index ring in seq order: seqs[i] is held at byte locs[i] of the concatenated segments.
  private seqs = new Float64Array(INITIAL_INDEX);
  private locs = new Float64Array(INITIAL_INDEX);
  private mask = INITIAL_INDEX - 1;
  private front = 0;
  private count = 0;

  // Everything up to (syncGen, syncOff) is known to be on disk; syncGen 0 = nothing known.
  private syncGen = 0;
  private syncOff = 0;

  /**
   * Recovers the log from `segs` (all mapped, same size, index i at position i). With
   * `suspectLoss` (the machine may have crashed), also zeroes the current segment past the last
   * valid record, so records that survived beyond a lost page can never come back later.
   */
  constructor(
    readonly stream: string,
    private readonly id: RingLogIdentity,
    segs: Segment[],
    private readonly maxEvents: number,
    suspectLoss: boolean,
  ) {
    if (segs.length < 2) throw new Error(`${stream}: a ring log needs at least 2 segments`);
    this.segs = segs;
    this.segBytes = segs[0]!.bytes;
    this.cur = segs[0]!;
    this.recover(suspectLoss);
  }

  get epoch(): string {
    return this.id.epoch;
  }

  append(ev: StreamEvent): void {
    const seq = ev.seq;
    if (!(seq > this.head) || this.closed) this.reject(seq);
    let off = this.writeOff;
    if (off + worstCaseRecordBytes(ev.data) > this.segBytes) off = this.makeRoom(ev.data);
    const end = writeRecord(this.cur, off, this.gen, ev);
    this.push(seq, this.curBase + off);
    this.writeOff = end;
    this.head = seq;
    this.last = ev;
  }

  position(): LogPosition {
    return { epoch: this.id.epoch, oldest: this.count > 0 ? this.seqs[this.front]! : 0, head: this.head };
  }

  readAfter(afterSeq: number, limit: number): StreamEvent[] {
    this.checkOpen();
    const out: StreamEvent[] = [];
    if (!(limit > 0) || this.count === 0 || !(afterSeq < this.head)) return out;
    const seqs = this.seqs;
    const mask = this.mask;
    const front = this.front;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (seqs[(front + mid) & mask]! > afterSeq) hi = mid;
      else lo = mid + 1;
    }
    const end = Math.min(this.count, lo + limit);
    for (let k = lo; k < end; k++) out.push(this.decodeAt(this.locs[(front + k) & mask]!));
    return out;
  }

  latest(): StreamEvent | undefined {
    this.checkOpen();
    if (this.last === undefined && this.count > 0) {
      this.last = this.decodeAt(this.locs[(this.front + this.count - 1) & this.mask]!);
    }
    return this.last;
  }

  /** Writes since the last markSynced, or undefined when there are none. */
  unsynced(): UnsyncedWrites | undefined {
    if (this.closed || (this.syncGen === this.gen && this.syncOff === this.writeOff)) return undefined;
    const n = this.segs.length;
    const paths: string[] = [];
    for (let g = Math.max(1, this.syncGen, this.gen - n + 1); g <= this.gen; g++) paths.push(this.segs[(g - 1) % n]!.path);
    return { paths, gen: this.gen, off: this.writeOff };
  }

  /** Records that a sync of `unsynced()`'s result completed. */
  markSynced(gen: number, off: number): void {
    if (gen > this.syncGen || (gen === this.syncGen && off > this.syncOff)) {
      this.syncGen = gen;
      this.syncOff = off;
    }
  }

  /**
   * Drops every reference to the mappings so the garbage collector can unmap them (Bun has no
   * explicit munmap); any later use of this log throws. The store syncs before calling this.
   */
  close(): void {
    this.closed = true;
    this.segs = [];
    this.last = undefined;
  }

  private reject(seq: number): never {
    if (this.closed) throw new Error(`log of ${this.stream} is closed`);
    throw new RangeError(`log of ${this.stream}: seq ${seq} is not greater than head ${this.head}`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`log of ${this.stream} is closed`);
  }

  // Slow path of append, taken near the end of a segment: exact size, then roll if needed.
  private makeRoom(data: string): number {
    const need = exactRecordBytes(data);
    if (need > this.segBytes - SEGMENT_HEADER_BYTES) {
      throw new RangeError(`log of ${this.stream}: event of ${need} bytes exceeds segment capacity ${this.segBytes - SEGMENT_HEADER_BYTES}`);
    }
    if (this.writeOff + need > this.segBytes) this.roll();
    return this.writeOff;
  }

  private roll(): void {
    const idx = (this.curIdx + 1) % this.segs.length;
    const base = idx * this.segBytes;
    // The index is in ring order, so the records being overwritten are the oldest ones.
    while (this.count > 0 && this.locs[this.front]! >= base && this.locs[this.front]! < base + this.segBytes) {
      this.front = (this.front + 1) & this.mask;
      this.count--;
    }
    this.enter(idx, this.gen + 1);
  }

  private enter(idx: number, gen: number): void {
    const seg = this.segs[idx]!;
    writeSegmentHeader(seg, this.id.logId, gen, this.head);
    this.cur = seg;
    this.curIdx = idx;
    this.curBase = idx * this.segBytes;
    this.gen = gen;
    this.writeOff = SEGMENT_HEADER_BYTES;
  }

  private push(seq: number, loc: number): void {
    if (this.count === this.maxEvents) {
      this.front = (this.front + 1) & this.mask;
      this.count--;
    } else if (this.count === this.seqs.length) {
      this.growIndex();
    }
    const i = (this.front + this.count) & this.mask;
    this.seqs[i] = seq;
    this.locs[i] = loc;
    this.count++;
  }

  private growIndex(): void {
    const cap = this.seqs.length * 2;
    const seqs = new Float64Array(cap);
    const locs = new Float64Array(cap);
    for (let k = 0; k < this.count; k++) {
      const i = (this.front + k) & this.mask;
      seqs[k] = this.seqs[i]!;
      locs[k] = this.locs[i]!;
    }
    this.seqs = seqs;
    this.locs = locs;
    this.mask = cap - 1;
    this.front = 0;
  }

  private decodeAt(loc: number): StreamEvent {
    const idx = Math.floor(loc / this.segBytes);
    return decodeRecord(this.segs[idx]!, loc - idx * this.segBytes, this.stream);
  }

  /**
   * Rebuilds the index from the segments: the newest valid header gives the current turn G; turns
   * G-1, G-2, ... are used while their segments still carry them. Each turn is read record by
   * record up to its first invalid one (torn by a crash, or stale from an earlier turn). When a
   * turn's last seq is not what the next turn's header says preceded it, that turn lost its tail
   * (only possible after a machine crash) and everything before the hole is dropped, so the log
   * always holds one contiguous run.
   */
  private recover(suspectLoss: boolean): void {
    const n = this.segs.length;
    const headers = this.segs.map((s) => readSegmentHeader(s, this.id.logId));
    let newest = 0;
    for (const h of headers) if (h !== undefined && h.gen > newest) newest = h.gen;
    if (newest === 0) {
      this.enter(0, 1);
      return;
    }
    let first = newest;
    while (first > 1 && newest - first + 1 < n && headers[(first - 2) % n]?.gen === first - 1) first--;

    let lastSeq = 0;
    let endOff = SEGMENT_HEADER_BYTES;
    for (let g = first; g <= newest; g++) {
      const idx = (g - 1) % n;
      const seg = this.segs[idx]!;
      if (g > first && headers[idx]!.prevLastSeq !== lastSeq) {
        this.front = 0;
        this.count = 0;
      }
      let off = SEGMENT_HEADER_BYTES;
      for (;;) {
        const end = validRecordEnd(seg, off, g);
        if (end < 0) break;
        const seq = recordSeq(seg, off);
        if (!(seq > lastSeq)) break;
        this.push(seq, idx * this.segBytes + off);
        lastSeq = seq;
        off = end;
      }
      endOff = off;
    }
    const idx = (newest - 1) % n;
    this.cur = this.segs[idx]!;
    this.curIdx = idx;
    this.curBase = idx * this.segBytes;
    this.gen = newest;
    this.writeOff = endOff;
    this.head = lastSeq;
    if (suspectLoss) {
      this.cur.u8.fill(0, endOff);
      syncSegmentFile(this.cur.path);
    }
  }
}
