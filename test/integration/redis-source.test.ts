/** RedisStreamSource against a real redis-server: conformance, entry mapping, restart, throughput. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import {
  positionToRedisId,
  redisIdToPosition,
  RedisStreamSource,
  type RedisStreamSourceConfig,
} from "../../src/sources/redis/redis-stream-source.ts";
import { ensureServices, REDIS_URL, SERVICES_TIMEOUT_MS, startService, stopService } from "../helpers/services.ts";
import { Collector, pause, runSourceConformance, valueText } from "../sources/source-conformance.ts";

const run = Math.random().toString(36).slice(2, 8);
let n = 0;
let redis: Redis;
const keys: string[] = [];

beforeAll(async () => {
  await ensureServices(["redis"]);
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  redis.on("error", () => undefined);
}, SERVICES_TIMEOUT_MS);

afterAll(async () => {
  if (keys.length > 0) await redis.del(...keys).catch(() => undefined);
  redis?.disconnect();
});

function freshKey(): string {
  const key = `src:${run}:${++n}`;
  keys.push(key);
  return key;
}

/** XADD with auto ids, pipelined; resolves when Redis has appended them all in order. */
async function xadd(key: string, values: string[], field = "data"): Promise<void> {
  for (let i = 0; i < values.length; i += 1000) {
    const p = redis.pipeline();
    for (const v of values.slice(i, i + 1000)) p.xadd(key, "*", field, v);
    const res = await p.exec();
    const failed = res?.find(([err]) => err);
    if (failed) throw failed[0];
  }
}

runSourceConformance("redis streams", async () => {
  const key = freshKey();
  return {
    source: new RedisStreamSource(`redis-${n}`, { url: REDIS_URL, streams: [key], from: "$", blockMs: 1000 }),
    origin: key,
    produce: (origin, values) => xadd(origin, values),
    supportsPositions: true,
    supportsReplay: true,
    cleanup: async () => void (await redis.del(key)),
  };
});

async function started(config: Omit<RedisStreamSourceConfig, "url">) {
  const source = new RedisStreamSource("redis-x", { url: REDIS_URL, blockMs: 1000, ...config });
  const c = new Collector();
  await source.start(c.sink);
  return { source, c };
}

describe("RedisStreamSource entries and start points", () => {
  test("from 0 reads what the stream holds; from $ only what comes after start", async () => {
    const key = freshKey();
    await xadd(key, ["old1", "old2"]);
    const all = await started({ streams: [key], from: "0" });
    const fresh = await started({ streams: [key], from: "$" });
    try {
      await xadd(key, ["new1"]);
      await all.c.waitFor(key, 3);
      await fresh.c.waitFor(key, 1);
      await pause(200);
      expect(all.c.values(key)).toEqual(["old1", "old2", "new1"]);
      expect(fresh.c.values(key)).toEqual(["new1"]);
    } finally {
      await all.source.stop();
      await fresh.source.stop();
    }
  });

  test("field mapping: data, else value, else all fields as JSON; key; id -> position, timestamp", async () => {
    const key = freshKey();
    const { source, c } = await started({ streams: [key], from: "$" });
    try {
      const id1 = await redis.xadd(key, "*", "key", "BTC-USDT", "data", '{"a":1}', "value", "ignored");
      await redis.xadd(key, "*", "value", "v-only");
      await redis.xadd(key, "*", "px", "1.5", "qty", "2");
      await c.waitFor(key, 3);
      await pause(200);
      const [m1, m2, m3] = c.of(key);
      expect(valueText(m1!.value)).toBe('{"a":1}');
      expect(m1!.key).toBe("BTC-USDT");
      expect(m1!.position).toBe(redisIdToPosition(id1!)!);
      expect(m1!.timestamp).toBe(Number(id1!.split("-")[0]));
      expect(valueText(m2!.value)).toBe("v-only");
      expect(m2!.key).toBeUndefined();
      expect(JSON.parse(valueText(m3!.value))).toEqual({ px: "1.5", qty: "2" });
      expect(c.of(key).length).toBe(3);
    } finally {
      await source.stop();
    }
  });

  test("reads several streams in one loop; a batch can span streams", async () => {
    const a = freshKey();
    const b = freshKey();
    const { source, c } = await started({ streams: [a, b], from: "$" });
    try {
      await xadd(a, ["a1", "a2"]);
      await xadd(b, ["b1"]);
      await c.waitFor(a, 2);
      await c.waitFor(b, 1);
      expect(c.values(a)).toEqual(["a1", "a2"]);
      expect(c.values(b)).toEqual(["b1"]);
    } finally {
      await source.stop();
    }
  });
});

