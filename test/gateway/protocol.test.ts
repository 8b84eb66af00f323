/**
 * The client protocol over real sockets: requests and their answers, data frames, per-connection
 * limits, permissions of private and public streams, and bad frames.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { TestClient, closeAll, connectMany, mintJwt, startGateway, tokenFor, type TestGateway } from "../helpers/gateway-harness.ts";

let gw: TestGateway;
beforeAll(async () => {
  gw = await startGateway({ MAX_FRAME_BYTES: "4096" });
});
afterAll(() => gw.stop());

async function client(user = "u1", gateway = gw): Promise<TestClient> {
  return TestClient.connect(gateway.wsUrl(), { token: await tokenFor(user) });
}

describe("requests and answers", () => {
  test("subscribe, list, unsubscribe and ping echo a numeric id", async () => {
    const c = await client();
    c.send({ action: "subscribe", streams: ["trades.btc_usdt", "ticker.btc_usdt"], id: 11 });
    const sub = await c.waitFor((f) => f.id === 11);
    expect(sub).toMatchObject({ event: "subscribed", streams: ["trades.btc_usdt", "ticker.btc_usdt"], id: 11 });
    expect(Object.keys(sub.epochs).sort()).toEqual(["ticker.btc_usdt", "trades.btc_usdt"]);

    c.send({ action: "list", id: 12 });
    const list = await c.waitFor((f) => f.id === 12);
    expect(list.event).toBe("list");
    expect([...list.streams].sort()).toEqual(["ticker.btc_usdt", "trades.btc_usdt"]);

    c.send({ action: "unsubscribe", streams: ["ticker.btc_usdt", "depth.btc_usdt"], id: 13 });
    const unsub = await c.waitFor((f) => f.id === 13);
    // Only what was actually subscribed is reported as removed.
    expect(unsub).toEqual({ event: "unsubscribed", streams: ["ticker.btc_usdt"], id: 13 });

    c.send({ action: "list", id: 14 });
    expect((await c.waitFor((f) => f.id === 14)).streams).toEqual(["trades.btc_usdt"]);

    const t0 = Date.now();
    c.send({ action: "ping", id: 15 });
    const pong = await c.waitFor((f) => f.id === 15);
    expect(pong.event).toBe("pong");
    expect(pong.ts).toBeGreaterThanOrEqual(t0 - 1000);
    await c.close();
  });

  test("string ids are echoed verbatim; requests without id get answers without id", async () => {
    const c = await client();
    c.send({ action: "ping", id: "req-äöü-1" });
    expect((await c.waitFor((f) => f.event === "pong")).id).toBe("req-äöü-1");
    c.send({ action: "list" });
    const list = await c.waitFor((f) => f.event === "list");
    expect("id" in list).toBe(false);
    await c.close();
  });

  test("subscribing twice is idempotent and delivers each event once", async () => {
    const c = await client();
    await c.subscribe(["ticker.ada_usdt"]);
    await c.subscribe(["ticker.ada_usdt"]);
    const [s1, s2] = gw.publish([
      { stream: "ticker.ada_usdt", data: { n: 1 } },
      { stream: "ticker.ada_usdt", data: { n: 2 } },
    ]);
    await c.waitForSeq("ticker.ada_usdt", s2!);
    await Bun.sleep(30);
    expect(c.seqs("ticker.ada_usdt")).toEqual([s1!, s2!]);
    await c.close();
  });

  test("after unsubscribe nothing more arrives for the stream", async () => {
    const c = await client();
    await c.subscribe(["ticker.sol_usdt", "trades.sol_usdt"]);
    const [a] = gw.publish([{ stream: "ticker.sol_usdt", data: { n: 1 } }]);
    await c.waitForSeq("ticker.sol_usdt", a!);
    await c.request({ action: "unsubscribe", streams: ["ticker.sol_usdt"] });
    gw.publish([{ stream: "ticker.sol_usdt", data: { n: 2 } }]);
    const [t] = gw.publish([{ stream: "trades.sol_usdt", data: { n: 3 } }]);
    await c.waitForSeq("trades.sol_usdt", t!);
    await Bun.sleep(30);
    expect(c.seqs("ticker.sol_usdt")).toEqual([a!]);
    await c.close();
  });
});

describe("data frames", () => {
  test("are {stream, seq, prev, data} with seq strictly increasing and prev linking per stream", async () => {
    const c = await client();
    const streams = ["trades.eth_usdt", "trades.ada_usdt", "ticker.eth_usdt"];
    await c.subscribe(streams);
    const published = new Map<string, number[]>(streams.map((s) => [s, []]));
    for (let batch = 0; batch < 20; batch++) {
      const events = Array.from({ length: 5 }, (_, i) => ({ stream: streams[(batch + i) % 3]!, data: { batch, i, price: `${batch}.${i}` } }));
      const seqs = gw.publish(events);
      events.forEach((e, i) => published.get(e.stream)!.push(seqs[i]!));
      if (batch % 4 === 0) await Bun.sleep(1);
    }
    for (const s of streams) await c.waitForSeq(s, published.get(s)!.at(-1)!);
    for (const s of streams) {
      const frames = c.data(s);
      expect(frames.map((f) => f.seq)).toEqual(published.get(s)!);
      for (let i = 0; i < frames.length; i++) {
        const f = frames[i]!;
        expect(Object.keys(f).sort()).toEqual(["data", "prev", "seq", "stream"]);
        if (i > 0) {
          expect(f.seq).toBeGreaterThan(frames[i - 1]!.seq);
          expect(f.prev).toBe(frames[i - 1]!.seq);
        }
        expect(typeof f.data.batch).toBe("number");
      }
    }
    await c.close();
  });

  test("payloads arrive unchanged (unicode, nesting, numbers as sent)", async () => {
    const c = await client();
    await c.subscribe(["trades.bnb_usdt"]);
    const data = { price: "612.30", qty: "0.001", note: "größe 😀 \"quoted\"", nested: { a: [1, 2.5, null, true] }, big: 12345678901234 };
    const [seq] = gw.publish([{ stream: "trades.bnb_usdt", data }]);
    const f = await c.waitForSeq("trades.bnb_usdt", seq!);
    expect(f.data).toEqual(data);
    await c.close();
  });
});

describe("multi-stream subscribe answers per stream", () => {
  test("allowed are subscribed; refused are named with unknown_stream and forbidden", async () => {
    const c = await client("u7");
    const id = "multi";
    c.send({ action: "subscribe", streams: ["trades.btc_usdt", "candles.btc_usdt", "orders.u7", "orders.u8", "bogus", "ticker.eth_usdt"], id });
    await c.waitFor((f) => f.id === id && f.code === "forbidden");
    await c.waitFor((f) => f.id === id && f.code === "unknown_stream");
    const answers = c.answers(id);
    expect(answers.find((f) => f.event === "subscribed")!.streams).toEqual(["trades.btc_usdt", "orders.u7", "ticker.eth_usdt"]);
    expect(answers.find((f) => f.code === "unknown_stream")!.streams).toEqual(["candles.btc_usdt", "bogus"]);
    expect(answers.find((f) => f.code === "forbidden")!.streams).toEqual(["orders.u8"]);
    expect(answers.length).toBe(3);
    await c.close();
  });

  test("a subscribe with only refused streams sends no subscribed answer", async () => {
    const c = await client("u7");
    c.send({ action: "subscribe", streams: ["orders.u9"], id: 1 });
    c.send({ action: "ping", id: 2 });
    await c.waitFor((f) => f.id === 2);
    expect(c.answers(1)).toEqual([{ event: "error", code: "forbidden", message: expect.any(String), streams: ["orders.u9"], id: 1 }]);
    await c.close();
  });

  test("too_many_streams over MAX_STREAMS_PER_CONNECTION, naming the streams left out", async () => {
    const g = await startGateway({ MAX_STREAMS_PER_CONNECTION: "3" });
    try {
      const c = await client("u1", g);
      c.send({ action: "subscribe", streams: ["trades.btc_usdt", "trades.eth_usdt"], id: 1 });
      await c.waitFor((f) => f.id === 1);
      c.send({ action: "subscribe", streams: ["trades.btc_usdt", "trades.sol_usdt", "trades.bnb_usdt", "ticker.btc_usdt"], id: 2 });
      await c.waitFor((f) => f.id === 2 && f.code === "too_many_streams");
      await c.waitFor((f) => f.id === 2 && f.event === "subscribed");
      expect(c.answers(2).find((f) => f.event === "subscribed")!.streams).toEqual(["trades.btc_usdt", "trades.sol_usdt"]);
      const err = c.answers(2).find((f) => f.code === "too_many_streams")!;
      expect(err.streams).toEqual(["trades.bnb_usdt", "ticker.btc_usdt"]);
      const list = await c.request({ action: "list" });
      expect(list.streams.length).toBe(3);
      // Freeing a slot allows another subscription.
      await c.request({ action: "unsubscribe", streams: ["trades.eth_usdt"] });
      expect((await c.request({ action: "subscribe", streams: ["ticker.btc_usdt"] })).event).toBe("subscribed");
      await c.close();
    } finally {
      await g.stop();
    }
  });
});

describe("rate limit", () => {
  let g: TestGateway;
  beforeAll(async () => {
    g = await startGateway({ CLIENT_MESSAGES_PER_SEC: "1", CLIENT_MESSAGE_BURST: "5", MAX_RATE_VIOLATIONS: "3" });
  });
  afterAll(() => g.stop());

  test("over the burst: rate_limited errors, and the connection recovers after the bucket refills", async () => {
    const c = await client("u1", g);
    for (let i = 1; i <= 7; i++) c.send({ action: "ping", id: i });
    await c.waitFor((f) => f.code === "rate_limited" && c.errors("rate_limited").length === 2);
    await c.waitFor((f) => f.event === "pong" && f.id === 5);
    expect(c.frames.filter((f) => f.event === "pong").map((f) => f.id)).toEqual([1, 2, 3, 4, 5]);
    expect(c.errors("rate_limited").length).toBe(2);
    expect(c.isOpen).toBe(true);
    await Bun.sleep(1100); // one token at 1/s
    const pong = await c.request({ action: "ping" });
    expect(pong.event).toBe("pong");
    await c.close();
  });

  test("repeated abuse (more than MAX_RATE_VIOLATIONS) closes with 1008; others are unaffected", async () => {
    const bystander = await client("u2", g);
    await bystander.subscribe(["trades.btc_usdt"]);
    const c = await client("u1", g);
    for (let i = 0; i < 30; i++) c.send({ action: "ping", id: i });
    const closed = await c.waitClosed(5000);
    expect(closed.code).toBe(1008);
    expect(closed.reason).toContain("policy violation");
    // Exactly MAX_RATE_VIOLATIONS + 1 rate-limit answers were sent before the close.
    expect(c.errors("rate_limited").length).toBe(4);
    const [seq] = g.publish([{ stream: "trades.btc_usdt", data: { after: "abuse" } }]);
    await bystander.waitForSeq("trades.btc_usdt", seq!);
    expect((await bystander.request({ action: "ping" })).event).toBe("pong");
    await bystander.close();
  });
});

describe("public pairs", () => {
  test("a JWT pairs claim restricts public streams to those pairs; private streams are unaffected", async () => {
    const c = await TestClient.connect(gw.wsUrl(), { token: await tokenFor("pairsuser", { pairs: ["btc_usdt", "eth_usdt"] }) });
    c.send({ action: "subscribe", streams: ["trades.btc_usdt", "depth.eth_usdt", "trades.sol_usdt", "ticker.bnb_usdt", "orders.pairsuser"], id: 1 });
    await c.waitFor((f) => f.id === 1 && f.event === "error");
    await c.waitFor((f) => f.id === 1 && f.event === "subscribed");
    expect(c.answers(1).find((f) => f.event === "subscribed")!.streams).toEqual(["trades.btc_usdt", "depth.eth_usdt", "orders.pairsuser"]);
    expect(c.answers(1).find((f) => f.event === "error")).toMatchObject({ code: "forbidden", streams: ["trades.sol_usdt", "ticker.bnb_usdt"] });
    await c.close();
  });

  test("PAIRS makes other pairs unknown streams; exact PUBLIC_STREAMS names work", async () => {
    const g = await startGateway({ PAIRS: "btc_usdt,eth_usdt", PUBLIC_STREAMS: "trades.*,ticker.*,status.global" });
    try {
      const c = await client("u1", g);
      c.send({ action: "subscribe", streams: ["trades.btc_usdt", "trades.doge_usdt", "status.global", "depth.btc_usdt"], id: 1 });
      await c.waitFor((f) => f.id === 1 && f.event === "error");
      await c.waitFor((f) => f.id === 1 && f.event === "subscribed");
      expect(c.answers(1).find((f) => f.event === "subscribed")!.streams).toEqual(["trades.btc_usdt", "status.global"]);
      expect(c.answers(1).find((f) => f.event === "error")).toMatchObject({ code: "unknown_stream", streams: ["trades.doge_usdt", "depth.btc_usdt"] });
      await c.close();
    } finally {
      await g.stop();
    }
  });
});

test("orders.<userId> reaches every connection of that user and nobody else's", async () => {
  const users = ["alice", "bob", "carol"];
  const conns = new Map<string, TestClient[]>();
  for (const [i, u] of users.entries()) {
    const cs = await connectMany(gw.wsUrl(), i + 2, { token: await tokenFor(u) });
    await Promise.all(cs.map((c) => c.subscribe([`orders.${u}`])));
    conns.set(u, cs);
  }
  // An eavesdropper subscribed to its own orders and to public streams.
  const eve = await client("eve");
  await eve.subscribe(["orders.eve", "trades.btc_usdt"]);
  expect((await eve.request({ action: "subscribe", streams: ["orders.alice"] })).code).toBe("forbidden");

  const expected = new Map<string, number[]>(users.map((u) => [u, []]));
  for (let round = 0; round < 10; round++) {
    const events = users.map((u) => ({ stream: `orders.${u}`, data: { orderId: `${u}-${round}`, status: "filled" } }));
    const seqs = gw.publish(events);
    users.forEach((u, i) => expected.get(u)!.push(seqs[i]!));
  }
  for (const u of users) {
    for (const c of conns.get(u)!) {
      await c.waitForSeq(`orders.${u}`, expected.get(u)!.at(-1)!);
    }
  }
  await Bun.sleep(50);
  for (const u of users) {
    for (const c of conns.get(u)!) {
      // Exactly this user's events, all of them, and nothing of anyone else.
      expect(c.seqs(`orders.${u}`)).toEqual(expected.get(u)!);
      expect(c.data().every((f) => f.stream === `orders.${u}`)).toBe(true);
      expect(c.data().every((f) => String(f.data.orderId).startsWith(`${u}-`))).toBe(true);
    }
  }
  expect(eve.data().filter((f) => f.stream.startsWith("orders."))).toEqual([]);
  await closeAll([...[...conns.values()].flat(), eve]);
}, 15_000);

describe("bad frames", () => {
  test("malformed JSON, non-objects, missing action: bad_request, connection stays open", async () => {
    const c = await client();
    c.send("{not json");
    c.send("[1,2,3]");
    c.send("42");
    c.send(JSON.stringify({ id: 9 }));
    await c.waitFor(() => c.errors("bad_request").length === 4);
    expect(c.errors("bad_request").map((f) => f.message)).toEqual(["malformed JSON", "expected a JSON object", "expected a JSON object", "missing action"]);
    expect(c.errors("bad_request")[3]!.id).toBe(9);
    expect((await c.request({ action: "ping" })).event).toBe("pong");
    await c.close();
  });

  test("unknown action: unknown_action with the id echoed", async () => {
    const c = await client();
    c.send({ action: "subscribeAll", id: "x1" });
    const e = await c.waitFor((f) => f.event === "error");
    expect(e).toMatchObject({ code: "unknown_action", id: "x1" });
    expect(e.message).toContain("subscribeAll");
    await c.close();
  });

  test("bad field types: bad_request", async () => {
    const c = await client();
    const cases = [
      { action: "subscribe", streams: "trades.btc_usdt" },
      { action: "subscribe", streams: [] },
      { action: "subscribe", streams: [1, 2] },
      { action: "unsubscribe" },
      { action: "ping", id: { nested: true } },
      { action: "ping", id: "x".repeat(65) },
    ];
    for (const m of cases) c.send(m);
    await c.waitFor(() => c.errors("bad_request").length === cases.length);
    expect(c.errors().length).toBe(cases.length);
    expect(c.isOpen).toBe(true);
    await c.close();
  });

  test("a binary frame is refused with bad_request, the connection stays open", async () => {
    const c = await client();
    c.send(new Uint8Array([0x7b, 0x7d, 0x00, 0xff]));
    const e = await c.waitFor((f) => f.event === "error");
    expect(e.code).toBe("bad_request");
    expect((await c.request({ action: "ping" })).event).toBe("pong");
    await c.close();
  });

  test("a frame over MAX_FRAME_BYTES closes with 1009; the process keeps serving others", async () => {
    const other = await client("u2");
    await other.subscribe(["trades.btc_usdt"]);
    const c = await client();
    c.send(JSON.stringify({ action: "ping", pad: "x".repeat(5000) }));
    const closed = await c.waitClosed(5000);
    expect(closed.code).toBe(1009);
    // A frame just under the limit is fine.
    const ok = await client();
    ok.send(JSON.stringify({ action: "ping", id: 1, pad: "x".repeat(3900) }));
    expect((await ok.waitFor((f) => f.id === 1)).event).toBe("pong");
    const [seq] = gw.publish([{ stream: "trades.btc_usdt", data: { after: "oversize" } }]);
    await other.waitForSeq("trades.btc_usdt", seq!);
    expect((await other.request({ action: "ping" })).event).toBe("pong");
    const fresh = await client("u3");
    expect((await fresh.request({ action: "ping" })).event).toBe("pong");
    await closeAll([other, ok, fresh]);
  });

  test("repeated bad frames count as violations: 1008 after MAX_RATE_VIOLATIONS", async () => {
    const g = await startGateway({ MAX_RATE_VIOLATIONS: "2" });
    try {
      const c = await client("u1", g);
      for (let i = 0; i < 5; i++) c.send("nope");
      expect((await c.waitClosed()).code).toBe(1008);
      expect(c.errors("bad_request").length).toBe(3);
    } finally {
      await g.stop();
    }
  });
});

test("a roles claim does not open other users' private streams", async () => {
  const c = await TestClient.connect(gw.wsUrl(), { token: await mintJwt("admin1", { roles: ["admin", "trader"] }) });
  expect((await c.request({ action: "subscribe", streams: ["orders.alice"] })).code).toBe("forbidden");
  await c.close();
});
