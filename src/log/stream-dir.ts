/**
 * A stream's directory in the mmap store: its name on disk, its meta file, its segment files,
 * and opening (creating, resetting or recovering) its RingLog from them.
 *
 *   <root>/<sanitized stream>/meta.json     identity + geometry, written once per log (tmp + rename)
 *   <root>/<sanitized stream>/seg-000.log   fixed-size segments, see segment.ts
 */
import fs from "node:fs";
import path from "node:path";
import { type ResolvedLogOptions, randomEpoch } from "./log-options.ts";
import { RingLog } from "./ring-log.ts";
import { mapSegment, prepareSegmentFile } from "./segment.ts";

/** What meta.json records about one stream's log. */
export interface LogMeta {
  v: 1;
  /** The stream name as given (the directory name is sanitized). */
  stream: string;
  epoch: string;
  /** The epoch came from `epochFor` (source numbering) rather than being random. */
  fixedEpoch: boolean;
  /** Random id stamped into every segment header: segments of an earlier log are never read as ours. */
  logId: number;
  /** Geometry is fixed for the life of the log; changed options apply to logs created later. */
  segments: number;
  segmentBytes: number;
  createdAt: string;
}

const META = "meta.json";
const MAX_DIR_NAME = 200;

/**
 * The directory name of `stream`: letters, digits, "_", "-" and non-leading "." are kept; every
 * other byte of its UTF-8 becomes %XX. The mapping is injective, and as a leading "." is always
 * escaped no stream can become ".", ".." or a hidden file such as the store's ".lock". Overlong
 * names are cut and suffixed with "~" + a hash ("~" is never kept, so they collide with no short name).
 */
export function streamDirName(stream: string): string {
  if (stream.length === 0) throw new Error("stream name must not be empty");
  let out = "";
  for (const b of Buffer.from(stream, "utf8")) {
    const keep =
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b === 0x5f || b === 0x2d || (b === 0x2e && out.length > 0);
    out += keep ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  if (out.length > MAX_DIR_NAME) out = `${out.slice(0, MAX_DIR_NAME - 9)}~${(Bun.hash.crc32(stream) >>> 0).toString(16).padStart(8, "0")}`;
  return out;
}

/** Path of segment `i` in a stream directory. */
export function segmentPath(dir: string, i: number): string {
  return path.join(dir, `seg-${String(i).padStart(3, "0")}.log`);
}

/** The meta of the log in `dir`, or undefined when missing or unreadable (then the log is reset). */
export function readMeta(dir: string): LogMeta | undefined {
  let m: Partial<LogMeta>;
  try {
    m = JSON.parse(fs.readFileSync(path.join(dir, META), "utf8")) as Partial<LogMeta>;
  } catch {
    return undefined;
  }
  const ok =
    m.v === 1 &&
    typeof m.stream === "string" &&
    typeof m.epoch === "string" &&
    m.epoch.length > 0 &&
    typeof m.fixedEpoch === "boolean" &&
    Number.isInteger(m.logId) &&
    Number.isInteger(m.segments) &&
    (m.segments ?? 0) >= 2 &&
    Number.isInteger(m.segmentBytes) &&
    (m.segmentBytes ?? 0) % 8 === 0 &&
    (m.segmentBytes ?? 0) >= 4096;
  return ok ? (m as LogMeta) : undefined;
}

/** Replaces meta.json atomically; `durable` also fsyncs file and directory (used on the rare paths that need it). */
export function writeMeta(dir: string, meta: LogMeta, durable: boolean): void {
  const tmp = path.join(dir, `${META}.tmp`);
  const fd = fs.openSync(tmp, "w", 0o644);
  try {
    fs.writeSync(fd, JSON.stringify(meta, null, 2));
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, META));
  if (durable) fsyncDir(dir);
}

/** fsyncs a directory so a rename or create in it survives a machine crash; best effort. */
export function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  }
}

/** Stream names of the logs under `root` (read from their meta files). */
export function listStreams(root: string): Set<string> {
  const out = new Set<string>();
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const dir = path.join(root, e.name);
    const meta = readMeta(dir);
    if (meta !== undefined && streamDirName(meta.stream) === e.name) out.add(meta.stream);
  }
  return out;
}

/**
 * Opens the log of `stream` under `root`: recovers it when its meta matches the configuration,
 * otherwise creates it (meta missing, another stream's, or an epoch `epochFor` no longer gives),
 * invalidating any segment files already there. With `suspectLoss` a random epoch is replaced,
 * because a gateway-numbered stream whose tail was lost would reissue seqs clients already saw.
 */
export function openStreamLog(root: string, stream: string, opts: ResolvedLogOptions, suspectLoss: boolean): RingLog {
  const dir = path.join(root, streamDirName(stream));
  fs.mkdirSync(dir, { recursive: true });
  const fixed = opts.epochFor(stream);
  let meta = readMeta(dir);
  const matches =
    meta !== undefined && meta.stream === stream && (fixed !== undefined ? meta.fixedEpoch && meta.epoch === fixed : !meta.fixedEpoch);
  if (meta === undefined || !matches) {
    meta = newLogMeta(stream, opts);
    createStreamFiles(root, meta);
  } else {
    for (let i = 0; i < meta.segments; i++) prepareSegmentFile(segmentPath(dir, i), meta.segmentBytes, false);
    if (suspectLoss && !meta.fixedEpoch) {
      meta = { ...meta, epoch: randomEpoch() };
      writeMeta(dir, meta, true);
    }
  }
  return mapStreamLog(root, meta, opts.sizeOf(stream).maxEvents, suspectLoss);
}

/** The meta of a new log of `stream`: its epoch (source-given or random), a fresh logId, its size. */
export function newLogMeta(stream: string, opts: ResolvedLogOptions): LogMeta {
  const fixed = opts.epochFor(stream);
  const size = opts.sizeOf(stream);
  return {
    v: 1,
    stream,
    epoch: fixed ?? randomEpoch(),
    fixedEpoch: fixed !== undefined,
    logId: crypto.getRandomValues(new Int32Array(1))[0]!,
    segments: size.segments,
    segmentBytes: size.segmentBytes,
    createdAt: new Date().toISOString(),
  };
}

/**
 * Creates (or resets) the files of a new log: the slow, blocking part of opening one (directory,
 * preallocated segments, meta), safe to run on another thread (see log-creator.ts).
 */
export function createStreamFiles(root: string, meta: LogMeta): void {
  const dir = path.join(root, streamDirName(meta.stream));
  fs.mkdirSync(dir, { recursive: true });
  // Segments first, meta last: a crash in between leaves no meta, so the next open resets again.
  for (let i = 0; i < meta.segments; i++) prepareSegmentFile(segmentPath(dir, i), meta.segmentBytes, true);
  writeMeta(dir, meta, false);
}

/** Maps the prepared segment files of a log and recovers (or starts) its RingLog. */
export function mapStreamLog(root: string, meta: LogMeta, maxEvents: number, suspectLoss: boolean): RingLog {
  const dir = path.join(root, streamDirName(meta.stream));
  const segs = [];
  for (let i = 0; i < meta.segments; i++) segs.push(mapSegment(segmentPath(dir, i), i, meta.segmentBytes));
  return new RingLog(meta.stream, { epoch: meta.epoch, logId: meta.logId }, segs, maxEvents, suspectLoss);
}
