/**
 * GatewayClient logic against a scripted fake socket: dedupe, gap detection and resume, reconnect
 * with backoff and the offline state, close codes, token refresh, heartbeats, refusals. The same
 * logic against a real gateway is in resume.test.ts.
 */
import { beforeEach, describe, expect, test } from "bun:test";
import { backoffDelay, DEFAULT_BACKOFF, GatewayClient, type ConnectionState, type GapInfo, type GatewayClientOptions, type ResumeUnavailable, type TokenRequest } from "../../clients/ts/index.ts";
import { FakeWebSocket } from "./helpers/fake-ws.ts";
import { until } from "./helpers/gateway-process.ts";

const S = "trades.btc_usdt";

function frame(seq: number, prev = seq - 1, stream = S) {
  return { stream, seq, prev, data: { id: seq, price: "1", qty: "1", side: "buy", timestamp: 1 } };
}

function client(extra: Partial<GatewayClientOptions> = {}) {
  return new GatewayClient({
    url: "ws://gw.test/ws",
    token: "t0",
    WebSocket: FakeWebSocket as never,
    heartbeat: false,
    backoff: { baseMs: 5, maxMs: 20 },
    ...extra,
  });
}

/** Connects, opens the fake socket and acknowledges the subscribe of `streams`. */
function openAndAck(c: GatewayClient, streams = [S], epochs: Record<string, string> = { [S]: "e1" }): FakeWebSocket {
  if (c.state === "closed") c.connect();
  const ws = FakeWebSocket.last;
  ws.open();
  const req = ws.requests("subscribe").at(-1);
  ws.deliver({ event: "subscribed", streams, epochs, id: req?.id });
  return ws;
}

beforeEach(() => FakeWebSocket.reset());

describe("backoff", () => {
  test("1s, 2s, 4s, 8s, 16s, then capped at 30s", () => {
    const mid = () => 0.5; // no jitter
    expect([0, 1, 2, 3, 4, 5, 6, 20].map((n) => backoffDelay(n, DEFAULT_BACKOFF, mid))).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
  test("±20% jitter", () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0)).toBe(800);
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999999)).toBe(1200);
    expect(backoffDelay(10, DEFAULT_BACKOFF, () => 0)).toBe(24000);
    expect(backoffDelay(10, DEFAULT_BACKOFF, () => 0.999999)).toBe(36000);
    for (let i = 0; i < 1000; i++) {
      const d = backoffDelay(2, DEFAULT_BACKOFF);
      expect(d).toBeGreaterThanOrEqual(3200);
      expect(d).toBeLessThanOrEqual(4800);
    }
  });
});

