/**
 * A client process of bench/cluster.ts: up to 15,000 users of the project's typed client
 * (clients/ts GatewayClient, with its own reconnect, resume, dedupe and heartbeat: what users get),
 * each with its own JWT, reading the streams market.ts gives it. Every delivered frame is checked
 * per (client, stream) by the producer's per-stream number `n` and by `seq`/`prev`: duplicates and
 * gaps that reach the app are counted across every reconnect; at the end the producer's final
 * counts give each stream's losses. Latency is producer send time to receive, for live frames of
 * the measured window; reconnect time is close to live again (first ack or frame after reopening).
 * Started with CLUSTER_CLIENT (ClientConfig JSON) and an IPC channel.
 */
import { GatewayClient } from "../../clients/ts/index.ts";
import type { DataFrame, FrameMeta } from "../../clients/ts/index.ts";
import { dieWithParent, Histogram } from "../fanout/common.ts";
import { childConfig, openAll, tokenSigner } from "../shared/client-process.ts";
import { clientStreams } from "./market.ts";

/** What a client process is started with. */
export interface ClientConfig {
  index: number;
  port: number;
  hosts: string[];
  first: number;
  count: number;
  pairs: number;
  ordersShare: number;
  secret: string;
  concurrency: number;
  /** Time for one client to connect and have every stream acknowledged. */
  readyTimeoutMs: number;
}

/** Bench -> client process. */
export type ToClient = { t: "reset" } | { t: "hist" } | { t: "final"; counts: Record<string, number> } | { t: "exit" };

/** What a client process found over the whole run. */
export interface ClientTotals {
  expected: number;
  delivered: number;
  lost: number;
  /** Frames the app received twice (the typed client drops them: expected 0). */
  duplicated: number;
  /** Frames whose `prev` was not the seq delivered before on that stream. */
  chainBreaks: number;
  /** Duplicates the typed client dropped itself, gaps it resumed, streams it could not resume. */
  libDuplicates: number;
  libGaps: number;
  resumeUnavailable: number;
  /** Clients that gave up (closed for good). */
  gaveUp: number;
}

/** Client process -> bench. */
export type FromClient =
  | { t: "connected"; ok: number; failed: number; ms: number; errors: string[] }
  | { t: "stats"; open: number; delivered: number; replayed: number; closes: number; reconnects: number; closeCodes: Record<string, number> }
  | { t: "hist"; latency: number[]; reconnect: number[]; reconnectMax: number }
  | { t: "final"; totals: ClientTotals };

const nowMs = () => performance.timeOrigin + performance.now();

