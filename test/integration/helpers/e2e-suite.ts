/**
 * The end-to-end suite every source runs (Kafka, NATS JetStream, NATS core, Redis Streams): a real
 * broker, its real client producing, a gateway configured with that source and bindings, and
 * WebSocket clients checking what arrives.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { restartService, startService } from "../../helpers/services.ts";
import { DRIVER_INIT_TIMEOUT_MS, type Driver, type Fixture } from "./drivers.ts";
import { ChildGateway, InProcessGateway, cleanupAll, client, sequenceProblem, tokenFor, waitUntil, type DataFrame, type E2eConfigFile, type WsClient } from "./e2e.ts";

/** A trade as the producer sends it: short field names and a field the binding drops. */
export function trade(i: number, pair = "btc_usdt"): string {
  return JSON.stringify({ pair, p: `${100 + i}.5`, q: `${(i % 7) + 1}`, secret: "s3cr3t", i, t: Date.now() });
}

/** What the trades binding makes of trade(i, pair): renamed, `secret` dropped. */
export function tradeData(raw: string): Record<string, unknown> {
  const o = JSON.parse(raw) as Record<string, unknown>;
  return { pair: o.pair, price: o.p, qty: o.q, i: o.i, t: o.t };
}

export function order(i: number, userId: string): string {
  return JSON.stringify({ userId, orderId: `o${i}`, pair: "btc_usdt", side: i % 2 ? "buy" : "sell", status: "new", price: "100", qty: "1", filledQty: "0", i });
}

/** The bindings under test: template stream names, rename + drop, private per-user streams. */
export function bindingsFor(source: string, fx: Fixture, idPrefix = ""): unknown[] {
  return [
    {
      id: `${idPrefix}trades`,
      source,
      match: fx.origins.trades,
      stream: { template: "trades.{payload.pair}" },
      transforms: [{ rename: { p: "price", q: "qty" } }, { drop: ["secret"] }],
    },
    { id: `${idPrefix}orders`, source, match: fx.origins.orders, stream: { template: "orders.{payload.userId}" } },
  ];
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);

/** The seqs clients must see: source positions, or 1..n when the gateway numbers the stream. */
function expectedSeqs(driver: Driver, positions: (number | undefined)[], gatewayFrom = 1): number[] {
  return driver.positional ? positions.map((p) => p!) : positions.map((_, i) => gatewayFrom + i);
}

