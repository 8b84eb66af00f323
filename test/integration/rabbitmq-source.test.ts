/**
 * RabbitMqSource against a real rabbitmq-server (scripts/services.sh): conformance in both modes,
 * seed 003's public/private routing keys, broker restart (stream mode: no lost event), throughput.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { RabbitMqSource } from "../../src/sources/rabbitmq/rabbitmq-source.ts";
import type { RabbitMqSourceConfig } from "../../src/config/rabbitmq-source-def.ts";
import { BindingRouter } from "../../src/sources/routing/binding-router.ts";
import { RABBITMQ_URL, SERVICES_TIMEOUT_MS, ensureServices, startService, stopService } from "../helpers/services.ts";
import { RabbitPublisher, publishToStreamVerified, readStreamValues } from "../helpers/rabbitmq-tools.ts";
import { until } from "../helpers/until.ts";
import { Collector, pause, runSourceConformance, valueText } from "../sources/source-conformance.ts";

const run = Math.random().toString(36).slice(2, 8);
let n = 0;
let pub: RabbitPublisher;
const streams: string[] = [];
const exchanges: string[] = [];

beforeAll(async () => {
  await ensureServices(["rabbitmq"]);
  pub = new RabbitPublisher(RABBITMQ_URL);
}, SERVICES_TIMEOUT_MS);

afterAll(async () => {
  await pub.remove(streams.splice(0), exchanges.splice(0));
  await pub.close();
});

/** A fresh exchange (declared) and a unique id for names. */
async function freshExchange(): Promise<{ id: string; exchange: string }> {
  const id = `${run}-${++n}`;
  const exchange = `test-x-${id}`;
  exchanges.push(exchange);
  await pub.exchange(exchange);
  return { id, exchange };
}

function freshStream(id: string): string {
  const s = `test-s-${id}`;
  streams.push(s);
  return s;
}

// Queue mode: seed 003's own queues; the origin is a public routing key no other test uses.
runSourceConformance("rabbitmq queues", async () => {
  const { id, exchange } = await freshExchange();
  return {
    source: new RabbitMqSource(`rmq-q-${id}`, { url: RABBITMQ_URL, exchange, mode: "queue" }),
    origin: `public.conf${id}.trades`,
    produce: (origin, values) => pub.publish(exchange, origin, values),
    supportsPositions: false,
    supportsReplay: false,
    cleanup: async () => {},
  };
});

// Stream mode: a stream of its own per case, bound to public.#.
runSourceConformance("rabbitmq streams", async () => {
  const { id, exchange } = await freshExchange();
  const stream = freshStream(id);
  return {
    source: new RabbitMqSource(`rmq-s-${id}`, { url: RABBITMQ_URL, exchange, mode: "stream", stream: { name: stream, routingKeys: ["public.#"] } }),
    origin: `public.conf${id}.trades`,
    produce: (origin, values) => pub.publish(exchange, origin, values),
    supportsPositions: true,
    supportsReplay: true,
    cleanup: () => pub.remove([stream]),
  };
});

async function started(config: Omit<RabbitMqSourceConfig, "url">, name = `rmq-${++n}`) {
  const source = new RabbitMqSource(name, { url: RABBITMQ_URL, ...config });
  const c = new Collector();
  await source.start(c.sink);
  return { source, c };
}