describe("dedupe and gaps", () => {
  test("drops duplicates (seq <= last) and keeps order", () => {
    const c = client();
    const seqs: number[] = [];
    c.subscribe(S, (f) => seqs.push(f.seq));
    const ws = openAndAck(c);
    for (const f of [frame(1, 0), frame(2), frame(2), frame(1, 0), frame(3), frame(3)]) ws.deliver(f);
    expect(seqs).toEqual([1, 2, 3]);
    expect(c.stats.duplicates).toBe(3);
    c.close();
  });

  test("sparse seqs are not gaps: prev links them", () => {
    const c = client();
    const seqs: number[] = [];
    c.subscribe(S, (f) => seqs.push(f.seq));
    const ws = openAndAck(c);
    for (const f of [frame(10, 4), frame(17, 10), frame(100, 17)]) ws.deliver(f);
    expect(seqs).toEqual([10, 17, 100]);
    expect(c.stats.gaps).toBe(0);
    c.close();
  });

  test("a gap (prev != last seq) is reported and resumed from the last seq; the replay fills it in order", () => {
    const c = client();
    const seqs: number[] = [];
    const replayed: boolean[] = [];
    const gaps: GapInfo[] = [];
    c.on("gap", (g) => gaps.push(g));
    c.subscribe(S, (f, m) => {
      seqs.push(f.seq);
      replayed.push(m.replay);
    });
    const ws = openAndAck(c);
    ws.deliver(frame(1, 0));
    ws.deliver(frame(2));
    ws.deliver(frame(4, 3)); // 3 was lost
    expect(gaps).toEqual([{ stream: S, last: 2, prev: 3, seq: 4, resuming: true }]);
    expect(ws.requests("resume")).toEqual([{ action: "resume", positions: { [S]: 2 }, epochs: { [S]: "e1" }, id: expect.any(Number) }]);
    ws.deliver(frame(5)); // live frames still in flight before the gateway handles the resume: dropped
    expect(c.stats.gaps).toBe(1); // no second resume for them
    // The gateway replays after 2, then switches to live.
    for (const f of [frame(3), frame(4), frame(5)]) ws.deliver(f);
    ws.deliver({ event: "resumed", stream: S, from: 2, to: 5, replayed: 3, epoch: "e1" });
    ws.deliver(frame(6));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6]);
    expect(replayed).toEqual([false, false, true, true, true, false]);
    expect(c.stats.resumes).toBe(1);
    c.close();
  });

  test('onGap: "deliver" reports the gap and delivers the frame', () => {
    const c = client({ onGap: "deliver" });
    const seqs: number[] = [];
    const gaps: GapInfo[] = [];
    c.on("gap", (g) => gaps.push(g));
    c.subscribe(S, (f) => seqs.push(f.seq));
    const ws = openAndAck(c);
    for (const f of [frame(1, 0), frame(4, 3), frame(5)]) ws.deliver(f);
    expect(seqs).toEqual([1, 4, 5]);
    expect(gaps).toEqual([{ stream: S, last: 1, prev: 3, seq: 4, resuming: false }]);
    expect(ws.requests("resume")).toEqual([]);
    c.close();
  });

  test("resume_unavailable goes to the callback and the event; the next frame is a new baseline; snapshot adopts", async () => {
    const reported: ResumeUnavailable[] = [];
    const c = client({
      onResumeUnavailable: (i) => reported.push(i),
      fetch: (async (url: string, init?: RequestInit) => {
        expect(url).toBe("http://gw.test/snapshot/trades.btc_usdt");
        expect((init?.headers as Record<string, string>).authorization).toBe("Bearer t0");
        return Response.json({ stream: S, seq: 7, prev: 6, epoch: "e2", data: frame(7).data, gatewayTs: 5 });
      }) as unknown as typeof fetch,
    });
    const events: ResumeUnavailable[] = [];
    c.on("resumeUnavailable", (i) => events.push(i));
    c.on("error", () => {});
    const seqs: number[] = [];
    c.subscribe(S, (f) => seqs.push(f.seq));
    const ws = openAndAck(c);
    ws.deliver(frame(1, 0));
    ws.deliver(frame(3, 2));
    ws.deliver({ event: "error", code: "resume_unavailable", message: "unknown epoch", stream: S, lastSequence: 1, oldest: 1, head: 9, epoch: "e2", id: 1 });
    const info = { stream: S, lastSequence: 1, oldest: 1, head: 9, epoch: "e2", reason: "unknown epoch" };
    expect(reported).toEqual([info]);
    expect(events).toEqual([info]);
    const snap = await c.snapshot(S, { adopt: true });
    expect(snap.data.price).toBe("1");
    expect(c.positions()).toEqual({ [S]: { seq: 7, epoch: "e2" } });
    ws.deliver(frame(6)); // older than the snapshot: dropped
    ws.deliver(frame(8));
    expect(seqs).toEqual([1, 8]);
    c.close();
  });
});

