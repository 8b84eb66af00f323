/**
 * Fuzzing a real gateway process (`bun src/main.ts`), bounded: 20,000 random binary frames,
 * 20,000 mutated JSON requests, 20,000 random stream names (subscribe, resume, /publish) and 1,000
 * connection cycles (clean, abrupt, refused, half-open). Throughout, an honest subscriber reads a
 * steady feed. Each part asserts the gateway stays up, answers with error frames of documented
 * codes or closes with documented codes (never 1011, never a 500), and that the honest subscriber
 * sees every event once, in order. The seed is printed; FUZZ_SEED=<n> replays a run.
 *
 * Rate limits are lifted on this gateway so that every frame is parsed and answered instead of
 * the connection being closed 1008 after the 20th bad one (protocol.test.ts covers that).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { ERROR_CODES } from "../../protocol/error-codes.ts";
import { isValidStreamName } from "../../protocol/stream-name.ts";
import {
  EventFlow,
  RawWsClient,
  TestClient,
  diffSeqs,
  getHttp,
  publishHttp,
  scrapeMetric,
  spawnGateway,
  tempDir,
  tokenFor,
  type ChildGateway,
  type Frame,
} from "../helpers/gateway-harness.ts";
import { Rng, fuzzSeed, mutatedRequest, randomBytes, randomStreamName } from "./fuzz-input.ts";

const SEED = fuzzSeed();
const HONEST = ["trades.btc_usdt", "ticker.eth_usdt"];
/** Events that only data frames, known control frames and these error codes may come back as. */
const EVENTS = new Set(["subscribed", "unsubscribed", "list", "pong", "resumed", "authenticated", "error"]);
const CODES = new Set<string>(ERROR_CODES);
/** Closes the gateway may choose under fuzzing: policy (1008) and frame too large (1009). */
const SERVER_CLOSES = new Set([1008, 1009]);
const MAX_STREAMS = 64;

let gw: ChildGateway;
let logDir: string;
let honest: TestClient;
let flow: EventFlow;
let token: string;

beforeAll(async () => {
  console.log(`fuzz seed ${SEED} (FUZZ_SEED=${SEED} replays this run)`);
  logDir = tempDir("fuzz");
  gw = await spawnGateway({
    LOG_DIR: logDir,
    LOG_SEGMENT_BYTES: "65536",
    LOG_SEGMENTS: "2",
    LOG_MAX_STREAMS: String(MAX_STREAMS),
    CLIENT_MESSAGES_PER_SEC: "1000000",
    CLIENT_MESSAGE_BURST: "1000000",
    MAX_RATE_VIOLATIONS: "1000000",
  });
  token = await tokenFor("fuzz");
  honest = await TestClient.connect(gw.wsUrl(), { token: await tokenFor("honest") });
  await honest.subscribe(HONEST);
  flow = new EventFlow(async (events) => {
    const r = await publishHttp(gw.port, events);
    if (r.status !== 202) throw new Error(`publish answered ${r.status}`);
    return (r.body.results as { seq: number }[]).map((x) => x.seq);
  }, HONEST, { perTick: 4, intervalMs: 20 }).start();
});

afterAll(async () => {
  await flow?.stop();
  await honest?.close();
  await gw?.kill("SIGKILL");
  if (logDir) fs.rmSync(logDir, { recursive: true, force: true });
});

/** Sends `frames` on `c` in chunks, each closed by a ping whose pong proves the chunk was handled. */
async function sendAll(c: TestClient, frames: (string | Uint8Array)[], chunk = 500): Promise<void> {
  for (let i = 0; i < frames.length && c.isOpen; i += chunk) {
    for (const f of frames.slice(i, i + chunk)) c.send(f);
    const id = `end-${i}`;
    c.send({ action: "ping", id });
    await Promise.race([c.waitFor((f) => f.id === id && f.event === "pong", 20_000, 0), c.closed]);
  }
}

