/**
 * KafkaSource against the real local KRaft broker (scripts/services.sh), producing with the real
 * librdkafka client (in a Node child, see test/helpers/kafka-tools.ts).
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import type { IngestOutcome, SourceMessage } from "../../src/sources/source.ts";
import { KafkaSource } from "../../src/sources/kafka/kafka-source.ts";
import { KAFKA_BROKERS, SERVICES_TIMEOUT_MS, ensureServices, startService, stopService } from "../helpers/services.ts";
import { KAFKA_BUILD_TIMEOUT_MS, ensureKafkaClient, produceKafka, startProducer, waitFor } from "../helpers/kafka-tools.ts";
import { runSourceConformance } from "../sources/source-conformance.ts";

const sources: KafkaSource[] = [];
const topics: string[] = [];
let topicSeq = 0;
function newTopic(tag: string): string {
  const t = `ks-${tag}-${process.pid}-${Date.now()}-${topicSeq++}`;
  topics.push(t);
  return t;
}

/** Collects everything a source delivers, plus the batch sizes. */
function collector() {
  const msgs: SourceMessage[] = [];
  const batches: number[] = [];
  const sink = (b: SourceMessage[]): IngestOutcome[] => {
    batches.push(b.length);
    msgs.push(...b);
    return [];
  };
  return { msgs, batches, sink };
}

async function startSource(names: string[], sink: (b: SourceMessage[]) => IngestOutcome[], fromBeginning = true) {
  const src = new KafkaSource({ name: `test-${topicSeq}`, brokers: [KAFKA_BROKERS], topics: names, fromBeginning });
  sources.push(src);
  await src.start(sink);
  return src;
}

const valueOf = (m: SourceMessage) =>
  JSON.parse(typeof m.value === "string" ? m.value : Buffer.from(m.value).toString("utf8")) as { i: number; t: number };

/** Every partition's positions (offset + 1) run 1,2,3,... with no gap or repeat, and values match the producer. */
function expectCompleteAndOrdered(msgs: SourceMessage[], topic: string, partitions: number, total: number) {
  const next = new Array(partitions).fill(1);
  const seen = new Set<number>();
  for (const m of msgs) {
    expect(m.origin).toBe(topic);
    const p = m.partition!;
    expect(m.position).toBe(next[p]);
    next[p] = m.position! + 1;
    const v = valueOf(m);
    expect(v.i % partitions).toBe(p);
    expect(m.key).toBe(`k${v.i}`);
    expect(m.timestamp).toBeGreaterThan(0);
    seen.add(v.i);
  }
  expect(msgs.length).toBe(total);
  expect(seen.size).toBe(total);
}

beforeAll(async () => {
  await ensureServices(["kafka"]);
  await ensureKafkaClient();
}, KAFKA_BUILD_TIMEOUT_MS + SERVICES_TIMEOUT_MS);

afterEach(async () => {
  await Promise.all(sources.splice(0).map((s) => s.stop()));
});

// Test topics are unique per run; deleting them keeps the broker's data dir (and its start time)
// from growing run after run.
afterAll(async () => {
  await produceKafka({ brokers: KAFKA_BROKERS, topic: "", count: 0, deleteTopics: topics.splice(0) });
}, 60_000);

// The shared Source suite. Each topic is created with one seed message first, so it exists when
// the source starts and the source reads only what arrives after start.
runSourceConformance("kafka", async () => {
  const origin = newTopic("conf");
  await produceKafka({ brokers: KAFKA_BROKERS, topic: origin, createPartitions: 1, count: 1, values: ["seed"] });
  return {
    source: new KafkaSource({ name: "conformance", brokers: [KAFKA_BROKERS], topics: [origin] }),
    origin,
    produce: async (topic, values) => {
      const r = await produceKafka({ brokers: KAFKA_BROKERS, topic, count: values.length, values });
      if (r.delivered !== values.length) throw new Error(`produce: ${JSON.stringify(r)}`);
    },
    supportsPositions: true,
    supportsReplay: true,
    cleanup: async () => {},
  };
});

