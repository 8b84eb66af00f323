/** End-to-end: Kafka -> gateway -> WebSocket clients (see helpers/e2e-suite.ts). */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { DRIVER_INIT_TIMEOUT_MS, KafkaDriver } from "./helpers/drivers.ts";
import { ChildGateway, cleanupAll, client } from "./helpers/e2e.ts";
import { bindingsFor, runE2eSuite, trade } from "./helpers/e2e-suite.ts";

runE2eSuite(new KafkaDriver());

describe("e2e Kafka gateway process", () => {
  const driver = new KafkaDriver();
  beforeAll(() => driver.init(), DRIVER_INIT_TIMEOUT_MS);
  afterEach(() => cleanupAll(), 30_000);
  afterAll(() => driver.close(), 60_000);

  test("kill -9 of a gateway leaves no Kafka worker behind (the worker notices and exits)", async () => {
    const fx = await driver.fresh("orphans");
    const cfg = { sources: [fx.def], bindings: bindingsFor("orphans", fx) };
    // Several at once: whether a worker hangs on its way out depends on timing.
    const gws = await Promise.all([0, 1, 2].map((i) => ChildGateway.spawn(`K${i}`, cfg)));
    const clients = await Promise.all(gws.map((g) => client(g, "alice")));
    await Promise.all(clients.map((c) => c.subscribe(["trades.btc_usdt"])));
    await fx.produce(fx.origins.trades, Array.from({ length: 50 }, (_, i) => trade(i)));
    await Promise.all(clients.map((c) => c.waitData("trades.btc_usdt", 50)));
    await Promise.all(gws.map((g) => g.kill9()));
    for (const g of gws) expect(g.startedProcesses.filter((p) => p.cmd.includes("kafka-worker"))).toHaveLength(1);
    const left = (await Promise.all(gws.map((g) => g.reapOrphans(10_000)))).flat();
    expect(left.map((p) => p.cmd.slice(0, 100))).toEqual([]);
  }, 120_000);

  test("a gateway stopped (SIGTERM) after serving a resume from Kafka leaves no Kafka worker behind", async () => {
    const fx = await driver.fresh("orphans2");
    const cfg = { sources: [fx.def], bindings: bindingsFor("orphans2", fx) };
    const positions = await fx.produce(fx.origins.trades, Array.from({ length: 30 }, (_, i) => trade(i)));
    // Started after those events: resuming from the first one is served by the worker's replay consumer.
    const gws = await Promise.all([0, 1].map((i) => ChildGateway.spawn(`R${i}`, cfg)));
    await fx.produce(fx.origins.trades, Array.from({ length: 5 }, (_, i) => trade(30 + i)));
    for (const g of gws) {
      const c = await client(g, "alice");
      let answers = await c.resume({ "trades.btc_usdt": positions[0]! }, {});
      for (let i = 0; i < 50 && answers[0]?.code === "resume_unavailable"; i++) {
        // The gateway has not logged the new events yet: no origin known for the stream.
        await Bun.sleep(100);
        answers = await c.resume({ "trades.btc_usdt": positions[0]! }, {});
      }
      expect(answers[0]).toMatchObject({ event: "resumed", replayed: 34 });
    }
    await Promise.all(gws.map((g) => g.stop()));
    for (const g of gws) expect(g.startedProcesses.filter((p) => p.cmd.includes("kafka-worker"))).toHaveLength(1);
    const left = (await Promise.all(gws.map((g) => g.reapOrphans(10_000)))).flat();
    expect(left.map((p) => p.cmd.slice(0, 100))).toEqual([]);
  }, 120_000);
});