export function runE2eSuite(driver: Driver): void {
  describe(`e2e ${driver.label}`, () => {
    let n = 0;
    const sourceName = () => `${driver.service}-${++n}`;

    beforeAll(() => driver.init(), DRIVER_INIT_TIMEOUT_MS);
    afterEach(() => cleanupAll(), 30_000);
    afterAll(async () => {
      await startService(driver.service).catch(() => undefined); // never leave the broker down
      await driver.close();
    }, 120_000);

    async function gatewayWith(env: Record<string, string> = {}) {
      const name = sourceName();
      const fx = await driver.fresh(name);
      const gw = await InProcessGateway.start({ sources: [fx.def], bindings: bindingsFor(name, fx) }, env);
      return { name, fx, gw };
    }

    test(`events reach clients with stream from the template, seq = ${driver.positional ? "source position" : "gateway numbering"}, transformed data`, async () => {
      const { fx, gw } = await gatewayWith();
      const alice = await client(gw, "alice");
      const acks = await alice.subscribe(["trades.btc_usdt", "trades.eth_usdt"]);
      expect(acks.map((a) => a.event)).toEqual(["subscribed"]);
      const values = range(20).map((i) => trade(i, i % 2 ? "eth_usdt" : "btc_usdt"));
      const positions = await fx.produce(fx.origins.trades, values);
      await alice.waitData("trades.btc_usdt", 10);
      await alice.waitData("trades.eth_usdt", 10);
      await Bun.sleep(200); // nothing more may arrive
      for (const [pair, parity] of [["btc_usdt", 0], ["eth_usdt", 1]] as const) {
        const idx = range(20).filter((i) => i % 2 === parity);
        const frames = alice.data(`trades.${pair}`);
        // seq is the source position, prev the previous seq of the same stream (sparse: the
        // other pair's events sit between them), 0 before the first one this gateway saw.
        expect(sequenceProblem(frames, expectedSeqs(driver, idx.map((i) => positions[i])), 0)).toBeUndefined();
        expect(frames.map((f) => f.data)).toEqual(idx.map((i) => tradeData(values[i]!)));
        for (const f of frames) expect(f.data.secret).toBeUndefined();
      }
      expect(alice.data().length).toBe(20);
    }, 60_000);

    test("private orders reach only their owner; another user is refused with forbidden", async () => {
      const { fx, gw } = await gatewayWith();
      const alice = await client(gw, "alice");
      const bob = await client(gw, "bob");
      expect((await alice.subscribe(["orders.alice"])).map((a) => a.event)).toEqual(["subscribed"]);
      expect((await bob.subscribe(["orders.bob"])).map((a) => a.event)).toEqual(["subscribed"]);
      const refused = await bob.subscribe(["orders.alice"]);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ event: "error", code: "forbidden", streams: ["orders.alice"] });
      const values = range(12).map((i) => order(i, i % 3 === 0 ? "bob" : "alice"));
      const positions = await fx.produce(fx.origins.orders, values);
      const mine = (u: string) => range(12).filter((i) => (i % 3 === 0 ? "bob" : "alice") === u);
      await alice.waitData("orders.alice", mine("alice").length);
      await bob.waitData("orders.bob", mine("bob").length);
      await Bun.sleep(300);
      for (const [c, u] of [[alice, "alice"], [bob, "bob"]] as const) {
        const frames = c.data();
        expect(frames.every((f) => f.stream === `orders.${u}` && f.data.userId === u)).toBe(true);
        expect(frames.map((f) => f.data)).toEqual(mine(u).map((i) => JSON.parse(values[i]!)));
        expect(sequenceProblem(frames, expectedSeqs(driver, mine(u).map((i) => positions[i])), 0)).toBeUndefined();
      }
      // Neither the snapshot route lets bob read alice's stream.
      const r = await fetch(`${gw.httpUrl}/snapshot/orders.alice`, { headers: { authorization: `Bearer ${await tokenFor("bob")}` } });
      expect(r.status).toBe(403);
    }, 60_000);

    test("a malformed message mid-stream is skipped and counted; the events after it arrive", async () => {
      const { name, fx, gw } = await gatewayWith();
      const alice = await client(gw, "alice");
      await alice.subscribe(["trades.btc_usdt"]);
      expect(await gw.metric("gateway_events_skipped_total", { source: name, reason: "malformed" })).toBe(0);
      const values = [trade(0), trade(1), '{"pair":"btc_usdt","p": not json', trade(3), trade(4)];
      const positions = await fx.produce(fx.origins.trades, values);
      await alice.waitData("trades.btc_usdt", 4);
      await Bun.sleep(200);
      const frames = alice.data("trades.btc_usdt");
      expect(frames.map((f) => f.data.i)).toEqual([0, 1, 3, 4]);
      // The skipped message leaves no hole in the prev chain: prev of #3 is the seq of #1.
      expect(sequenceProblem(frames, expectedSeqs(driver, [positions[0], positions[1], positions[3], positions[4]]), 0)).toBeUndefined();
      await waitUntil(async () => (await gw.metric("gateway_events_skipped_total", { source: name, reason: "malformed" })) === 1, 5000, "skip counted");
      expect(await gw.metric("gateway_events_in_total", { source: name })).toBe(4);
    }, 60_000);

    test("messages naming a stream outside the configured ones, or nested too deep, are skipped and counted; the events after them arrive", async () => {
      const { name, fx, gw } = await gatewayWith({ PAIRS: "btc_usdt,eth_usdt", MAX_PAYLOAD_DEPTH: "8" });
      const alice = await client(gw, "alice");
      await alice.subscribe(["trades.btc_usdt"]);
      // One level for the payload object, eight for d: nine in all, over the limit of eight.
      const deep = JSON.stringify({ pair: "btc_usdt", p: "1", q: "1", i: 99, d: JSON.parse("[".repeat(8) + "]".repeat(8)) });
      await fx.produce(fx.origins.trades, [trade(0), trade(1, "zzz_usdt"), deep, trade(3)]);
      await alice.waitData("trades.btc_usdt", 2);
      await Bun.sleep(200);
      expect(alice.data("trades.btc_usdt").map((f) => f.data.i)).toEqual([0, 3]);
      const skipped = (reason: string) => gw.metric("gateway_events_skipped_total", { source: name, reason });
      await waitUntil(async () => (await skipped("unknown_stream")) === 1 && (await skipped("too_deep")) === 1, 5000, "both skips counted");
      expect(await gw.metric("gateway_events_in_total", { source: name })).toBe(2);
    }, 60_000);

    test(
      driver.positional
        ? `broker restart mid-stream (${driver.service} stopped and started): no loss, no repeat`
        : "broker restart: events published before and after reach the client, numbered without a gap",
      async () => {
        const { fx, gw } = await gatewayWith();
        const alice = await client(gw, "alice");
        await alice.subscribe(["trades.btc_usdt"]);
        if (driver.positional) {
          const values = range(800).map((i) => trade(i));
          const producing = fx.produceStream(fx.origins.trades, values, 100);
          producing.catch(() => undefined);
          await alice.waitData("trades.btc_usdt", 150, 30_000);
          await restartService(driver.service).finally(() => startService(driver.service));
          const positions = await producing;
          await alice.waitData("trades.btc_usdt", values.length, 90_000);
          await Bun.sleep(300);
          const frames = alice.data("trades.btc_usdt");
          expect(sequenceProblem(frames, positions, 0)).toBeUndefined();
          expect(frames.map((f) => f.data.i)).toEqual(range(values.length));
          expect(alice.closeCode).toBeUndefined();
          // The source did see the outage (it is not a restart that happened to fall between reads).
          expect(gw.gw.sources.find((s) => s.name === fx.def.name)!.health().reconnects).toBeGreaterThanOrEqual(1);
        } else {
          // Core NATS is at-most-once: what is published while the server is down is gone, so the
          // check is that delivery picks up again by itself and the gateway's numbering has no gap.
          const before = range(50).map((i) => trade(i));
          await fx.produce(fx.origins.trades, before);
          await alice.waitData("trades.btc_usdt", 50);
          await restartService(driver.service).finally(() => startService(driver.service));
          await waitUntil(async () => (await gw.readyz()).status === 200, 30_000, "source reconnected");
          // The client's connection reconnects too; probe until a message gets through again.
          // The probes are orders of a user nobody watches.
          await waitUntil(async () => {
            // The producer's own connection may still be reconnecting: then this probe fails.
            await fx.produce(fx.origins.orders, [order(0, "probe")]).catch(() => undefined);
            await Bun.sleep(100);
            return (await gw.metric("gateway_events_in_total", { source: (fx.def.name as string) })) > 50;
          }, 30_000, "a message through the restarted server");
          const after = range(50, 50).map((i) => trade(i));
          await fx.produce(fx.origins.trades, after);
          await alice.waitData("trades.btc_usdt", 100);
          await Bun.sleep(200);
          const frames = alice.data("trades.btc_usdt");
          expect(frames.map((f) => f.data.i)).toEqual(range(100));
          expect(sequenceProblem(frames, range(100, 1), 0)).toBeUndefined();
          expect(alice.closeCode).toBeUndefined();
        }
      },
      240_000,
    );

    test("PUT /admin/api/bindings/{id} changes routing for the next event without dropping clients", async () => {
      const { name, fx, gw } = await gatewayWith();
      const alice = await client(gw, "alice");
      await alice.subscribe(["trades.btc_usdt", "ticker.btc_usdt"]);
      await fx.produce(fx.origins.trades, [trade(0)]);
      await alice.waitData("trades.btc_usdt", 1);
      expect(alice.data("trades.btc_usdt")[0]!.data).toMatchObject({ price: "100.5", qty: "1" });

      const unauthorized = await fetch(`${gw.httpUrl}/admin/api/bindings/trades`, { method: "PUT", body: "{}" });
      expect(unauthorized.status).toBe(401);
      // New transform: keep only pair and i.
      let res = await gw.putBinding("trades", { source: name, match: fx.origins.trades, stream: { template: "trades.{payload.pair}" }, transforms: [{ pick: ["pair", "i"] }] });
      expect(res.status).toBe(200);
      await fx.produce(fx.origins.trades, [trade(1)]);
      await alice.waitData("trades.btc_usdt", 2);
      expect(alice.data("trades.btc_usdt")[1]!.data).toEqual({ pair: "btc_usdt", i: 1 });

      // New stream rule: the same origin now feeds ticker.<pair>.
      res = await gw.putBinding("trades", { source: name, match: fx.origins.trades, stream: { template: "ticker.{payload.pair}" }, transforms: [{ pick: ["pair", "p"] }] });
      expect(res.status).toBe(200);
      const pos = await fx.produce(fx.origins.trades, [trade(2)]);
      await alice.waitData("ticker.btc_usdt", 1);
      const t = alice.data("ticker.btc_usdt")[0]!;
      expect(t.data).toEqual({ pair: "btc_usdt", p: "102.5" });
      if (driver.positional) expect(t.seq).toBe(pos[0]!);
      // A bad binding is refused and the current one stays.
      res = await gw.putBinding("trades", { source: name, transforms: [{ explode: true }] });
      expect(res.status).toBe(400);
      await fx.produce(fx.origins.trades, [trade(3)]);
      await alice.waitData("ticker.btc_usdt", 2);
      await Bun.sleep(200);
      expect(alice.data("trades.btc_usdt")).toHaveLength(2);
      expect(alice.closeCode).toBeUndefined();
      expect(await gw.metric("gateway_connections_closed_total")).toBe(0);
    }, 60_000);

    if (driver.positional) crossGatewaySuite(driver, sourceName);
  });
}

