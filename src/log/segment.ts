/**
 * Segment file format and record codec of the mmap ring log.
 *
 * A segment is a fixed-size, pre-filled file mapped once (MAP_SHARED) and never truncated, since
 * truncating a mapped file turns the next access into SIGBUS. Everything is written through typed
 * views over the mapping, in host byte order (little-endian on every platform Bun ships for).
 *
 * Segment header, 64 bytes (int32 words):
 *   0 magic "RLG1" | 1 version | 2 logId | 3 gen | 4-5 prevLastSeq (f64) | 6 segment index
 *   7 segment bytes | 8-14 reserved (0) | 15 checksum of words 0..13
 * `gen` counts how many times the stream's log has rolled into a segment (1 = first use; 0 = never
 * used); segment i always holds a gen with (gen - 1) % segments === i. `prevLastSeq` is the seq of
 * the last record written before this segment was entered, which is how recovery notices that the
 * tail of the previous segment never reached the disk.
 *
 * Record, 8-byte aligned, 48-byte header then the `data` JSON text as UTF-8, zero-padded to 8:
 *   word 0 data length | word 1 checksum | word 2 gen | word 3 reserved (0)
 *   f64 at +16 seq | +24 prev | +32 sourceTs | +40 gatewayTs
 * The checksum covers words 2.. through the padding, seeded with the length. Because it includes
 * `gen`, records left over from an earlier turn of the ring never validate, so a segment needs no
 * clearing when it is reused. The checksum word is stored last: a process killed mid-append leaves
 * a record that fails validation, never one that half-validates.
 */
import fs from "node:fs";
import type { StreamEvent } from "../../protocol/stream-event.ts";

/** Bytes of the header at the start of every segment file; the first record starts here. */
export const SEGMENT_HEADER_BYTES = 64;
/** Bytes of the header in front of every record's data. */
export const RECORD_HEADER_BYTES = 48;

const MAGIC = 0x31474c52; // "RLG1"
const VERSION = 1;

// Bun's undocumented-but-stable Buffer#utf8Write writes at an offset without allocating a
// subarray or a result object: measured ~30-50 ns for a 150-byte event against ~90-140 ns for
// TextEncoder.encodeInto(str, u8.subarray(off)). encodeInto stays as the fallback.
interface Utf8Writer {
  utf8Write(s: string, offset: number): number;
}
const encoder = new TextEncoder();
const hasUtf8Write = typeof (Buffer.prototype as unknown as Partial<Utf8Writer>).utf8Write === "function";

/** One mapped segment file and the typed views the codec reads and writes through. */
export class Segment {
  readonly u8: Uint8Array;
  readonly buf: Buffer;
  readonly i32: Int32Array;
  readonly f64: Float64Array;

  constructor(readonly path: string, readonly index: number, bytes: Uint8Array) {
    this.u8 = bytes;
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.i32 = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 2);
    this.f64 = new Float64Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 3);
  }

  get bytes(): number {
    return this.u8.byteLength;
  }
}

/**
 * Cheap 32-bit checksum of int32 words [from, to) (an even count), seeded. A two-lane
 * multiply-rotate hash in plain JS: ~30-45 ns for a 150-byte record, where Bun.hash.crc32 costs
 * ~100-190 ns because it needs a subarray per call plus a native call. It only has to catch torn,
 * zeroed or stale bytes, not adversaries.
 */
export function checksum(w: Int32Array, from: number, to: number, seed: number): number {
  let a = 0x2545f491 ^ seed;
  let b = 0x6c8e9cf5 ^ (to - from);
  for (let i = from; i < to; i += 2) {
    a = Math.imul(a ^ w[i]!, 0x9e3779b1);
    a = (a << 13) | (a >>> 19);
    b = Math.imul(b ^ w[i + 1]!, 0x85ebca77);
    b = (b << 17) | (b >>> 15);
  }
  a ^= Math.imul(b, 0xc2b2ae3d);
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  return a | 0;
}

/** Marks `seg` as the log's current segment for turn `gen` of the ring. */
export function writeSegmentHeader(seg: Segment, logId: number, gen: number, prevLastSeq: number): void {
  const w = seg.i32;
  w.fill(0, 0, SEGMENT_HEADER_BYTES >> 2);
  w[0] = MAGIC;
  w[1] = VERSION;
  w[2] = logId;
  w[3] = gen;
  seg.f64[2] = prevLastSeq;
  w[6] = seg.index;
  w[7] = seg.bytes;
  w[15] = checksum(w, 0, 14, MAGIC);
}

/** What a valid segment header says. */
export interface SegmentHeader {
  gen: number;
  prevLastSeq: number;
}

/** The header of `seg` if it is valid and belongs to log `logId` and a used turn, else undefined. */
export function readSegmentHeader(seg: Segment, logId: number): SegmentHeader | undefined {
  const w = seg.i32;
  if (w[0] !== MAGIC || w[1] !== VERSION || w[2] !== logId || w[6] !== seg.index || w[7] !== seg.bytes) return undefined;
  if (w[15] !== checksum(w, 0, 14, MAGIC)) return undefined;
  const gen = w[3]!;
  if (gen < 1) return undefined;
  return { gen, prevLastSeq: seg.f64[2]! };
}

/** The most bytes a record of `data` can take: what must fit before the exact size is computed. */
export function worstCaseRecordBytes(data: string): number {
  // One UTF-16 unit never takes more than 3 UTF-8 bytes; +7 for padding.
  return RECORD_HEADER_BYTES + data.length * 3 + 7;
}

/** The exact bytes the record of `data` takes, padding included. */
export function exactRecordBytes(data: string): number {
  return (RECORD_HEADER_BYTES + Buffer.byteLength(data, "utf8") + 7) & ~7;
}

