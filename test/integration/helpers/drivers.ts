/**
 * One driver per source kind for the end-to-end tests: fresh origins (topics / subjects / stream
 * keys) unique to the run, the gateway `sources` entry reading them, and a producer that uses the
 * broker's real client and reports each message's source position (what the gateway's `seq` must be).
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import type { SourceDef } from "../../../src/config/source-defs.ts";
import { KAFKA_BROKERS, NATS_URL, RABBITMQ_URL, REDIS_URL, ensureServices, type ServiceName } from "../../helpers/services.ts";
import { RabbitPublisher, publishToStreamVerified } from "../../helpers/rabbitmq-tools.ts";
import { ensureKafkaClient, produceKafka, startProducer } from "../../helpers/kafka-tools.ts";
import { uniqueId } from "./e2e.ts";

/** Origins of one fixture: trade events, order events. */
export interface Origins {
  trades: string;
  orders: string;
}

/** Fresh origins on a broker plus the way to produce to them. */
export interface Fixture {
  /** The `sources` entry of the gateway config. */
  def: SourceDef;
  origins: Origins;
  /** Produces `values` in order; resolves with each one's source position (undefined: core NATS). */
  produce(origin: string, values: string[]): Promise<(number | undefined)[]>;
  /**
   * Produces `values` at `ratePerSec` in the background, riding out a broker restart without
   * losing or repeating any; resolves with the positions the source holds them at.
   */
  produceStream(origin: string, values: string[], ratePerSec: number): Promise<number[]>;
}

export interface Driver {
  /** Label in test names. */
  readonly label: string;
  readonly service: ServiceName;
  /** Whether seq is the source position (false: core NATS, gateway-numbered). */
  readonly positional: boolean;
  init(): Promise<void>;
  close(): Promise<void>;
  fresh(sourceName: string): Promise<Fixture>;
}

/** Time for init(): starting a broker (and building the Kafka client on a fresh machine). */
export const DRIVER_INIT_TIMEOUT_MS = 900_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Redis entry id `ms-n` to the gateway's position, computed here independently of src/. */
export function redisPosition(id: string): number {
  const [ms, n] = id.split("-").map(Number);
  return ms! * 1000 + n!;
}

// ---------------------------------------------------------------------------------- Kafka

export class KafkaDriver implements Driver {
  readonly label = "Kafka";
  readonly service = "kafka" as const;
  readonly positional = true;
  private readonly topics: string[] = [];
  /** Next position (offset + 1) per topic: every topic is single-partition, produced only through this driver. */
  private readonly next = new Map<string, number>();

  async init(): Promise<void> {
    await ensureServices(["kafka"]);
    await ensureKafkaClient();
  }

  async close(): Promise<void> {
    if (this.topics.length) await produceKafka({ brokers: KAFKA_BROKERS, topic: "", count: 0, deleteTopics: this.topics.splice(0) }).catch(() => undefined);
  }

  async fresh(sourceName: string): Promise<Fixture> {
    const id = uniqueId();
    const origins = { trades: `e2e-${id}-trades`, orders: `e2e-${id}-orders` };
    // Single-partition topics, so offset + 1 is the stream's position (seq). Offset 0 holds a seed
    // that creates the topic before the gateway starts reading at its end.
    await Promise.all(
      Object.values(origins).map(async (topic) => {
        this.topics.push(topic);
        const r = await produceKafka({ brokers: KAFKA_BROKERS, topic, createPartitions: 1, values: ["seed"], count: 1 });
        if (r.delivered !== 1) throw new Error(`kafka seed ${topic}: ${JSON.stringify(r)}`);
        this.next.set(topic, 2); // the first produced message is offset 1, position 2
      }),
    );
    const def: SourceDef = { name: sourceName, kind: "kafka", brokers: [KAFKA_BROKERS], topics: Object.values(origins) };
    const take = (topic: string, n: number) => {
      const first = this.next.get(topic)!;
      this.next.set(topic, first + n);
      return Array.from({ length: n }, (_, i) => first + i);
    };
    return {
      def,
      origins,
      produce: async (topic, values) => {
        const r = await produceKafka({ brokers: KAFKA_BROKERS, topic, values, count: values.length });
        if (r.delivered !== values.length || r.failed) throw new Error(`kafka produce ${topic}: ${JSON.stringify(r)}`);
        return take(topic, values.length);
      },
      produceStream: async (topic, values, rate) => {
        // Idempotent producer: retries across a broker restart neither lose nor duplicate.
        const r = await startProducer({ brokers: KAFKA_BROKERS, topic, values, count: values.length, rate }).done;
        if (r.delivered !== values.length || r.failed) throw new Error(`kafka produce ${topic}: ${JSON.stringify(r)}`);
        return take(topic, values.length);
      },
    };
  }
}

