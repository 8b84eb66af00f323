/**
 * Resume across a gateway restart: the gateway runs as a child process (`bun src/main.ts`) on a
 * LOG_DIR that outlives it; a client that was cut off resumes on the next process from its last
 * seq and ends with exactly the published sequence, after a clean SIGTERM and after kill -9.
 */
import { afterEach, expect, test } from "bun:test";
import fs from "node:fs";
import { EventFlow, TestClient, diffSeqs, type DataFrame, getHttp, publishHttp, spawnGateway, tempDir, tokenFor, until, type ChildGateway } from "../helpers/gateway-harness.ts";

const S = "trades.btc_usdt";
const P = "orders.u1";
let children: ChildGateway[] = [];
let dir: string | undefined;
afterEach(async () => {
  for (const c of children) await c.kill("SIGKILL");
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  children = [];
  dir = undefined;
});

async function start(logDir: string): Promise<ChildGateway> {
  const c = await spawnGateway({ LOG_DIR: logDir, SHUTDOWN_GRACE_MS: "2000" });
  children.push(c);
  return c;
}

/** One event per stream before anyone subscribes, so subscribe answers carry the epochs. */
async function seed(g: ChildGateway): Promise<void> {
  const r = await publishHttp(g.port, [S, P].map((stream) => ({ stream, data: { seed: true } })));
  expect(r.status).toBe(202);
}

/** An EventFlow publishing through POST /publish of whichever gateway `target()` names. */
function httpFlow(target: () => ChildGateway): EventFlow {
  return new EventFlow(
    async (events) => {
      const r = await publishHttp(target().port, events);
      if (r.status !== 202) throw new Error(`publish failed: ${r.status}`);
      return (r.body.results as { seq: number }[]).map((x) => x.seq);
    },
    [S, P],
    { perTick: 4, intervalMs: 5 },
  );
}

async function scenario(stop: (g: ChildGateway) => Promise<void>, expectExit: (code: number | null, signal: NodeJS.Signals | number | null) => void): Promise<void> {
  dir = tempDir("restart");
  let current = await start(dir);
  const flow = httpFlow(() => current);
  await seed(current);
  const token = await tokenFor("u1");

  const a = await TestClient.connect(current.wsUrl(), { token });
  const ack = await a.subscribe([S, P]);
  const epochs = ack.epochs as Record<string, string>;
  expect(epochs[S]).toMatch(/^[0-9a-f]{16}$/);
  flow.start();
  await until(() => a.data(S).length >= 20 && a.data(P).length >= 20, 10_000, "first events");
  // The client drops off while the feed continues on the old process...
  await a.close();
  const seen = new Map<string, DataFrame[]>([
    [S, a.data(S)],
    [P, a.data(P)],
  ]);
  const lastSeen = (s: string) => seen.get(s)!.at(-1)!.seq;
  await until(() => flow.head(S) >= lastSeen(S) + 20, 10_000, "events missed by the client");
  await flow.stop();

  // ...then that process goes away and another starts on the same LOG_DIR.
  const old = current;
  await stop(old);
  expectExit(old.proc.exitCode, old.proc.signalCode);
  current = await start(dir);

  // Numbering continues from the persisted log, with the same epoch.
  const snap = await getHttp(current.port, `/snapshot/${S}`, { authorization: `Bearer ${token}` });
  expect(snap.status).toBe(200);
  expect(snap.body.seq).toBe(flow.head(S));
  expect(snap.body.epoch).toBe(epochs[S]);
  flow.start();

  const b = await TestClient.connect(current.wsUrl(), { token });
  const last = { [S]: lastSeen(S), [P]: lastSeen(P) };
  b.send({ action: "resume", positions: last, epochs, id: "after-restart" });
  await until(() => b.answers("after-restart").length === 2, 10_000, "both resume answers");
  for (const r of b.answers("after-restart")) {
    expect(r.event).toBe("resumed");
    expect(r.epoch).toBe(epochs[r.stream]);
    expect(r.replayed).toBeGreaterThan(0);
  }
  const headAtResume = flow.head(S);
  await until(() => flow.head(S) >= headAtResume + 20, 10_000, "live events on the new process");
  await flow.stop();
  for (const s of [S, P]) {
    await b.waitForSeq(s, flow.head(s), 10_000);
    const got = [...seen.get(s)!, ...b.data(s)];
    expect(diffSeqs(got.map((f) => f.seq), flow.seqs(s))).toBeUndefined();
    expect(got.map((f) => f.data)).toEqual(flow.published.get(s)!.map((e) => e.data));
  }
  await b.close();
}

test("resume across a clean restart (SIGTERM, same LOG_DIR): nothing lost, nothing repeated", async () => {
  await scenario(
    async (g) => {
      g.proc.kill("SIGTERM");
      await g.exited;
    },
    (code) => expect(code).toBe(0),
  );
}, 60_000);

test("resume across kill -9 (same LOG_DIR): nothing lost, nothing repeated", async () => {
  await scenario(
    async (g) => {
      g.proc.kill("SIGKILL");
      await g.exited;
    },
    (_code, signal) => expect(signal).toBe("SIGKILL"),
  );
}, 60_000);

test("a client connected when the gateway is killed resumes on the next process", async () => {
  dir = tempDir("kill-connected");
  let current = await start(dir);
  const flow = httpFlow(() => current);
  await seed(current);
  const token = await tokenFor("u1");
  const a = await TestClient.connect(current.wsUrl(), { token });
  const epochs = (await a.subscribe([S, P])).epochs as Record<string, string>;
  flow.start();
  await until(() => a.data(S).length >= 30, 10_000, "events before the crash");
  await flow.stop();
  current.proc.kill("SIGKILL");
  const closed = await a.waitClosed(5000);
  expect(closed.code).toBe(1006); // no close frame from a killed process
  current = await start(dir);
  const b = await TestClient.connect(current.wsUrl(), { token });
  b.send({ action: "resume", positions: { [S]: a.lastSeq(S), [P]: a.lastSeq(P) }, epochs, id: 1 });
  await until(() => b.answers(1).length === 2, 10_000, "resume answers");
  expect(b.answers(1).every((f) => f.event === "resumed")).toBe(true);
  flow.start();
  await until(() => flow.head(S) >= a.lastSeq(S) + 20, 10_000, "new events");
  await flow.stop();
  for (const s of [S, P]) {
    await b.waitForSeq(s, flow.head(s), 10_000);
    expect(diffSeqs([...a.seqs(s), ...b.seqs(s)], flow.seqs(s))).toBeUndefined();
  }
  await b.close();
}, 60_000);
