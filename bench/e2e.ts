/**
 * End-to-end latency bench: producer -> real broker -> gateway source -> WebSocket clients.
 *
 * One gateway (`bun src/main.ts`, a child process) reads Redis Streams, NATS JetStream, Kafka and
 * RabbitMQ (stream mode: a RabbitMQ stream bound to a topic exchange) at once. For each source in turn a producer using that broker's real client sends a fixed event rate
 * (events spread round-robin over `--pairs` streams `trades.<source>_p<j>`), each payload carrying
 * its send time (`t`, ms since epoch with sub-ms precision). `--clients` WebSockets in `--procs`
 * client processes subscribe to `--subs` pairs of every source each and record receive time - `t`
 * for every frame of the measured window (after a warm-up). Printed: p50/p99/p99.9/max per source,
 * the achieved event rate, frames delivered vs expected.
 *
 * Kafka's producer runs in a Node child (librdkafka cannot load in Bun); its `linger.ms` is 0, so
 * the figure is the pipeline's latency, not producer batching.
 *
 * Env: BENCH_KAFKA_RDKAFKA (JSON) adds librdkafka settings to the gateway's Kafka consumer.
 * Usage: bun bench/e2e.ts [--rate 1000] [--clients 2000] [--procs 2] [--pairs 20] [--subs 2]
 *                          [--seconds 10] [--warmup 5] [--sources redis,nats,kafka,rabbitmq] [--burst 1000]
 * The warm-up covers creating each new stream's ring log, so the figures are steady-state
 * delivery. Then, with --burst N (default 1000), the first non-Kafka source runs once more with N
 * new streams created at once mid-window, and the p99 of its existing streams is printed against
 * the phase without (LOG_CREATE_IN_BACKGROUND=0 runs the gateway with inline creation, to compare).
 * Needs the servers of scripts/services.sh (started if not running) and the Kafka client build.
 * Bounded: aborts after BENCH_MAX_SECONDS (default 115).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { SignJWT } from "jose";
import type { Subprocess } from "bun";
import { bucketDelta, quantile, type BucketCounts } from "../src/admin/histogram-quantile.ts";
import { Histogram, dieWithParent } from "./fanout/common.ts";
import { flagsOrExit, usageError } from "./flags.ts";

type SourceKind = "redis" | "nats" | "kafka" | "rabbitmq";
const SOURCE_KINDS: SourceKind[] = ["redis", "nats", "kafka", "rabbitmq"];

interface ClientConfig {
  url: string;
  secret: string;
  /** Global index of this process's first client, and how many it opens. */
  first: number;
  count: number;
  pairs: number;
  subs: number;
  sources: SourceKind[];
}

type ToClient = { t: "report" } | { t: "exit" };
type FromClient =
  | { t: "ready"; opened: number; failed: number }
  | { t: "report"; sparse: number[]; measured: number; max: number }
  | { t: "error"; message: string };

/** Pairs client `k` subscribes to, per source: `subs` consecutive pair indices from k. */
function clientPairs(k: number, subs: number, pairs: number): number[] {
  return Array.from({ length: subs }, (_, j) => (k + j) % pairs);
}

const pairName = (src: SourceKind, j: number) => `${src}_p${j}`;

/** The payload: `m` 1 inside the measured window, `t` last so parseFloat stops at the brace. */
function payload(src: SourceKind, i: number, pairs: number, measured: boolean, t: number): string {
  return `{"m":${measured ? 1 : 0},"pair":"${pairName(src, i % pairs)}","i":${i},"t":${t}}`;
}

const nowMs = () => performance.timeOrigin + performance.now();

// ====================================================================================== client