describe("epochs", () => {
  test("a stream acked without an epoch (no log yet) asks for it once with a resume from its first frame", () => {
    const c = client();
    const seqs: number[] = [];
    c.subscribe(S, (f) => seqs.push(f.seq));
    const ws = openAndAck(c, [S], { [S]: "" });
    ws.deliver(frame(1, 0));
    expect(ws.requests("resume")).toEqual([{ action: "resume", positions: { [S]: 1 }, id: expect.any(Number) }]);
    ws.deliver(frame(2)); // live, in flight: accepted (it follows 1)
    ws.deliver(frame(2)); // replayed by the resume: duplicate
    ws.deliver({ event: "resumed", stream: S, from: 1, to: 2, replayed: 1, epoch: "e7" });
    ws.deliver(frame(3));
    expect(seqs).toEqual([1, 2, 3]);
    expect(c.positions()).toEqual({ [S]: { seq: 3, epoch: "e7" } });
    expect(ws.requests("resume").length).toBe(1);
    c.close();
  });
});

describe("reconnect and resume", () => {
  test("after a drop, every stream resumes from its own last seq with its epoch; streams without one subscribe", async () => {
    const c = client();
    const T = "ticker.btc_usdt";
    const O = "orders.user1";
    c.subscribe([S, T]);
    c.subscribe(O);
    let ws = openAndAck(c, [S, T, O], { [S]: "e1", [T]: "e2", [O]: "" });
    ws.deliver(frame(5, 0));
    ws.deliver(frame(9, 0, T));
    ws.serverClose(1012, "server restart");
    expect(c.state).toBe("reconnecting");
    await until(() => FakeWebSocket.instances.length === 2, "reconnect");
    ws = FakeWebSocket.last;
    ws.open();
    expect(ws.requests("resume")).toEqual([{ action: "resume", positions: { [S]: 5, [T]: 9 }, epochs: { [S]: "e1", [T]: "e2" }, id: expect.any(Number) }]);
    expect(ws.requests("subscribe")).toEqual([{ action: "subscribe", streams: [O], id: expect.any(Number) }]);
    c.close();
  });

  test("positions given at construction are resumed on the first connect", () => {
    const c = client({ positions: { [S]: { seq: 41, epoch: "e9" } } });
    c.subscribe(S);
    c.connect();
    FakeWebSocket.last.open();
    expect(FakeWebSocket.last.requests("resume")).toEqual([{ action: "resume", positions: { [S]: 41 }, epochs: { [S]: "e9" }, id: expect.any(Number) }]);
    expect(FakeWebSocket.last.requests("subscribe")).toEqual([]);
    c.close();
  });

  test('failed attempts back off, "offline" after 8 of them, and it keeps trying', async () => {
    const c = client({ backoff: { baseMs: 1, maxMs: 4, jitter: 0 } });
    const states: [ConnectionState, number, number | undefined][] = [];
    c.on("state", (s, i) => states.push([s, i.attempt, i.delayMs]));
    c.connect();
    // Every socket fails before opening (e.g. gateway down).
    let handled = 0;
    await until(() => {
      while (handled < FakeWebSocket.instances.length) FakeWebSocket.instances[handled++]!.serverClose(1006);
      return handled >= 12;
    }, "12 attempts");
    c.close();
    const seen = states.map(([s]) => s);
    expect(seen[0]).toBe("connecting");
    expect(seen.slice(1, 9)).toEqual(Array(8).fill("reconnecting"));
    expect(seen.slice(9, 12)).toEqual(["offline", "offline", "offline"]);
    expect(states.slice(1, 6).map(([, , d]) => d)).toEqual([1, 2, 4, 4, 4]);
    expect(seen.at(-1)).toBe("closed");
  });

  test("a connection that opens resets the attempt counter once stable", async () => {
    const c = client({ backoff: { baseMs: 1, maxMs: 4, jitter: 0 }, stableAfterMs: 10 });
    const delays: (number | undefined)[] = [];
    c.on("state", (s, i) => s === "reconnecting" && delays.push(i.delayMs));
    c.connect();
    FakeWebSocket.last.serverClose(1006);
    await until(() => FakeWebSocket.instances.length === 2, "retry");
    FakeWebSocket.last.serverClose(1006);
    await until(() => FakeWebSocket.instances.length === 3, "retry");
    FakeWebSocket.last.open();
    await Bun.sleep(30);
    FakeWebSocket.last.serverClose(1006);
    expect(delays).toEqual([1, 2, 1]);
    c.close();
  });
});