describe("KafkaSource", () => {
  test("delivers every message of every partition in order, in batches, with positions", async () => {
    const topic = newTopic("order");
    const before = await produceKafka({ brokers: KAFKA_BROKERS, topic, createPartitions: 3, count: 20_000 });
    expect(before.delivered).toBe(20_000);
    const c = collector();
    const src = await startSource([topic], c.sink);
    await waitFor(() => c.msgs.length >= 20_000, 30_000, "backlog");
    // Live messages after the backlog, from the same producer numbering.
    await produceKafka({ brokers: KAFKA_BROKERS, topic, partitions: 3, count: 5_000, start: 20_000 });
    await waitFor(() => c.msgs.length >= 25_000, 30_000, "live messages");
    await Bun.sleep(200); // nothing extra may arrive
    expectCompleteAndOrdered(c.msgs, topic, 3, 25_000);
    expect(c.batches.length).toBeLessThan(c.msgs.length / 10); // really batched
    await waitFor(() => src.health().lag === 0, 5_000, "lag 0 in health");
    const h = src.health();
    expect(h).toMatchObject({ connected: true, events: 25_000 });
    expect(h.lastEventAt).toBeGreaterThan(Date.now() - 10_000);
  }, 90_000);

  test("without fromBeginning only messages produced after start arrive", async () => {
    const topic = newTopic("new");
    await produceKafka({ brokers: KAFKA_BROKERS, topic, createPartitions: 2, count: 100 });
    const c = collector();
    await startSource([topic], c.sink, false);
    await produceKafka({ brokers: KAFKA_BROKERS, topic, partitions: 2, count: 50, start: 100 });
    await waitFor(() => c.msgs.length >= 50, 20_000, "new messages");
    await Bun.sleep(300);
    expect(c.msgs.length).toBe(50);
    expect(c.msgs.map((m) => valueOf(m).i).sort((a, b) => a - b)[0]).toBe(100);
    expect(c.msgs.every((m) => m.position! >= 51)).toBe(true); // offsets >= 50
  }, 60_000);

  test("a topic created after start is read from its beginning", async () => {
    const topic = newTopic("late");
    const c = collector();
    await startSource([topic], c.sink, false);
    await produceKafka({ brokers: KAFKA_BROKERS, topic, createPartitions: 2, count: 200 });
    await waitFor(() => c.msgs.length >= 200, 30_000, "messages of the late topic");
    expectCompleteAndOrdered(c.msgs, topic, 2, 200);
  }, 60_000);

  test("a broker restart mid-stream loses nothing", async () => {
    const topic = newTopic("restart");
    await produceKafka({ brokers: KAFKA_BROKERS, topic, createPartitions: 3, count: 1 });
    const c = collector();
    const src = await startSource([topic], c.sink);
    const total = 1 + 2_000 * 12;
    const producer = startProducer({ brokers: KAFKA_BROKERS, topic, partitions: 3, count: total - 1, start: 1, rate: 2_000 });
    try {
      await waitFor(() => c.msgs.length > 3_000, 20_000, "stream under way");
      await stopService("kafka");
      const during = c.msgs.length;
      expect(during).toBeLessThan(total - 2_000); // really mid-stream
      await waitFor(() => !src.health().connected, 15_000, "source to notice the broker is gone");
      await Bun.sleep(1_000);
      await startService("kafka");
      const result = await producer.done;
      expect(result).toMatchObject({ delivered: total - 1, failed: 0 });
      await waitFor(() => c.msgs.length >= total, 60_000, "all messages after the restart");
      await Bun.sleep(300);
      expect(c.msgs.length).toBeGreaterThan(during);
    } finally {
      producer.kill();
      await startService("kafka"); // never leave the broker down for the next test
    }
    expectCompleteAndOrdered(c.msgs, topic, 3, total);
    const h = src.health();
    expect(h.connected).toBe(true);
    expect(h.reconnects).toBeGreaterThanOrEqual(1);
    expect(h.errors).toBeGreaterThan(0);
  }, 180_000);

  test("a crashed worker is respawned from the delivered offsets", async () => {
    const topic = newTopic("crash");
    await produceKafka({ brokers: KAFKA_BROKERS, topic, createPartitions: 2, count: 1 });
    const c = collector();
    const src = await startSource([topic], c.sink);
    const producer = startProducer({ brokers: KAFKA_BROKERS, topic, partitions: 2, count: 6_000, start: 1, rate: 2_000 });
    await waitFor(() => c.msgs.length > 1_000, 20_000, "stream under way");
    (src as unknown as { proc: { kill(sig: number): void } }).proc.kill(9);
    expect((await producer.done).delivered).toBe(6_000);
    await waitFor(() => c.msgs.length >= 6_001, 30_000, "all messages after the respawn");
    await Bun.sleep(300);
    expectCompleteAndOrdered(c.msgs, topic, 2, 6_001);
    expect(src.health().reconnects).toBeGreaterThanOrEqual(1);
  }, 90_000);

  test("replay returns messages after a position, oldest first, up to a limit", async () => {
    const topic = newTopic("replay");
    await produceKafka({ brokers: KAFKA_BROKERS, topic, createPartitions: 1, count: 100 });
    const multi = newTopic("replay3");
    await produceKafka({ brokers: KAFKA_BROKERS, topic: multi, createPartitions: 3, count: 30 });
    const src = await startSource([topic, multi], () => [], false);

    // Positions are offset + 1: after position 50 comes offset 50.
    const r = await src.replay(topic, 50, 10);
    expect(r.map((m) => m.position)).toEqual([51, 52, 53, 54, 55, 56, 57, 58, 59, 60]);
    expect(r.map((m) => valueOf(m).i)).toEqual([50, 51, 52, 53, 54, 55, 56, 57, 58, 59]);
    expect(r[0]).toMatchObject({ origin: topic, partition: 0, key: "k50" });

    expect((await src.replay(topic, 96, 10)).map((m) => m.position)).toEqual([97, 98, 99, 100]);
    expect((await src.replay(topic, 0, 3)).map((m) => m.position)).toEqual([1, 2, 3]);
    expect(await src.replay(topic, 100, 10)).toEqual([]);
    const big = await src.replay(topic, 0, 1000);
    expect(big.length).toBe(100);

    // "topic:N" picks partition N of a multi-partition topic.
    const p2 = await src.replay(`${multi}:2`, 5, 100);
    expect(p2.map((m) => m.position)).toEqual([6, 7, 8, 9, 10]);
    expect(p2.every((m) => m.partition === 2 && m.origin === multi && valueOf(m).i % 3 === 2)).toBe(true);
  }, 60_000);
});
