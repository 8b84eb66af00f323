/**
 * Binary (FlatBuffers) vs JSON clients, delivered messages per second, in one run against one
 * gateway.
 *
 *   ./node_modules/.bin/bun bench/binary-vs-json.ts [--clients 2000] [--rates 25,50,75,100,150,200,300,400]
 *       [--seconds 3] [--mode client|raw] [--depth-levels 10]
 *
 * One in-process gateway (memory log, simulator off). Half the clients negotiate `cex.v2.fb`, half
 * `cex.v1.json`; each format's clients run in their own Worker thread, so each format has its own
 * event loop and neither decodes on the gateway's thread. Every client subscribes to the same three
 * streams (trades.btc_usdt, depth.btc_usdt with --depth-levels levels a side, ticker.btc_usdt), so
 * every injected event is delivered to every client. Events are injected in-process with
 * `gateway.embedded.publish` (a batch every 10 ms), at stepped rates; per step the workers report
 * how many frames their clients received in the measured window (by receive time, so a late
 * report does not skew it; a step starts after the previous one's backlog has drained). Below
 * saturation that equals what is offered; above it, it is what the format's clients can take
 * (they share the 2 cores with the gateway). Latency = receive time - data.timestamp (set at
 * injection), for both formats alike (--mode raw decodes nothing: no latency).
 *
 * --mode client (default): the typed GatewayClient (clients/ts): decode, dedupe, dispatch to a
 * typed handler — what an app pays. --mode raw: bare WebSockets that only count messages — the
 * transport alone. The ramp stops once both formats deliver < 80% of what is offered: the
 * delivered rate of that step is what the format's clients can take here.
 * Figures, no pass/fail. The machine is shared: compare formats within one run.
 */
import { SignJWT } from "jose";
import { loadConfig } from "../src/config/config.ts";
import { createGateway, type AssembledGateway } from "../src/create-gateway.ts";
import { openLogStore } from "../src/log/open-log-store.ts";
import { Logger } from "../src/util/logger.ts";
import { GatewayClient, type Format } from "../clients/ts/index.ts";
import { flagsOrExit, usageError } from "./flags.ts";

const STREAMS = ["trades.btc_usdt", "depth.btc_usdt", "ticker.btc_usdt"] as const;
const BUCKET_MS = 100;
/** One frame in LAT_SAMPLE has its latency recorded. */
const LAT_SAMPLE = 8;

interface WorkerInit {
  cmd: "init";
  url: string;
  token: string;
  format: Format;
  clients: number;
  mode: "client" | "raw";
}
type ToWorker = WorkerInit | { cmd: "window"; from: number; to: number } | { cmd: "close" };
interface WindowReport {
  cmd: "report";
  format: Format;
  frames: number;
  bytes: number;
  lat: number[];
  reconnects: number;
  duplicates: number;
  gaps: number;
}
type FromWorker = { cmd: "ready"; format: Format; ms: number } | WindowReport | { cmd: "error"; message: string };

// ---- worker: the clients of one format -----------------------------------------------------------

function workerMain(): void {
  const buckets = new Map<number, { frames: number; bytes: number; lat: number[] }>();
  let clients: GatewayClient[] = [];
  let sockets: WebSocket[] = [];
  let n = 0;
  let reconnects = 0;

  /** Counts a frame in the bucket of its receive time. */
  const record = (now: number, size: number, ts: number | undefined) => {
    const k = Math.floor(now / BUCKET_MS);
    let b = buckets.get(k);
    if (!b) buckets.set(k, (b = { frames: 0, bytes: 0, lat: [] }));
    b.frames++;
    b.bytes += size;
    if (++n % LAT_SAMPLE === 0 && ts !== undefined) b.lat.push(now - ts);
  };

  const post = (m: FromWorker) => postMessage(m);

  self.onmessage = async (ev: MessageEvent<ToWorker>) => {
    const m = ev.data;
    if (m.cmd === "init") {
      const t0 = performance.now();
      if (m.mode === "client") {
        const opened: Promise<void>[] = [];
        for (let i = 0; i < m.clients; i++) {
          const c = new GatewayClient({ url: m.url, format: m.format, token: m.token, heartbeat: false });
          c.subscribe(STREAMS, (f, meta) => record(meta.receivedAt, meta.size, (f.data as { timestamp?: number }).timestamp));
          c.on("state", (s) => s === "reconnecting" && reconnects++);
          opened.push(c.subscribe(STREAMS).ready);
          c.connect();
          clients.push(c);
          if (i % 100 === 99) await Promise.all(opened.splice(0));
        }
        await Promise.all(opened);
      } else {
        const proto = m.format === "fb" ? "cex.v2.fb" : "cex.v1.json";
        const acks: Promise<void>[] = [];
        for (let i = 0; i < m.clients; i++) {
          const ws = new WebSocket(m.url, [proto, `bearer.${m.token}`]);
          ws.binaryType = "arraybuffer";
          acks.push(
            new Promise<void>((resolve, reject) => {
              let acked = false;
              ws.onopen = () => ws.send(JSON.stringify({ action: "subscribe", streams: STREAMS, id: 1 }));
              ws.onerror = () => reject(new Error("socket error"));
              ws.onmessage = (e: MessageEvent) => {
                if (!acked) {
                  acked = true; // the first frame is the subscribe ack
                  resolve();
                  return;
                }
                const d = e.data as string | ArrayBuffer;
                record(Date.now(), typeof d === "string" ? d.length : d.byteLength, undefined);
              };
            }),
          );
          sockets.push(ws);
          if (i % 100 === 99) await Promise.all(acks.splice(0));
        }
        await Promise.all(acks);
      }
      post({ cmd: "ready", format: m.format, ms: Math.round(performance.now() - t0) });
    } else if (m.cmd === "window") {
      let frames = 0;
      let bytes = 0;
      const lat: number[] = [];
      for (const [k, b] of buckets) {
        const t = k * BUCKET_MS;
        if (t >= m.from && t + BUCKET_MS <= m.to) {
          frames += b.frames;
          bytes += b.bytes;
          for (const x of b.lat) lat.push(x);
        }
        if (t + BUCKET_MS <= m.to) buckets.delete(k);
      }
      const stats = clients.reduce((a, c) => ({ duplicates: a.duplicates + c.stats.duplicates, gaps: a.gaps + c.stats.gaps }), { duplicates: 0, gaps: 0 });
      post({ cmd: "report", format: clients[0]?.format ?? (sockets[0]?.protocol === "cex.v2.fb" ? "fb" : "json"), frames, bytes, lat, reconnects, ...stats });
    } else if (m.cmd === "close") {
      for (const c of clients) c.close();
      for (const s of sockets) s.close();
      clients = [];
      sockets = [];
      process.exit(0);
    }
  };
}