/** Every frame a fuzzed client got is a data frame or a known control frame with a documented code. */
function checkAnswers(frames: Frame[]): { errors: number } {
  let errors = 0;
  for (const f of frames) {
    if (typeof f.stream === "string" && typeof f.seq === "number" && f.event === undefined) continue;
    expect(EVENTS.has(f.event), JSON.stringify(f).slice(0, 200)).toBe(true);
    if (f.event === "error") {
      errors++;
      expect(CODES.has(f.code), JSON.stringify(f).slice(0, 200)).toBe(true);
      expect(f.code).not.toBe("internal");
      expect(typeof f.message).toBe("string");
    }
  }
  return { errors };
}

/** The gateway is alive, served every request without an internal error, and the honest client lost nothing. */
async function checkHealthy(): Promise<void> {
  expect(gw.proc.exitCode).toBeNull();
  expect((await getHttp(gw.port, "/healthz")).status).toBe(200);
  expect(gw.lines.filter((l) => l.event === "request_failed" || l.event === "http_error")).toEqual([]);
  expect(gw.stderr()).not.toMatch(/Maximum call stack|RangeError|TypeError/);
  expect(await scrapeMetric(gw.port, "gateway_connections_closed_total", { code: "1011" })).toBe(0);
  expect(flow.error).toBeUndefined();
  for (const s of HONEST) {
    await honest.waitForSeq(s, flow.head(s), 15_000);
    // The feed runs on: compare up to what the flow has recorded so far.
    expect(diffSeqs(honest.seqs(s).filter((q) => q <= flow.head(s)), flow.seqs(s))).toBeUndefined();
  }
  expect(honest.isOpen).toBe(true);
}

/** Runs `work` on `n` fuzzing connections; reconnects one the gateway closed (with a documented code). */
async function onConnections(n: number, work: (c: TestClient, k: number) => Promise<void>): Promise<Frame[]> {
  const all: Frame[] = [];
  await Promise.all(
    Array.from({ length: n }, async (_, k) => {
      const c = await TestClient.connect(gw.wsUrl(), { token });
      await work(c, k);
      all.push(...c.frames);
      if (c.closeEvent) expect(SERVER_CLOSES.has(c.closeEvent.code), `close ${c.closeEvent.code} ${c.closeEvent.reason}`).toBe(true);
      else await c.close();
    }),
  );
  return all;
}

test("20,000 random binary frames: one bad_request error frame each, nothing else breaks", async () => {
  const r = new Rng(SEED);
  const PER = 5000;
  const frames = await onConnections(4, async (c) => {
    const batch = Array.from({ length: PER }, () => randomBytes(r, 200));
    await sendAll(c, batch);
  });
  const { errors } = checkAnswers(frames);
  expect(errors).toBe(4 * PER);
  expect(frames.filter((f) => f.event === "error").every((f) => f.code === "bad_request")).toBe(true);
  await checkHealthy();
}, 60_000);

test("20,000 mutated JSON requests: answered with known frames and documented error codes", async () => {
  const r = new Rng(SEED + 1);
  const frames = await onConnections(4, async (c) => {
    await sendAll(c, Array.from({ length: 5000 }, () => mutatedRequest(r)));
  });
  const { errors } = checkAnswers(frames);
  expect(errors).toBeGreaterThan(1000);
  expect(frames.some((f) => f.event === "pong")).toBe(true);
  await checkHealthy();
}, 60_000);

