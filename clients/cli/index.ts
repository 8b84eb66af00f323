/**
 * Command-line client of the gateway, built on the typed client (clients/ts).
 *
 *   bun clients/cli --url ws://localhost:8080/ws --token $TOKEN --format fb subscribe ticker.btc_usdt trades.btc_usdt
 *   bun clients/cli --token $TOKEN --stats subscribe depth.btc_usdt trades.btc_usdt
 *   bun clients/cli --token $TOKEN snapshot ticker.btc_usdt
 *
 * Run `bun clients/cli --help` for every option.
 */
import { parseArgs } from "node:util";
import { GatewayClient, type DataFrame, type DepthData, type Format, type FrameMeta, type OrderData, type TickerData, type TradeData } from "../ts/index.ts";

export const USAGE = `Usage: bun clients/cli [options] <command> [args]

Commands:
  subscribe <stream...>   print the frames of these streams (e.g. ticker.btc_usdt trades.btc_usdt orders.user1)
  snapshot <stream>       print the latest event of a stream (GET /snapshot/{stream}) and exit

Options:
  --url <ws-url>          gateway WebSocket URL (env CEX_URL; default ws://localhost:8080/ws)
  --token <jwt>           bearer token (env CEX_TOKEN); the dev quick start prints one
  --format json|fb        wire format (default json); output is the same either way
  --raw                   one compact JSON line per frame instead of the pretty form
  --stats                 print a rate and latency summary every second instead of frames
  --frames                with --stats, print the frames too
  --duration <sec>        exit after this many seconds
  --count <n>             exit after this many data frames
  -q, --quiet             no connection/state messages on stderr
  -h, --help              this text

Latency (--stats) is receive time minus the gateway timestamp of the frame (FlatBuffers) or
minus data.timestamp (JSON, the producer's event time), in ms.
Exit codes: 0 done, 1 connection closed for good (e.g. kicked) or error, 2 bad usage.`;

export interface CliOptions {
  url: string;
  token?: string;
  format: Format;
  raw: boolean;
  stats: boolean;
  frames: boolean;
  quiet: boolean;
  duration?: number;
  count?: number;
  command: "subscribe" | "snapshot";
  streams: string[];
}

/** Parses argv (without the runtime and script); throws a usage error message. */
export function parseCli(argv: string[], env: Record<string, string | undefined> = process.env): CliOptions | "help" {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      format: { type: "string" },
      raw: { type: "boolean" },
      stats: { type: "boolean" },
      frames: { type: "boolean" },
      duration: { type: "string" },
      count: { type: "string" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return "help";
  const format = (values.format ?? "json") as Format;
  if (format !== "json" && format !== "fb") throw new Error(`--format must be json or fb, not ${values.format}`);
  const [command, ...streams] = positionals;
  if (command !== "subscribe" && command !== "snapshot") throw new Error(command ? `unknown command ${command}` : "missing command");
  if (streams.length === 0) throw new Error(`${command} needs at least one stream`);
  if (command === "snapshot" && streams.length !== 1) throw new Error("snapshot takes one stream");
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!(n > 0)) throw new Error(`--${name} must be a positive number`);
    return n;
  };
  return {
    url: values.url ?? env.CEX_URL ?? "ws://localhost:8080/ws",
    token: values.token ?? env.CEX_TOKEN,
    format,
    raw: !!values.raw,
    stats: !!values.stats,
    frames: !!values.frames,
    quiet: !!values.quiet,
    duration: num(values.duration, "duration"),
    count: num(values.count, "count"),
    command,
    streams,
  };
}

// ---- output ------------------------------------------------------------------------------------

const tty = !!process.stdout.isTTY;
const color = (code: number, s: string) => (tty ? `\x1b[${code}m${s}\x1b[0m` : s);
const green = (s: string) => color(32, s);
const red = (s: string) => color(31, s);
const dim = (s: string) => color(2, s);

function time(ms: number): string {
  return new Date(ms).toISOString().slice(11, 23);
}

function side(s: string): string {
  return s === "buy" ? green("BUY ") : red("SELL");
}

/** One human-readable line for a data frame. */
export function prettyFrame(f: DataFrame, meta: FrameMeta): string {
  const head = `${dim(time(meta.receivedAt))} ${f.stream} #${f.seq}${meta.replay ? dim(" (replay)") : ""}`;
  const kind = f.stream.slice(0, f.stream.indexOf("."));
  const d = f.data;
  try {
    switch (kind) {
      case "trades": {
        const t = d as TradeData;
        return `${head}  ${side(t.side)} ${t.qty} @ ${t.price}  id=${t.id}`;
      }
      case "ticker": {
        const t = d as TickerData;
        const ch = t.change.startsWith("-") ? red(t.change) : green(t.change);
        return `${head}  last ${t.price}  chg ${ch}  high ${t.high}  low ${t.low}  vol ${t.volume}`;
      }
      case "depth": {
        const b = d as DepthData;
        const bid = b.bids[0];
        const ask = b.asks[0];
        return `${head}  bid ${green(bid ? `${bid[1]} @ ${bid[0]}` : "-")} | ask ${red(ask ? `${ask[1]} @ ${ask[0]}` : "-")}  (${b.bids.length}x${b.asks.length} levels, upd ${b.lastUpdateId})`;
      }
      case "orders": {
        const o = d as OrderData;
        return `${head}  order ${o.orderId} ${o.pair} ${side(o.side)} ${o.type} ${o.status}  ${o.filledQty}/${o.qty} @ ${o.price}`;
      }
    }
  } catch {
    // payload of an unexpected shape: print it as JSON
  }
  return `${head}  ${JSON.stringify(d)}`;
}

