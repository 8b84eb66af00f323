/**
 * Kafka consumer worker: runs under Node (type stripping), not Bun, because Bun 1.4.5 lacks V8
 * and node:: symbols the librdkafka addon calls. KafkaSource spawns it with the Node binary that
 * scripts/build-kafka.sh built the addon for, and reads batches from its stdout (kafka-frames.ts).
 *
 * Every gateway must see every event, so partitions are assigned manually (no subscribe, no group
 * membership, no commits); the group id only satisfies librdkafka. Offsets live in memory here and
 * in the gateway, which passes them back on respawn, so a worker crash loses nothing.
 *
 * Usage: node kafka-worker.ts '<WorkerConfig JSON>'
 */
import Kafka from "@confluentinc/kafka-javascript";
import {
  ERR_ALL_BROKERS_DOWN, encodeJson, encodeMessages, type RawKafkaMessage, type WorkerCommand, type WorkerStatus,
} from "./kafka-frames.ts";

/** What KafkaSource passes on the command line. */
export interface WorkerConfig {
  brokers: string[];
  topics: string[];
  clientId: string;
  groupId: string;
  fromBeginning: boolean;
  maxBatchSize: number;
  /** Next offset per topic and partition, from the gateway, after a worker respawn. */
  startOffsets?: Record<string, Record<string, number>>;
  /** Extra librdkafka settings (global config). */
  rdkafka?: Record<string, string | number | boolean>;
}

const cfg = JSON.parse(process.argv[2] ?? "{}") as WorkerConfig;
const topicIdx = new Map(cfg.topics.map((t, i) => [t, i]));
const indexOf = (topic: string) => topicIdx.get(topic) ?? 0;

/** Next offset to read per "topic\0partition"; the assignment is rebuilt from it. */
const next = new Map<string, number>();
const tp = (topic: string, partition: number) => `${topic}\0${partition}`;
for (const [topic, parts] of Object.entries(cfg.startOffsets ?? {})) {
  for (const [p, off] of Object.entries(parts)) next.set(tp(topic, Number(p)), off);
}

let errors = 0;
let reconnects = 0;
let connected = false;
let everConnected = false;
let lastError: string | undefined;
let lag: number | undefined;
let stopping = false;
let refreshing = false;
let assignedSize = -1;
const seenTopics = new Set<string>();

function send(buf: Buffer): void {
  // Node writes to a pipe synchronously on Linux, so a slow gateway blocks us here, which is the
  // backpressure we want: librdkafka keeps buffering up to its queue limits meanwhile.
  process.stdout.write(buf);
}
const status = (s: WorkerStatus) => send(encodeJson(s));
const health = () => status({ type: "health", connected, lag, errors, reconnects, lastError });

function onError(err: { message: string; code?: number }, fatal = false): void {
  errors++;
  lastError = err.message;
  status({ type: "error", message: err.message, code: err.code, fatal });
}

const common = {
  "bootstrap.servers": cfg.brokers.join(","),
  "client.id": cfg.clientId,
  "enable.auto.commit": false,
  "enable.auto.offset.store": false,
  "enable.partition.eof": false,
  "allow.auto.create.topics": false,
  // Quick reconnects after a broker restart; librdkafka's default backoff grows to 10 s.
  "reconnect.backoff.ms": 100,
  "reconnect.backoff.max.ms": 1000,
  "socket.keepalive.enable": true,
  // A full local queue otherwise pauses fetching for 1 s (librdkafka default), a throughput cliff.
  "fetch.queue.backoff.ms": 20,
  ...cfg.rdkafka,
};

/** The consumer methods we use that the package's typings omit. */
type Consumer = InstanceType<typeof Kafka.KafkaConsumer> & { setDefaultIsTimeoutOnlyForFirstMessage(v: boolean): void };