test("20,000 random stream names: refused with reasons, no stream outside the patterns gets a log", async () => {
  const r = new Rng(SEED + 2);
  const names = Array.from({ length: 20_000 }, () => randomStreamName(r));
  // Subscribe and resume with every name, 200 per request.
  const frames = await onConnections(2, async (c, k) => {
    const reqs: string[] = [];
    for (let i = k * 10_000; i < (k + 1) * 10_000; i += 200) {
      const streams = names.slice(i, i + 200);
      reqs.push(JSON.stringify({ action: "subscribe", streams }), JSON.stringify({ action: "resume", streams, lastSequence: 0 }));
      reqs.push(JSON.stringify({ action: "unsubscribe", streams }));
    }
    await sendAll(c, reqs, 30);
  });
  checkAnswers(frames);
  expect(frames.some((f) => f.code === "unknown_stream")).toBe(true);
  // Publish 1,000 of them one by one: 202, or 400/507 with a JSON reason.
  const statuses = new Map<number, number>();
  const published = new Set<string>();
  // (The honest streams are left alone: their events are the ones the honest client checks.)
  for (const stream of names.filter((n) => !HONEST.includes(n)).slice(0, 1000)) {
    const res = await publishHttp(gw.port, { stream, data: { fuzz: true } });
    statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    expect([202, 400, 507]).toContain(res.status);
    if (res.status === 202) published.add(stream);
    else expect(["bad_request", "unknown_stream", "stream_limit"]).toContain(res.body.error);
  }
  expect(statuses.get(400)).toBeGreaterThan(0);
  // Every log on disk is of a stream that is well-formed and configured; never more than the cap.
  const dirs = fs.readdirSync(logDir).filter((d) => !d.startsWith("."));
  expect(dirs.length).toBeLessThanOrEqual(MAX_STREAMS);
  for (const d of dirs) {
    const meta = JSON.parse(fs.readFileSync(path.join(logDir, d, "meta.json"), "utf8")) as { stream: string };
    expect(isValidStreamName(meta.stream)).toBe(true);
    expect(/^(trades|depth|ticker|orders)\./.test(meta.stream)).toBe(true);
    expect(HONEST.includes(meta.stream) || published.has(meta.stream)).toBe(true);
  }
  await checkHealthy();
}, 60_000);

test("1,000 connection cycles (clean, abrupt, refused, half-open): the gateway ends with only the honest client", async () => {
  const r = new Rng(SEED + 3);
  const bad = await tokenFor("fuzz", {});
  let refused = 0;
  const cycle = async (): Promise<void> => {
    switch (r.int(5)) {
      case 0: {
        const c = await TestClient.connect(gw.wsUrl(), { token });
        c.send({ action: "subscribe", streams: HONEST, id: 1 });
        await c.waitFor((f) => f.id === 1);
        await c.close();
        return;
      }
      case 1: {
        const c = await RawWsClient.connect(gw.port, "/ws", { Authorization: `Bearer ${token}` });
        c.send({ action: "subscribe", streams: HONEST });
        c.destroy();
        return;
      }
      case 2: {
        const res = await getHttp(gw.port, `/ws?token=${r.chance(0.5) ? bad.slice(0, -3) : "x".repeat(r.int(40_000))}`, {
          upgrade: "websocket",
          connection: "Upgrade",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
          "sec-websocket-version": "13",
        });
        expect([401, 431]).toContain(res.status);
        expect(typeof res.body.error).toBe("string");
        refused++;
        return;
      }
      case 3: {
        // Half a handshake, then gone.
        await new Promise<void>((resolve) => {
          const s = net.connect(gw.port, "127.0.0.1", () => {
            s.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n`);
            setTimeout(() => s.destroy(), r.int(20));
          });
          s.on("close", () => resolve());
          s.on("error", () => resolve());
        });
        return;
      }
      default: {
        const c = await TestClient.connect(gw.wsUrl(), { token });
        c.send(mutatedRequest(r));
        c.ws.close();
        await c.closed;
      }
    }
  };
  const CONCURRENCY = 20;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    for (let i = 0; i < 1000 / CONCURRENCY; i++) await cycle();
  }));
  expect(refused).toBeGreaterThan(0);
  // Abrupt closes are noticed by the gateway within moments; only the honest client stays.
  const deadline = Date.now() + 15_000;
  while ((await scrapeMetric(gw.port, "gateway_connections")) > 1 && Date.now() < deadline) await Bun.sleep(100);
  expect(await scrapeMetric(gw.port, "gateway_connections")).toBe(1);
  await checkHealthy();
}, 60_000);
