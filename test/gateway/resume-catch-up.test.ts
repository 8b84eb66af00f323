import { expect, test } from "bun:test";
import { encodeControlJson } from "../../src/codec/json-codec.ts";
import { loadConfig } from "../../src/config/config.ts";
import type { Connection } from "../../src/gateway/connection.ts";
import { ResumeService } from "../../src/gateway/resume-service.ts";
import { Session } from "../../src/gateway/session.ts";
import { StreamPolicy } from "../../src/gateway/stream-policy.ts";
import { SubscriptionIndex } from "../../src/gateway/subscription-index.ts";
import { MemoryLogStore } from "../../src/log/memory-log-store.ts";
import { GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";
import { silentLogger } from "../../src/util/logger.ts";

/** A Connection that records what the session sends and subscribes to. */
class FakeConnection implements Connection {
  readonly sent: Record<string, unknown>[] = [];
  readonly topics = new Set<string>();
  send(frame: string | Uint8Array): number {
    this.sent.push(JSON.parse(String(frame)));
    return 1;
  }
  subscribe(t: string): void {
    this.topics.add(t);
  }
  unsubscribe(t: string): void {
    this.topics.delete(t);
  }
  close(): void {}
  bufferedAmount(): number {
    return 0;
  }
}

const stream = "trades.btc_usdt";
const EPOCH = "src:kafka-main:md.trades";

/** A session over a fake connection, with resume served from `logs`. */
function setup(logs: MemoryLogStore) {
  const cfg = loadConfig({ JWT_SECRET: "x", SIMULATOR: "0" });
  const metrics = new GatewayMetrics({ defaultMetrics: false });
  const resume = new ResumeService(logs, metrics, silentLogger, 1 << 20);
  const conn = new FakeConnection();
  const session = new Session(conn, { id: 1, identity: { userId: "u", roles: [], via: "jwt" }, format: "json", remoteAddress: "127.0.0.1" }, {
    policy: new StreamPolicy(cfg.streams),
    index: new SubscriptionIndex(),
    limits: cfg.limits,
    metrics,
    log: silentLogger,
    encodeControl: (m) => encodeControlJson(m),
    resume,
    expiryGraceMs: 0,
  });
  const append = (seq: number, prev: number) =>
    logs.get(stream).append({ stream, seq, prev, data: `{"n":${seq}}`, sourceTs: 0, gatewayTs: 0 });
  return { conn, session, append };
}

test("a client failing over to a gateway that has not read as far waits for it, then gets exactly what follows", async () => {
  // Source-numbered stream: the same epoch and seqs on every gateway reading that source.
  const { conn, session, append } = setup(new MemoryLogStore({ epochFor: () => EPOCH }));
  for (let s = 10; s <= 15; s++) append(s, s === 10 ? 0 : s - 1);
  // The client saw up to 17 on the other gateway; this one has read up to 15 so far.
  session.handleMessage(JSON.stringify({ action: "resume", positions: { [stream]: 17 }, epochs: { [stream]: EPOCH }, id: 1 }));
  await Bun.sleep(60);
  expect(conn.topics.size).toBe(0); // not live yet: live frames would repeat 16 and 17
  expect(conn.sent).toEqual([]);
  for (let s = 16; s <= 19; s++) append(s, s - 1);
  await Bun.sleep(80);
  expect(conn.sent.filter((f) => "seq" in f).map((f) => f.seq)).toEqual([18, 19]);
  expect(conn.sent.at(-1)).toMatchObject({ event: "resumed", stream, from: 17, to: 19, id: 1 });
  expect([...conn.topics]).toEqual([`j:${stream}`]);
});

test("a gateway-numbered stream does not wait: a position ahead of its log is unavailable at once", async () => {
  const { conn, session, append } = setup(new MemoryLogStore()); // random epoch: this gateway's own numbering
  append(1, 0);
  session.handleMessage(JSON.stringify({ action: "resume", positions: { [stream]: 5 } }));
  expect(conn.sent.at(-1)).toMatchObject({ event: "error", code: "resume_unavailable", stream, head: 1 });
  expect([...conn.topics]).toEqual([`j:${stream}`]);
});
