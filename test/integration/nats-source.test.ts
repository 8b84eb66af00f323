/** NatsSource against a real nats-server (core and JetStream): conformance, restart, throughput. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from "@nats-io/jetstream";
import {
  NatsSource,
  subjectMatches,
  type NatsCoreConfig,
  type NatsJetStreamConfig,
} from "../../src/sources/nats/nats-source.ts";
import { ensureServices, NATS_URL, SERVICES_TIMEOUT_MS, startService, stopService } from "../helpers/services.ts";
import { Collector, pause, runSourceConformance, valueText } from "../sources/source-conformance.ts";

const run = Math.random().toString(36).slice(2, 8);
let n = 0;
let nc: NatsConnection;
let jsm: JetStreamManager;
const streams: string[] = [];

beforeAll(async () => {
  await ensureServices(["nats"]);
  nc = await connect({ servers: NATS_URL, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  jsm = await jetstreamManager(nc);
}, SERVICES_TIMEOUT_MS);

afterAll(async () => {
  for (const s of streams) await jsm.streams.delete(s).catch(() => undefined);
  await nc?.close();
});

/** A fresh file-backed stream capturing `<prefix>.>`, deleted after the file's tests. */
async function freshStream(): Promise<{ stream: string; prefix: string }> {
  const id = `${run}_${++n}`;
  const stream = `SRC_${id}`;
  const prefix = `src.${id}`;
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], storage: StorageType.File });
  streams.push(stream);
  return { stream, prefix };
}

/** Publishes with acks, pipelined in chunks; resolves when the stream holds them all in order. */
async function jsPublish(subject: string, values: string[]): Promise<void> {
  const js = jetstream(nc);
  for (let i = 0; i < values.length; i += 500) {
    await Promise.all(values.slice(i, i + 500).map((v) => js.publish(subject, v)));
  }
}

const fastReconnect = { reconnectTimeWaitMs: 200, reconnectJitterMs: 200 };

runSourceConformance("nats core", async () => {
  const prefix = `core.${run}.${++n}`;
  return {
    source: new NatsSource(`nats-core-${n}`, { mode: "core", servers: NATS_URL, subjects: [`${prefix}.*`] }),
    origin: `${prefix}.ticks`,
    async produce(origin, values) {
      for (const v of values) nc.publish(origin, v);
      await nc.flush();
    },
    supportsPositions: false,
    supportsReplay: false,
    cleanup: async () => undefined,
  };
});

runSourceConformance("nats jetstream", async () => {
  const { stream, prefix } = await freshStream();
  return {
    source: new NatsSource(`nats-js-${n}`, { mode: "jetstream", servers: NATS_URL, stream, deliver: "new" }),
    origin: `${prefix}.trades`,
    produce: jsPublish,
    supportsPositions: true,
    supportsReplay: true,
    cleanup: async () => undefined,
  };
});