describe("close codes and tokens", () => {
  test("4001 kicked: no reconnect by default", async () => {
    const c = client();
    const closes: unknown[] = [];
    c.on("close", (i) => closes.push(i));
    c.connect();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(4001, "kicked by operator");
    expect(c.state).toBe("closed");
    expect(closes).toEqual([{ code: 4001, reason: "kicked by operator", local: false, willReconnect: false }]);
    await Bun.sleep(50);
    expect(FakeWebSocket.instances.length).toBe(1);
  });

  test("4001 kicked: reconnects with reconnectOnKick", async () => {
    const c = client({ reconnectOnKick: true });
    c.connect();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(4001, "kicked by operator");
    expect(c.state).toBe("reconnecting");
    await until(() => FakeWebSocket.instances.length === 2, "reconnect");
    c.close();
  });

  test("a server 1000 is final; 1012, 1006, 4008, 4000 reconnect", async () => {
    const c = client();
    c.connect();
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(1000, "normal");
    expect(c.state).toBe("closed");
    for (const code of [1012, 1006, 4008, 4000, 1011]) {
      const d = client();
      d.connect();
      FakeWebSocket.last.open();
      FakeWebSocket.last.serverClose(code);
      expect(d.state).toBe("reconnecting");
      d.close();
    }
  });

  test("4003 token expired: the token callback runs first (reason expired) and the new token is offered", async () => {
    const calls: TokenRequest[] = [];
    let n = 0;
    const c = client({
      getToken: async (r) => {
        calls.push(r);
        await Bun.sleep(5);
        return `t${++n}`;
      },
    });
    c.connect();
    expect(FakeWebSocket.last.protocols).toEqual(["cex.v1.json", "bearer.t0"]); // initial token: no callback
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(4003, "token expired");
    await until(() => FakeWebSocket.instances.length === 2, "reconnect");
    expect(calls).toEqual([{ reason: "expired", attempt: 1, closeCode: 4003 }]);
    expect(FakeWebSocket.last.protocols).toEqual(["cex.v1.json", "bearer.t1"]);
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(1012);
    await until(() => FakeWebSocket.instances.length === 3, "reconnect");
    // That connection closed before it was stable (stableAfterMs): the attempt counter went on.
    expect(calls[1]).toEqual({ reason: "reconnect", attempt: 2, closeCode: 1012 });
    expect(FakeWebSocket.last.protocols).toEqual(["cex.v1.json", "bearer.t2"]);
    expect(c.token).toBe("t2");
    c.close();
  });

  test("a token callback that throws counts as a failed attempt and is retried", async () => {
    let n = 0;
    const c = client({
      getToken: () => {
        if (++n < 3) throw new Error("auth service down");
        return "fresh";
      },
    });
    const errors: string[] = [];
    c.on("error", (e) => errors.push(e.kind));
    c.connect(); // first connect uses options.token
    FakeWebSocket.last.open();
    FakeWebSocket.last.serverClose(1006);
    await until(() => FakeWebSocket.instances.length === 2, "reconnect after two failed refreshes");
    expect(errors).toEqual(["token", "token"]);
    expect(FakeWebSocket.last.protocols).toEqual(["cex.v1.json", "bearer.fresh"]);
    c.close();
  });

  test("without a token the callback is asked first (reason initial); query transport puts it in the URL", async () => {
    const c = client({ token: undefined, tokenTransport: "query", getToken: () => "abc" });
    c.connect();
    await until(() => FakeWebSocket.instances.length === 1, "connect");
    expect(FakeWebSocket.last.url).toBe("ws://gw.test/ws?token=abc");
    expect(FakeWebSocket.last.protocols).toEqual(["cex.v1.json"]);
    c.close();
  });
});

