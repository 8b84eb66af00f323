/**
 * One behavioural suite every Source implementation must pass (embedded, Kafka, NATS, Redis).
 *
 * Usage, from a `*.test.ts` file:
 *
 *   runSourceConformance("redis", async () => ({ source, produce, origin, ... }));
 *
 * The factory is called once per test case and must return a fresh fixture:
 *  - `source`: a new, NOT started Source. It must deliver everything produced to `origin` after
 *    `start()` resolved (reading "from now" or "from the beginning" both work, since the origin is
 *    fresh).
 *  - `origin`: an origin no earlier test used (unique topic / subject / stream key), exactly as the
 *    source reports it in SourceMessage.origin.
 *  - `produce(origin, values)`: writes `values` in this order and resolves once the broker has
 *    accepted them all. Values are sent verbatim (they are not always JSON).
 *  - `supportsPositions`: SourceMessage.position is set and strictly increasing per origin.
 *  - `supportsReplay`: `source.replay` exists and works.
 *  - `cleanup()`: called after the source was stopped; removes what the fixture created.
 */
import { afterEach, describe, expect, test } from "bun:test";
import type { BatchSink, IngestOutcome, Source, SourceMessage } from "../../src/sources/source.ts";

/** What a conformance factory returns for one test case (see the file comment for the contract). */
export interface SourceFixture {
  source: Source;
  produce(origin: string, values: string[]): Promise<void>;
  origin: string;
  supportsPositions: boolean;
  supportsReplay: boolean;
  cleanup(): Promise<void>;
}

/** Builds a fresh fixture per test case. */
export type SourceFixtureFactory = () => Promise<SourceFixture>;

/** Sink that records every batch, with a way to wait for a number of messages of one origin. */
export class Collector {
  readonly batches: SourceMessage[][] = [];
  private waiters: { origin: string; n: number; resolve: () => void }[] = [];

  readonly sink: BatchSink = (batch) => {
    // Copy: a source may reuse its array after the sink returns.
    this.batches.push([...batch]);
    this.waiters = this.waiters.filter((w) => {
      if (this.of(w.origin).length < w.n) return true;
      w.resolve();
      return false;
    });
    // Sources ignore outcomes; answer one per message as the contract says.
    return batch.map((): IngestOutcome => ({ skipped: "collected by test" }));
  };

  /** Every message delivered so far. */
  get all(): SourceMessage[] {
    return this.batches.flat();
  }

  /** Messages of `origin`, in delivery order. */
  of(origin: string): SourceMessage[] {
    return this.all.filter((m) => m.origin === origin);
  }

  /** Values of `origin` as text, in delivery order. */
  values(origin: string): string[] {
    return this.of(origin).map((m) => valueText(m.value));
  }