// ---- main: gateway, injector, report ---------------------------------------------------------------


function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! : NaN;
}

async function main(): Promise<void> {
  const flags = flagsOrExit({ clients: 2000, rates: "25,50,75,100,150,200,300,400", seconds: 3, mode: "client", "depth-levels": 10 });
  const { clients, seconds } = flags;
  const rates = flags.rates.split(",").map(Number);
  if (rates.some((r) => !Number.isFinite(r) || r <= 0)) usageError("--rates: comma-separated positive numbers");
  if (flags.mode !== "client" && flags.mode !== "raw") usageError("--mode client|raw");
  const mode = flags.mode as "client" | "raw";
  const levels = flags["depth-levels"];
  const perFormat = Math.floor(clients / 2);

  const secret = "bench-secret-binary-vs-json-0123456789";
  const cfg = loadConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    SIMULATOR: "0",
    JWT_SECRET: secret,
    ADMIN_TOKEN: "bench-admin",
    LOG_LEVEL: "warn",
    CONNECTIONS_PER_IP_PER_MIN: "1000000000",
    IDLE_TIMEOUT_SEC: "120",
  });
  const gateway = createGateway(cfg, { log: new Logger("warn"), logs: openLogStore({ kind: "memory", maxEvents: 10_000 }) });
  await gateway.start();
  const token = await new SignJWT({ roles: ["trader"] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("bench")
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(secret));

  console.log(`binary vs JSON clients — Bun ${Bun.version}, ${navigator.hardwareConcurrency} cores, mode ${mode}`);
  console.log(`${perFormat} fb + ${perFormat} json clients, each on trades/depth(${levels}x${levels})/ticker.btc_usdt; ${seconds} s per step`);

  // One event per stream first: the streams have logs, so subscribe acks carry their epochs.
  gateway.embedded.publish(STREAMS.map((stream) => ({ stream, data: { warmup: true } })));

  // One worker per format.
  const workers = new Map<Format, Worker>();
  const inbox = new Map<Format, ((m: FromWorker) => void)[]>();
  const next = (f: Format) => new Promise<FromWorker>((resolve) => inbox.get(f)!.push(resolve));
  for (const format of ["fb", "json"] as Format[]) {
    const w = new Worker(import.meta.url);
    inbox.set(format, []);
    w.onmessage = (e: MessageEvent<FromWorker>) => {
      if (e.data.cmd === "error") console.error(`worker ${format}: ${e.data.message}`);
      inbox.get(format)!.shift()?.(e.data);
    };
    w.onerror = (e) => console.error(`worker ${format}:`, e.message);
    workers.set(format, w);
  }
  const t0 = performance.now();
  const ready = await Promise.all(
    (["fb", "json"] as Format[]).map((format) => {
      const p = next(format);
      workers.get(format)!.postMessage({ cmd: "init", url: gateway.url, token, format, clients: perFormat, mode } satisfies ToWorker);
      return p;
    }),
  );
  console.log(`connected and subscribed ${clients} clients in ${((performance.now() - t0) / 1000).toFixed(1)} s (${ready.map((r) => r.cmd === "ready" && `${r.format} ${r.ms} ms`).join(", ")})`);

  // Frame sizes, for the record.
  let price = 64000;
  let id = 1;
  const payload = (i: number): { stream: string; data: unknown } => {
    const now = Date.now();
    price += (Math.random() - 0.5) * 5;
    const p = (x: number) => x.toFixed(1);
    switch (i % 3) {
      case 0:
        return { stream: STREAMS[0], data: { id: id++, price: p(price), qty: (Math.random() * 2).toFixed(4), side: Math.random() < 0.5 ? "buy" : "sell", timestamp: now } };
      case 1:
        return {
          stream: STREAMS[1],
          data: {
            bids: Array.from({ length: levels }, (_, k) => [p(price - 1 - k), (Math.random() * 5).toFixed(4)]),
            asks: Array.from({ length: levels }, (_, k) => [p(price + 1 + k), (Math.random() * 5).toFixed(4)]),
            firstUpdateId: id,
            lastUpdateId: id + 3,
            timestamp: now,
          },
        };
      default:
        return { stream: STREAMS[2], data: { price: p(price), volume: "1234.5678", high: "65000.0", low: "63000.0", change: "-0.42", timestamp: now } };
    }
  };

  const rows: string[][] = [];
  const best: Record<Format, number> = { fb: 0, json: 0 };
  for (const rate of rates) {
    // Inject: a batch every 10 ms (timers run late on a busy machine: the batch size follows the clock).
    let injected = 0;
    let k = 0;
    const start = performance.now();
    const iv = setInterval(() => {
      const n = Math.floor(((performance.now() - start) * rate) / 1000) - injected;
      if (n <= 0) return;
      gateway.embedded.publish(Array.from({ length: n }, () => payload(k++)));
      injected += n;
    }, 10);
    await Bun.sleep(500); // settle into the rate
    const from = Math.ceil(Date.now() / BUCKET_MS) * BUCKET_MS;
    const injectedAtFrom = injected;
    await Bun.sleep(seconds * 1000 + BUCKET_MS);
    const to = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS;
    const injectedRate = ((injected - injectedAtFrom) / (to - from + BUCKET_MS)) * 1000;
    clearInterval(iv);
    await Bun.sleep(2500); // let the clients drain what is queued before the report and the next step
    const reports = await Promise.all(
      (["fb", "json"] as Format[]).map((format) => {
        const p = next(format);
        workers.get(format)!.postMessage({ cmd: "window", from, to } satisfies ToWorker);
        return p;
      }),
    );
    const secs = (to - from) / 1000;
    const offered = injectedRate * perFormat;
    const cells: Record<Format, string[]> = { fb: [], json: [] };
    let saturated = 0;
    for (const r of reports) {
      if (r.cmd !== "report") continue;
      const rateDelivered = r.frames / secs;
      const share = rateDelivered / offered;
      const lat = r.lat.sort((a, b) => a - b);
      const latency = mode === "client" ? `${pct(lat, 0.5)}/${pct(lat, 0.99)}` : "-";
      if (share >= 0.95) best[r.format] = Math.max(best[r.format], rateDelivered);
      if (share < 0.8) saturated++;
      const extra = r.reconnects || r.gaps || r.duplicates ? ` (reconn ${r.reconnects}, gaps ${r.gaps}, dups ${r.duplicates})` : "";
      cells[r.format] = [fmt(rateDelivered), `${(share * 100).toFixed(0)}%`, latency, `${(r.bytes / r.frames || 0).toFixed(0)}`, `${(r.bytes / secs / 1048576).toFixed(1)}${extra}`];
    }
    rows.push([String(Math.round(injectedRate)), fmt(offered), ...cells.fb, ...cells.json]);
    printRows(rows);
    if (saturated === 2) break;
  }

  console.log(
    `\nhighest delivered rate with >= 95% of offered: fb ${fmt(best.fb)} msg/s, json ${fmt(best.json)} msg/s` +
      (best.fb && best.json ? ` (fb/json = ${(best.fb / best.json).toFixed(2)})` : ""),
  );
  for (const w of workers.values()) w.postMessage({ cmd: "close" } satisfies ToWorker);
  await Bun.sleep(200);
  for (const w of workers.values()) w.terminate();
  await gateway.shutdown(500);
  process.exit(0);
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : n.toFixed(0);
}

let printed = 0;
function printRows(rows: string[][]): void {
  const header = ["ev/s", "offered/fmt", "fb msg/s", "fb %", "fb p50/p99 ms", "fb B/msg", "fb MiB/s", "json msg/s", "json %", "json p50/p99 ms", "json B/msg", "json MiB/s"];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (r: string[]) => r.map((v, c) => (v ?? "").padStart(widths[c]!)).join("  ");
  if (printed === 0) {
    console.log(line(header));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
  for (; printed < rows.length; printed++) console.log(line(rows[printed]!));
}

if (Bun.isMainThread) await main();
else workerMain();
