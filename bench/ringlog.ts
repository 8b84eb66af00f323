/**
 * RingLog benchmark: append cost per event against the same loop without a log, replay
 * throughput, recovery time of a full log, and the codec choices behind segment.ts.
 * Prints figures only (no thresholds). Bounded: well under a minute on a busy 2-core machine.
 *
 *   ./node_modules/.bin/bun bench/ringlog.ts
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { StreamLog } from "../src/log/log-store.ts";
import { MemoryLogStore } from "../src/log/memory-log-store.ts";
import { MmapLogStore } from "../src/log/mmap-log-store.ts";
import { checksum } from "../src/log/segment.ts";
import type { StreamEvent } from "../protocol/stream-event.ts";
import { flagsOrExit } from "./flags.ts";

// No flags: any argument is a mistake, said at once rather than ignored.
flagsOrExit({});

const N = 1_000_000;
const ROUNDS = 5;
const STREAM = "trades.btc_usdt";

// ~150-byte trade events, 1,024 variants so the loop does not hit one cached string.
const DATA: string[] = [];
for (let i = 0; i < 1024; i++) {
  DATA.push(
    JSON.stringify({ e: "trade", s: "BTC_USDT", t: 1_700_000_000_000 + i, p: (65_000 + i / 7).toFixed(2), q: (i / 997).toFixed(6), m: i % 2 === 0, id: 4_000_000_000 + i, bo: 880_000_000 + i, so: 880_100_000 + i, v: "spot" }),
  );
}
const avgBytes = DATA.reduce((a, d) => a + d.length, 0) / DATA.length;

const sink: StreamEvent[] = new Array(1024);
let seqBase = 0;

/** ns per event of building N events and handing each to `take` (the pipeline's shape). */
function loop(take: (ev: StreamEvent) => void): number {
  const base = seqBase;
  const t0 = Bun.nanoseconds();
  for (let i = 1; i <= N; i++) {
    const seq = base + i;
    take({ stream: STREAM, seq, prev: seq - 1, data: DATA[i & 1023]!, sourceTs: 1_700_000_000_000 + i, gatewayTs: 1_700_000_000_001 + i });
  }
  const ns = (Bun.nanoseconds() - t0) / N;
  seqBase += N;
  return ns;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}