describe("heartbeat", () => {
  test("pings on the interval; a silent socket is dropped and replaced", async () => {
    const c = client({ heartbeat: { intervalMs: 20, timeoutMs: 30 } });
    const errors: string[] = [];
    c.on("error", (e) => errors.push(e.kind));
    c.connect();
    const ws = FakeWebSocket.last;
    ws.open();
    await until(() => FakeWebSocket.instances.length === 2, "reconnect after heartbeat timeout", 2000);
    expect(ws.requests("ping").length).toBeGreaterThanOrEqual(1);
    expect(ws.closedWith).toEqual({ code: 4000, reason: "heartbeat timeout" });
    expect(errors).toContain("heartbeat");
    c.close();
  });

  test("pongs keep the connection; ping() measures the round trip", async () => {
    const c = client({ heartbeat: { intervalMs: 20, timeoutMs: 30 } });
    c.connect();
    const ws = FakeWebSocket.last;
    ws.open();
    const answered = new Set<unknown>();
    const deadline = Date.now() + 250;
    const rtt = c.ping();
    while (Date.now() < deadline) {
      for (const p of ws.requests("ping")) {
        if (answered.has(p.id)) continue;
        answered.add(p.id);
        ws.deliver({ event: "pong", ts: Date.now(), id: p.id });
      }
      await Bun.sleep(5);
    }
    expect(await rtt).toBeGreaterThanOrEqual(0);
    expect(answered.size).toBeGreaterThanOrEqual(5);
    expect(FakeWebSocket.instances.length).toBe(1);
    expect(c.state).toBe("open");
    c.close();
  });
});

describe("subscriptions", () => {
  test("refused streams reject `ready` and are not retried; accepted ones resolve", async () => {
    const c = client();
    c.on("error", () => {});
    const ok = c.subscribe(S);
    const bad = c.subscribe(["orders.user2", "nope.x"]);
    c.connect();
    const ws = FakeWebSocket.last;
    ws.open();
    const [req] = ws.requests("subscribe"); // one request for everything wanted at open
    expect(req!.streams).toEqual([S, "orders.user2", "nope.x"]);
    ws.deliver({ event: "subscribed", streams: [S], epochs: { [S]: "" }, id: req!.id });
    ws.deliver({ event: "error", code: "unknown_stream", message: "no such stream", id: req!.id, streams: ["nope.x"] });
    ws.deliver({ event: "error", code: "forbidden", message: "not allowed", id: req!.id, streams: ["orders.user2"] });
    await ok.ready;
    await expect(bad.ready).rejects.toThrow(/unknown_stream|forbidden/);
    expect(c.subscriptions()).toEqual([S]);
    c.close();
  });

  test("a shared stream is unsubscribed on the wire only when its last subscription goes", () => {
    const c = client();
    const a = c.subscribe(S, () => {});
    const b = c.subscribe(S, () => {});
    const ws = openAndAck(c);
    a.unsubscribe();
    expect(ws.requests("unsubscribe")).toEqual([]);
    b.unsubscribe();
    expect(ws.requests("unsubscribe")).toEqual([{ action: "unsubscribe", streams: [S], id: expect.any(Number) }]);
    expect(c.subscriptions()).toEqual([]);
    c.close();
  });

  test("a listener that throws does not stop the others", () => {
    const c = client();
    c.onListenerError = () => {};
    const seen: number[] = [];
    c.subscribe(S, () => {
      throw new Error("app bug");
    });
    c.subscribe(S, (f) => seen.push(f.seq));
    const ws = openAndAck(c);
    ws.deliver(frame(1, 0));
    expect(seen).toEqual([1]);
    c.close();
  });
});
