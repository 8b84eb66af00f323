/**
 * Codec micro-benchmark: bytes per frame and encode/decode ns per frame, JSON vs FlatBuffers, for
 * a trade, a 20-level depth and a ticker frame. Bounded: every cell is the best of ROUNDS runs of
 * at most MAX_MS (and MAX_ITERS iterations) after a warm-up, so the whole run takes under 30 s
 * (about 16 s here). Best-of-N because a shared 2-core machine is noisy.
 *
 *   ./node_modules/.bin/bun bench/codec.ts
 *
 * JSON encode = encodeDataFrameJson (string concatenation, data not parsed); "json+utf8" adds the
 * UTF-8 encoding a socket write of the string needs (what Bun's publish does with it). JSON decode
 * = JSON.parse of the frame text, as a client does. FlatBuffers encode = encodeDataFrameFb with
 * the event as the pipeline hands it (`value`: the payload the router already parsed; a depth
 * event's stamped payload), building the fixed-point payload and copying the bytes; "fb (text)" is
 * the same from the JSON text alone (a parse more). Decode = decodeFrameFb to the same object as
 * JSON.parse. The last lines are the same-run ratios against issue 10's targets.
 */
import { decodeFrameFb, encodeDataFrameFb } from "../src/codec/flatbuffers-codec.ts";
import { encodeDataFrameJson } from "../src/codec/json-codec.ts";
import type { StreamEvent } from "../protocol/stream-event.ts";
import { flagsOrExit } from "./flags.ts";

// No flags: any argument is a mistake, said at once rather than ignored.
flagsOrExit({});

const MAX_MS = 400;
const ROUNDS = 3;
const MAX_ITERS = 2_000_000;
const WARMUP_ITERS = 50_000;

const now = Date.now();
const trade = { id: 123456789, price: "65012.34000000", qty: "0.01230000", side: "buy", timestamp: now };
const ticker = {
  price: "65012.34",
  volume: "18234.56789012",
  high: "66100.00",
  low: "63950.10",
  change: "-1.52",
  timestamp: now,
};
const level = (p: number, i: number): [string, string] => [p.toFixed(2), (0.01 * (i + 1)).toFixed(8)];
const depth = {
  type: "snapshot",
  bids: Array.from({ length: 20 }, (_, i) => level(65012.34 - i * 0.01, i)),
  asks: Array.from({ length: 20 }, (_, i) => level(65012.35 + i * 0.01, i)),
  firstUpdateId: 7_000_000_001,
  lastUpdateId: 7_000_000_020,
  checksum: 3_141_592_653,
  timestamp: now,
};

const cases: [string, StreamEvent][] = [
  ["trade", ev("trades.btc_usdt", trade)],
  ["depth20", ev("depth.btc_usdt", depth)],
  ["ticker", ev("ticker.btc_usdt", ticker)],
];

function ev(stream: string, data: unknown): StreamEvent {
  return { stream, seq: 5_000_000_000, prev: 4_999_999_999, data: JSON.stringify(data), sourceTs: now, gatewayTs: now };
}

let sink = 0;

/** ns per call of fn(i): best of ROUNDS timed runs, each bounded by MAX_MS / MAX_ITERS. */
function measure(fn: (i: number) => number): number {
  for (let i = 0; i < WARMUP_ITERS; i++) sink += fn(i);
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const deadline = Bun.nanoseconds() + MAX_MS * 1e6;
    const start = Bun.nanoseconds();
    let iters = 0;
    // Check the clock every 256 calls so the timer itself costs little.
    while (iters < MAX_ITERS) {
      for (let j = 0; j < 256; j++) sink += fn(iters + j);
      iters += 256;
      if (Bun.nanoseconds() > deadline) break;
    }
    best = Math.min(best, (Bun.nanoseconds() - start) / iters);
  }
  return best;
}

const utf8 = new TextEncoder();
const scratch = new Uint8Array(1 << 16);
const rows: string[][] = [];
const ratios: string[] = [];
const started = Date.now();
for (const [name, base] of cases) {
  const texts = Array.from({ length: 1024 }, (_, i) => ({ ...base, seq: base.seq + i, prev: base.prev + i }));
  const evs = texts.map((e) => ({ ...e, value: JSON.parse(e.data) as unknown }));
  const jsonFrames = evs.map((ev) => encodeDataFrameJson(ev));
  const fbFrames = evs.map((ev) => encodeDataFrameFb(ev));
  const jsonBytes = utf8.encode(jsonFrames[0]!).length;
  const fbBytes = fbFrames[0]!.length;

  const jsonEnc = measure((i) => encodeDataFrameJson(evs[i & 1023]!).length);
  const jsonUtf8 = measure((i) => utf8.encodeInto(encodeDataFrameJson(evs[i & 1023]!), scratch).written);
  const fbEnc = measure((i) => encodeDataFrameFb(evs[i & 1023]!).length);
  const fbText = measure((i) => encodeDataFrameFb(texts[i & 1023]!).length);
  const jsonDec = measure((i) => (JSON.parse(jsonFrames[i & 1023]!) as { seq: number }).seq);
  const fbDec = measure((i) => (decodeFrameFb(fbFrames[i & 1023]!) as { seq: number }).seq);

  rows.push([name, "json", String(jsonBytes), jsonEnc.toFixed(0), jsonUtf8.toFixed(0), jsonDec.toFixed(0)]);
  rows.push([name, "flatbuffers", String(fbBytes), fbEnc.toFixed(0), `(text ${fbText.toFixed(0)})`, fbDec.toFixed(0)]);
  ratios.push(
    `${name}: bytes fb/json ${(fbBytes / jsonBytes).toFixed(2)} (target <= ${name === "depth20" ? "0.50" : name === "trade" ? "0.70" : "-"}); ` +
      `encode fb/json ${(fbEnc / jsonEnc).toFixed(2)}, fb/(json+utf8) ${(fbEnc / jsonUtf8).toFixed(2)} (target <= 1.5); ` +
      `decode fb/JSON.parse ${(fbDec / jsonDec).toFixed(2)} (target <= 1.0)`,
  );
}

const header = ["frame", "format", "bytes", "encode ns", "json+utf8 / fb (text)", "decode ns"];
const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
const line = (r: string[]) => r.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join("  ");
console.log(`codec bench (Bun ${Bun.version}, best of ${ROUNDS} x ${MAX_MS} ms per cell)`);
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
for (const r of ratios) console.log(r);
console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)${sink === 0.5 ? " " : ""}`);
