/**
 * The client's resume, dedupe and gap logic against a REAL gateway (`bun src/main.ts` in a child
 * process, fixed port, persistent LOG_DIR, simulator off) that is killed and restarted while events
 * are being published with POST /publish. Ground truth is the gateway's own log (GET /replay): the
 * client must end with exactly that sequence per stream, in order, without duplicates, and with the
 * same payload objects, in both wire formats.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import { decodeMessage, GatewayClient, type ConnectionState, type DataFrame, type Format, type GapInfo, type ResumeUnavailable, type TokenRequest } from "../../clients/ts/index.ts";
import { freePort, GatewayProcess, signToken, tempLogDir, trade, until } from "./helpers/gateway-process.ts";
import { lossyWebSocket } from "./helpers/lossy-ws.ts";

// No clock tolerance: a token is closed at its exp + 1 s, so expiry tests wait seconds, not ten.
const ENV = { PUBLIC_STREAMS: "trades.*,depth.*,ticker.*,news.*", JWT_CLOCK_TOLERANCE_SEC: "0", TOKEN_EXPIRY_GRACE_SEC: "1" };
/** Fast first retries so the tests do not wait out the 1 s default; the logic is the same. */
const BACKOFF = { baseMs: 400, maxMs: 2000 };

/** Payload of event `i` on `stream`, of the stream's kind (typed in fb) or free-form (news.*). */
function payload(stream: string, i: number): unknown {
  if (stream.startsWith("trades.")) return trade(i);
  if (stream.startsWith("ticker.")) return { price: `${100 + i}.5`, volume: String(i * 10), high: "200.0", low: "50.0", change: "-0.5", timestamp: Date.now() };
  if (stream.startsWith("orders.")) {
    return { orderId: i, pair: "btc_usdt", side: "buy", type: "limit", status: i % 3 ? "new" : "filled", price: "1.0", qty: "2.0", filledQty: "0", timestamp: Date.now() };
  }
  return { headline: `news ${i}`, tags: ["a", "ü"], n: i };
}

/** Publishes round-robin over `streams` until stopped; retries while the gateway is down. */
class Publisher {
  private stopped = false;
  private done?: Promise<void>;
  accepted = 0;
  private i = 0;

  constructor(
    private readonly gw: GatewayProcess,
    private readonly streams: string[],
    private readonly intervalMs = 15,
  ) {}

  start(): void {
    this.done = (async () => {
      while (!this.stopped) {
        const batch = Array.from({ length: 1 + (this.i % 3) }, () => {
          const stream = this.streams[this.i % this.streams.length]!;
          return { stream, data: payload(stream, ++this.i) };
        });
        for (;;) {
          try {
            this.accepted += (await this.gw.publish(batch)).length;
            break;
          } catch {
            // gateway down (or dying mid-request: then the event may or may not be logged; the log decides)
            if (this.stopped) return;
            await Bun.sleep(30);
          }
        }
        await Bun.sleep(this.intervalMs);
      }
    })();
  }