const consumer = new Kafka.KafkaConsumer(
  { ...common, "group.id": cfg.groupId, "statistics.interval.ms": 1000 },
  { "auto.offset.reset": "earliest" },
) as Consumer;
consumer.setDefaultConsumeTimeout(500);
// Wait for the first message only, then take whatever else is already fetched: low latency when
// quiet, big batches under load.
consumer.setDefaultIsTimeoutOnlyForFirstMessage(true);

consumer.on("event.error", (err: { message: string; code: number }) => {
  // -187 all brokers down, -195 transport failure: librdkafka reconnects by itself.
  if (err.code === ERR_ALL_BROKERS_DOWN) connected = false;
  onError(err);
});

consumer.on("event.stats", (ev: { message: string }) => {
  let s: any;
  try { s = JSON.parse(ev.message); } catch { return; }
  const up = Object.values<any>(s.brokers ?? {}).some((b) => b.nodeid >= 0 && b.state === "UP");
  if (up && !connected && everConnected) reconnects++;
  if (up) everConnected = true;
  connected = up;
  let sum = 0;
  let known = false;
  for (const [topic, t] of Object.entries<any>(s.topics ?? {})) {
    for (const [p, part] of Object.entries<any>(t.partitions ?? {})) {
      const off = next.get(tp(topic, Number(p)));
      if (p === "-1" || off === undefined || part.hi_offset < 0) continue;
      sum += Math.max(0, part.hi_offset - off);
      known = true;
    }
  }
  lag = known ? sum : undefined;
  health();
});

