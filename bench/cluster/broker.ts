/**
 * The real broker bench/cluster.ts runs against: NATS JetStream (default), Redis Streams or Kafka,
 * started through scripts/services.sh (test/helpers/services.ts). One fresh origin per run (a
 * JetStream stream, a Redis stream key, a single-partition Kafka topic) holds every market event,
 * so every gateway reads the same totally ordered log and `seq` is the broker position: a client
 * can resume on any gateway, and a gateway whose log does not reach back refills from the broker.
 */
import type { Subprocess } from "bun";
import { connect } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import type { SourceDef } from "../../src/config/source-defs.ts";
import { isServiceRunning, KAFKA_BROKERS, NATS_URL, REDIS_URL, startService, stopService } from "../../test/helpers/services.ts";

/** The brokers the bench can run against. */
export type SourceKind = "nats" | "redis" | "kafka";

/** Where this run's events go; what the producer process is started with. */
export interface BrokerTarget {
  kind: SourceKind;
  /** JetStream stream name, Redis stream key or Kafka topic. */
  origin: string;
  /** JetStream: the subject prefix the stream captures. */
  subject: string;
}

/** A prepared broker: the gateways' `sources` entry and how to undo what the run created. */
export interface Broker {
  target: BrokerTarget;
  sourceDef: SourceDef;
  /** Whether this run started the broker (and so stops it at the end). */
  started: boolean;
  /** Deletes the run's origin and stops the broker if the run started it. */
  teardown(): Promise<void>;
}

/** Starts the broker when it is not running, and creates this run's origin on it. */
export async function prepareBroker(kind: SourceKind, run: string): Promise<Broker> {
  const started = !(await isServiceRunning(kind));
  if (started) await startService(kind);
  const stopIfStarted = async () => {
    if (started) await stopService(kind);
  };
  if (kind === "nats") {
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    const origin = `CLUSTER_${run}`;
    const subject = `cluster.${run}`;
    await jsm.streams.add({ name: origin, subjects: [`${subject}.>`], storage: StorageType.File });
    await nc.close();
    return {
      target: { kind, origin, subject },
      sourceDef: { name: "market", kind: "nats", mode: "jetstream", servers: NATS_URL, stream: origin, reconnectTimeWaitMs: 200 },
      started,
      teardown: async () => {
        const c = await connect({ servers: NATS_URL });
        await (await jetstreamManager(c)).streams.delete(origin).catch(() => undefined);
        await c.close();
        await stopIfStarted();
      },
    };
  }
  if (kind === "redis") {
    const origin = `cluster:${run}`;
    return {
      target: { kind, origin, subject: "" },
      sourceDef: { name: "market", kind: "redis", url: REDIS_URL, streams: [origin] },
      started,
      teardown: async () => {
        const r = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
        await r.del(origin).catch(() => undefined);
        r.disconnect();
        await stopIfStarted();
      },
    };
  }
  const { ensureKafkaClient, produceKafka } = await import("../../test/helpers/kafka-tools.ts");
  await ensureKafkaClient();
  const origin = `cluster-${run}`;
  // One partition, created before the gateways read from its end: offset + 1 is the stream position.
  await produceKafka({ brokers: KAFKA_BROKERS, topic: origin, createPartitions: 1, values: ["seed"], count: 1 });
  return {
    target: { kind, origin, subject: "" },
    sourceDef: { name: "market", kind: "kafka", brokers: [KAFKA_BROKERS], topics: [origin] },
    started,
    teardown: async () => {
      await produceKafka({ brokers: KAFKA_BROKERS, topic: "", count: 0, deleteTopics: [origin] }).catch(() => undefined);
      await stopIfStarted();
    },
  };
}

/** The producer's handle on the broker: publish one event, then wait for every acknowledgement. */
export interface Publisher {
  publish(stream: string, json: string): void;
  /** Publishes not yet acknowledged: the producer waits while there are too many (bounded). */
  inFlight(): number;
  /** Waits (at most `ms`) for the acknowledgements; returns the failures. */
  flush(ms: number): Promise<number>;
  close(): Promise<void>;
}

/** Opens the broker's own client for the producer process. */
export async function openPublisher(t: BrokerTarget): Promise<Publisher> {
  let pending = 0;
  let failed = 0;
  const track = (p: Promise<unknown>) => {
    pending++;
    p.then(
      () => pending--,
      () => (pending--, failed++),
    );
  };
  const flush = async (ms: number) => {
    const deadline = performance.now() + ms;
    while (pending > 0 && performance.now() < deadline) await Bun.sleep(10);
    return failed + pending;
  };
  if (t.kind === "nats") {
    const nc = await connect({ servers: NATS_URL });
    const js = jetstream(nc);
    return {
      // The subject names the kind; the payload names the stream (the gateway's seed format).
      publish: (stream, json) => track(js.publish(`${t.subject}.${stream.slice(0, stream.indexOf("."))}`, json, { timeout: 10_000 })),
      inFlight: () => pending,
      flush,
      close: () => nc.close(),
    };
  }
  if (t.kind === "redis") {
    const r = new Redis(REDIS_URL, { enableAutoPipelining: true });
    return {
      publish: (_stream, json) => track(r.xadd(t.origin, "*", "data", json)),
      inFlight: () => pending,
      flush,
      close: async () => void r.disconnect(),
    };
  }
  // Kafka: the librdkafka addon only loads in Node, so a Node child produces the lines it is fed.
  const { kafkaWorkerNode } = await import("../../src/sources/kafka/kafka-source.ts");
  const proc: Subprocess<"pipe", "pipe", "inherit"> = Bun.spawn([kafkaWorkerNode(), new URL("./kafka-publisher.ts", import.meta.url).pathname], {
    env: { ...process.env, CLUSTER_KAFKA: JSON.stringify({ brokers: KAFKA_BROKERS, topic: t.origin }) },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  let acked = 0;
  let sent = 0;
  void (async () => {
    const dec = new TextDecoder();
    const reader = proc.stdout.getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const line of dec.decode(value).split("\n")) {
        const m = /^(\d+) (\d+)$/.exec(line.trim());
        if (m) {
          acked = Number(m[1]);
          failed = Number(m[2]);
        }
      }
    }
  })();
  return {
    publish: (_stream, json) => {
      sent++;
      proc.stdin.write(json + "\n");
    },
    inFlight: () => sent - acked - failed,
    flush: async (ms) => {
      proc.stdin.flush();
      const deadline = performance.now() + ms;
      while (acked + failed < sent && performance.now() < deadline) await Bun.sleep(10);
      return failed + (sent - acked - failed);
    },
    close: async () => {
      proc.stdin.end();
      await Promise.race([proc.exited, Bun.sleep(5000)]);
      proc.kill("SIGKILL");
    },
  };
}