  async until(n: number): Promise<void> {
    await until(() => this.accepted >= n, `${n} events published`, 20_000);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

/** Every logged event of `stream`, from the gateway's /replay. */
async function logged(gw: GatewayProcess, stream: string, token: string): Promise<DataFrame[]> {
  const out: DataFrame[] = [];
  let from = 0;
  for (;;) {
    const r = await fetch(`${gw.httpUrl}/replay/${stream}?fromSeq=${from}&limit=5000`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(200);
    const page = (await r.json()) as { events: DataFrame[]; head: number };
    out.push(...page.events);
    if (page.events.length === 0 || out.at(-1)!.seq >= page.head) return out;
    from = out.at(-1)!.seq;
  }
}

/** Records what a client delivers, per stream. */
function record(client: GatewayClient) {
  const frames = new Map<string, DataFrame[]>();
  let replayed = 0;
  client.on("data", (f, m) => {
    const list = frames.get(f.stream) ?? [];
    list.push(f);
    frames.set(f.stream, list);
    if (m.replay) replayed++;
  });
  const states: ConnectionState[] = [];
  client.on("state", (s) => states.push(s));
  return { frames, states, replayed: () => replayed };
}

function seqs(frames: DataFrame[] | undefined): number[] {
  return (frames ?? []).map((f) => f.seq);
}

describe.each(["json", "fb"] as Format[])("real gateway, %s", (format) => {
  let gw: GatewayProcess;
  let token: string;

  beforeAll(async () => {
    gw = new GatewayProcess({ port: freePort(), logDir: tempLogDir(`resume-${format}`), env: ENV });
    await gw.start();
    token = await signToken("user1");
  });

  afterAll(async () => {
    await gw.stop("SIGKILL");
    fs.rmSync(gw.opts.logDir, { recursive: true, force: true });
  });

  test("restarted mid-stream (kill -9, then SIGTERM): complete sequence per stream, in order, no duplicates, same objects", async () => {
    const streams = [`trades.r_${format}`, `ticker.r_${format}`, "orders.user1", `news.r_${format}`];
    const client = new GatewayClient({ url: gw.wsUrl, format, token, backoff: BACKOFF });
    const rec = record(client);
    const resumed: string[] = [];
    client.on("resumed", (a) => resumed.push(a.stream));
    const unavailable: ResumeUnavailable[] = [];
    client.on("resumeUnavailable", (i) => unavailable.push(i));
    const sub = client.subscribe(streams);
    client.connect();
    await sub.ready;

    const pub = new Publisher(gw, streams);
    pub.start();
    await pub.until(60);
    await gw.restart("SIGKILL"); // every socket drops (1006); the mmap log survives
    await pub.until(pub.accepted + 60);
    await client.waitForState("open", 10_000);
    await gw.restart("SIGTERM"); // graceful: clients get 1012
    await pub.until(pub.accepted + 60);
    await pub.stop();

    const truth = new Map<string, DataFrame[]>();
    for (const s of streams) truth.set(s, await logged(gw, s, token));
    await until(() => streams.every((s) => rec.frames.get(s)?.at(-1)?.seq === truth.get(s)!.at(-1)!.seq), "client caught up with the log");

    for (const s of streams) {
      const got = rec.frames.get(s)!;
      const want = truth.get(s)!;
      expect(want.length).toBeGreaterThan(20);
      // The client subscribed before the first event, so it must have every logged event.
      expect(seqs(got)).toEqual(seqs(want));
      expect(got).toStrictEqual(want); // payloads too: fb decodes to the JSON objects
    }
    expect(gw.starts).toBe(3);
    expect(rec.states.filter((s) => s === "open").length).toBeGreaterThanOrEqual(3);
    expect(rec.states).toContain("reconnecting");
    expect(resumed.length).toBeGreaterThanOrEqual(2 * streams.length); // every stream, after each restart
    expect(unavailable).toEqual([]);
    expect(client.stats.gaps).toBe(0);
    // Events published while the client was away came from resume replays, not live delivery.
    expect(rec.replayed()).toBeGreaterThan(0);

    // Dedupe against the gateway: ask it to replay the last 10 events again; none reaches the app.
    const s0 = streams[0]!;
    const before = rec.frames.get(s0)!.length;
    const dups = client.stats.duplicates;
    const last = client.positions()[s0]!.seq;
    const again = new Promise<void>((resolve) => client.once("resumed", () => resolve()));
    expect(client.sendRaw({ action: "resume", positions: { [s0]: last - 10 }, id: "dup-test" })).toBe(true);
    await again;
    expect(client.stats.duplicates - dups).toBe(10);
    expect(rec.frames.get(s0)!.length).toBe(before);

    client.close();
  }, 60_000);

  test("a lost frame is detected as a gap and refilled by a resume", async () => {
    const stream = `trades.gap_${format}`;
    // Lose seq 6 and 7 of the stream the first time they arrive (live); the replay brings them back.
    const lost = new Set([6, 7]);
    const WS = lossyWebSocket((data) => {
      const d = decodeMessage(data as string | ArrayBuffer).frame as DataFrame;
      if (d.stream === stream && lost.has(d.seq)) {
        lost.delete(d.seq);
        return true;
      }
      return false;
    });
    const client = new GatewayClient({ url: gw.wsUrl, format, token, WebSocket: WS });
    const rec = record(client);
    const gaps: GapInfo[] = [];
    client.on("gap", (g) => gaps.push(g));
    await gw.publish([{ stream, data: trade(0) }]); // seq 1: the stream has a log, so the ack carries its epoch
    await (client.connect(), client.subscribe(stream).ready);
    const published = await gw.publish(Array.from({ length: 12 }, (_, i) => ({ stream, data: trade(i + 1) })));
    await until(() => rec.frames.get(stream)?.length === 12, "12 frames");
    expect(gaps).toEqual([{ stream, last: 5, prev: 7, seq: 8, resuming: true }]);
    expect(seqs(rec.frames.get(stream))).toEqual(published.map((p) => p.seq));
    expect(rec.frames.get(stream)!.map((f) => (f.data as { id: number }).id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(client.stats.duplicates).toBeGreaterThanOrEqual(0);
    client.close();
  });

  test("an expired token (close 4003) is refreshed through the callback before reconnecting; the stream resumes", async () => {
    const stream = `trades.tok_${format}`;
    const calls: TokenRequest[] = [];
    const client = new GatewayClient({
      url: gw.wsUrl,
      format,
      token: await signToken("user1", 2), // expires in 2 s: the gateway closes with 4003
      backoff: BACKOFF,
      refreshAheadMs: 0, // no in-band refresh: this is the reconnect path
      getToken: async (r) => {
        calls.push(r);
        return signToken("user1", 3600);
      },
    });
    const rec = record(client);
    const closes: number[] = [];
    client.on("close", (i) => closes.push(i.code));
    await (client.connect(), client.subscribe(stream).ready);
    const pub = new Publisher(gw, [stream], 40);
    pub.start();
    await until(() => closes.includes(4003), "close 4003", 8000);
    await client.waitForState("open", 5000);
    await pub.until(pub.accepted + 20);
    await pub.stop();
    const want = await logged(gw, stream, token);
    await until(() => rec.frames.get(stream)?.at(-1)?.seq === want.at(-1)!.seq, "caught up");
    expect(calls[0]).toEqual({ reason: "expired", attempt: 1, closeCode: 4003 });
    expect(seqs(rec.frames.get(stream))).toEqual(seqs(want));
    expect(closes).toEqual([4003]); // the fresh token holds
    client.close();
  }, 20_000);

  test("a token near its exp is refreshed in-band through the callback: no 4003, no reconnect, nothing lost", async () => {
    const stream = `trades.inband_${format}`;
    const calls: TokenRequest[] = [];
    const client = new GatewayClient({
      url: gw.wsUrl,
      format,
      token: await signToken("user1", 3), // closed at exp + 1 s unless refreshed
      backoff: BACKOFF,
      refreshAheadMs: 2000,
      getToken: async (r) => {
        calls.push(r);
        return signToken("user1", 3);
      },
    });
    const rec = record(client);
    const closes: number[] = [];
    client.on("close", (i) => closes.push(i.code));
    await (client.connect(), client.subscribe(stream).ready);
    const pub = new Publisher(gw, [stream], 40);
    pub.start();
    // Three token lifetimes: each token is replaced before its exp, on the same connection.
    await until(() => calls.length >= 3, "three in-band refreshes", 15_000);
    await pub.stop();
    const want = await logged(gw, stream, token);
    await until(() => rec.frames.get(stream)?.at(-1)?.seq === want.at(-1)!.seq, "caught up");
    expect(calls.every((c) => c.reason === "refresh")).toBe(true);
    expect(closes).toEqual([]);
    expect(client.stats.connects).toBe(1);
    expect(seqs(rec.frames.get(stream))).toEqual(seqs(want));
    client.close();
  }, 30_000);

  test("a gateway that lost its log reports resume_unavailable; the app takes a snapshot and carries on", async () => {
    const stream = `ticker.lost_${format}` as const;
    const reported: ResumeUnavailable[] = [];
    const client = new GatewayClient({ url: gw.wsUrl, format, token, backoff: { baseMs: 1500, maxMs: 3000 }, onResumeUnavailable: (i) => reported.push(i) });
    const rec = record(client);
    await (client.connect(), client.subscribe(stream).ready);
    await gw.publish([1, 2, 3].map((i) => ({ stream, data: payload(stream, i) })));
    await until(() => rec.frames.get(stream)?.length === 3, "3 frames");
    // A subscribe that came before the stream had a log learns the epoch by one resume after
    // its first frame; the crash below must come after that answer, as it would in practice.
    await until(() => !!client.positions()[stream]?.epoch, "epoch learnt");
    const oldEpoch = client.positions()[stream]!.epoch;

    // Same port, new empty log directory: new epoch, numbering starts over.
    await gw.stop("SIGKILL");
    const oldDir = gw.opts.logDir;
    gw.opts.logDir = tempLogDir(`resume-${format}-wiped`);
    await gw.start();
    await gw.publish([11, 12].map((i) => ({ stream, data: payload(stream, i) }))); // seq 1, 2 of the new epoch
    await until(() => reported.length === 1, "resume_unavailable", 10_000);
    // Even for json, whose subscribe came before the stream had a log (no epoch in the ack), the
    // client knows the epoch (it asked for it), so the new numbering is recognised as such.
    expect(reported[0]).toMatchObject({ stream, lastSequence: 3, reason: "unknown epoch" });
    expect(reported[0]!.epoch).not.toBe(oldEpoch);

    const snap = await client.snapshot(stream, { adopt: true });
    expect(snap.seq).toBe(2);
    expect(snap.data.price).toBe("112.5"); // typed: TickerData
    await gw.publish([13].map((i) => ({ stream, data: payload(stream, i) })));
    await until(() => rec.frames.get(stream)?.length === 4, "frame after the snapshot");
    expect(rec.frames.get(stream)!.at(-1)).toMatchObject({ seq: 3, prev: 2 });
    expect(client.positions()[stream]).toEqual({ seq: 3, epoch: reported[0]!.epoch! });
    client.close();
    fs.rmSync(oldDir, { recursive: true, force: true });
  }, 30_000);
});