  /** Resolves when at least `n` messages of `origin` arrived; rejects after `timeoutMs`. */
  waitFor(origin: string, n: number, timeoutMs = 15_000): Promise<void> {
    if (this.of(origin).length >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out: ${this.of(origin).length}/${n} messages of ${origin}`)),
        timeoutMs,
      );
      this.waiters.push({ origin, n, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

/** A payload as text, whichever representation the source chose. */
export function valueText(v: string | Uint8Array): string {
  return typeof v === "string" ? v : new TextDecoder().decode(v);
}

/** Sleeps; for "and nothing more arrives" checks. */
export const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

const values = (prefix: string, n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ p: prefix, i: i + from }));

/** Per-case limit: a cold broker connection on a busy 2-core machine can take seconds. */
const CASE_TIMEOUT_MS = 30_000;

/** Registers the shared Source conformance suite under `describe(name)`. */
export function runSourceConformance(name: string, factory: SourceFixtureFactory): void {
  describe(`Source conformance: ${name}`, () => {
    let fx: SourceFixture | undefined;

    /** Creates the fixture and starts its source with a fresh collector. */
    async function startFixture(): Promise<{ f: SourceFixture; c: Collector }> {
      const f = await factory();
      fx = f;
      const c = new Collector();
      await f.source.start(c.sink);
      return { f, c };
    }

    afterEach(async () => {
      const f = fx;
      fx = undefined;
      if (!f) return;
      await f.source.stop();
      await f.cleanup();
    }, CASE_TIMEOUT_MS);

    test("delivers every produced message exactly once, in order", async () => {
      const { f, c } = await startFixture();
      const sent = values("order", 300);
      // Several produce calls, so the source sees more than one broker write.
      await f.produce(f.origin, sent.slice(0, 100));
      await f.produce(f.origin, sent.slice(100, 250));
      await f.produce(f.origin, sent.slice(250));
      await c.waitFor(f.origin, sent.length);
      await pause(300);
      expect(c.values(f.origin)).toEqual(sent);
      expect(c.of(f.origin).every((m) => m.origin === f.origin)).toBe(true);
    }, CASE_TIMEOUT_MS);

    test("hands over batches as non-empty arrays", async () => {
      const { f, c } = await startFixture();
      await f.produce(f.origin, values("batch", 500));
      await c.waitFor(f.origin, 500);
      expect(c.batches.length).toBeGreaterThan(0);
      for (const b of c.batches) {
        expect(Array.isArray(b)).toBe(true);
        expect(b.length).toBeGreaterThan(0);
      }
      // 500 messages written at once must not arrive one per batch.
      expect(c.batches.length).toBeLessThan(500);
    }, CASE_TIMEOUT_MS);

    test("positions are strictly increasing when supported", async () => {
      const { f, c } = await startFixture();
      await f.produce(f.origin, values("pos", 50));
      await f.produce(f.origin, values("pos", 50, 50));
      await c.waitFor(f.origin, 100);
      const positions = c.of(f.origin).map((m) => m.position);
      if (!f.supportsPositions) return;
      for (const p of positions) expect(Number.isSafeInteger(p)).toBe(true);
      for (let i = 1; i < positions.length; i++) expect(positions[i]!).toBeGreaterThan(positions[i - 1]!);
    }, CASE_TIMEOUT_MS);

    test("replay from a middle position returns exactly the tail", async () => {
      const { f, c } = await startFixture();
      const sent = values("replay", 20);
      await f.produce(f.origin, sent);
      await c.waitFor(f.origin, 20);
      if (!f.supportsReplay) {
        expect(f.source.replay).toBeUndefined();
        return;
      }
      const replay = f.source.replay!.bind(f.source);
      const delivered = c.of(f.origin);
      const mid = delivered[9]!.position!;
      const tail = await replay(f.origin, mid, 100);
      expect(tail.map((m) => valueText(m.value))).toEqual(sent.slice(10));
      expect(tail.map((m) => m.position)).toEqual(delivered.slice(10).map((m) => m.position));
      expect(tail.every((m) => m.origin === f.origin)).toBe(true);
      const limited = await replay(f.origin, mid, 3);
      expect(limited.map((m) => valueText(m.value))).toEqual(sent.slice(10, 13));
      const all = await replay(f.origin, delivered[0]!.position! - 1, 1000);
      expect(all.map((m) => valueText(m.value))).toEqual(sent);
      expect(await replay(f.origin, delivered[19]!.position!, 10)).toEqual([]);
    }, CASE_TIMEOUT_MS);

    test("stop() is idempotent and nothing is delivered after it", async () => {
      const { f, c } = await startFixture();
      await f.produce(f.origin, values("stop", 10));
      await c.waitFor(f.origin, 10);
      await Promise.all([f.source.stop(), f.source.stop()]);
      await f.source.stop();
      const batchesAtStop = c.batches.length;
      await f.produce(f.origin, values("stop", 10, 10));
      await pause(500);
      expect(c.batches.length).toBe(batchesAtStop);
      expect(f.source.health().connected).toBe(false);
    }, CASE_TIMEOUT_MS);

    test("health() reflects the connection and counts events", async () => {
      const f = await factory();
      fx = f;
      const before = f.source.health();
      expect(before.events).toBe(0);
      expect(before.lastEventAt).toBe(0);
      const c = new Collector();
      await f.source.start(c.sink);
      expect(f.source.health().connected).toBe(true);
      const t0 = Date.now();
      await f.produce(f.origin, values("health", 25));
      await c.waitFor(f.origin, 25);
      const h = f.source.health();
      expect(h.connected).toBe(true);
      expect(h.events).toBe(c.all.length);
      expect(h.events).toBeGreaterThanOrEqual(25);
      expect(h.lastEventAt).toBeGreaterThanOrEqual(t0 - 5);
      expect(h.reconnects).toBe(0);
      await f.source.stop();
      expect(f.source.health().connected).toBe(false);
    }, CASE_TIMEOUT_MS);

    test("a malformed (non-JSON) payload is delivered as-is", async () => {
      const { f, c } = await startFixture();
      const sent = ["not json {", '{"ok":true}', "", "  spaced  ", "ünïcødé ✓"];
      await f.produce(f.origin, sent);
      await c.waitFor(f.origin, sent.length);
      expect(c.values(f.origin)).toEqual(sent);
    }, CASE_TIMEOUT_MS);
  });
}