describe("RedisStreamSource outage, restart and throughput", () => {
  test(
    "Redis restart mid-stream: resumes after the last id, no loss, no duplicates",
    async () => {
      const key = freshKey();
      const { source, c } = await started({ streams: [key], from: "$", count: 200 });
      try {
        const before = Array.from({ length: 5000 }, (_, i) => `b${i}`);
        await xadd(key, before);
        // SIGTERM makes Redis write its AOF; the source is still draining the backlog.
        await stopService("redis");
        await until(() => !source.health().connected);
        await startService("redis");
        const after = Array.from({ length: 500 }, (_, i) => `a${i}`);
        await xadd(key, after);
        await c.waitFor(key, before.length + after.length, 30_000);
        await pause(300);
        expect(c.values(key)).toEqual([...before, ...after]);
        const h = source.health();
        expect(h.connected).toBe(true);
        expect(h.reconnects).toBeGreaterThanOrEqual(1);
        expect(h.errors).toBeGreaterThanOrEqual(1);
      } finally {
        await source.stop();
        await startService("redis");
      }
    },
    90_000,
  );

  test("an unreachable server never rejects start(), is reported in health, and stop() ends it", async () => {
    const source = new RedisStreamSource("redis-down", { url: "redis://127.0.0.1:1", streams: ["x"], from: "$" });
    let settled = false;
    const startedP = source.start(() => []).then(() => (settled = true));
    await pause(700);
    expect(settled).toBe(false);
    const h = source.health();
    expect(h.connected).toBe(false);
    expect(h.errors).toBeGreaterThanOrEqual(1);
    await expect(source.replay("x", 0, 10)).rejects.toThrow();
    await source.stop();
    await startedP;
    expect(settled).toBe(true);
  });

  test("throughput: a 50k backlog read in batches", async () => {
    const key = freshKey();
    const payload = JSON.stringify({ px: "64123.5", qty: "0.0123", side: "buy", ts: Date.now() });
    await xadd(key, Array.from({ length: 50_000 }, () => payload));
    const t0 = performance.now();
    const { source, c } = await started({ streams: [key], from: "0" });
    try {
      await c.waitFor(key, 50_000, 60_000);
      const ms = performance.now() - t0;
      const rate = Math.round(50_000 / (ms / 1000));
      console.log(`redis streams: 50000 msgs in ${ms.toFixed(0)} ms = ${rate} msg/s, ${c.batches.length} batches`);
      expect(c.batches.length).toBe(50);
    } finally {
      await source.stop();
    }
  }, 90_000);
});

describe("Redis id <-> position", () => {
  test("ms * 1000 + n, exact inverse, strictly increasing", () => {
    expect(redisIdToPosition("1700000000000-7")).toBe(1_700_000_000_000_007);
    expect(positionToRedisId(1_700_000_000_000_007)).toBe("1700000000000-7");
    expect(redisIdToPosition("0-1")).toBe(1);
    expect(positionToRedisId(0)).toBe("0-0");
    const ids = ["1700000000000-0", "1700000000000-1", "1700000000000-999", "1700000000001-0"];
    const ps = ids.map((id) => redisIdToPosition(id)!);
    for (let i = 1; i < ps.length; i++) expect(ps[i]!).toBeGreaterThan(ps[i - 1]!);
    for (const id of ids) expect(positionToRedisId(redisIdToPosition(id)!)).toBe(id);
  });

  test("ids that do not fit map to undefined instead of a wrong position", () => {
    expect(redisIdToPosition("1700000000000-1000")).toBeUndefined();
    expect(redisIdToPosition("9999999999999-0")).toBeUndefined(); // beyond 2^53
    expect(redisIdToPosition("garbage")).toBeUndefined();
  });
});

async function until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await pause(20);
  }
}