// ---------------------------------------------------------------------------------- NATS

abstract class NatsDriverBase {
  readonly service = "nats" as const;
  protected nc!: NatsConnection;
  protected js!: JetStreamClient;
  protected jsm!: JetStreamManager;

  async init(): Promise<void> {
    await ensureServices(["nats"]);
    this.nc = await connect({ servers: NATS_URL, maxReconnectAttempts: -1, reconnectTimeWait: 200, name: "e2e-producer" });
    this.js = jetstream(this.nc);
    this.jsm = await jetstreamManager(this.nc);
  }

  protected async closeConn(): Promise<void> {
    await this.nc?.close().catch(() => undefined);
  }
}

/** JetStream: one file-backed stream per fixture capturing `e2e.<id>.>`; positions are stream seqs. */
export class JetStreamDriver extends NatsDriverBase implements Driver {
  readonly label = "NATS JetStream";
  readonly positional = true;
  private readonly streams: string[] = [];

  async close(): Promise<void> {
    for (const s of this.streams.splice(0)) await this.jsm.streams.delete(s).catch(() => undefined);
    await this.closeConn();
  }

  async fresh(sourceName: string): Promise<Fixture> {
    const id = uniqueId();
    const stream = `E2E_${id}`;
    const prefix = `e2e.${id}`;
    await this.jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], storage: StorageType.File });
    this.streams.push(stream);
    const origins = { trades: `${prefix}.trades`, orders: `${prefix}.orders` };
    const def: SourceDef = { name: sourceName, kind: "nats", mode: "jetstream", servers: NATS_URL, stream, reconnectTimeWaitMs: 200, reconnectJitterMs: 100 };
    let msgId = 0;
    /** One publish, retried with the same msg id (the stream de-duplicates) until acknowledged. */
    const publish = async (subject: string, value: string): Promise<number> => {
      const mid = `${id}-${++msgId}`;
      for (let attempt = 0; ; attempt++) {
        try {
          return (await this.js.publish(subject, value, { msgID: mid, timeout: 2000 })).seq;
        } catch (err) {
          if (attempt > 200) throw err;
          await sleep(100);
        }
      }
    };
    return {
      def,
      origins,
      produce: async (subject, values) => {
        const out: number[] = [];
        for (const v of values) out.push(await publish(subject, v));
        return out;
      },
      produceStream: async (subject, values, rate) => {
        const out: number[] = [];
        const t0 = Date.now();
        for (let i = 0; i < values.length; i++) {
          const due = t0 + (i * 1000) / rate;
          if (due > Date.now()) await sleep(due - Date.now());
          out.push(await publish(subject, values[i]!));
        }
        return out;
      },
    };
  }
}

/** Core NATS: subjects `e2ec.<id>.*`, no positions (the gateway numbers the streams). */
export class NatsCoreDriver extends NatsDriverBase implements Driver {
  readonly label = "NATS core";
  readonly positional = false;

  async close(): Promise<void> {
    await this.closeConn();
  }

  async fresh(sourceName: string): Promise<Fixture> {
    const prefix = `e2ec.${uniqueId()}`;
    const origins = { trades: `${prefix}.trades`, orders: `${prefix}.orders` };
    const def: SourceDef = { name: sourceName, kind: "nats", mode: "core", servers: NATS_URL, subjects: [`${prefix}.*`], reconnectTimeWaitMs: 200, reconnectJitterMs: 100 };
    const produce = async (subject: string, values: string[]) => {
      for (const v of values) this.nc.publish(subject, v);
      await this.nc.flush();
      return values.map(() => undefined);
    };
    return {
      def,
      origins,
      produce,
      produceStream: () => Promise.reject(new Error("core NATS keeps nothing across a restart: use produce()")),
    };
  }
}

// ---------------------------------------------------------------------------------- Redis

/** Redis Streams: keys `e2e:<id>:trades|orders`, XADD with auto ids; position = ms * 1000 + n. */
export class RedisDriver implements Driver {
  readonly label = "Redis Streams";
  readonly service = "redis" as const;
  readonly positional = true;
  private redis!: Redis;
  private readonly keys: string[] = [];