function cb<T>(fn: (done: (err: any, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

/**
 * Assigns every partition of every configured topic. New partitions (or topics that appear after
 * start) begin at their low watermark: everything in them is new to this gateway. Initial ones
 * begin at the end, or at the beginning with fromBeginning, resolved to concrete offsets so that a
 * later reassignment can never skip what arrived in between.
 */
async function refreshAssignment(): Promise<number> {
  if (refreshing) return next.size;
  refreshing = true;
  try {
    for (const topic of cfg.topics) {
      let parts: { id: number }[] = [];
      try {
        const meta = await cb<any>((d) => consumer.getMetadata({ topic, timeout: 5000 }, d));
        parts = meta.topics?.find((x: any) => x.name === topic)?.partitions ?? [];
      } catch {
        continue; // broker down or topic missing: try again on the next refresh
      }
      // Partitions that show up after we first saw the topic (or saw it missing) are all new.
      const grown = seenTopics.has(topic);
      seenTopics.add(topic);
      for (const p of parts) {
        if (next.has(tp(topic, p.id))) continue;
        try {
          const w = await cb<any>((d) => consumer.queryWatermarkOffsets(topic, p.id, 5000, d));
          next.set(tp(topic, p.id), grown || cfg.fromBeginning ? w.lowOffset : w.highOffset);
        } catch {
          // next refresh
        }
      }
    }
    if (next.size !== assignedSize) {
      const offsets: Record<string, Record<string, number>> = {};
      const assignment = [...next].map(([k, offset]) => {
        const [topic, p] = k.split("\0") as [string, string];
        (offsets[topic] ??= {})[p] = offset;
        return { topic, partition: Number(p), offset };
      });
      // Reassigning drops librdkafka's prefetched messages, but `next` is exactly what the gateway
      // has received, so fetching resumes without gap or duplicate. The gateway learns the start
      // offsets first (frames are ordered), so a respawned worker resumes from them too.
      status({ type: "assigned", offsets });
      consumer.assign(assignment);
      assignedSize = next.size;
    }
    return next.size;
  } finally {
    refreshing = false;
  }
}

function consumeLoop(): void {
  if (stopping) return;
  consumer.consume(cfg.maxBatchSize, (err: any, msgs: RawKafkaMessage[]) => {
    if (stopping) return;
    if (err) {
      onError(err);
      setTimeout(consumeLoop, 100);
      return;
    }
    if (msgs.length > 0) {
      send(encodeMessages(msgs, indexOf));
      for (const m of msgs) next.set(tp(m.topic, m.partition), m.offset + 1);
    }
    setImmediate(consumeLoop);
  });
}

// ---- replay: a second consumer, so seeking never disturbs the live stream's positions
let replayConsumer: Consumer | undefined;
let replayQueue: Promise<void> = Promise.resolve();

async function replay(cmd: Extract<WorkerCommand, { op: "replay" }>): Promise<void> {
  if (!replayConsumer) {
    const c = new Kafka.KafkaConsumer({ ...common, "group.id": `${cfg.groupId}-replay` }, { "auto.offset.reset": "earliest" }) as Consumer;
    c.setDefaultConsumeTimeout(200);
    c.setDefaultIsTimeoutOnlyForFirstMessage(true);
    await cb((d) => c.connect({ timeout: 10000 }, d));
    replayConsumer = c;
  }
  const c = replayConsumer;
  const w = await cb<any>((d) => c.queryWatermarkOffsets(cmd.topic, cmd.partition, 5000, d));
  const start = Math.max(cmd.from + 1, w.lowOffset);
  const out: RawKafkaMessage[] = [];
  if (start < w.highOffset && cmd.limit > 0) {
    c.assign([{ topic: cmd.topic, partition: cmd.partition, offset: start }]);
    const deadline = Date.now() + 10000;
    try {
      while (out.length < cmd.limit && Date.now() < deadline) {
        const batch = await cb<RawKafkaMessage[]>((d) => c.consume(Math.min(1000, cmd.limit - out.length), d));
        out.push(...batch);
        if (batch.length && batch[batch.length - 1]!.offset >= w.highOffset - 1) break;
      }
    } finally {
      c.unassign();
    }
  }
  send(encodeMessages(out.slice(0, cmd.limit), () => 0, cmd.id));
}

function onCommand(cmd: WorkerCommand): void {
  if (cmd.op === "stop") return void shutdown(0);
  if (cmd.op === "replay") {
    replayQueue = replayQueue.then(() => replay(cmd)).catch((e) => {
      status({ type: "replay-error", id: cmd.id, message: String(e?.message ?? e) });
    });
  }
}

function shutdown(code: number): void {
  if (stopping) return;
  stopping = true;
  const exit = () => process.exit(code);
  setTimeout(exit, 3000).unref();
  // process.exit can hang behind a librdkafka thread stuck in disconnect: SIGKILL is the backstop.
  setTimeout(() => process.kill(process.pid, "SIGKILL"), 6000).unref();
  let open = replayConsumer ? 2 : 1;
  const done = () => { if (--open === 0) exit(); };
  consumer.disconnect(done);
  replayConsumer?.disconnect(done);
}

let lineBuf = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk: string) => {
  lineBuf += chunk;
  let i;
  while ((i = lineBuf.indexOf("\n")) >= 0) {
    const line = lineBuf.slice(0, i);
    lineBuf = lineBuf.slice(i + 1);
    if (line.trim()) onCommand(JSON.parse(line) as WorkerCommand);
  }
});
// The gateway went away (even by SIGKILL): never linger as an orphan consumer.
process.stdin.on("end", () => shutdown(0));
process.stdin.on("error", () => shutdown(0));
// Writing to a gateway that died raises EPIPE on stdout; that too means "shut down", not crash.
process.stdout.on("error", () => shutdown(0));

async function main(): Promise<void> {
  for (;;) {
    try {
      await cb((d) => consumer.connect({ timeout: 10000 }, d));
      break;
    } catch (e: any) {
      onError({ message: `connect: ${e?.message ?? e}`, code: e?.code });
      if (stopping) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  connected = everConnected = true;
  const assigned = await refreshAssignment();
  status({ type: "ready", assigned });
  health();
  consumeLoop();
  // Topics created after start and partitions added later get picked up here.
  setInterval(() => {
    refreshAssignment().catch((e) => onError({ message: `metadata: ${e?.message ?? e}` }));
  }, 5000).unref();
}

main().catch((e) => {
  onError({ message: String(e?.stack ?? e), code: e?.code }, true);
  shutdown(1);
});
