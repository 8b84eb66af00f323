/**
 * A client that resumes with a big backlog and then stops reading: the replay pauses while its
 * send buffer is full, and if it cannot go on for REPLAY_STALL_MS the client is closed 4008 with a
 * reason (before, it stayed connected for ever, below the sweep's limit and pinging).
 *
 * The slow client is a raw TCP WebSocket (RawWsClient) that pauses right after the resume, as in
 * slow-client.test.ts; the backlog (~24 MB) is larger than loopback's kernel buffers.
 */
import { afterEach, expect, test } from "bun:test";
import { RawWsClient, TestClient, closeAll, scrapeMetric, startGateway, tokenFor, until, type TestGateway } from "../helpers/gateway-harness.ts";

const S = "trades.ada_usdt";
let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.stop();
  gw = undefined;
});

/** A gateway whose log of S holds `events` events of ~4 KB each. */
async function gatewayWithBacklog(env: Record<string, string>, events: number): Promise<TestGateway> {
  const g = await startGateway({ SEND_BUFFER_BYTES: String(256 * 1024), LOG_SEGMENT_BYTES: String(16 << 20), LOG_MAX_EVENTS: "1000000", ...env });
  const pad = "x".repeat(4000);
  for (let i = 0; i < events; i += 500) g.publish(Array.from({ length: 500 }, (_, k) => ({ stream: S, data: { n: i + k, pad } })));
  return g;
}

test("a resumed client that stops reading is closed 4008 with a reason once its replay stalls; a reading one is served", async () => {
  const g = (gw = await gatewayWithBacklog({ REPLAY_STALL_MS: "1000", LOG_LEVEL: "warn" }, 6000));
  const slow = await RawWsClient.connect(g.port, "/ws", { Authorization: `Bearer ${await tokenFor("u1")}` });
  slow.send({ action: "resume", positions: { [S]: 0 }, id: "r" });
  slow.pause();

  // Stuck below the sweep's limit (the replay waits at half of it): only the stall rule drops it.
  await until(() => g.gateway.sessions.size === 0, 20_000, "the stalled client to be dropped", 50);
  expect(await scrapeMetric(g.port, "gateway_slow_consumer_drops_total")).toBe(1);
  expect(await scrapeMetric(g.port, "gateway_connections_closed_total", { code: "4008" })).toBe(1);
  expect(g.logLines.some((l) => l.event === "replay_stalled" && l.stream === S)).toBe(true);

  // Reading again, it finds a gapless prefix of the replay, then the close frame with the reason.
  slow.resume();
  await until(() => slow.closeFrame ?? (slow.socketClosed ? { code: 0, reason: "" } : undefined), 20_000, "close frame");
  expect(slow.closeFrame?.code).toBe(4008);
  expect(slow.closeFrame?.reason).toContain("slow consumer");
  expect(slow.closeFrame?.reason).toContain("replay");
  const got = slow.data(S).map((f) => f.seq);
  expect(got.length).toBeGreaterThan(0);
  expect(got.length).toBeLessThan(6000);
  expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
  expect(slow.frames.some((f) => f.event === "resumed")).toBe(false);

  // A client that reads is replayed everything and goes live.
  const ok = await TestClient.connect(g.wsUrl(), { token: await tokenFor("u2") });
  ok.send({ action: "resume", positions: { [S]: 0 }, id: "r2" });
  const resumed = await ok.waitFor((f) => f.id === "r2", 20_000);
  expect(resumed).toMatchObject({ event: "resumed", from: 0, to: 6000, replayed: 6000 });
  await closeAll([ok]);
}, 60_000);
