/** Unit tests for Backoff and sleep. */
import { describe, expect, test } from "bun:test";
import { Backoff, sleep } from "../../src/sources/backoff.ts";

describe("Backoff", () => {
  test("grows exponentially up to maxMs without jitter", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 2, jitter: 0 });
    expect([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()]).toEqual([100, 200, 400, 800, 1000, 1000]);
    expect(b.attempt).toBe(6);
  });

  test("reset() starts again from initialMs", () => {
    const b = new Backoff({ initialMs: 50, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.attempt).toBe(0);
    expect(b.next()).toBe(50);
  });

  test("jitter draws from [d * (1 - jitter), d]", () => {
    const low = new Backoff({ initialMs: 1000, jitter: 0.5, random: () => 0.999999 });
    const high = new Backoff({ initialMs: 1000, jitter: 0.5, random: () => 0 });
    expect(low.next()).toBe(500);
    expect(high.next()).toBe(1000);
    const full = new Backoff({ initialMs: 1000, jitter: 1, random: () => 0.75 });
    expect(full.next()).toBe(250);
  });

  test("real jitter spreads delays and stays within bounds", () => {
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const d = new Backoff({ initialMs: 1000, jitter: 0.5 }).next();
      expect(d).toBeGreaterThanOrEqual(500);
      expect(d).toBeLessThanOrEqual(1000);
      seen.add(d);
    }
    expect(seen.size).toBeGreaterThan(50);
  });

  test("a very long outage never overflows", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 30_000, jitter: 0 });
    for (let i = 0; i < 10_000; i++) b.next();
    expect(b.next()).toBe(30_000);
  });

  test("rejects nonsense options", () => {
    expect(() => new Backoff({ initialMs: 100, maxMs: 10 })).toThrow(RangeError);
    expect(() => new Backoff({ factor: 0.5 })).toThrow(RangeError);
  });
});

describe("sleep", () => {
  test("waits about ms", async () => {
    const t0 = performance.now();
    await sleep(30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
  });

  test("an abort ends it early without rejecting", async () => {
    const ac = new AbortController();
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 10);
    await sleep(10_000, ac.signal);
    expect(performance.now() - t0).toBeLessThan(1000);
    await sleep(10_000, ac.signal); // already aborted: immediate
  });
});
