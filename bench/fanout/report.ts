/** The bench's output: one line per window, and the summary tables and ratios at the end. */
import { Histogram } from "./common.ts";
import { median, sum } from "./numbers.ts";
import type { FanoutOptions } from "./options.ts";
import type { Setup, Window } from "./setup.ts";

/** A whole number with thousands separators; "-" when not finite. */
const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "-");
const ms = (us: number) => (Number.isFinite(us) ? (us / 1000).toFixed(us < 10_000 ? 2 : 1) + " ms" : "-");
const pct = (x: number) => (Number.isFinite(x) ? (x * 100).toFixed(1) + "%" : "-");

function rate(w: Window): number {
  return w.delivered / w.seconds;
}
/** One window as a line of figures. */
export function fmtWindow(w: Window, servers: number): string {
  const tr = Object.keys(w.trace).length && w.batches > 0 ? ` [${Object.entries(w.trace).map(([k, v]) => `${k} ${f0(v / w.batches)}`).join(", ")} us/batch]` : "";
  return (
    `${f0(rate(w))} msg/s (${f0(w.events / w.seconds / servers)} ev/s/server), ` +
    `p50 ${ms(w.hist.quantile(0.5))} p99 ${ms(w.hist.quantile(0.99))}, ` +
    `cores: server ${(w.serverCpu / w.seconds).toFixed(2)} clients ${(w.clientCpu / w.seconds).toFixed(2)} other ${((w.machineCpu - w.serverCpu - w.clientCpu) / w.seconds).toFixed(2)}, ` +
    `server ${(w.delivered > 0 ? (w.serverCpu * 1e6) / w.delivered : NaN).toFixed(2)} us/msg, ` +
    `publish call ${f0(w.batches > 0 ? w.jsCpuUs / w.batches : NaN)} us CPU (${f0(w.batches > 0 ? w.jsUs / w.batches : NaN)} wall) per batch${tr}` +
    (w.closed ? `, ${w.closed} CLIENTS CLOSED` : "")
  );
}

/** Totals of several windows of one configuration. */
export function total(ws: Window[], servers: number) {
  const hist = new Histogram();
  for (const w of ws) hist.addSparse(w.hist.toSparse());
  const secs = sum(ws.map((w) => w.seconds));
  const delivered = sum(ws.map((w) => w.delivered));
  const batches = sum(ws.map((w) => w.batches));
  const trace: Record<string, number> = {};
  for (const w of ws) for (const [k, v] of Object.entries(w.trace)) trace[k] = (trace[k] ?? 0) + v;
  return {
    medianRate: median(ws.map(rate)),
    minRate: Math.min(...ws.map(rate)),
    maxRate: Math.max(...ws.map(rate)),
    eventsPerSecPerServer: sum(ws.map((w) => w.events)) / secs / servers,
    p50: hist.quantile(0.5),
    p99: hist.quantile(0.99),
    samples: hist.n,
    serverCores: sum(ws.map((w) => w.serverCpu)) / secs,
    clientCores: sum(ws.map((w) => w.clientCpu)) / secs,
    otherCores: sum(ws.map((w) => w.machineCpu - w.serverCpu - w.clientCpu)) / secs,
    serverUsPerMsg: delivered > 0 ? (sum(ws.map((w) => w.serverCpu)) * 1e6) / delivered : NaN,
    /** The least-disturbed round's CPU per frame. */
    minServerUsPerMsg: Math.min(...ws.map((w) => (w.delivered > 0 ? (w.serverCpu * 1e6) / w.delivered : Infinity))),
    jsUsPerBatch: batches > 0 ? sum(ws.map((w) => w.jsUs)) / batches : NaN,
    jsCpuUsPerBatch: batches > 0 ? sum(ws.map((w) => w.jsCpuUs)) / batches : NaN,
    traceUsPerBatch: Object.fromEntries(Object.entries(trace).map(([k, v]) => [k, batches > 0 ? v / batches : NaN])),
    closed: sum(ws.map((w) => w.closed)),
  };
}

