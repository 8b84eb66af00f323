/**
 * Slow clients (use case 5): a client that stops reading while events flow is dropped with 4008
 * and a reason once its send buffer passes SEND_BUFFER_BYTES; the clients beside it lose nothing;
 * the drop is counted; and the dropped client recovers everything by resuming from its last seq.
 *
 * The slow client is a raw TCP WebSocket (RawWsClient) that pauses reading: first the kernel's
 * socket buffers fill (a few MB on loopback), then the gateway's per-socket buffer. Events flow at a
 * steady rate, as a market feed does, so the gateway's periodic sweep sees the buffer cross the limit.
 */
import { afterEach, expect, test } from "bun:test";
import {
  EventFlow,
  RawWsClient,
  TestClient,
  closeAll,
  diffSeqs,
  scrapeMetric,
  startGateway,
  tokenFor,
  until,
  type TestGateway,
} from "../helpers/gateway-harness.ts";

const S = "trades.btc_usdt";
const SEND_BUFFER = 256 * 1024;
let gw: TestGateway | undefined;
let flow: EventFlow | undefined;
afterEach(async () => {
  await flow?.stop();
  await gw?.stop();
  flow = gw = undefined;
});

async function setup(): Promise<{ gw: TestGateway; normal: TestClient; slow: RawWsClient; token: string }> {
  gw = await startGateway({ SEND_BUFFER_BYTES: String(SEND_BUFFER), LOG_SEGMENT_BYTES: String(8 << 20), LOG_MAX_EVENTS: "1000000" });
  const token = await tokenFor("u1");
  const normal = await TestClient.connect(gw.wsUrl(), { token: await tokenFor("u2") });
  await normal.subscribe([S]);
  const slow = await RawWsClient.connect(gw.port, "/ws", { Authorization: `Bearer ${token}` });
  slow.send({ action: "subscribe", streams: [S], id: 1 });
  await until(() => slow.frames.some((f) => f.id === 1 && f.event === "subscribed"), 5000, "slow client subscribed");
  slow.pause();
  return { gw, normal, slow, token };
}

/** ~16 KB every 10 ms (1.6 MB/s): under SEND_BUFFER_BYTES per 100 ms sweep, so the sweep catches the overrun. */
function steadyFlow(g: TestGateway): EventFlow {
  return new EventFlow(g.publish, [S], { perTick: 4, intervalMs: 10, pad: 4000 });
}

test("a client that stops reading is dropped with 4008 and a reason; the client beside it loses nothing", async () => {
  const { gw: g, normal, slow } = await setup();
  const dropsBefore = await scrapeMetric(g.port, "gateway_slow_consumer_drops_total");
  expect(dropsBefore).toBe(0);
  flow = steadyFlow(g).start();
  await until(async () => (await scrapeMetric(g.port, "gateway_slow_consumer_drops_total")) >= 1, 30_000, "a slow-consumer drop", 50);
  await Bun.sleep(150); // the feed goes on after the drop
  await flow.stop();

  // The normal client got every published event, in order, once.
  await normal.waitForSeq(S, flow.head(S), 15_000);
  expect(diffSeqs(normal.seqs(S), flow.seqs(S))).toBeUndefined();
  expect(normal.isOpen).toBe(true);
  expect(g.gateway.sessions.size).toBe(1);

  // Reading again, the slow client finds its backlog and then the close frame: 4008 with a reason.
  slow.resume();
  await until(() => slow.closeFrame, 10_000, "close frame of the slow client");
  expect(slow.closeFrame!.code).toBe(4008);
  expect(slow.closeFrame!.reason).toContain("slow consumer");
  expect(slow.closeFrame!.reason).toContain(String(SEND_BUFFER));
  // What it did get is a gapless prefix of the stream: nothing was silently skipped.
  const got = slow.data(S).map((f) => f.seq);
  expect(got.length).toBeGreaterThan(0);
  expect(got.length).toBeLessThan(flow.count);
  expect(diffSeqs(got, flow.seqs(S).slice(0, got.length))).toBeUndefined();

  const text = await (await fetch(g.httpUrl("/metrics"))).text();
  expect(text).toMatch(/^gateway_slow_consumer_drops_total 1$/m);
  expect(text).toMatch(/^gateway_connections_closed_total\{code="4008",reason="slow_consumer"\} 1$/m);
  await normal.close();
}, 30_000);

