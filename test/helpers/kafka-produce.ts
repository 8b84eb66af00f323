/**
 * Test producer: runs under the Node binary scripts/build-kafka.sh records (the librdkafka addon
 * cannot run in Bun), so Bun tests spawn it via produceKafka() in kafka-tools.ts.
 *
 * Values are JSON {"i": n, "t": ms-since-epoch}, keys "k<n>", partition n % partitions, unless
 * `values` gives verbatim payloads (partition 0, no key). Idempotent producer, so retries across a
 * broker restart neither lose nor duplicate.
 * Usage: node kafka-produce.ts '<ProduceJob JSON>'   -> prints a ProduceResult JSON line.
 */
import Kafka from "@confluentinc/kafka-javascript";

/** What to produce. */
export interface ProduceJob {
  brokers: string;
  topic: string;
  /** Create the topic with this many partitions first (ignored if it exists). */
  createPartitions?: number;
  count: number;
  /** Messages per second; 0 or absent = as fast as possible. */
  rate?: number;
  /** First value of n (default 0). */
  start?: number;
  /** Padding bytes added to each value. */
  pad?: number;
  partitions?: number;
  /** Verbatim payloads to send in order to partition 0 instead of numbered JSON (count ignored). */
  values?: string[];
  /** Delete these topics (before producing anything). */
  deleteTopics?: string[];
}

/** What was acknowledged by the broker. */
export interface ProduceResult {
  delivered: number;
  failed: number;
  ms: number;
  lastError?: string;
}

const job = JSON.parse(process.argv[2] ?? "{}") as ProduceJob;
const cb = <T>(fn: (d: (e: any, v: T) => void) => void) =>
  new Promise<T>((res, rej) => fn((e, v) => (e ? rej(e) : res(v))));

if (job.createPartitions || job.deleteTopics?.length) {
  const admin = Kafka.AdminClient.create({ "bootstrap.servers": job.brokers });
  for (const topic of job.deleteTopics ?? []) {
    await cb((d) => admin.deleteTopic(topic, 10000, (e: any) => d(e?.code === 3 ? null : e, 0))); // 3 = unknown topic
  }
  const num_partitions = job.createPartitions;
  if (num_partitions) {
    try {
      await cb((d) => admin.createTopic({ topic: job.topic, num_partitions, replication_factor: 1 }, 10000, (e: any) => d(e, 0)));
    } catch (e: any) {
      if (e?.code !== 36) throw e; // 36 = TOPIC_ALREADY_EXISTS
    }
  }
  admin.disconnect();
}
if (job.values) job.count = job.values.length;
if (!job.count) {
  console.log(JSON.stringify({ delivered: 0, failed: 0, ms: 0 } satisfies ProduceResult));
  process.exit(0);
}

const producer = new Kafka.Producer({
  "bootstrap.servers": job.brokers,
  "enable.idempotence": true,
  "linger.ms": job.rate ? 1 : 5,
  "batch.num.messages": 10000,
  "queue.buffering.max.messages": 2_000_000,
  "message.timeout.ms": 120000,
  "reconnect.backoff.max.ms": 1000,
  dr_cb: true,
});
let delivered = 0;
let failed = 0;
let lastError: string | undefined;
producer.on("delivery-report", (err: any) => {
  if (err) { failed++; lastError = err.message; } else delivered++;
});
producer.on("event.error", (e: any) => { lastError = e.message; });
producer.setPollInterval(5);
await cb((d) => producer.connect({ timeout: 30000 }, d));

const parts = job.partitions ?? job.createPartitions ?? 1;
const first = job.start ?? 0;
const pad = job.pad ? "x".repeat(job.pad) : "";
const t0 = Date.now();
let sent = 0;
const produceUpTo = (target: number) => {
  for (; sent < target; sent++) {
    const i = first + sent;
    try {
      if (job.values) {
        producer.produce(job.topic, 0, Buffer.from(job.values[sent]!), null, Date.now());
        continue;
      }
      const value = Buffer.from(pad ? `{"i":${i},"t":${Date.now()},"p":"${pad}"}` : `{"i":${i},"t":${Date.now()}}`);
      producer.produce(job.topic, i % parts, value, `k${i}`, Date.now());
    } catch {
      return; // local queue full: retry on the next tick
    }
  }
};
while (sent < job.count) {
  produceUpTo(job.rate ? Math.min(job.count, Math.floor(((Date.now() - t0) * job.rate) / 1000)) : job.count);
  await new Promise((r) => setTimeout(r, 1));
}
await cb((d) => producer.flush(180000, (e: any) => d(e, 0)));
while (delivered + failed < job.count) await new Promise((r) => setTimeout(r, 10));
const result: ProduceResult = { delivered, failed, ms: Date.now() - t0, lastError };
console.log(JSON.stringify(result));
producer.disconnect(() => {
  process.exit(0);
});