/** Prints the summary: saturation and fixed-rate tables, trace, warnings and the paired ratios. */
export function printSummary(setups: Setup[], opts: FanoutOptions, startedAt: number): void {
  const framesPerSocketPerBatch = (opts.batch * opts.streams) / opts.pool;
  console.log(`\n==== fan-out results (${((performance.now() - startedAt) / 1000).toFixed(0)} s) ====`);
  console.log(
    `${opts.clients} clients/config (${opts.clientProcs} client procs), ${opts.servers} server procs/config, ${opts.streams}/${opts.pool} streams per client, ` +
      `batch ${opts.batch} (~${framesPerSocketPerBatch} frames/socket/batch), window ${opts.window}, ${opts.rounds} x ${opts.seconds} s saturation rounds\n`,
  );
  const padR = (s: string, n: number) => s.padEnd(n);
  const padL = (s: string, n: number) => s.padStart(n);
  console.log("SATURATION (closed loop)");
  console.log(
    padR("config", 26) + padL("conns", 7) + padL("msg/s median", 14) + padL("min..max", 25) + padL("ev/s/srv", 10) + padL("p50", 10) + padL("p99", 10) +
      padL("srv us/msg", 11) + padL("srv cores", 10) + padL("cli cores", 10) + padL("other", 7) + padL("batch CPU us", 13) + padL("RSS KB/conn", 12),
  );
  for (const s of setups) {
    const t = total(s.sat, opts.servers);
    console.log(
      padR(s.rc.name, 26) + padL(f0(s.connected), 7) + padL(f0(t.medianRate), 14) + padL(`${f0(t.minRate)}..${f0(t.maxRate)}`, 25) +
        padL(f0(t.eventsPerSecPerServer), 10) + padL(ms(t.p50), 10) + padL(ms(t.p99), 10) + padL(t.serverUsPerMsg.toFixed(3), 11) +
        padL(t.serverCores.toFixed(2), 10) + padL(t.clientCores.toFixed(2), 10) + padL(t.otherCores.toFixed(2), 7) + padL(f0(t.jsCpuUsPerBatch), 13) +
        padL(s.rssPerConnKb.toFixed(1), 12),
    );
  }
  if (setups.some((s) => s.low.length)) {
    const lr = setups.find((s) => s.low.length)!.lowRate;
    console.log(
      `\nFIXED RATE (${f0(lr)} events/s per server process = ${f0(lr / opts.batch)} batch(es)/s, open loop; msg/s is quantised to whole batches per window)`,
    );
    console.log(padR("config", 24) + padL("msg/s", 12) + padL("p50", 10) + padL("p99", 10) + padL("samples", 10) + padL("srv us/msg", 11) + padL("other", 7));
    for (const s of setups) {
      if (!s.low.length) continue;
      const t = total(s.low, opts.servers);
      console.log(
        padR(s.rc.name, 24) + padL(f0(t.medianRate), 12) + padL(ms(t.p50), 10) + padL(ms(t.p99), 10) + padL(f0(t.samples), 10) +
          padL(t.serverUsPerMsg.toFixed(3), 11) + padL(t.otherCores.toFixed(2), 7),
      );
    }
  }
  if (opts.trace) {
    console.log("\nTRACE (saturation, CPU us per batch, per server process):");
    for (const s of setups) {
      const t = total(s.sat, opts.servers);
      console.log(`  ${padR(s.rc.name, 22)} batch call ${f0(t.jsCpuUsPerBatch)}: ${Object.entries(t.traceUsPerBatch).map(([k, v]) => `${k} ${f0(v)}`).join(", ")}`);
    }
  }
  console.log(
    "\nmsg/s = frames received by all clients per second; p50/p99 = publish->client-receive latency (includes the clients' own queueing);\n" +
      "srv us/msg = CPU (user+sys, all threads) of the configuration's server processes / frames delivered; other = busy cores not ours;\n" +
      "RSS KB/conn = (server VmRSS after connect - before connect) / connections, all server processes.",
  );
  for (const s of setups) {
    const closed = sum([...s.sat, ...s.low].map((w) => w.closed));
    if (s.failed || closed) console.log(`WARNING ${s.rc.name}: ${s.failed} failed connects, ${closed} clients closed during load`);
  }


  const bare = setups.find((s) => s.rc.kind === "bare");
  const gw = setups.find((s) => s.rc.name === "gateway");
  console.log("");
  if (bare && gw) {
    const r = paired(gw, bare);
    const eff = total(bare.sat, opts.servers).serverUsPerMsg / total(gw.sat, opts.servers).serverUsPerMsg;
    const tb = total(bare.sat, opts.servers);
    const tg = total(gw.sat, opts.servers);
    console.log(`GATEWAY / BARE delivered msg/s: ${pct(median(r))} (median of per-round ratios ${r.map(pct).join(", ")})   issue target: >= 80%`);
    console.log(`GATEWAY / BARE best round vs best round: ${pct(tg.maxRate / tb.maxRate)} (${f0(tg.maxRate)} / ${f0(tb.maxRate)} msg/s; interference only lowers a round)`);
    console.log(
      `GATEWAY / BARE server CPU per frame (bare us/msg / gateway us/msg): ${pct(eff)} over all rounds, ${pct(tb.minServerUsPerMsg / tg.minServerUsPerMsg)} best rounds ` +
        `(${tb.minServerUsPerMsg.toFixed(3)} / ${tg.minServerUsPerMsg.toFixed(3)} us)   (the ratio if the servers alone, not the clients sharing the machine, were the limit)`,
    );
    if (bare.low.length && gw.low.length) {
      const b = total(bare.low, opts.servers);
      const g = total(gw.low, opts.servers);
      console.log(`fixed rate ${f0(gw.lowRate)} ev/s/server: latency p50/p99 bare ${ms(b.p50)} / ${ms(b.p99)}, gateway ${ms(g.p50)} / ${ms(g.p99)}`);
    }
  }
  for (const s of setups) {
    if (!gw || s === gw || s.rc.kind !== "gateway") continue;
    const r = paired(s, gw);
    const eff = total(gw.sat, opts.servers).serverUsPerMsg / total(s.sat, opts.servers).serverUsPerMsg;
    let line = `${s.rc.name} / gateway: msg/s ${pct(median(r))} (per round ${r.map(pct).join(", ")}), server CPU per frame ${pct(eff)}`;
    if (bare) line += `; / bare: msg/s ${pct(median(paired(s, bare)))}, server CPU per frame ${pct(total(bare.sat, opts.servers).serverUsPerMsg / total(s.sat, opts.servers).serverUsPerMsg)}`;
    console.log(line);
  }
  const mem = setups.find((s) => s.rc.kind === "gateway" && s.rc.log === "mem" && s.rc.metrics === gw?.rc.metrics);
  const mmap = setups.find((s) => s.rc.kind === "gateway" && s.rc.log === "mmap" && s.rc.metrics === gw?.rc.metrics);
  if (mem && mmap) {
    const r = median(paired(mmap, mem));
    const eff = total(mem.sat, opts.servers).serverUsPerMsg / total(mmap.sat, opts.servers).serverUsPerMsg;
    console.log(`ring log mmap vs memory: fan-out msg/s ${r >= 1 ? "+" : "-"}${Math.abs((r - 1) * 100).toFixed(1)}%, server CPU per frame ${pct(eff)}   issue: the log must not cut fan-out by more than 10%`);
  }
}

/** Per-round ratios a/b of delivered msg/s (paired: same round, adjacent in time). */
function paired(a: Setup, b: Setup): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.min(a.sat.length, b.sat.length); i++) out.push(rate(a.sat[i]!) / rate(b.sat[i]!));
  return out;
}
