import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { StatsPoint, StatsSnapshot } from "../../src/admin/admin-stats.ts";
import { bucketDelta, quantile, type BucketCounts } from "../../src/admin/histogram-quantile.ts";
import { ADMIN_TOKEN, adminFetch, connectClient, startGateway, type TestClient, type TestGateway } from "./helpers.ts";

describe("histogram quantiles", () => {
  const b: BucketCounts = { bounds: [1, 2, 4], counts: [10, 30, 40, 40] };

  test("interpolates inside the bucket like histogram_quantile", () => {
    expect(quantile(b, 0.25)).toBe(1); // rank 10 = end of the first bucket
    expect(quantile(b, 0.5)).toBe(1.5); // rank 20 of (10,30] in (1,2]
    expect(quantile(b, 0.875)).toBe(3); // rank 35 of (30,40] in (2,4]
  });

  test("no observations is null; +Inf ranks give the top finite bound", () => {
    expect(quantile({ bounds: [1, 2], counts: [0, 0, 0] }, 0.99)).toBeNull();
    expect(quantile({ bounds: [1, 2], counts: [0, 0, 5] }, 0.5)).toBe(2);
  });

  test("deltas between samples", () => {
    const later: BucketCounts = { bounds: [1, 2, 4], counts: [10, 31, 45, 46] };
    expect(bucketDelta(later, b).counts).toEqual([0, 1, 5, 6]);
    expect(quantile(bucketDelta(later, b), 0.5)).toBe(3); // rank 3 of (1,5] in (2,4]
  });
});

describe("live stats feed", () => {
  let tg: TestGateway;
  let client: TestClient;

  beforeAll(async () => {
    tg = await startGateway({ simulator: true, eventsPerSecond: 400, admin: { stats: { intervalMs: 200, latencyWindow: 5 } } });
    client = await connectClient(tg.base, "feeduser", ["trades.btc_usdt", "depth.btc_usdt", "orders.feeduser"]);
  });

  afterAll(async () => {
    client.ws.close();
    await tg.stop();
  });

  /** Reads SSE events from the feed until `until` returns true for the collected list. */
  async function readFeed(path: string, headers: Record<string, string>, until: (events: { event: string; data: unknown }[]) => boolean) {
    const ctrl = new AbortController();
    const res = await fetch(tg.base + path, { headers, signal: ctrl.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    const events: { event: string; data: unknown }[] = [];
    let buf = "";
    const deadline = Date.now() + 10_000;
    while (!until(events) && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value, { stream: true });
      let i;
      while ((i = buf.indexOf("\n\n")) >= 0) {
        const raw = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev = /^event: (.*)$/m.exec(raw)?.[1];
        const data = /^data: (.*)$/m.exec(raw)?.[1];
        if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
      }
    }
    ctrl.abort();
    return events;
  }

  test("pushes history, then snapshots with rates, latencies, sources and top streams", async () => {
    const events = await readFeed("/admin/api/stream", { authorization: `Bearer ${ADMIN_TOKEN}` }, (evs) => {
      const snaps = evs.filter((e) => e.event === "snapshot").map((e) => e.data as StatsSnapshot);
      return snaps.some((s) => s.eventsInPerSec > 0 && s.framesOutPerSec > 0 && s.ingestMs.p99 !== null && s.publishMs.p99 !== null);
    });
    expect(events[0]!.event).toBe("history");
    expect(Array.isArray(events[0]!.data)).toBe(true);
    const snaps = events.filter((e) => e.event === "snapshot").map((e) => e.data as StatsSnapshot);
    const s = snaps.find((x) => x.eventsInPerSec > 0 && x.framesOutPerSec > 0 && x.ingestMs.p99 !== null)!;
    expect(s).toBeDefined();
    expect(s.connections).toBe(1);
    expect(s.ready).toBe(true);
    expect(s.eventsInBySource.embedded).toBeGreaterThan(0);
    expect(s.bytesOutPerSec).toBeGreaterThan(0);
    expect(s.totals.eventsIn).toBeGreaterThan(0);
    expect(s.publishMs.p50).not.toBeNull();
    expect(s.publishMs.p50!).toBeLessThanOrEqual(s.publishMs.p99!);
    expect(s.sources).toContainEqual(expect.objectContaining({ name: "embedded", connected: true }));
    expect(s.sources[0]!.lastEventAgeSec).not.toBeNull();
    expect(s.topStreams.map((t) => t.stream).sort()).toEqual(["depth.btc_usdt", "orders.feeduser", "trades.btc_usdt"]);
    expect(s.streams).toBe(3);
  });

  test("disconnect reasons of the last interval, and the query token", async () => {
    const victim = await connectClient(tg.base, "feedvictim");
    const kicked = adminFetch(tg.base, "/admin/api/users/feedvictim/kick", { method: "POST" });
    const events = await readFeed(`/admin/api/stream?token=${encodeURIComponent(ADMIN_TOKEN)}`, {}, (evs) =>
      evs.some((e) => e.event === "snapshot" && ((e.data as StatsSnapshot).disconnects.kicked ?? 0) > 0),
    );
    expect((await kicked).status).toBe(200);
    expect((await victim.closed).code).toBe(4001);
    const hit = events.find((e) => e.event === "snapshot" && ((e.data as StatsSnapshot).disconnects.kicked ?? 0) > 0);
    expect(hit).toBeDefined();
    expect((hit!.data as StatsSnapshot).disconnects).toEqual({ kicked: 1 });
  });

  test("GET /admin/api/stats answers the current snapshot and history", async () => {
    const body = (await (await adminFetch(tg.base, "/admin/api/stats?history=5")).json()) as { current: StatsSnapshot; history: StatsPoint[] };
    expect(body.current.connections).toBe(1);
    expect(body.history.length).toBeLessThanOrEqual(5);
    expect(body.history.length).toBeGreaterThan(0);
    expect(body.history.at(-1)!.ts).toBeGreaterThan(0);
    expect("sources" in body.history.at(-1)!).toBe(false);
  });

  test("a feed is released when its client goes away", async () => {
    const ctrl = new AbortController();
    const res = await fetch(tg.base + "/admin/api/stream", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, signal: ctrl.signal });
    const reader = res.body!.getReader();
    await reader.read();
    expect(tg.admin.stats.subscribers).toBeGreaterThan(0);
    ctrl.abort();
    // Bun reports the client going away through the stream's cancel.
    const deadline = Date.now() + 3000;
    while (tg.admin.stats.subscribers > 0 && Date.now() < deadline) await Bun.sleep(50);
    expect(tg.admin.stats.subscribers).toBe(0);
  });
});