describe("NatsSource jetstream specifics", () => {
  async function started(config: Omit<NatsJetStreamConfig, "mode" | "servers">) {
    const source = new NatsSource("nats-js-x", { mode: "jetstream", servers: NATS_URL, ...fastReconnect, ...config });
    const c = new Collector();
    await source.start(c.sink);
    return { source, c };
  }

  test("deliver all / startSeq read what the stream already holds", async () => {
    const { stream, prefix } = await freshStream();
    const sent = Array.from({ length: 10 }, (_, i) => `m${i}`);
    await jsPublish(`${prefix}.a`, sent);
    const all = await started({ stream, deliver: "all" });
    const from = await started({ stream, deliver: { startSeq: 6 } });
    try {
      await all.c.waitFor(`${prefix}.a`, 10);
      await from.c.waitFor(`${prefix}.a`, 5);
      expect(all.c.values(`${prefix}.a`)).toEqual(sent);
      expect(all.c.of(`${prefix}.a`).map((m) => m.position)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(from.c.values(`${prefix}.a`)).toEqual(sent.slice(5));
    } finally {
      await all.source.stop();
      await from.source.stop();
    }
  });

  test("several filter subjects (server-side on >= 2.10, client-side before)", async () => {
    const { stream, prefix } = await freshStream();
    const { source, c } = await started({ stream, deliver: "new", subjects: [`${prefix}.a`, `${prefix}.c.*`] });
    try {
      await jsPublish(`${prefix}.a`, ["a1"]);
      await jsPublish(`${prefix}.b`, ["b1"]);
      await jsPublish(`${prefix}.c.x`, ["c1"]);
      await jsPublish(`${prefix}.a`, ["a2"]);
      await c.waitFor(`${prefix}.a`, 2);
      await pause(200);
      expect(c.all.map((m) => valueText(m.value))).toEqual(["a1", "c1", "a2"]);
      expect(c.all.map((m) => m.position)).toEqual([1, 3, 4]);
    } finally {
      await source.stop();
    }
  });

  test("a stream that does not exist yet is retried until it appears", async () => {
    const id = `${run}_${++n}`;
    const stream = `LATE_${id}`;
    const source = new NatsSource("late", { mode: "jetstream", servers: NATS_URL, stream, deliver: "all" });
    const c = new Collector();
    let ready = false;
    const startP = source.start(c.sink).then(() => (ready = true));
    try {
      await pause(500);
      expect(ready).toBe(false);
      expect(source.health().connected).toBe(false);
      expect(source.health().lastError).toContain("stream not found");
      await jsm.streams.add({ name: stream, subjects: [`late.${id}.>`], storage: StorageType.File });
      streams.push(stream);
      await startP;
      await jsPublish(`late.${id}.x`, ["1", "2"]);
      await c.waitFor(`late.${id}.x`, 2);
      expect(source.health().connected).toBe(true);
    } finally {
      await source.stop();
    }
  });

  test(
    "server restart mid-stream: JetStream resumes after the last sequence, no loss, no duplicates",
    async () => {
      const { stream, prefix } = await freshStream();
      const subject = `${prefix}.restart`;
      await jsPublish(subject, ["old1", "old2"]);
      const { source, c } = await started({ stream, deliver: "new" });
      // A core reader beside it: it loses what is published while down, but must resubscribe.
      const coreSubjects = [`${prefix}.core`];
      const coreConfig: NatsCoreConfig = { mode: "core", servers: NATS_URL, subjects: coreSubjects, ...fastReconnect };
      const core = new NatsSource("core-x", coreConfig);
      const cc = new Collector();
      await core.start(cc.sink);
      try {
        // A restart before the first message: "new" must not turn into "from sequence 1".
        await stopService("nats");
        await startService("nats");
        await retry(async () => void (await jsm.streams.info(stream)));
        const before = Array.from({ length: 3000 }, (_, i) => `b${i}`);
        await jsPublish(subject, before);
        // Stop while the source is still draining the backlog.
        await stopService("nats");
        await until(() => !source.health().connected);
        await startService("nats");
        const after = Array.from({ length: 500 }, (_, i) => `a${i}`);
        // Wait for the producer's reconnect first: retrying a half-done publish would duplicate.
        await retry(async () => void (await jsm.streams.info(stream)));
        await jsPublish(subject, after);
        await c.waitFor(subject, before.length + after.length, 30_000);
        await pause(300);
        expect(c.values(subject)).toEqual([...before, ...after]);
        const h = source.health();
        expect(h.connected).toBe(true);
        expect(h.reconnects).toBeGreaterThanOrEqual(2);
        expect(h.errors).toBeGreaterThanOrEqual(1);
        await until(() => core.health().connected);
        nc.publish(`${prefix}.core`, "after-restart");
        await cc.waitFor(`${prefix}.core`, 1);
        expect(core.health().reconnects).toBeGreaterThanOrEqual(1);
      } finally {
        await source.stop();
        await core.stop();
        await startService("nats");
      }
    },
    90_000,
  );

  test("throughput: a 20k backlog read in batches", async () => {
    const { stream, prefix } = await freshStream();
    const subject = `${prefix}.bulk`;
    const payload = JSON.stringify({ px: "64123.5", qty: "0.0123", side: "buy", ts: Date.now() });
    await jsPublish(subject, Array.from({ length: 20_000 }, () => payload));
    const t0 = performance.now();
    const { source, c } = await started({ stream, deliver: "all" });
    try {
      await c.waitFor(subject, 20_000, 60_000);
      const ms = performance.now() - t0;
      const perSec = Math.round(20_000 / (ms / 1000));
      console.log(`nats jetstream: 20000 msgs in ${ms.toFixed(0)} ms = ${perSec} msg/s, ${c.batches.length} batches`);
      expect(c.batches.length).toBeLessThan(20_000 / 5);
    } finally {
      await source.stop();
    }
  }, 90_000);
});

describe("NatsSource outage and helpers", () => {
  test("an unreachable server never rejects start(), is reported in health, and stop() ends it", async () => {
    const source = new NatsSource("nats-down", { mode: "core", servers: "nats://127.0.0.1:1", subjects: ["x"] });
    let settled = false;
    const started = source.start(() => []).then(() => (settled = true));
    await pause(700);
    expect(settled).toBe(false);
    const h = source.health();
    expect(h.connected).toBe(false);
    expect(h.errors).toBeGreaterThanOrEqual(1);
    expect(h.lastError).toBeString();
    await source.stop();
    await started;
    expect(settled).toBe(true);
  });

  test("core mode has no replay; replay fails fast when not connected", async () => {
    expect(new NatsSource("c", { mode: "core", servers: NATS_URL, subjects: ["x"] }).replay).toBeUndefined();
    const js = new NatsSource("j", { mode: "jetstream", servers: NATS_URL, stream: "NOPE", deliver: "all" });
    await expect(js.replay!("x", 0, 10)).rejects.toThrow("not connected");
  });

  test("subjectMatches", () => {
    expect(subjectMatches("a.*", "a.b")).toBe(true);
    expect(subjectMatches("a.*", "a.b.c")).toBe(false);
    expect(subjectMatches("a.>", "a.b.c")).toBe(true);
    expect(subjectMatches("a.>", "a")).toBe(false);
    expect(subjectMatches("a.b", "a.b")).toBe(true);
    expect(subjectMatches("a.b", "a.c")).toBe(false);
    expect(subjectMatches("*.b.>", "x.b.y")).toBe(true);
  });
});

/** Resolves once `pred` holds; throws after `timeoutMs`. */
async function until(pred: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await pause(20);
  }
}

/** Retries `fn` until it succeeds (the producer's connection may still be reconnecting). */
async function retry(fn: () => Promise<void>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await pause(200);
    }
  }
}
