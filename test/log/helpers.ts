/** Shared fixtures of the log tests: temp dirs and deterministic events. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SEGMENT_HEADER_BYTES, Segment, readSegmentHeader, recordSeq, validRecordEnd } from "../../src/log/segment.ts";
import { readMeta, segmentPath } from "../../src/log/stream-dir.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";

/** A fresh empty directory under the OS temp dir. */
export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ringlog-${tag}-`));
}

/** The data of `seq`: varying length, some non-ASCII, so a mix-up or a torn byte shows. */
export function dataFor(seq: number): string {
  const pad = "x".repeat(seq % 37);
  const uni = seq % 11 === 0 ? "é€😀" : "";
  return JSON.stringify({ e: "trade", s: "BTC_USDT", id: seq, p: (65000 + seq / 8).toFixed(2), q: "0.0125", pad, uni });
}

/** The event of `seq` in `stream`, with prev = seq - 1 and timestamps derived from seq. */
export function eventFor(stream: string, seq: number): StreamEvent {
  return { stream, seq, prev: seq - 1, data: dataFor(seq), sourceTs: 1_700_000_000_000 + seq, gatewayTs: 1_700_000_000_500 + seq };
}

/** Checks that `events` are exactly seqs from..to, each as eventFor made it. */
export function expectRun(events: StreamEvent[], stream: string, from: number, to: number): string | undefined {
  if (events.length !== to - from + 1) return `expected ${to - from + 1} events ${from}..${to}, got ${events.length}`;
  for (let i = 0; i < events.length; i++) {
    const got = events[i]!;
    const want = eventFor(stream, from + i);
    if (got.seq !== want.seq || got.prev !== want.prev || got.data !== want.data || got.sourceTs !== want.sourceTs || got.gatewayTs !== want.gatewayTs || got.stream !== stream) {
      return `event ${i} differs: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
    }
  }
  return undefined;
}

/** Where one valid record sits in a stream directory's segment files. */
export interface RecordSpot {
  path: string;
  gen: number;
  off: number;
  end: number;
  seq: number;
}

/** Valid records of every used segment of a closed stream log, in turn order (read, not mapped). */
export function scanRecords(streamDir: string): RecordSpot[] {
  const meta = readMeta(streamDir);
  if (meta === undefined) throw new Error(`no meta in ${streamDir}`);
  const segs: { seg: Segment; gen: number }[] = [];
  for (let i = 0; i < meta.segments; i++) {
    const p = segmentPath(streamDir, i);
    const b = new Uint8Array(fs.readFileSync(p));
    const seg = new Segment(p, i, b);
    const h = readSegmentHeader(seg, meta.logId);
    if (h !== undefined) segs.push({ seg, gen: h.gen });
  }
  segs.sort((a, b) => a.gen - b.gen);
  const out: RecordSpot[] = [];
  for (const { seg, gen } of segs) {
    for (let off = SEGMENT_HEADER_BYTES; ; ) {
      const end = validRecordEnd(seg, off, gen);
      if (end < 0) break;
      out.push({ path: seg.path, gen, off, end, seq: recordSeq(seg, off) });
      off = end;
    }
  }
  return out;
}

/** Overwrites bytes of a file in place (never truncates). */
export function patchFile(p: string, at: number, bytes: Uint8Array): void {
  const fd = fs.openSync(p, "r+");
  try {
    fs.writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `n` bytes of a file at `at`. */
export function readBytes(p: string, at: number, n: number): Uint8Array {
  const fd = fs.openSync(p, "r");
  try {
    const b = new Uint8Array(n);
    fs.readSync(fd, b, 0, n, at);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}