if (import.meta.main) {
  dieWithParent(30 * 60_000);
  const cfg = childConfig<ClientConfig>("CLUSTER_CLIENT");
  const send = (m: FromClient) => process.send?.(m);
  const sign = tokenSigner(cfg.secret);

  // Per (client, stream) slot: last n and seq delivered, frames delivered. Typed arrays: 15,000
  // clients x 5 streams stay a few hundred KB.
  const streamsOf: string[][] = [];
  const slotBase = new Int32Array(cfg.count + 1);
  for (let i = 0; i < cfg.count; i++) {
    streamsOf.push(clientStreams(cfg.first + i, cfg.pairs, cfg.ordersShare));
    slotBase[i + 1] = slotBase[i]! + streamsOf[i]!.length;
  }
  const slots = slotBase[cfg.count]!;
  const lastN = new Int32Array(slots);
  const lastSeq = new Float64Array(slots);
  const got = new Int32Array(slots);
  const closedAt = new Float64Array(cfg.count);
  const clients: (GatewayClient | undefined)[] = new Array(cfg.count);
  const latency = new Histogram();
  const reconnect = new Histogram();
  let reconnectMax = 0;
  let open = 0;
  let delivered = 0;
  let replayed = 0;
  let duplicated = 0;
  let chainBreaks = 0;
  let closes = 0;
  let reconnects = 0;
  const closeCodes: Record<string, number> = {};

  const liveAgain = (i: number) => {
    const t = closedAt[i]!;
    if (t === 0) return;
    closedAt[i] = 0;
    const ms = nowMs() - t;
    reconnect.record(ms * 1000);
    if (ms > reconnectMax) reconnectMax = ms;
    reconnects++;
  };

  /** The hot path: one call per delivered frame. */
  const onFrame = (i: number, f: DataFrame, meta: FrameMeta) => {
    const list = streamsOf[i]!;
    let j = 0;
    while (j < list.length && list[j] !== f.stream) j++;
    if (j === list.length) return;
    const slot = slotBase[i]! + j;
    const d = f.data as { n: number; pt: number; m: number; type?: string };
    // A depth subscription starts with the gateway's book snapshot: not a producer event.
    if (d.type === "snapshot" && d.n === undefined) return;
    const n = d.n;
    const last = lastN[slot]!;
    if (n <= last) {
      duplicated++;
      return;
    }
    if (last > 0 && f.prev !== lastSeq[slot]) chainBreaks++;
    lastN[slot] = n;
    lastSeq[slot] = f.seq;
    got[slot] = got[slot]! + 1;
    delivered++;
    if (closedAt[i] !== 0) liveAgain(i);
    if (meta.replay) replayed++;
    else if (d.m === 1) latency.record((nowMs() - d.pt) * 1000);
  };

  const openOne = async (k: number): Promise<void> => {
    const i = k - cfg.first;
    const host = cfg.hosts[k % cfg.hosts.length]!;
    const c = new GatewayClient({ url: `ws://${host}:${cfg.port}/ws`, token: await sign(`u${k}`) });
    clients[i] = c;
    c.on("state", (s, info) => {
      if (s === "open") open++;
      else if (info.previous === "open") open--;
    });
    c.on("close", (info) => {
      closes++;
      closeCodes[info.code] = (closeCodes[info.code] ?? 0) + 1;
      if (info.willReconnect && closedAt[i] === 0) closedAt[i] = nowMs();
    });
    c.on("control", (m) => {
      if (m.event === "resumed" || m.event === "subscribed") liveAgain(i);
    });
    c.on("error", () => {}); // counted through stats and close codes
    const sub = c.subscribe(streamsOf[i]!, (f, meta) => onFrame(i, f as DataFrame, meta));
    c.connect();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([sub.ready, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("not subscribed in time")), cfg.readyTimeoutMs)))]);
    } catch (err) {
      c.close();
      clients[i] = undefined;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };

  const totals = (counts: Record<string, number>): ClientTotals => {
    const t: ClientTotals = { expected: 0, delivered: 0, lost: 0, duplicated, chainBreaks, libDuplicates: 0, libGaps: 0, resumeUnavailable: 0, gaveUp: 0 };
    for (let i = 0; i < cfg.count; i++) {
      const c = clients[i];
      if (!c) continue; // never connected: not one of the bench's connections
      t.libDuplicates += c.stats.duplicates;
      t.libGaps += c.stats.gaps;
      t.resumeUnavailable += c.stats.resumeUnavailable;
      if (c.state === "closed") t.gaveUp++;
      const list = streamsOf[i]!;
      for (let j = 0; j < list.length; j++) {
        const want = counts[list[j]!] ?? 0;
        const have = got[slotBase[i]! + j]!;
        t.expected += want;
        t.delivered += have;
        t.lost += Math.max(0, want - have);
      }
    }
    return t;
  };

  const statsTimer = setInterval(() => send({ t: "stats", open, delivered, replayed, closes, reconnects, closeCodes }), 250);
  process.on("message", (m: ToClient) => {
    if (m.t === "reset") {
      latency.reset();
      reconnect.reset();
      reconnectMax = 0;
    } else if (m.t === "hist") send({ t: "hist", latency: latency.toSparse(), reconnect: reconnect.toSparse(), reconnectMax });
    else if (m.t === "final") send({ t: "final", totals: totals(m.counts) });
    else if (m.t === "exit") {
      clearInterval(statsTimer);
      for (const c of clients) c?.close();
      setTimeout(() => process.exit(0), 300);
    }
  });

  const r = await openAll(cfg.first, cfg.count, cfg.concurrency, openOne, 1);
  send({ t: "connected", ...r });
}