test("fault: a client dropped as a slow consumer reconnects with its last seq and ends with the complete sequence", async () => {
  const { gw: g, slow, token } = await setup();
  flow = steadyFlow(g).start();
  await until(async () => (await scrapeMetric(g.port, "gateway_slow_consumer_drops_total")) >= 1, 30_000, "a slow-consumer drop", 50);
  // The feed keeps going while the client catches up on its backlog, sees 4008 and reconnects.
  slow.resume();
  await until(() => slow.closeFrame, 10_000, "close frame of the slow client");
  expect(slow.closeFrame!.code).toBe(4008);
  const before = slow.data(S);
  const last = before.at(-1)!.seq;
  const headAtDrop = flow.head(S);
  expect(headAtDrop).toBeGreaterThan(last);

  const again = await TestClient.connect(g.wsUrl(), { token });
  again.send({ action: "resume", streams: [S], lastSequence: last, id: "r" });
  const resumed = await again.waitFor((f) => f.id === "r", 10_000);
  expect(resumed).toMatchObject({ event: "resumed", stream: S, from: last });
  expect(resumed.replayed).toBeGreaterThan(0);
  await until(() => flow!.head(S) > resumed.to + 20, 10_000, "live events after the resume");
  await flow.stop();
  await again.waitForSeq(S, flow.head(S), 15_000);

  const all = [...before.map((f) => f.seq), ...again.seqs(S)];
  expect(diffSeqs(all, flow.seqs(S))).toBeUndefined();
  expect([...before, ...again.data(S)].map((f) => f.data.n)).toEqual(flow.published.get(S)!.map((e) => e.data.n));
  await closeAll([again]);
}, 30_000);

test("a burst that outruns the sweep hits Bun's hard limit: the client is cut off, never silently skipped", async () => {
  const g = (gw = await startGateway({ SEND_BUFFER_BYTES: String(64 * 1024), LOG_SEGMENT_BYTES: String(8 << 20), LOG_MAX_EVENTS: "1000000" }));
  const normal = await TestClient.connect(g.wsUrl(), { token: await tokenFor("u2") });
  await normal.subscribe([S]);
  const slow = await RawWsClient.connect(g.port, "/ws", { Authorization: `Bearer ${await tokenFor("u1")}` });
  slow.send({ action: "subscribe", streams: [S], id: 1 });
  await until(() => slow.frames.some((f) => f.id === 1), 5000, "subscribed");
  slow.pause();
  // ~256 KB per batch: one batch is more than twice the send buffer.
  flow = new EventFlow(g.publish, [S], { perTick: 64, intervalMs: 10, pad: 4000 }).start();
  await until(() => g.gateway.sessions.size === 1, 30_000, "the slow client to be cut off", 20);
  await Bun.sleep(50);
  await flow.stop();
  await normal.waitForSeq(S, flow.head(S), 15_000);
  expect(diffSeqs(normal.seqs(S), flow.seqs(S))).toBeUndefined();

  slow.resume();
  await until(() => slow.socketClosed, 10_000, "the slow socket to close");
  const got = slow.data(S).map((f) => f.seq);
  expect(got.length).toBeLessThan(flow.count);
  expect(diffSeqs(got, flow.seqs(S).slice(0, got.length))).toBeUndefined();
  // Counted as a close of some kind (4008 when the sweep got there first, else Bun's 1006).
  const closes = (await scrapeMetric(g.port, "gateway_connections_closed_total", { code: "4008" })) + (await scrapeMetric(g.port, "gateway_connections_closed_total", { code: "1006" }));
  expect(closes).toBe(1);
  await normal.close();
}, 30_000);