/** Writes `ev` at `off` (8-aligned, with room checked by the caller); returns where the next record goes. */
export function writeRecord(seg: Segment, off: number, gen: number, ev: StreamEvent): number {
  const dataAt = off + RECORD_HEADER_BYTES;
  const len = hasUtf8Write
    ? (seg.buf as unknown as Utf8Writer).utf8Write(ev.data, dataAt)
    : encoder.encodeInto(ev.data, seg.u8.subarray(dataAt)).written;
  const end = (dataAt + len + 7) & ~7;
  const u8 = seg.u8;
  for (let i = dataAt + len; i < end; i++) u8[i] = 0;
  const w = seg.i32;
  const f = seg.f64;
  const wi = off >> 2;
  const fi = off >> 3;
  w[wi + 2] = gen;
  w[wi + 3] = 0;
  f[fi + 2] = ev.seq;
  f[fi + 3] = ev.prev;
  f[fi + 4] = ev.sourceTs;
  f[fi + 5] = ev.gatewayTs;
  w[wi] = len;
  w[wi + 1] = checksum(w, wi + 2, end >> 2, len);
  return end;
}

/** End offset of the valid record of turn `gen` at `off`, or -1 when there is none (torn, stale, free). */
export function validRecordEnd(seg: Segment, off: number, gen: number): number {
  if (off + RECORD_HEADER_BYTES > seg.bytes) return -1;
  const w = seg.i32;
  const wi = off >> 2;
  if (w[wi + 2] !== gen) return -1;
  const len = w[wi]!;
  if (len < 0 || len > seg.bytes) return -1;
  const end = (off + RECORD_HEADER_BYTES + len + 7) & ~7;
  if (end > seg.bytes) return -1;
  if (w[wi + 1] !== checksum(w, wi + 2, end >> 2, len)) return -1;
  return end;
}

/** The seq of the record at `off`. */
export function recordSeq(seg: Segment, off: number): number {
  return seg.f64[(off >> 3) + 2]!;
}

/** The record at `off` as an event of `stream`. */
export function decodeRecord(seg: Segment, off: number, stream: string): StreamEvent {
  const fi = off >> 3;
  const f = seg.f64;
  const dataAt = off + RECORD_HEADER_BYTES;
  return {
    stream,
    seq: f[fi + 2]!,
    prev: f[fi + 3]!,
    data: seg.buf.toString("utf8", dataAt, dataAt + seg.i32[off >> 2]!),
    sourceTs: f[fi + 4]!,
    gatewayTs: f[fi + 5]!,
  };
}

const ZEROS = new Uint8Array(1 << 16);

/**
 * Makes `path` a segment file of at least `bytes` bytes of real blocks (posix_fallocate, else
 * written zeros), not a sparse hole, so a full disk fails here with ENOSPC instead of as SIGBUS on
 * a mapped write.
 * Never shrinks: the file may still be mapped from an earlier open in this process.
 * With `invalidate`, also zeroes the header so no earlier log's records are taken for ours.
 */
export function prepareSegmentFile(path: string, bytes: number, invalidate: boolean): void {
  const fd = fs.openSync(path, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
  try {
    let size = fs.fstatSync(fd).size;
    if (invalidate && size > 0) fs.writeSync(fd, ZEROS, 0, Math.min(SEGMENT_HEADER_BYTES, size), 0);
    if (size < bytes && allocate(fd, size, bytes - size)) return;
    while (size < bytes) size += fs.writeSync(fd, ZEROS, 0, Math.min(ZEROS.length, bytes - size), size);
  } finally {
    fs.closeSync(fd);
  }
}

let fallocate: ((fd: number, offset: number, len: number) => number) | null | undefined;

/**
 * Reserves real blocks with posix_fallocate (through bun:ffi): the same ENOSPC-at-creation
 * guarantee as writing zeros, without dirtying pages. A new stream's first event opens its log on
 * the event loop; zero-filling 4 MiB cost 5-40 ms there under load (and writeback after), which
 * every other stream waited for. False when unavailable, so the caller writes zeros.
 */
function allocate(fd: number, offset: number, len: number): boolean {
  if (fallocate === undefined) {
    try {
      const { dlopen, FFIType } = require("bun:ffi") as typeof import("bun:ffi");
      const lib = dlopen("libc.so.6", { posix_fallocate: { args: [FFIType.i32, FFIType.i64, FFIType.i64], returns: FFIType.i32 } });
      fallocate = (f, o, l) => lib.symbols.posix_fallocate(f, o, l) as number;
    } catch {
      fallocate = null;
    }
  }
  if (fallocate === null) return false;
  const err = fallocate(fd, offset, len);
  if (err === 0) return true;
  if (err === 28) throw Object.assign(new Error(`ENOSPC: no space left for a log segment of ${len} bytes`), { code: "ENOSPC" });
  return false;
}

/** Maps the first `bytes` bytes of a prepared segment file (shared: writes reach the file). */
export function mapSegment(path: string, index: number, bytes: number): Segment {
  // `size` is accepted by Bun.mmap but missing from @types/bun 1.3.3.
  const opts = { shared: true, size: bytes } as Bun.MMapOptions;
  const mapped = Bun.mmap(path, opts);
  if (mapped.byteLength !== bytes) throw new Error(`segment ${path}: mapped ${mapped.byteLength} bytes, expected ${bytes}`);
  return new Segment(path, index, mapped);
}

/** fdatasyncs a segment file: on Linux this writes back pages dirtied through any shared mapping of it. */
export function syncSegmentFile(path: string): void {
  const fd = fs.openSync(path, "r");
  try {
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Async form of syncSegmentFile, for the periodic sync that must not block the event loop. */
export async function syncSegmentFileAsync(path: string): Promise<void> {
  const fh = await fs.promises.open(path, "r");
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}
