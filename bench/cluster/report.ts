/** What bench/cluster.ts prints: a table for people and, with --json, one JSON object as the last line. */
import type { FromProbe } from "./gateway-probe.ts";

/** The run's figures; the JSON line is this object. */
export interface ClusterResult {
  source: string;
  chaos: string;
  gateways: number;
  clientProcs: number;
  clients: number;
  /** Peak open connections during the run, and the fewest open during the measured window. */
  connections: number;
  minOpenInWindow: number;
  connectFailed: number;
  connectSec: number;
  seconds: number;
  offeredEventsPerSec: number;
  deliveredPerSec: number;
  delivered: number;
  expected: number;
  lost: number;
  duplicated: number;
  chainBreaks: number;
  replayed: number;
  libDuplicatesDropped: number;
  libGapsResumed: number;
  resumeUnavailable: number;
  gaveUp: number;
  closes: number;
  closeCodes: Record<string, number>;
  reconnects: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxBucketMs: number;
  reconnectP50Ms: number;
  reconnectP99Ms: number;
  reconnectMaxMs: number;
  rssPerConnBytes: number;
  heapPerConnBytes: number;
  cpuPerDeliveryUs: number;
  /** Cores used in the measured window, by part; `other` is everything else on the machine. */
  cores: { gateways: number; clients: number; broker: number; producer: number; other: number };
  load: { start: number[]; window: number[] };
  /** Objects per connection by type, from `bun:jsc` heapStats after connecting (top types). */
  heapObjectsPerConn: Record<string, number>;
  producerFailed: number;
  totalSec: number;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "-");
const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en-US") : "-");

/** Objects per connection by type between two heap snapshots of the fleet (types adding >= 0.2 each). */
export function objectsPerConn(before: FromProbe[], after: FromProbe[], conns: number): Record<string, number> {
  const sum = (xs: FromProbe[]) => {
    const m = new Map<string, number>();
    for (const x of xs) for (const [k, v] of Object.entries(x.objectTypeCounts)) m.set(k, (m.get(k) ?? 0) + v);
    return m;
  };
  const b = sum(before);
  const a = sum(after);
  const out: [string, number][] = [];
  for (const [k, v] of a) {
    const d = (v - (b.get(k) ?? 0)) / Math.max(1, conns);
    if (d >= 0.2) out.push([k, Math.round(d * 100) / 100]);
  }
  out.sort((x, y) => y[1] - x[1]);
  return Object.fromEntries(out.slice(0, 16));
}

/** The table. */
export function printTable(r: ClusterResult): void {
  const rows: [string, string][] = [
    ["topology", `${r.gateways} gateways (REUSE_PORT) <- ${r.source}, ${r.clientProcs} client processes, chaos ${r.chaos}`],
    ["connections", `${int(r.connections)} peak open of ${int(r.clients)} (${int(r.connectFailed)} failed to connect, ${f1(r.connectSec)} s to connect); fewest open in window ${int(r.minOpenInWindow)}`],
    ["events", `${f1(r.offeredEventsPerSec)}/s offered for ${f1(r.seconds)} s; ${int(r.deliveredPerSec)} frames/s delivered`],
    ["delivery", `${int(r.delivered)} of ${int(r.expected)} expected; lost ${int(r.lost)}, duplicated ${int(r.duplicated)}, prev breaks ${int(r.chainBreaks)}`],
    ["client library", `${int(r.replayed)} replayed, ${int(r.libDuplicatesDropped)} duplicates dropped, ${int(r.libGapsResumed)} gaps resumed, ${int(r.resumeUnavailable)} resume_unavailable, ${int(r.gaveUp)} gave up`],
    ["closes", `${int(r.closes)} (${Object.entries(r.closeCodes).map(([c, n]) => `${c}: ${n}`).join(", ") || "none"}); ${int(r.reconnects)} back live`],
    ["latency", `p50 ${f2(r.p50Ms)} ms, p99 ${f2(r.p99Ms)} ms, p99.9 ${f2(r.p999Ms)} ms (producer send -> client receive, live frames)`],
    ["reconnect", `p50 ${f1(r.reconnectP50Ms)} ms, p99 ${f1(r.reconnectP99Ms)} ms, max ${f1(r.reconnectMaxMs)} ms (close -> live again, incl. the client's 1 s backoff)`],
    ["memory", `${int(r.rssPerConnBytes)} B RSS per connection (all gateways), ${int(r.heapPerConnBytes)} B JS heap per connection`],
    ["cpu", `${f2(r.cpuPerDeliveryUs)} us gateway CPU per delivery; cores: gateways ${f2(r.cores.gateways)}, clients ${f2(r.cores.clients)}, broker ${f2(r.cores.broker)}, producer ${f2(r.cores.producer)}, other ${f2(r.cores.other)}`],
    ["load", `start ${r.load.start.map(f1).join(" ")}, window ${r.load.window.map(f1).join(" ")}`],
    ["heap objects/conn", Object.entries(r.heapObjectsPerConn).map(([k, v]) => `${k} ${v}`).join(", ")],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  console.log("\ncluster bench");
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}
