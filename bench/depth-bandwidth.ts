/**
 * Bytes per second to one depth subscriber: full book snapshots on every update (what depth
 * streams sent before issue 10) against level diffs (`depth.<pair>`), the 100 ms conflated view
 * (`depth.<pair>@100ms`) and the top-20 view (`depth20.<pair>`), in both formats, in one run.
 *
 *   ./node_modules/.bin/bun bench/depth-bandwidth.ts [--rate 50] [--seconds 10]
 *
 * One in-process gateway (memory log, simulator off) is fed by the simulator's moving book
 * (src/sources/embedded/simulated-book.ts, ~40 levels a side, 1-6 level changes per update) at
 * --rate updates/s through the embedded source. One raw WebSocket per format subscribes to the three
 * streams and counts the bytes it receives per stream. The full-snapshot figure is the size of the
 * snapshot frame of the gateway's book after each update (the same encoder), summed: what a
 * subscriber would receive if every update were sent as the whole book. Figures, no pass/fail.
 */
import { SignJWT } from "jose";
import { flagsOrExit } from "./flags.ts";
import { loadConfig } from "../src/config/config.ts";
import { createGateway } from "../src/create-gateway.ts";
import { openLogStore } from "../src/log/open-log-store.ts";
import { SimulatedBook } from "../src/sources/embedded/simulated-book.ts";
import { Logger } from "../src/util/logger.ts";

const flags = flagsOrExit({ rate: 50, seconds: 10 });
const rate = flags.rate;
const seconds = flags.seconds;
const PAIR = "btc_usdt";
const STREAMS = [`depth.${PAIR}`, `depth.${PAIR}@100ms`, `depth20.${PAIR}`];
const secret = "bench-secret-depth-bandwidth-0123456789";

const cfg = loadConfig({ HOST: "127.0.0.1", PORT: "0", SIMULATOR: "0", JWT_SECRET: secret, ADMIN_TOKEN: "bench-admin", LOG_LEVEL: "warn", LOG_DIR: "" });
const gateway = createGateway(cfg, { log: new Logger("warn"), logs: openLogStore({ kind: "memory", maxEvents: 100_000 }) });
await gateway.start();
const token = await new SignJWT({ roles: ["trader"] }).setProtectedHeader({ alg: "HS256" }).setSubject("bench").setExpirationTime("1h").sign(new TextEncoder().encode(secret));

type Fmt = "json" | "fb";
const received: Record<Fmt, Record<string, number>> = { json: {}, fb: {} };
const frames: Record<Fmt, Record<string, number>> = { json: {}, fb: {} };
let counting = false;
async function connect(format: Fmt): Promise<WebSocket> {
  const ws = new WebSocket(gateway.url, [format === "fb" ? "cex.v2.fb" : "cex.v1.json", `bearer.${token}`]);
  ws.binaryType = "arraybuffer";
  const { decodeFrameFb } = await import("../protocol/fb/decoder.ts");
  await new Promise<void>((resolve, reject) => {
    ws.onopen = () => {
      ws.send(JSON.stringify({ action: "subscribe", streams: STREAMS, id: 1 }));
      resolve();
    };
    ws.onerror = () => reject(new Error("socket error"));
  });
  ws.onmessage = (e: MessageEvent) => {
    const d = e.data as string | ArrayBuffer;
    const f = (typeof d === "string" ? JSON.parse(d) : decodeFrameFb(new Uint8Array(d))) as { stream?: string };
    if (!counting || f.stream === undefined) return;
    const size = typeof d === "string" ? Buffer.byteLength(d) : d.byteLength;
    received[format][f.stream] = (received[format][f.stream] ?? 0) + size;
    frames[format][f.stream] = (frames[format][f.stream] ?? 0) + 1;
  };
  return ws;
}
const sockets = [await connect("json"), await connect("fb")];

const book = new SimulatedBook(1, Math.random);
let price = 64000;
gateway.embedded.publish([{ stream: STREAMS[0]!, data: book.snapshot(price) }]);
await Bun.sleep(300);
counting = true;
const full: Record<Fmt, number> = { json: 0, fb: 0 };
let updates = 0;
const start = performance.now();
while (performance.now() - start < seconds * 1000) {
  const due = Math.floor(((performance.now() - start) * rate) / 1000) - updates;
  for (let i = 0; i < due; i++) {
    price *= 1 + (Math.random() - 0.5) * 0.0002;
    gateway.embedded.publish([{ stream: STREAMS[0]!, data: book.update(price) }]);
    updates++;
    const j = gateway.depth.snapshotFrame(STREAMS[0]!, "json") as string;
    full.json += Buffer.byteLength(j);
    full.fb += (gateway.depth.snapshotFrame(STREAMS[0]!, "fb") as Uint8Array).byteLength;
  }
  await Bun.sleep(5);
}
const elapsed = (performance.now() - start) / 1000;
await Bun.sleep(300); // the last window of the throttled view
counting = false;

const levels = gateway.depth.books.book(STREAMS[0]!);
console.log(`depth bandwidth — Bun ${Bun.version}; ${updates} updates in ${elapsed.toFixed(1)} s (${(updates / elapsed).toFixed(0)}/s), book ${levels.bids.length}+${levels.asks.length} levels`);
const rows: string[][] = [];
const kb = (b: number) => ((b / elapsed) / 1024).toFixed(1);
for (const format of ["json", "fb"] as Fmt[]) {
  const base = full[format];
  rows.push([format, "full snapshot per update (before)", kb(base), String(updates), (base / updates).toFixed(0), "1.00"]);
  for (const [label, s] of [["diffs depth.btc_usdt", STREAMS[0]!], ["diffs @100ms", STREAMS[1]!], ["top-20 depth20", STREAMS[2]!]] as const) {
    const b = received[format][s] ?? 0;
    const n = frames[format][s] ?? 0;
    rows.push([format, label, kb(b), String(n), n ? (b / n).toFixed(0) : "-", (b / base).toFixed(3)]);
  }
}
const header = ["format", "what a subscriber receives", "KiB/s", "frames", "B/frame", "vs full"];
const w = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
const line = (r: string[]) => r.map((v, c) => (c < 2 ? v.padEnd(w[c]!) : v.padStart(w[c]!))).join("  ");
console.log(line(header));
for (const r of rows) console.log(line(r));
for (const ws of sockets) ws.close();
await gateway.shutdown(200);
process.exit(0);