describe("RabbitMqSource: seed 003 topology", () => {
  test("every gateway's own exclusive queues see every public and private event; routing keys map to streams", async () => {
    const { id, exchange } = await freshExchange();
    // Two gateways on the same exchange, each with its own public.# and private.# queues.
    const a = await started({ exchange, mode: "queue" });
    const b = await started({ exchange, mode: "queue" });
    try {
      const pubKey = `public.${id}.promotional`;
      await pub.publish(exchange, pubKey, ["p1", "p2"]);
      await pub.publish(exchange, (i) => `private.user_${i % 2}.order`, ['{"o":0}', '{"o":1}', '{"o":2}']);
      await pub.publish(exchange, `other.${id}`, ["not bound"]);
      for (const g of [a, b]) {
        await g.c.waitFor(pubKey, 2);
        await g.c.waitFor("private.user_0.order", 2);
        await g.c.waitFor("private.user_1.order", 1);
      }
      await pause(300);
      for (const g of [a, b]) {
        expect(g.c.values(pubKey)).toEqual(["p1", "p2"]);
        expect(g.c.values("private.user_0.order")).toEqual(['{"o":0}', '{"o":2}']);
        expect(g.c.of(`other.${id}`)).toEqual([]);
        // Queue mode has no positions: the gateway numbers these streams.
        expect(g.c.all.every((m) => m.position === undefined)).toBe(true);
      }
      // The binding that turns private.<userId>.order into orders.<userId>.
      const router = new BindingRouter([{ id: "orders", source: "rmq", match: "private.*.order", stream: { template: "orders.{origin.1}" } }]);
      const routed = a.c.of("private.user_1.order").map((m) => router.route("rmq", m));
      expect(routed).toEqual([expect.objectContaining({ stream: "orders.user_1", data: '{"o":1}', seq: undefined })]);
    } finally {
      await a.source.stop();
      await b.source.stop();
    }
  });

  test("stream mode: two gateways give every event the same position (offset + 1)", async () => {
    const { id, exchange } = await freshExchange();
    const stream = freshStream(id);
    const cfg = { exchange, mode: "stream" as const, stream: { name: stream, routingKeys: ["public.#", "private.#"] } };
    const a = await started(cfg);
    const b = await started(cfg);
    try {
      await pub.publish(exchange, (i) => (i % 2 ? `private.u${i % 3}.order` : `public.${id}.t`), Array.from({ length: 40 }, (_, i) => `v${i}`));
      for (const g of [a, b]) await until(() => g.c.all.length >= 40, 15_000, "40 messages");
      const pa = a.c.all.map((m) => [m.origin, m.position]);
      expect(pa).toEqual(b.c.all.map((m) => [m.origin, m.position]));
      expect(a.c.all.map((m) => m.position)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    } finally {
      await a.source.stop();
      await b.source.stop();
    }
  });

  test("stream mode from first reads what the stream already holds", async () => {
    const { id, exchange } = await freshExchange();
    const stream = freshStream(id);
    await pub.stream(stream, exchange, ["public.#"]);
    await pub.publish(exchange, `public.${id}.t`, ["old1", "old2"]);
    const { source, c } = await started({ exchange, mode: "stream", from: "first", stream: { name: stream, routingKeys: ["public.#"] } });
    try {
      await pub.publish(exchange, `public.${id}.t`, ["new1"]);
      await c.waitFor(`public.${id}.t`, 3);
      expect(c.values(`public.${id}.t`)).toEqual(["old1", "old2", "new1"]);
    } finally {
      await source.stop();
    }
  });

  test("an unreachable server never rejects start(), is reported in health, and stop() ends it", async () => {
    const source = new RabbitMqSource("rmq-down", { url: "amqp://127.0.0.1:1", exchange: "x", mode: "stream", stream: { name: "s", routingKeys: ["#"] } });
    let settled = false;
    const startedP = source.start(() => []).then(() => (settled = true));
    await pause(700);
    expect(settled).toBe(false);
    expect(source.health()).toMatchObject({ connected: false });
    expect(source.health().errors).toBeGreaterThanOrEqual(1);
    await expect(source.replay!("public.x", 0, 10)).rejects.toThrow();
    await source.stop();
    await startedP;
    expect(settled).toBe(true);
  });
});

describe("RabbitMqSource: broker restart and throughput", () => {
  test(
    "stream mode, broker restart mid-stream: no lost event, none repeated, positions unchanged",
    async () => {
      const { id, exchange } = await freshExchange();
      const stream = freshStream(id);
      const key = `public.${id}.trades`;
      await pub.stream(stream, exchange, ["public.#"]);
      const { source, c } = await started({ exchange, mode: "stream", stream: { name: stream, routingKeys: ["public.#"] } });
      const values = Array.from({ length: 1500 }, (_, i) => `m${i}`);
      try {
        const producing = publishToStreamVerified(RABBITMQ_URL, exchange, stream, key, values, 200);
        producing.catch(() => undefined);
        await c.waitFor(key, 200, 30_000);
        await stopService("rabbitmq");
        await until(() => !source.health().connected, 10_000);
        const during = c.of(key).length;
        expect(during).toBeLessThan(values.length); // really mid-stream
        await startService("rabbitmq");
        const offsets = await producing;
        // The stream holds every value once, in order (the producer made sure), at these offsets.
        const held = await readStreamValues(RABBITMQ_URL, stream, values.length);
        expect(held.map((h) => h.value)).toEqual(values);
        expect(held.map((h) => h.offset)).toEqual(offsets);
        await c.waitFor(key, values.length, 60_000);
        await pause(300);
        expect(c.values(key)).toEqual(values);
        expect(c.of(key).map((m) => m.position)).toEqual(held.map((h) => h.offset + 1));
        const h = source.health();
        expect(h.connected).toBe(true);
        expect(h.reconnects).toBeGreaterThanOrEqual(1);
      } finally {
        await source.stop();
        await startService("rabbitmq");
      }
    },
    180_000,
  );

  test(
    "queue mode, broker restart: queues are declared again and delivery picks up by itself",
    async () => {
      const { id, exchange } = await freshExchange();
      const key = `public.${id}.trades`;
      const { source, c } = await started({ exchange, mode: "queue" });
      try {
        await pub.publish(exchange, key, ["before"]);
        await c.waitFor(key, 1);
        await stopService("rabbitmq");
        await startService("rabbitmq");
        await until(() => source.health().connected, 30_000);
        await pub.publish(exchange, key, ["after"], { retryMs: 30_000 });
        await c.waitFor(key, 2, 30_000);
        expect(c.values(key)).toEqual(["before", "after"]);
        expect(source.health().reconnects).toBeGreaterThanOrEqual(1);
      } finally {
        await source.stop();
        await startService("rabbitmq");
      }
    },
    120_000,
  );

  test("throughput: 50k messages arrive in batches, in order", async () => {
    const { id, exchange } = await freshExchange();
    const stream = freshStream(id);
    const key = `public.${id}.trades`;
    await pub.stream(stream, exchange, ["public.#"]);
    const payload = JSON.stringify({ px: "64123.5", qty: "0.0123", side: "buy", ts: Date.now() });
    await pub.publish(exchange, key, Array.from({ length: 50_000 }, () => payload));
    const t0 = performance.now();
    const { source, c } = await started({ exchange, mode: "stream", from: "first", stream: { name: stream, routingKeys: ["public.#"] } });
    try {
      await c.waitFor(key, 50_000, 60_000);
      const ms = performance.now() - t0;
      console.log(`rabbitmq stream: 50000 msgs in ${ms.toFixed(0)} ms = ${Math.round(50_000 / (ms / 1000))} msg/s, ${c.batches.length} batches`);
      expect(c.batches.length).toBeLessThan(50_000 / 10);
      const pos = c.of(key).map((m) => m.position!);
      for (let i = 1; i < pos.length; i++) expect(pos[i]).toBe(pos[i - 1]! + 1);
      expect(valueText(c.of(key)[0]!.value)).toBe(payload);
    } finally {
      await source.stop();
    }
  }, 120_000);
});