/** Data frames of several successive connections of one client, in order. */
function allData(conns: WsClient[], stream: string): DataFrame[] {
  return conns.flatMap((c) => c.data(stream));
}

/**
 * Waits until the connections together hold `positions.length` frames of `stream`, then checks
 * they are exactly those seqs (prev chain unbroken, nothing repeated) carrying events 0..n-1.
 */
async function expectCompleteAcross(conns: WsClient[], stream: string, positions: number[], timeoutMs: number): Promise<void> {
  await waitUntil(() => allData(conns, stream).length >= positions.length, timeoutMs, () => `all ${positions.length} events (have ${allData(conns, stream).length})`);
  await Bun.sleep(300);
  const frames = allData(conns, stream);
  expect(sequenceProblem(frames, positions, 0)).toBeUndefined();
  expect(frames.map((f) => f.data.i)).toEqual(positions.map((_, i) => i));
}

function crossGatewaySuite(driver: Driver, sourceName: () => string): void {
  const stream = "trades.btc_usdt";

  async function setup() {
    const name = sourceName();
    const fx = await driver.fresh(name);
    const cfg: E2eConfigFile = { sources: [fx.def], bindings: bindingsFor(name, fx) };
    return { name, fx, cfg };
  }

  /** Kills A under its client, reconnects the client to B and resumes; returns the new connection. */
  async function failOver(a: ChildGateway, b: ChildGateway, first: WsClient, epoch: string, expectedEpoch: string) {
    await a.kill9();
    expect(await first.closed).toBe(1006);
    // Read the position only now: frames A sent between the read and the kill still arrive.
    const lastSeq = first.data(stream).at(-1)!.seq;
    const second = await client(b, "alice");
    const answers = await second.resume({ [stream]: lastSeq }, { [stream]: epoch });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ event: "resumed", stream, from: lastSeq, epoch: expectedEpoch });
    return second;
  }

  test("cross-gateway resume: kill -9 of gateway A, the client resumes on B with its seq and epoch, nothing lost or repeated", async () => {
    const { name, fx, cfg } = await setup();
    const [a, b] = await Promise.all([ChildGateway.spawn("A", cfg), ChildGateway.spawn("B", cfg)]);
    const first = await client(a, "alice");
    await first.subscribe([stream]);
    const values = Array.from({ length: 600 }, (_, i) => trade(i));
    const producing = fx.produceStream(fx.origins.trades, values, 100);
    producing.catch(() => undefined);
    await first.waitData(stream, 150, 30_000);
    const epoch = await first.epochOf(stream);
    const expectedEpoch = `src:${name}:${fx.origins.trades}`;
    expect(epoch).toBe(expectedEpoch);
    const second = await failOver(a, b, first, epoch, expectedEpoch);
    const positions = await producing;
    expect(positions).toHaveLength(values.length);
    await expectCompleteAcross([first, second], stream, positions, 60_000);
    expect(await b.metric("gateway_resumes_total", { result: "served" })).toBe(1);
  }, 180_000);

  test("cross-gateway resume through the source: B started after the events, its log does not reach back", async () => {
    const { name, fx, cfg } = await setup();
    const a = await ChildGateway.spawn("A", cfg);
    const first = await client(a, "alice");
    await first.subscribe([stream]);
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => trade(from + i));
    const p1 = await fx.produce(fx.origins.trades, batch(0, 100));
    await first.waitData(stream, 100);
    const epoch = await first.epochOf(stream);
    await a.kill9();
    expect(await first.closed).toBe(1006);
    // Read the position only now: frames A sent between the read and the kill still arrive.
    const lastSeq = first.data(stream).at(-1)!.seq;
    // Produced while no gateway runs; then B starts reading only what is new.
    const p2 = await fx.produce(fx.origins.trades, batch(100, 100));
    const b = await ChildGateway.spawn("B", cfg);
    const p3 = await fx.produce(fx.origins.trades, batch(200, 100));
    await waitUntil(async () => (await b.snapshot(stream))?.seq === p3.at(-1), 30_000, "B to log the third batch");
    const second = await client(b, "alice");
    const answers = await second.resume({ [stream]: lastSeq }, { [stream]: epoch });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ event: "resumed", stream, from: lastSeq, epoch: `src:${name}:${fx.origins.trades}` });
    const p4 = await fx.produce(fx.origins.trades, batch(300, 50));
    const all = [...p1, ...p2, ...p3, ...p4] as number[];
    await expectCompleteAcross([first, second], stream, all, 30_000);
    expect(await b.metric("gateway_resumes_total", { result: "source_fallback" })).toBe(1);
  }, 180_000);

  test("cross-gateway resume through the source: B's log holds only the last 10 events (LOG_MAX_EVENTS=10)", async () => {
    const { name, fx, cfg } = await setup();
    const [a, b] = await Promise.all([ChildGateway.spawn("A", cfg), ChildGateway.spawn("B", cfg, { LOG_MAX_EVENTS: "10" })]);
    const first = await client(a, "alice");
    await first.subscribe([stream]);
    const batch = (from: number, count: number) => Array.from({ length: count }, (_, i) => trade(from + i));
    const p1 = await fx.produce(fx.origins.trades, batch(0, 100));
    await first.waitData(stream, 100);
    const epoch = await first.epochOf(stream);
    const expectedEpoch = `src:${name}:${fx.origins.trades}`;
    await waitUntil(async () => (await b.snapshot(stream))?.seq === p1.at(-1), 30_000, "B to log the first batch");
    // B's log now ends far past the client's position.
    await a.kill9();
    expect(await first.closed).toBe(1006);
    // Read the position only now: frames A sent between the read and the kill still arrive.
    const lastSeq = first.data(stream).at(-1)!.seq;
    const p2 = await fx.produce(fx.origins.trades, batch(100, 200));
    await waitUntil(async () => (await b.snapshot(stream))?.seq === p2.at(-1), 30_000, "B to log the second batch");
    const second = await client(b, "alice");
    const answers = await second.resume({ [stream]: lastSeq }, { [stream]: epoch });
    expect(answers).toHaveLength(1);
    expect(answers[0]).toMatchObject({ event: "resumed", stream, from: lastSeq, epoch: expectedEpoch, replayed: 200 });
    const p3 = await fx.produce(fx.origins.trades, batch(300, 50));
    const all = [...p1, ...p2, ...p3] as number[];
    await expectCompleteAcross([first, second], stream, all, 30_000);
    expect(await b.metric("gateway_resumes_total", { result: "source_fallback" })).toBe(1);
  }, 180_000);
}