/** Rate and latency over one window. */
export class StatsWindow {
  private count = 0;
  private bytes = 0;
  private readonly perKind = new Map<string, number>();
  private lat: number[] = [];
  private via = new Set<string>();

  add(f: DataFrame, meta: FrameMeta): void {
    this.count++;
    this.bytes += meta.size;
    const kind = f.stream.slice(0, f.stream.indexOf("."));
    this.perKind.set(kind, (this.perKind.get(kind) ?? 0) + 1);
    let ref: number | undefined;
    if (meta.gatewayTs) {
      ref = meta.gatewayTs;
      this.via.add("gatewayTs");
    } else {
      const ts = (f.data as { timestamp?: unknown } | null)?.timestamp;
      if (typeof ts === "number" && ts > 0) {
        ref = ts;
        this.via.add("data.timestamp");
      }
    }
    if (ref !== undefined) this.lat.push(meta.receivedAt - ref);
  }

  /** The summary line, and a reset. */
  flush(elapsedMs: number, extra: string): string {
    const secs = elapsedMs / 1000;
    const rate = (this.count / secs).toFixed(0);
    const kinds = [...this.perKind].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${(n / secs).toFixed(0)}`).join(", ");
    const l = this.lat.sort((a, b) => a - b);
    const q = (p: number) => l[Math.min(l.length - 1, Math.floor(p * l.length))] ?? 0;
    const latency = l.length
      ? `latency ms p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${l.at(-1)} (${[...this.via].join("+")})`
      : "latency n/a";
    const line = `${time(Date.now())} ${rate} msg/s${kinds ? ` (${kinds})` : ""}  ${(this.bytes / secs / 1024).toFixed(1)} KiB/s  ${latency}  ${extra}`;
    this.count = 0;
    this.bytes = 0;
    this.perKind.clear();
    this.lat = [];
    this.via.clear();
    return line;
  }
}

// ---- main --------------------------------------------------------------------------------------

export async function main(argv = process.argv.slice(2)): Promise<number> {
  let opts: CliOptions | "help";
  try {
    opts = parseCli(argv);
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (opts === "help") {
    console.log(USAGE);
    return 0;
  }
  const o = opts;
  const log = (msg: string) => {
    if (!o.quiet) console.error(dim(`# ${msg}`));
  };
  const client = new GatewayClient({ url: o.url, token: o.token, format: o.format });

  if (o.command === "snapshot") {
    try {
      const snap = await client.snapshot(o.streams[0]!);
      console.log(o.raw ? JSON.stringify(snap) : JSON.stringify(snap, null, 2));
      return 0;
    } catch (err) {
      console.error((err as Error).message);
      return 1;
    }
  }

  return new Promise<number>((resolve) => {
    let finished = false;
    let delivered = 0;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      for (const t of timers) clearTimeout(t);
      client.close();
      const s = client.stats;
      log(`frames ${s.delivered} delivered, ${s.duplicates} duplicates dropped, ${s.gaps} gaps, ${s.resumes} resumes, ${s.connects} connections`);
      resolve(code);
    };

    client.on("state", (state, info) => {
      const detail = info.delayMs !== undefined ? ` (attempt ${info.attempt}, retry in ${info.delayMs} ms)` : "";
      log(`${state}${info.code !== undefined ? ` after close ${info.code}${info.reason ? ` ${info.reason}` : ""}` : ""}${detail}`);
      if (state === "closed" && !finished) finish(1);
    });
    client.on("gap", (g) => log(`gap on ${g.stream}: last ${g.last}, frame ${g.seq} has prev ${g.prev}${g.resuming ? "; resuming" : ""}`));
    client.on("resumed", (r) => log(`resumed ${r.stream} ${r.from} -> ${r.to}${r.replayed !== undefined ? ` (${r.replayed} replayed)` : ""}`));
    client.on("resumeUnavailable", (i) => log(`resume unavailable for ${i.stream}: ${i.reason} (oldest ${i.oldest}, head ${i.head}); continuing live`));
    client.on("error", (e) => log(`error: ${e.message}`));

    const stats = o.stats ? new StatsWindow() : undefined;
    const printFrames = !o.stats || o.frames;
    const sub = client.subscribe(o.streams, (f, meta) => {
      stats?.add(f, meta);
      if (printFrames) console.log(o.raw ? JSON.stringify(f) : prettyFrame(f, meta));
      if (o.count !== undefined && ++delivered >= o.count) finish(0);
    });
    sub.ready.then(
      () => log(`subscribed ${o.streams.join(" ")} (${o.format})`),
      (err: Error) => {
        console.error(err.message);
        if (client.subscriptions().length === 0) finish(1);
      },
    );
    if (stats) {
      let last = Date.now();
      const tick = () => {
        const now = Date.now();
        const s = client.stats;
        console.log(stats.flush(now - last, `[${client.state}] dup ${s.duplicates} gap ${s.gaps} resumes ${s.resumes}`));
        last = now;
      };
      const iv = setInterval(tick, 1000);
      timers.push(iv as unknown as ReturnType<typeof setTimeout>);
    }
    if (o.duration !== undefined) timers.push(setTimeout(() => finish(0), o.duration * 1000));
    process.once("SIGINT", () => finish(0));
    process.once("SIGTERM", () => finish(0));
    log(`connecting to ${o.url} (${o.format})`);
    client.connect();
  });
}

if (import.meta.main) {
  const code = await main();
  process.exit(code);
}
