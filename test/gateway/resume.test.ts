/**
 * Resume (issue 3) against an in-process gateway: replay of what a client missed, then live, with
 * nothing lost, nothing repeated and everything in order, checked against exactly what was published.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  EventFlow,
  RawWsClient,
  TestClient,
  closeAll,
  connectMany,
  diffSeqs,
  getHttp,
  range,
  startGateway,
  tokenFor,
  until,
  type Frame,
  type TestGateway,
} from "../helpers/gateway-harness.ts";

let gw: TestGateway;
let token: string;
beforeAll(async () => {
  gw = await startGateway();
  token = await tokenFor("u1");
});
afterAll(() => gw.stop());

const connect = (g = gw, t = token) => TestClient.connect(g.wsUrl(), { token: t });

/** Checks the frames of `c` around its `resumed` answer: replayed ones before it, live ones after. */
function checkReplayThenLive(c: TestClient, stream: string, resumed: Frame): void {
  const at = c.frames.indexOf(resumed);
  expect(at).toBeGreaterThanOrEqual(0);
  const before = c.frames.slice(0, at).filter((f) => f.stream === stream && typeof f.seq === "number");
  const after = c.frames.slice(at + 1).filter((f) => f.stream === stream && typeof f.seq === "number");
  expect(before.every((f) => f.seq > resumed.from && f.seq <= resumed.to)).toBe(true);
  expect(before.length).toBe(resumed.replayed);
  expect(after.every((f) => f.seq > resumed.to)).toBe(true);
}

/** Prev links of `frames` form one chain (each prev is the seq before it). */
function chained(frames: { seq: number; prev: number }[]): boolean {
  return frames.every((f, i) => i === 0 || f.prev === frames[i - 1]!.seq);
}

describe("resume while events keep flowing", () => {
  test("positions form: nothing lost, nothing repeated, in order, payloads intact", async () => {
    const S = "trades.btc_usdt";
    gw.publish([{ stream: S, data: { n: 0 } }]); // so the subscribe answer carries the log's epoch
    const a = await connect();
    const ack = await a.subscribe([S]);
    const epoch = ack.epochs[S] as string;
    expect(epoch).toMatch(/^[0-9a-f]{16}$/);
    const flow = new EventFlow(gw.publish, [S], { perTick: 3, intervalMs: 2 }).start();
    await until(() => a.data(S).length >= 30, 5000, "first 30 events");
    await a.close();
    const firstPart = a.data(S);
    const last = a.lastSeq(S);
    await until(() => flow.head(S) >= last + 60, 5000, "events published while disconnected");

    const b = await connect();
    b.send({ action: "resume", positions: { [S]: last }, epochs: { [S]: epoch }, id: "r1" });
    const resumed = await b.waitFor((f) => f.event === "resumed");
    expect(resumed).toMatchObject({ event: "resumed", stream: S, from: last, epoch, id: "r1" });
    expect(resumed.to).toBeGreaterThanOrEqual(last + 60);
    expect(resumed.replayed).toBe(resumed.to - last);
    await until(() => flow.head(S) >= resumed.to + 60, 5000, "live events after resume");
    await flow.stop();
    await b.waitForSeq(S, flow.head(S));
    await Bun.sleep(20);

    const got = [...firstPart, ...b.data(S)];
    expect(diffSeqs(got.map((f) => f.seq), flow.seqs(S))).toBeUndefined();
    expect(got.map((f) => f.data)).toEqual(flow.published.get(S)!.map((e) => e.data));
    expect(chained(b.data(S))).toBe(true);
    checkReplayThenLive(b, S, resumed);
    expect((await b.request({ action: "list" })).streams).toEqual([S]);
    await b.close();
  }, 20_000);

  test("seed form {streams, lastSequence, epoch}: same guarantees", async () => {
    const S = "ticker.btc_usdt";
    gw.publish([{ stream: S, data: { n: 0 } }]);
    const a = await connect();
    const epoch = (await a.subscribe([S])).epochs[S] as string;
    const flow = new EventFlow(gw.publish, [S], { perTick: 2, intervalMs: 2 }).start();
    await until(() => a.data(S).length >= 20, 5000, "first events");
    await a.close();
    const firstPart = a.seqs(S);
    const last = a.lastSeq(S);
    await until(() => flow.head(S) >= last + 40, 5000, "events while disconnected");

    const b = await connect();
    b.send({ action: "resume", streams: [S], lastSequence: last, epoch, id: 5 });
    const resumed = await b.waitFor((f) => f.event === "resumed");
    expect(resumed).toMatchObject({ stream: S, from: last, id: 5, epoch });
    await until(() => flow.head(S) >= resumed.to + 40, 5000, "live events");
    await flow.stop();
    await b.waitForSeq(S, flow.head(S));
    expect(diffSeqs([...firstPart, ...b.seqs(S)], flow.seqs(S))).toBeUndefined();
    checkReplayThenLive(b, S, resumed);
    await b.close();
  }, 20_000);

  test("seed form with several streams: one resumed answer per stream", async () => {
    const streams = ["trades.ada_usdt", "trades.xrp_usdt"];
    // Same number of events on both, so one lastSequence fits both.
    for (let i = 1; i <= 10; i++) gw.publish(streams.map((s) => ({ stream: s, data: { i } })));
    const c = await connect();
    c.send({ action: "resume", streams, lastSequence: 6 });
    await c.waitFor((f) => f.event === "resumed" && f.stream === streams[1]);
    for (const s of streams) {
      expect(c.seqs(s)).toEqual([7, 8, 9, 10]);
      expect(c.frames.find((f) => f.event === "resumed" && f.stream === s)).toMatchObject({ from: 6, to: 10, replayed: 4 });
    }
    gw.publish(streams.map((s) => ({ stream: s, data: { live: true } })));
    for (const s of streams) await c.waitForSeq(s, 11);
    await c.close();
  });
});