async function runClient(): Promise<void> {
  dieWithParent(180_000);
  const cfg = JSON.parse(process.env.E2E_BENCH_CLIENT ?? "{}") as ClientConfig;
  const send = (m: FromClient) => process.send?.(m);
  const hist = new Histogram();
  let measured = 0;
  let maxUs = 0;
  const origin = performance.timeOrigin;
  const onFrame = (e: MessageEvent) => {
    const s = e.data as string;
    if (s.indexOf('"m":1') < 0) return; // warm-up frame or control frame
    const i = s.lastIndexOf('"t":');
    if (i < 0) return;
    const us = (origin + performance.now() - parseFloat(s.slice(i + 4))) * 1000;
    hist.record(us);
    if (us > maxUs) maxUs = us;
    measured++;
  };
  const key = new TextEncoder().encode(cfg.secret);
  const sockets: WebSocket[] = [];
  let failed = 0;

  const open = async (k: number): Promise<void> => {
    const token = await new SignJWT({ roles: ["trader"] }).setProtectedHeader({ alg: "HS256" }).setSubject(`b${k}`).setIssuedAt().setExpirationTime("1h").sign(key);
    const streams = cfg.sources.flatMap((src) => clientPairs(k, cfg.subs, cfg.pairs).map((j) => `trades.${pairName(src, j)}`));
    await new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${cfg.url}?token=${token}`);
      const timer = setTimeout(() => reject(new Error("connect/subscribe timeout")), 30_000);
      ws.onopen = () => ws.send(JSON.stringify({ action: "subscribe", streams, id: 1 }));
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data as string) as { event?: string; streams?: string[] };
        if (m.event === "subscribed" && m.streams?.length === streams.length) {
          clearTimeout(timer);
          ws.onmessage = onFrame;
          sockets.push(ws);
          resolve();
        } else if (m.event === "error") {
          clearTimeout(timer);
          reject(new Error(JSON.stringify(m)));
        }
      };
      ws.onerror = () => (clearTimeout(timer), reject(new Error("socket error")));
    });
  };

  // Open in waves, so the gateway's accept loop is not flooded on a 2-core machine.
  const WAVE = 100;
  for (let k = cfg.first; k < cfg.first + cfg.count; k += WAVE) {
    const wave = [];
    for (let j = k; j < Math.min(k + WAVE, cfg.first + cfg.count); j++) wave.push(open(j).catch(() => void failed++));
    await Promise.all(wave);
  }
  send({ t: "ready", opened: sockets.length, failed });
  process.on("message", (m: ToClient) => {
    if (m.t === "report") {
      send({ t: "report", sparse: hist.toSparse(), measured, max: maxUs });
      hist.reset();
      measured = 0;
      maxUs = 0;
    } else if (m.t === "exit") {
      for (const ws of sockets) ws.close();
      setTimeout(() => process.exit(0), 200);
    }
  });
}

// ================================================================================= orchestrator

interface Args {
  rate: number;
  clients: number;
  procs: number;
  pairs: number;
  subs: number;
  seconds: number;
  warmup: number;
  sources: SourceKind[];
  /** New streams created at once mid-window in the burst phase (0: no burst phase). */
  burst: number;
}

function parseCommandLine(): Args {
  const f = flagsOrExit({ rate: 1000, clients: 2000, procs: 2, pairs: 20, subs: 2, seconds: 10, warmup: 5, sources: SOURCE_KINDS.join(","), burst: 1000 });
  const sources = f.sources.split(",").filter(Boolean);
  const bad = sources.filter((s) => !(SOURCE_KINDS as string[]).includes(s));
  if (bad.length || !sources.length) usageError(`--sources: comma-separated ${SOURCE_KINDS.join(",")} (got "${f.sources}")`);
  return { ...f, sources: sources as SourceKind[] };
}

const ROOT = new URL("../", import.meta.url).pathname;
const BUN = process.execPath;
const children = new Set<Subprocess>();
const cleanups: (() => Promise<unknown> | unknown)[] = [];

/** Stops the gateway gracefully (its Kafka worker with it), removes what was created, kills the rest. */
async function cleanup(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve().then(c).catch(() => undefined);
  for (const p of children) p.kill("SIGKILL");
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = s.port;
  s.stop(true);
  return p;
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/**
 * The gateway's own `gateway_source_to_gateway_seconds` buckets for one source, from /metrics: the
 * broker leg alone (sampled per batch; the event time is the broker's, ms resolution for Kafka and
 * Redis, ns for JetStream).
 */
async function ingestBuckets(port: number, source: string): Promise<BucketCounts> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const byLe = new Map<number, number>();
  let inf = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith("gateway_source_to_gateway_seconds_bucket{") || !line.includes(`source="${source}"`)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (le === "+Inf") inf += v;
    else if (le !== undefined) byLe.set(Number(le), (byLe.get(Number(le)) ?? 0) + v);
  }
  const bounds = [...byLe.keys()].sort((x, y) => x - y);
  return { bounds, counts: [...bounds.map((b) => byLe.get(b)!), inf] };
}

/**
 * Sends `rate` events/s for `warmup` + `seconds` s through `produce(value)`; returns the measured
 * count. With `burst`, halfway through the measured window it also sends one event to each of
 * `burst` new streams (nobody subscribes them: they only make the gateway create their logs).
 */
async function paced(src: SourceKind, a: Args, produce: (v: string) => void, burst = 0): Promise<{ measured: number; perPair: number[]; rate: number }> {
  const total = Math.round(a.rate * (a.warmup + a.seconds));
  const warm = Math.round(a.rate * a.warmup);
  const perPair = new Array(a.pairs).fill(0);
  const t0 = performance.now();
  let sent = 0;
  let tMeasure = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * a.rate) / 1000) + 1);
    for (; sent < due; sent++) {
      const measured = sent >= warm;
      if (sent === warm) tMeasure = performance.now();
      if (measured) perPair[sent % a.pairs]++;
      produce(payload(src, sent, a.pairs, measured, nowMs()));
      if (burst > 0 && sent === warm + Math.floor((total - warm) / 2)) {
        for (let k = 0; k < burst; k++) produce(`{"m":0,"pair":"${src}_new${k}","i":-1,"t":${nowMs()}}`);
      }
    }
    await Bun.sleep(1);
  }
  const secs = (performance.now() - tMeasure) / 1000;
  return { measured: total - warm, perPair, rate: (total - warm) / secs };
}

/** Node script producing to Kafka at the paced rate: the same schedule as paced(), in Node. */
const KAFKA_PRODUCER = String.raw`
const Kafka = require("@confluentinc/kafka-javascript");
const c = JSON.parse(process.env.BENCH_KAFKA);
const now = () => performance.timeOrigin + performance.now();
const p = new Kafka.Producer({ "bootstrap.servers": c.brokers, "linger.ms": 0, "enable.idempotence": false, "acks": 1, dr_cb: false });
p.on("event.error", (e) => console.error("kafka producer:", e.message));
p.connect({ timeout: 30000 }, (err) => {
  if (err) { console.error(err); process.exit(2); }
  p.setPollInterval(20);
  const total = Math.round(c.rate * (c.warmup + c.seconds));
  const warm = Math.round(c.rate * c.warmup);
  const t0 = performance.now();
  let sent = 0, tMeasure = 0;
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * c.rate) / 1000) + 1);
    for (; sent < due; sent++) {
      const m = sent >= warm;
      if (sent === warm) tMeasure = performance.now();
      const v = '{"m":' + (m ? 1 : 0) + ',"pair":"kafka_p' + (sent % c.pairs) + '","i":' + sent + ',"t":' + now() + '}';
      p.produce(c.topic, 0, Buffer.from(v), null, Date.now());
    }
    if (sent < total) return void setTimeout(tick, 1);
    const secs = (performance.now() - tMeasure) / 1000;
    p.flush(10000, () => { console.log(JSON.stringify({ measured: total - warm, rate: (total - warm) / secs })); p.disconnect(() => process.exit(0)); });
  };
  tick();
});
`;

async function main(): Promise<void> {
  const a = parseCommandLine();
  const started = Date.now();
  const maxMs = Number(process.env.BENCH_MAX_SECONDS ?? 115) * 1000;
  setTimeout(() => {
    console.error(`e2e bench: over ${maxMs / 1000} s, aborting`);
    void cleanup().then(() => process.exit(1));
  }, maxMs).unref();

  const { ensureServices, KAFKA_BROKERS, NATS_URL, RABBITMQ_URL, REDIS_URL } = await import("../test/helpers/services.ts");
  await ensureServices(a.sources.map((s) => s));
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
  const sourceDefs: Record<string, unknown>[] = [];
  const bindings: unknown[] = [];
  const producers: Partial<Record<SourceKind, (a: Args, burst?: number) => Promise<{ measured: number; rate: number }>>> = {};

  if (a.sources.includes("redis")) {
    const key = `bench:${run}`;
    const r = new Redis(REDIS_URL, { enableAutoPipelining: true, lazyConnect: false });
    cleanups.push(async () => {
      await r.del(key);
      r.disconnect();
    });
    sourceDefs.push({ name: "redis", kind: "redis", url: REDIS_URL, streams: [key] });
    producers.redis = async (args, burst) => {
      const out = await paced("redis", args, (v) => void r.xadd(key, "MAXLEN", "~", "100000", "*", "data", v), burst);
      await r.ping();
      return out;
    };
  }
  if (a.sources.includes("nats")) {
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    const stream = `BENCH_${run}`;
    await jsm.streams.add({ name: stream, subjects: [`bench.${run}.>`], storage: StorageType.File });
    cleanups.push(async () => {
      await jsm.streams.delete(stream);
      await nc.close();
    });
    const js = jetstream(nc);
    sourceDefs.push({ name: "nats", kind: "nats", mode: "jetstream", servers: NATS_URL, stream });
    producers.nats = async (args, burst) => {
      const acks: Promise<unknown>[] = [];
      const out = await paced("nats", args, (v) => void acks.push(js.publish(`bench.${run}.trades`, v).catch(() => undefined)), burst);
      await Promise.all(acks);
      return out;
    };
  }
  if (a.sources.includes("kafka")) {
    const { ensureKafkaClient, produceKafka } = await import("../test/helpers/kafka-tools.ts");
    const { kafkaWorkerNode } = await import("../src/sources/kafka/kafka-source.ts");
    await ensureKafkaClient();
    const topic = `bench-${run}`;
    await produceKafka({ brokers: KAFKA_BROKERS, topic, createPartitions: 1, values: ["seed"], count: 1 });
    cleanups.push(() => produceKafka({ brokers: KAFKA_BROKERS, topic: "", count: 0, deleteTopics: [topic] }));
    // BENCH_KAFKA_RDKAFKA: extra librdkafka settings for the gateway's consumer, e.g. '{"fetch.wait.max.ms":10}'.
    const rdkafka = process.env.BENCH_KAFKA_RDKAFKA ? (JSON.parse(process.env.BENCH_KAFKA_RDKAFKA) as Record<string, unknown>) : undefined;
    sourceDefs.push({ name: "kafka", kind: "kafka", brokers: [KAFKA_BROKERS], topics: [topic], ...(rdkafka ? { rdkafka } : {}) });
    producers.kafka = async (args) => {
      const proc = Bun.spawn([kafkaWorkerNode(), "-e", KAFKA_PRODUCER], {
        cwd: ROOT,
        env: { ...process.env, BENCH_KAFKA: JSON.stringify({ brokers: KAFKA_BROKERS, topic, rate: args.rate, warmup: args.warmup, seconds: args.seconds, pairs: args.pairs }) },
        stdout: "pipe",
        stderr: "inherit",
      });
      children.add(proc);
      const out = await new Response(proc.stdout).text();
      if ((await proc.exited) !== 0) throw new Error(`kafka producer exited ${proc.exitCode}: ${out}`);
      children.delete(proc);
      return JSON.parse(out.trim().split("\n").pop()!) as { measured: number; rate: number };
    };
  }
  if (a.sources.includes("rabbitmq")) {
    const { RabbitPublisher } = await import("../test/helpers/rabbitmq-tools.ts");
    const pub = new RabbitPublisher(RABBITMQ_URL);
    const exchange = `bench-x-${run}`;
    const stream = `bench-s-${run}`;
    await pub.exchange(exchange);
    await pub.stream(stream, exchange, ["public.#"]);
    cleanups.push(async () => {
      await pub.remove([stream], [exchange]);
      await pub.close();
    });
    sourceDefs.push({ name: "rabbitmq", kind: "rabbitmq", url: RABBITMQ_URL, exchange, mode: "stream", stream: { name: stream, routingKeys: ["public.#"] } });
    producers.rabbitmq = async (args, burst) => {
      const ch = await pub.confirmChannel();
      const out = await paced("rabbitmq", args, (v) => void ch.publish(exchange, "public.bench.trades", Buffer.from(v), { timestamp: Date.now() }), burst);
      await ch.waitForConfirms();
      return out;
    };
  }
  for (const s of sourceDefs) bindings.push({ id: `bench-${s.name}`, source: s.name, stream: { template: "trades.{payload.pair}" } });

  // ---- the gateway: src/main.ts in a child process
  const dir = mkdtempSync(join(tmpdir(), "e2e-bench-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "config.json"), JSON.stringify({ sources: sourceDefs, bindings }));
  const port = await freePort();
  const secret = "e2e-bench-secret-0123456789abcdef0123";
  const gw = Bun.spawn([BUN, "src/main.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      CONFIG_FILE: join(dir, "config.json"),
      LOG_DIR: join(dir, "log"),
      LOG_CREATE_IN_BACKGROUND: process.env.LOG_CREATE_IN_BACKGROUND ?? "1",
      PORT: String(port),
      HOST: "127.0.0.1",
      JWT_SECRET: secret,
      ADMIN_TOKEN: "bench-admin",
      SIMULATOR: "0",
      LOG_LEVEL: "warn",
      CONNECTIONS_PER_IP_PER_MIN: "1000000",
      SHUTDOWN_GRACE_MS: "1000",
    },
    stdout: "inherit",
    stderr: "inherit",
  });
  children.add(gw);
  cleanups.push(async () => {
    gw.kill("SIGTERM");
    await Promise.race([gw.exited, Bun.sleep(5000)]);
    gw.kill("SIGKILL");
  });
  await until(async () => {
    if (gw.exitCode !== null) throw new Error(`gateway exited ${gw.exitCode}`);
    return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
  }, 60_000, "gateway ready");

  // ---- client processes
  const per = Math.ceil(a.clients / a.procs);
  const clients: { proc: Subprocess; ready?: { opened: number; failed: number }; report?: Extract<FromClient, { t: "report" }> }[] = [];
  for (let p = 0; p < a.procs; p++) {
    const first = p * per;
    const count = Math.max(0, Math.min(per, a.clients - first));
    const ccfg: ClientConfig = { url: `ws://127.0.0.1:${port}/ws`, secret, first, count, pairs: a.pairs, subs: a.subs, sources: a.sources };
    const st: (typeof clients)[number] = { proc: undefined as unknown as Subprocess };
    st.proc = Bun.spawn({
      cmd: [BUN, new URL(import.meta.url).pathname, "client"],
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", E2E_BENCH_CLIENT: JSON.stringify(ccfg) },
      stdio: ["ignore", "inherit", "inherit"],
      serialization: "json",
      ipc: (m) => {
        const msg = m as FromClient;
        if (msg.t === "ready") st.ready = msg;
        else if (msg.t === "report") st.report = msg;
        else console.error("client:", msg.message);
      },
    });
    children.add(st.proc);
    clients.push(st);
  }
  const tConn = performance.now();
  await until(() => clients.every((c) => c.ready), 60_000, "clients connected and subscribed");
  const opened = clients.reduce((s, c) => s + c.ready!.opened, 0);
  const failed = clients.reduce((s, c) => s + c.ready!.failed, 0);
  console.log(`e2e bench: ${opened} clients connected and subscribed in ${((performance.now() - tConn) / 1000).toFixed(1)} s (${failed} failed), ${a.procs} client processes`);

  // Subscribers per pair, to know how many frames each event must become.
  const subsPerPair = new Array(a.pairs).fill(0);
  for (let k = 0; k < a.clients; k++) for (const j of clientPairs(k, a.subs, a.pairs)) subsPerPair[j]++;

  const rows: string[][] = [];
  /** One measured phase of `src` (with `burst` new streams mid-window); its row and p99 (µs). */
  const phase = async (src: SourceKind, label: string, burst: number): Promise<number> => {
    const before = await ingestBuckets(port, src);
    const res = await producers[src]!(a, burst);
    await Bun.sleep(1500); // let the last frames arrive
    for (const c of clients) c.report = undefined;
    for (const c of clients) c.proc.send({ t: "report" } satisfies ToClient);
    await until(() => clients.every((c) => c.report), 20_000, "client reports");
    const h = new Histogram();
    let got = 0;
    let max = 0;
    for (const c of clients) {
      h.addSparse(c.report!.sparse);
      got += c.report!.measured;
      max = Math.max(max, c.report!.max);
    }
    // Events i of the measured window go to pair i % pairs: count the frames they must become.
    const warm = Math.round(a.rate * a.warmup);
    let expected = 0;
    for (let i = warm; i < warm + res.measured; i++) expected += subsPerPair[i % a.pairs]!;
    const ms = (us: number) => (us / 1000).toFixed(2);
    const ingest = bucketDelta(await ingestBuckets(port, src), before);
    const iq = (q: number) => {
      const v = quantile(ingest, q);
      return v === null ? "-" : (v * 1000).toFixed(1);
    };
    rows.push([label, res.rate.toFixed(0), String(opened), ((expected / a.seconds) | 0).toLocaleString("en-US"), ms(h.quantile(0.5)), ms(h.quantile(0.99)), ms(h.quantile(0.999)), ms(max), `${got}/${expected}`, `${iq(0.5)} / ${iq(0.99)}`]);
    console.log(`e2e bench: ${label} done`);
    return h.quantile(0.99);
  };
  const p99 = new Map<SourceKind, number>();
  for (const src of a.sources) p99.set(src, await phase(src, src, 0));
  // The same source again, with `burst` new streams mid-window (Kafka's producer is a Node script
  // without the burst): does creating their logs move the p99 of the streams already there?
  const burstSrc = a.sources.find((s) => s !== "kafka");
  let burstLine = "";
  if (a.burst > 0 && burstSrc) {
    const withBurst = await phase(burstSrc, `${burstSrc}+${a.burst} new`, a.burst);
    const base = p99.get(burstSrc)!;
    burstLine = `burst: ${a.burst} new streams mid-window on ${burstSrc}: p99 of the existing streams ${(withBurst / 1000).toFixed(2)} ms vs ${(base / 1000).toFixed(2)} ms without, ratio ${(withBurst / base).toFixed(2)}`;
  }

  for (const c of clients) c.proc.send({ t: "exit" } satisfies ToClient);
  await Promise.race([Promise.all(clients.map((c) => c.proc.exited)), Bun.sleep(3000)]);
  await cleanup();

  const head = ["source", "events/s", "clients", "frames/s out", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "frames got/expected", "broker->gateway p50/p99 ms*"];
  const widths = head.map((hd, i) => Math.max(hd.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(`\nsource -> gateway -> client latency (producer send time to client receive time), ${a.seconds} s measured after ${a.warmup} s warm-up,`);
  console.log(`${a.pairs} pair streams per source, each client on ${a.subs} of them per source (${a.sources.length * a.subs} streams), total ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log("\n* the gateway's gateway_source_to_gateway_seconds over the phase (per batch, broker timestamp, bucket-interpolated)");
  if (burstLine) console.log(burstLine);
}

if (process.argv[2] === "client") {
  await runClient();
} else {
  try {
    await main();
    process.exit(0);
  } catch (err) {
    console.error(err);
    await cleanup();
    process.exit(1);
  }
}