  async init(): Promise<void> {
    await ensureServices(["redis"]);
    // Commands wait for a reconnect instead of failing, so a producer rides out a restart.
    this.redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null, retryStrategy: () => 200, connectionName: "e2e-producer" });
    this.redis.on("error", () => undefined);
  }

  async close(): Promise<void> {
    if (this.keys.length) await this.redis.del(...this.keys.splice(0)).catch(() => undefined);
    this.redis?.disconnect();
  }

  async fresh(sourceName: string): Promise<Fixture> {
    const id = uniqueId();
    const origins = { trades: `e2e:${id}:trades`, orders: `e2e:${id}:orders` };
    this.keys.push(...Object.values(origins));
    const def: SourceDef = { name: sourceName, kind: "redis", url: REDIS_URL, streams: Object.values(origins) };
    const xadd = async (key: string, v: string) => redisPosition((await this.redis.xadd(key, "*", "data", v))!);
    return {
      def,
      origins,
      produce: async (key, values) => {
        const out: number[] = [];
        for (const v of values) out.push(await xadd(key, v));
        return out;
      },
      produceStream: async (key, values, rate) => {
        const before = await this.redis.xrevrange(key, "+", "-", "COUNT", 1);
        const t0 = Date.now();
        // Explicit, increasing ids make the producer idempotent: ioredis re-sends a command whose
        // reply was lost in the restart, and the second XADD of the same id is refused instead of
        // adding the entry twice.
        const lastMs = before[0] ? Number(before[0][0].split("-")[0]) : 0;
        const base = Math.max(t0, lastMs + 1);
        for (let i = 0; i < values.length; i++) {
          const due = t0 + (i * 1000) / rate;
          if (due > Date.now()) await sleep(due - Date.now());
          try {
            await this.redis.xadd(key, `${base + i}-1`, "data", values[i]!);
          } catch (err) {
            if (!/equal or smaller/i.test((err as Error).message)) throw err;
          }
        }
        // What the stream really holds must be exactly what was produced, once each.
        const entries = await this.redis.xrange(key, before[0] ? `(${before[0][0]}` : "-", "+");
        if (entries.length !== values.length) throw new Error(`redis ${key}: ${entries.length} entries for ${values.length} values`);
        return entries.map(([eid]) => redisPosition(eid));
      },
    };
  }
}

// ---------------------------------------------------------------------------------- RabbitMQ

/**
 * RabbitMQ, seed 003's topology: a topic exchange per fixture, routing keys `public.e2e<id>.trades`
 * and `private.e2e<id>.orders`. Stream mode reads a stream bound to public.# and private.#
 * (position = offset + 1); queue mode gives each gateway its own exclusive queues (gateway-numbered).
 */
export class RabbitMqDriver implements Driver {
  readonly label: string;
  readonly service = "rabbitmq" as const;
  readonly positional: boolean;
  private pub!: RabbitPublisher;
  private readonly queues: string[] = [];
  private readonly exchanges: string[] = [];

  constructor(readonly mode: "stream" | "queue") {
    this.label = mode === "stream" ? "RabbitMQ streams" : "RabbitMQ queues";
    this.positional = mode === "stream";
  }

  async init(): Promise<void> {
    await ensureServices(["rabbitmq"]);
    this.pub = new RabbitPublisher(RABBITMQ_URL);
  }

  async close(): Promise<void> {
    await this.pub?.remove(this.queues.splice(0), this.exchanges.splice(0));
    await this.pub?.close();
  }

  async fresh(sourceName: string): Promise<Fixture> {
    const id = uniqueId().replace(/[^A-Za-z0-9]/g, "");
    const exchange = `e2e-x-${id}`;
    const origins = { trades: `public.e2e${id}.trades`, orders: `private.e2e${id}.orders` };
    this.exchanges.push(exchange);
    await this.pub.exchange(exchange);
    if (this.mode === "queue") {
      const def: SourceDef = { name: sourceName, kind: "rabbitmq", url: RABBITMQ_URL, exchange, mode: "queue" };
      return {
        def,
        origins,
        produce: async (key, values) => {
          await this.pub.publish(exchange, key, values);
          return values.map(() => undefined);
        },
        produceStream: () => Promise.reject(new Error("RabbitMQ queues keep nothing for a gateway across a restart: use produce()")),
      };
    }
    const stream = `e2e-s-${id}`;
    const routingKeys = ["public.#", "private.#"];
    this.queues.push(stream);
    // Declared before any gateway starts, so nothing produced is unroutable.
    await this.pub.stream(stream, exchange, routingKeys);
    const def: SourceDef = { name: sourceName, kind: "rabbitmq", url: RABBITMQ_URL, exchange, mode: "stream", stream: { name: stream, routingKeys } };
    // A fresh stream written only through this fixture: offsets run 0, 1, 2... in publish order.
    let next = 1;
    return {
      def,
      origins,
      produce: async (key, values) => {
        await this.pub.publish(exchange, key, values);
        const first = next;
        next += values.length;
        return values.map((_, i) => first + i);
      },
      produceStream: async (key, values, rate) => {
        const offsets = await publishToStreamVerified(RABBITMQ_URL, exchange, stream, key, values, rate);
        next = offsets[offsets.length - 1]! + 2;
        return offsets.map((o) => o + 1);
      },
    };
  }
}
