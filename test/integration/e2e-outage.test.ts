/**
 * End-to-end: one source's broker going down never stops the gateway or its other sources.
 * A gateway reads two sources; one broker is stopped: the other's events keep reaching clients,
 * /readyz answers 503 naming the source that is down, and everything recovers once it is back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { startService, stopService } from "../helpers/services.ts";
import { DRIVER_INIT_TIMEOUT_MS, JetStreamDriver, KafkaDriver, RedisDriver, type Driver } from "./helpers/drivers.ts";
import { InProcessGateway, cleanupAll, client, sequenceProblem, waitUntil } from "./helpers/e2e.ts";
import { bindingsFor, trade } from "./helpers/e2e-suite.ts";

const nats = new JetStreamDriver();
const redis = new RedisDriver();
const kafka = new KafkaDriver();
const drivers: Driver[] = [nats, redis, kafka];

beforeAll(() => Promise.all(drivers.map((d) => d.init())), DRIVER_INIT_TIMEOUT_MS);
afterEach(async () => {
  await cleanupAll();
  // Never leave a broker down for the next test (or another engineer's run).
  await Promise.all(drivers.map((d) => startService(d.service)));
}, 180_000);
afterAll(() => Promise.all(drivers.map((d) => d.close())), 60_000);

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);

function outageCase(down: Driver, up: Driver): void {
  test(`${down.label} down: ${up.label} events keep flowing, /readyz is 503 naming it, all recovers when it is back`, async () => {
    const downName = `down-${down.service}`;
    const upName = `up-${up.service}`;
    const [fxDown, fxUp] = await Promise.all([down.fresh(downName), up.fresh(upName)]);
    const gw = await InProcessGateway.start({
      sources: [fxDown.def, fxUp.def],
      bindings: [...bindingsFor(downName, fxDown, "d-"), ...bindingsFor(upName, fxUp, "u-")],
    });
    const c = await client(gw, "alice");
    const sDown = "trades.down_pair";
    const sUp = "trades.up_pair";
    await c.subscribe([sDown, sUp]);

    const d1 = await fxDown.produce(fxDown.origins.trades, range(10).map((i) => trade(i, "down_pair")));
    const u1 = await fxUp.produce(fxUp.origins.trades, range(10).map((i) => trade(i, "up_pair")));
    await c.waitData(sDown, 10);
    await c.waitData(sUp, 10);

    await stopService(down.service);
    await waitUntil(async () => (await gw.readyz()).status === 503, 30_000, `/readyz 503 after stopping ${down.service}`);
    const r = await gw.readyz();
    expect(r.body.status).toBe("not_ready");
    expect(r.body.sources[downName]).toMatchObject({ kind: down.service, connected: false });
    expect(r.body.sources[upName]).toMatchObject({ kind: up.service, connected: true });
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
    expect(await gw.metric("gateway_source_up", { source: downName })).toBe(0);
    expect(await gw.metric("gateway_source_up", { source: upName })).toBe(1);

    // The healthy source keeps delivering while the other broker is down.
    const u2 = await fxUp.produce(fxUp.origins.trades, range(50, 10).map((i) => trade(i, "up_pair")));
    await c.waitData(sUp, 60);
    expect((await gw.readyz()).status).toBe(503); // still down: the events above flowed during the outage
    // New clients are still served too.
    const late = await client(gw, "bob");
    expect((await late.subscribe([sUp])).map((a) => a.event)).toEqual(["subscribed"]);

    await startService(down.service);
    let last: unknown;
    await waitUntil(async () => {
      const r = await gw.readyz();
      last = r.body;
      return r.status === 200;
    }, 90_000, () => `/readyz 200 after restarting ${down.service}: ${JSON.stringify(last)}`);
    const d2 = await fxDown.produce(fxDown.origins.trades, range(10, 10).map((i) => trade(i, "down_pair")));
    const u3 = await fxUp.produce(fxUp.origins.trades, range(5, 60).map((i) => trade(i, "up_pair")));
    await c.waitData(sDown, 20, 30_000).catch(async (err) => {
      throw new Error(`${(err as Error).message}; /readyz ${JSON.stringify((await gw.readyz()).body)}`);
    });
    await c.waitData(sUp, 65);
    await late.waitData(sUp, 5);
    await Bun.sleep(200);

    expect(c.data(sUp).map((f) => f.data.i)).toEqual(range(65));
    expect(c.data(sDown).map((f) => f.data.i)).toEqual(range(20));
    expect(sequenceProblem(c.data(sUp), [...u1, ...u2, ...u3] as number[], 0)).toBeUndefined();
    expect(sequenceProblem(c.data(sDown), [...d1, ...d2] as number[], 0)).toBeUndefined();
    expect(c.closeCode).toBeUndefined();
    const ready = await gw.readyz();
    expect(ready.body.sources[downName].connected).toBe(true);
    expect(ready.body.sources[downName].reconnects).toBeGreaterThanOrEqual(1);
  }, 240_000);
}

describe("e2e source outage", () => {
  outageCase(redis, nats);
  outageCase(nats, redis);
  outageCase(kafka, nats);
});