describe("resume edge cases", () => {
  test("resuming from the head replays nothing and goes live", async () => {
    const S = "trades.eth_usdt";
    const [, , head] = gw.publish([1, 2, 3].map((n) => ({ stream: S, data: { n } })));
    const c = await connect();
    c.send({ action: "resume", positions: { [S]: head } });
    const r = await c.waitFor((f) => f.event === "resumed");
    expect(r).toMatchObject({ from: head, to: head, replayed: 0 });
    const [next] = gw.publish([{ stream: S, data: { n: 4 } }]);
    await c.waitForSeq(S, next!);
    expect(c.seqs(S)).toEqual([next!]);
    await c.close();
  });

  test("resuming a stream with no events yet from 0 answers resumed and delivers live events", async () => {
    const S = "trades.fresh_usdt";
    const c = await connect();
    c.send({ action: "resume", positions: { [S]: 0 }, id: 1 });
    const r = await c.waitFor((f) => f.id === 1);
    expect(r).toMatchObject({ event: "resumed", stream: S, from: 0, to: 0, replayed: 0 });
    expect(c.isOpen).toBe(true);
    const [seq] = gw.publish([{ stream: S, data: { first: true } }]);
    await c.waitForSeq(S, seq!);
    expect(c.seqs(S)).toEqual([1]);
    await c.close();
  });

  test("resume of a stream already subscribed live: no duplicates", async () => {
    const S = "ticker.sol_usdt";
    const c = await connect();
    await c.subscribe([S]);
    gw.publish([1, 2, 3, 4, 5].map((n) => ({ stream: S, data: { n } })));
    await c.waitForSeq(S, 5);
    c.send({ action: "resume", positions: { [S]: 5 } });
    await c.waitFor((f) => f.event === "resumed");
    gw.publish([6, 7].map((n) => ({ stream: S, data: { n } })));
    await c.waitForSeq(S, 7);
    await Bun.sleep(20);
    expect(c.seqs(S)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await c.close();
  });

  test("a position ahead of the log is resume_unavailable; the client stays subscribed live", async () => {
    const S = "ticker.eth_usdt";
    gw.publish([{ stream: S, data: {} }]);
    const c = await connect();
    c.send({ action: "resume", positions: { [S]: 999 }, id: 2 });
    const e = await c.waitFor((f) => f.id === 2);
    expect(e).toMatchObject({ event: "error", code: "resume_unavailable", stream: S, head: 1 });
    const [seq] = gw.publish([{ stream: S, data: {} }]);
    await c.waitForSeq(S, seq!);
    await c.close();
  });

  test("unknown epoch: resume_unavailable naming the stream; the client stays subscribed live", async () => {
    const S = "ticker.ada_usdt";
    gw.publish([1, 2, 3].map((n) => ({ stream: S, data: { n } })));
    const c = await connect();
    c.send({ action: "resume", streams: [S], lastSequence: 1, epoch: "0000000000000bad", id: 3 });
    const e = await c.waitFor((f) => f.id === 3);
    expect(e).toMatchObject({ event: "error", code: "resume_unavailable", stream: S, lastSequence: 1, head: 3 });
    expect(e.message).toContain("epoch");
    expect(e.epoch).toBe(gw.gateway.logs.find(S)!.position().epoch);
    // No replay happened...
    expect(c.data(S)).toEqual([]);
    // ...but live delivery did start.
    const [seq] = gw.publish([{ stream: S, data: { n: 4 } }]);
    await c.waitForSeq(S, seq!);
    expect((await c.request({ action: "list" })).streams).toEqual([S]);
    await c.close();
  });

  test("a forbidden or unknown stream is refused by name; allowed streams in the same request resume", async () => {
    gw.publish([{ stream: "orders.u2", data: { secret: 1 } }, { stream: "orders.u1", data: { mine: 1 } }]);
    const c = await connect();
    c.send({ action: "resume", positions: { "orders.u2": 0, "orders.u1": 0, "nope.x": 0 }, id: 4 });
    await c.waitFor((f) => f.id === 4 && f.event === "resumed");
    await c.waitFor((f) => f.id === 4 && f.code === "forbidden");
    await c.waitFor((f) => f.id === 4 && f.code === "unknown_stream");
    expect(c.answers(4).find((f) => f.code === "forbidden")!.streams).toEqual(["orders.u2"]);
    expect(c.answers(4).find((f) => f.code === "unknown_stream")!.streams).toEqual(["nope.x"]);
    expect(c.data("orders.u2")).toEqual([]);
    expect(c.seqs("orders.u1")).toEqual([1]);
    await c.close();
  });

  test("malformed resume requests are bad_request", async () => {
    const c = await connect();
    const bad = [
      { action: "resume" },
      { action: "resume", streams: ["trades.btc_usdt"] },
      { action: "resume", streams: ["trades.btc_usdt"], lastSequence: -1 },
      { action: "resume", streams: ["trades.btc_usdt"], lastSequence: 1.5 },
      { action: "resume", positions: { "trades.btc_usdt": "5" } },
      { action: "resume", positions: [] },
      { action: "resume", positions: {} },
    ];
    for (const m of bad) c.send(m);
    await c.waitFor(() => c.errors("bad_request").length === bad.length);
    expect(c.errors().length).toBe(bad.length);
    await c.close();
  });
});

describe("retention", () => {
  let small: TestGateway;
  beforeAll(async () => {
    small = await startGateway({ LOG_MAX_EVENTS: "20" });
  });
  afterAll(() => small.stop());

  test("a position older than the log: resume_unavailable naming stream and oldest; live afterwards", async () => {
    const S = "trades.btc_usdt";
    small.publish(range(1, 50).map((n) => ({ stream: S, data: { n } })));
    const c = await connect(small);
    c.send({ action: "resume", positions: { [S]: 10 }, id: 1 });
    const e = await c.waitFor((f) => f.id === 1);
    expect(e).toMatchObject({ event: "error", code: "resume_unavailable", stream: S, lastSequence: 10, oldest: 31, head: 50 });
    expect(typeof e.epoch).toBe("string");
    expect(c.data(S)).toEqual([]);
    const [seq] = small.publish([{ stream: S, data: { n: 51 } }]);
    expect(seq).toBe(51);
    await c.waitForSeq(S, 51);
    expect(c.seqs(S)).toEqual([51]);

    // The edge: the position just before the oldest held event is still complete.
    const d = await connect(small);
    d.send({ action: "resume", positions: { [S]: 31 } });
    const r = await d.waitFor((f) => f.event === "resumed" || f.event === "error");
    expect(r).toMatchObject({ event: "resumed", from: 31, to: 51, replayed: 20 });
    expect(d.seqs(S)).toEqual(range(32, 51));
    await closeAll([c, d]);
  });

  test("a log that wraps around its segments still resumes correctly within retention", async () => {
    const g = await startGateway({ LOG_SEGMENT_BYTES: "4096", LOG_SEGMENTS: "3", LOG_MAX_EVENTS: "100000" });
    try {
      const S = "trades.eth_usdt";
      const flow = new EventFlow(g.publish, [S], { perTick: 10, intervalMs: 1, pad: 120 });
      // Many turns of a ring of 3 x 4 KiB segments.
      for (let i = 0; i < 100; i++) await flow.publishBatch(10);
      const info = await getHttp(g.port, `/replay/${S}?fromSeq=0&limit=1`, { authorization: `Bearer ${token}` });
      const { oldest, head } = info.body as { oldest: number; head: number };
      expect(head).toBe(1000);
      // Retention is bounded by bytes: far fewer than 1000 events are held.
      expect(oldest).toBeGreaterThan(900);
      expect(oldest).toBeLessThan(head - 20);

      // Slow enough that the positions asked for stay in the ring while the requests travel.
      const slow = new EventFlow(g.publish, [S], { perTick: 1, intervalMs: 5, pad: 120 });
      slow.published.set(S, flow.published.get(S)!);
      const positions = [oldest + 10, oldest + 20, head - 10];
      const clients = await Promise.all(positions.map(() => connect(g)));
      slow.start();
      clients.forEach((c, i) => c.send({ action: "resume", positions: { [S]: positions[i]! }, id: i }));
      const answers = await Promise.all(clients.map((c, i) => c.waitFor((f) => f.id === i)));
      for (const a of answers) expect(a.event).toBe("resumed");
      await Bun.sleep(100);
      await slow.stop();
      const all = flow.published.get(S)!;
      expect(all.length).toBeGreaterThan(1005);
      for (const [i, c] of clients.entries()) {
        await c.waitForSeq(S, all.at(-1)!.seq);
        const expected = all.filter((e) => e.seq > positions[i]!);
        expect(diffSeqs(c.seqs(S), expected.map((e) => e.seq))).toBeUndefined();
        expect(c.data(S).map((f) => f.data)).toEqual(expected.map((e) => e.data));
      }
      // And a position that fell out of the ring is reported, not silently skipped.
      const late = await connect(g);
      late.send({ action: "resume", positions: { [S]: oldest - 50 }, id: 9 });
      expect((await late.waitFor((f) => f.id === 9)).code).toBe("resume_unavailable");
      await closeAll([...clients, late]);
    } finally {
      await g.stop();
    }
  }, 20_000);
});

test("50 clients resuming the same stream at once from different positions each get exactly their missing run", async () => {
  const g = await startGateway();
  try {
    const S = "trades.sol_usdt";
    const flow = new EventFlow(g.publish, [S], { perTick: 5, intervalMs: 3 });
    for (let i = 0; i < 60; i++) await flow.publishBatch(5);
    const clients = await connectMany(g.wsUrl(), 50, { token });
    flow.start();
    const positions = clients.map((_, i) => i * 6);
    clients.forEach((c, i) => c.send({ action: "resume", positions: { [S]: positions[i]! }, id: i }));
    const answers = await Promise.all(clients.map((c, i) => c.waitFor((f) => f.id === i, 10_000)));
    expect(answers.every((a) => a.event === "resumed")).toBe(true);
    await Bun.sleep(100);
    await flow.stop();
    const head = flow.head(S);
    expect(head).toBeGreaterThan(300);
    await Promise.all(clients.map((c) => c.waitForSeq(S, head, 10_000)));
    await Bun.sleep(20);
    for (const [i, c] of clients.entries()) {
      expect(diffSeqs(c.seqs(S), range(positions[i]! + 1, head))).toBeUndefined();
      checkReplayThenLive(c, S, answers[i]!);
    }
    await closeAll(clients);
  } finally {
    await g.stop();
  }
}, 20_000);

test("a replay larger than the send buffer is paced across ticks while live events continue", async () => {
  const g = await startGateway({ SEND_BUFFER_BYTES: "65536", LOG_SEGMENT_BYTES: String(4 << 20) });
  try {
    const S = "ticker.xrp_usdt";
    const flow = new EventFlow(g.publish, [S], { perTick: 2, intervalMs: 2, pad: 200 });
    for (let i = 0; i < 40; i++) await flow.publishBatch(100); // 4000 events, ~1 MB
    flow.start();
    const c = await connect(g);
    c.send({ action: "resume", positions: { [S]: 0 }, id: 1 });
    const r = await c.waitFor((f) => f.id === 1, 15_000);
    expect(r.event).toBe("resumed");
    expect(r.replayed).toBeGreaterThanOrEqual(4000);
    await Bun.sleep(50);
    await flow.stop();
    await c.waitForSeq(S, flow.head(S), 10_000);
    expect(diffSeqs(c.seqs(S), flow.seqs(S))).toBeUndefined();
    expect(c.isOpen).toBe(true);
    await c.close();
  } finally {
    await g.stop();
  }
}, 20_000);

test("resume counters appear in the metrics", async () => {
  const before = await gw.gateway.metrics.resumes.get();
  const count = (v: typeof before, result: string) => v.values.filter((x) => x.labels.result === result).reduce((a, x) => a + x.value, 0);
  const served = count(before, "served");
  const unavailable = count(before, "unavailable");
  const S = "trades.bnb_usdt";
  gw.publish([{ stream: S, data: {} }]);
  const c = await connect();
  c.send({ action: "resume", positions: { [S]: 0 }, id: 1 });
  c.send({ action: "resume", positions: { [S]: 100 }, id: 2 });
  await c.waitFor((f) => f.id === 2);
  const after = await gw.gateway.metrics.resumes.get();
  expect(count(after, "served")).toBe(served + 1);
  expect(count(after, "unavailable")).toBe(unavailable + 1);
  await c.close();
});

test("a client that stops reading during a long replay is not flooded: the replay waits for it, then completes", async () => {
  const g = await startGateway({ SEND_BUFFER_BYTES: String(256 * 1024), LOG_SEGMENT_BYTES: String(4 << 20), LOG_MAX_EVENTS: "100000" });
  try {
    const S = "trades.btc_usdt";
    const flow = new EventFlow(g.publish, [S], { pad: 1000 });
    for (let i = 0; i < 70; i++) await flow.publishBatch(100); // 7000 events, ~7 MB: more than the kernel buffers
    const raw = await RawWsClient.connect(g.port, "/ws", { Authorization: `Bearer ${token}` });
    raw.pause();
    raw.send({ action: "resume", positions: { [S]: 0 }, id: 1 });
    await Bun.sleep(1000);
    // Still connected: the replay paused instead of overrunning the send buffer.
    expect(g.gateway.sessions.size).toBe(1);
    raw.resume();
    await until(() => raw.frames.some((f) => f.id === 1), 15_000, "resumed answer");
    expect(raw.frames.find((f) => f.id === 1)).toMatchObject({ event: "resumed", from: 0, to: 7000, replayed: 7000 });
    expect(diffSeqs(raw.data(S).map((f) => f.seq), flow.seqs(S))).toBeUndefined();
    const [next] = g.publish([{ stream: S, data: { live: true } }]);
    await until(() => raw.data(S).at(-1)?.seq === next, 5000, "live event after the replay");
    raw.destroy();
  } finally {
    await g.stop();
  }
}, 30_000);

test("a replay the log outruns while the client is not reading ends in resume_unavailable, never a silent gap", async () => {
  const g = await startGateway({ SEND_BUFFER_BYTES: String(256 * 1024), LOG_SEGMENT_BYTES: String(16 << 20), LOG_MAX_EVENTS: "7000" });
  try {
    const S = "trades.btc_usdt";
    const flow = new EventFlow(g.publish, [S], { pad: 1000 });
    for (let i = 0; i < 70; i++) await flow.publishBatch(100); // 7000 events, more than the kernel buffers hold
    const raw = await RawWsClient.connect(g.port, "/ws", { Authorization: `Bearer ${token}` });
    raw.pause();
    raw.send({ action: "resume", positions: { [S]: 0 }, id: 1 });
    await Bun.sleep(300); // the replay fills the buffers and waits
    for (let i = 0; i < 70; i++) await flow.publishBatch(100); // meanwhile the log drops everything it still had to send
    raw.resume();
    const err = await until(() => raw.frames.find((f) => f.id === 1), 15_000, "the resume answer");
    expect(err).toMatchObject({ event: "error", code: "resume_unavailable", stream: S, oldest: 7001, head: 14000 });
    expect(err.message).toContain("too slow");
    const replayed = raw.data(S).map((f) => f.seq);
    expect(replayed.length).toBeGreaterThan(0);
    expect(replayed.length).toBeLessThan(7000);
    // What was replayed is a gapless run from the position, and the error names where it stopped.
    expect(diffSeqs(replayed, range(1, replayed.length))).toBeUndefined();
    expect(err.lastSequence).toBe(replayed.length);
    // The client stays subscribed live.
    const [next] = g.publish([{ stream: S, data: { live: true } }]);
    await until(() => raw.data(S).at(-1)?.seq === next, 5000, "live event after resume_unavailable");
    expect(raw.data(S).length).toBe(replayed.length + 1);
    raw.destroy();
  } finally {
    await g.stop();
  }
}, 30_000);