function fmt(ns: number): string {
  return `${ns.toFixed(1).padStart(7)} ns/event`;
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ringlog-bench-"));
try {
  console.log(`RingLog bench: ${N.toLocaleString()} appends x ${ROUNDS} rounds, events of ${avgBytes.toFixed(0)} bytes of data`);
  console.log(`defaults: 4 segments x 1 MiB, maxEvents 10,000; bun ${Bun.version}, ${os.cpus().length} cpus\n`);

  // --- append vs baseline -------------------------------------------------------------------
  const store = new MmapLogStore({ dir: path.join(root, "one") });
  const log = store.get(STREAM);
  const mem = new MemoryLogStore().get(STREAM);
  let k = 0;
  const baseline = (ev: StreamEvent) => {
    sink[k++ & 1023] = ev;
  };
  const viaLog = (l: StreamLog) => (ev: StreamEvent) => l.append(ev);
  // Warm-up: JIT tiers, and the first touch of every mapped page.
  for (let w = 0; w < 2; w++) {
    loop(baseline);
    loop(viaLog(log));
    loop(viaLog(mem));
  }
  const results: Record<string, number[]> = { baseline: [], mmap: [], memory: [] };
  for (let r = 0; r < ROUNDS; r++) {
    results.baseline!.push(loop(baseline));
    results.mmap!.push(loop(viaLog(log)));
    results.memory!.push(loop(viaLog(mem)));
  }
  const b = median(results.baseline!);
  const m = median(results.mmap!);
  const me = median(results.memory!);
  console.log("append (median of rounds)");
  console.log(`  baseline (build event, no log) ${fmt(b)}`);
  console.log(`  RingLog.append (mmap)          ${fmt(m)}   +${(m - b).toFixed(1)} ns over baseline`);
  console.log(`  MemoryLog.append (reference)   ${fmt(me)}`);
  const ratioOfMins = Math.min(...results.mmap!) / Math.min(...results.baseline!);
  console.log(`  RATIO mmap log / baseline = ${(m / b).toFixed(2)}x (medians), ${ratioOfMins.toFixed(2)}x (best rounds)`);
  console.log(`  rounds, ns/event: baseline ${results.baseline!.map((x) => x.toFixed(0)).join(", ")}; mmap ${results.mmap!.map((x) => x.toFixed(0)).join(", ")}\n`);

  // --- replay ----------------------------------------------------------------------------------
  const pos = log.position();
  let replayed = 0;
  const tr = Bun.nanoseconds();
  while (Bun.nanoseconds() - tr < 1.5e9) {
    for (let after = pos.oldest - 1; after < pos.head; ) {
      const batch = log.readAfter(after, 500);
      replayed += batch.length;
      after = batch[batch.length - 1]!.seq;
    }
  }
  const replaySec = (Bun.nanoseconds() - tr) / 1e9;
  console.log("replay");
  console.log(`  readAfter in batches of 500 over ${pos.head - pos.oldest + 1} held events: ${(replayed / replaySec / 1e6).toFixed(2)} M events/s\n`);
  store.close();

  // --- recovery ------------------------------------------------------------------------------
  console.log("recovery of a full log: 4 x 1 MiB written through, every record of all 4 segments validated");
  for (const maxEvents of [10_000, 1_000_000]) {
    const dir = path.join(root, `rec-${maxEvents}`);
    const s = new MmapLogStore({ dir, maxEvents });
    const l = s.get(STREAM);
    seqBase = 0;
    for (let i = 1; i <= 60_000; i++) l.append({ stream: STREAM, seq: i, prev: i - 1, data: DATA[i & 1023]!, sourceTs: i, gatewayTs: i });
    const want = l.position();
    s.close();
    const opens: number[] = [];
    const gets: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = Bun.nanoseconds();
      const s2 = new MmapLogStore({ dir, maxEvents });
      const t1 = Bun.nanoseconds();
      const p = s2.get(STREAM).position();
      gets.push((Bun.nanoseconds() - t1) / 1e6);
      opens.push((t1 - t0) / 1e6);
      if (p.head !== want.head || p.oldest !== want.oldest) throw new Error(`recovered ${JSON.stringify(p)}, want ${JSON.stringify(want)}`);
      s2.close();
    }
    console.log(
      `  maxEvents ${String(maxEvents).padEnd(9)} (holds ${want.head - want.oldest + 1}): get(stream) median ${median(gets).toFixed(2)} ms,` +
        ` min ${Math.min(...gets).toFixed(2)} ms; store open incl. lock fsync ${median(opens).toFixed(2)} ms`,
    );
  }

  // --- creating a stream's log ---------------------------------------------------------------
  const cs = new MmapLogStore({ dir: path.join(root, "create") });
  const tc = Bun.nanoseconds();
  for (let i = 0; i < 20; i++) cs.get(`new.stream_${i}`);
  console.log(`\ncreating a new stream's log (4 x 1 MiB preallocated files + meta): ${((Bun.nanoseconds() - tc) / 20 / 1e6).toFixed(2)} ms each`);
  cs.close();

  // --- many streams ----------------------------------------------------------------------------
  const streams = 200;
  const ms = new MmapLogStore({ dir: path.join(root, "many"), segments: 4, segmentBytes: 64 * 1024 });
  const logs = Array.from({ length: streams }, (_, i) => ms.get(`trades.p${i}`));
  const heads = new Array<number>(streams).fill(0);
  const roundRobin = (count: number): number => {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < count; i++) {
      const j = i % streams;
      const seq = ++heads[j]!;
      logs[j]!.append({ stream: "", seq, prev: seq - 1, data: DATA[i & 1023]!, sourceTs: i, gatewayTs: i });
    }
    return (Bun.nanoseconds() - t0) / count;
  };
  const cold = roundRobin(300_000); // every page of every segment touched for the first time
  const warm = roundRobin(600_000);
  console.log(`\n${streams} streams round-robin (4 x 64 KiB each): ${fmt(warm)} warm; ${fmt(cold)} while first touching pages`);
  ms.close();

  // --- codec choices ---------------------------------------------------------------------------
  const bytes = new Uint8Array(1 << 20);
  const buf = Buffer.from(bytes.buffer);
  const i32 = new Int32Array(bytes.buffer);
  const enc = new TextEncoder();
  const C = 300_000;
  const micro = (name: string, fn: (off: number, s: string) => number) => {
    let acc = 0;
    for (let w = 0; w < 2; w++) {
      const t0 = Bun.nanoseconds();
      for (let i = 0; i < C; i++) acc ^= fn((i & 2047) * 256, DATA[i & 1023]!);
      if (w === 1) console.log(`  ${name.padEnd(44)} ${fmt((Bun.nanoseconds() - t0) / C)}${acc === 0.5 ? "" : ""}`);
    }
  };
  console.log("\ncodec choices (per record of this size)");
  micro("TextEncoder.encodeInto(s, u8.subarray(off))", (off, s) => enc.encodeInto(s, bytes.subarray(off)).written);
  micro("Buffer#utf8Write(s, off)  [used]", (off, s) => (buf as unknown as { utf8Write(s: string, o: number): number }).utf8Write(s, off));
  micro("Bun.hash.crc32(u8.subarray(off, off+200))", (off) => Bun.hash.crc32(bytes.subarray(off, off + 200)));
  micro("JS checksum over 50 int32 words  [used]", (off) => checksum(i32, off >> 2, (off >> 2) + 50, 7));
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
