import { describe, expect, test } from "bun:test";
import { CONNECT_BREAKER, REPLAY_BREAKER, SourceRunner } from "../../src/sources/source-runner.ts";
import type { SourceMessage } from "../../src/sources/source.ts";

const msg = (v: string): SourceMessage => ({ origin: "o", value: v });

describe("SourceRunner", () => {
  test("hands batches to the sink and counts them; empty batches are not handed over", () => {
    const r = new SourceRunner("test source a");
    const got: SourceMessage[][] = [];
    r.begin((b) => (got.push(b), []));
    r.deliver([msg("1"), msg("2")]);
    r.deliver([]);
    expect(got).toEqual([[msg("1"), msg("2")]]);
    expect(r.health(true)).toMatchObject({ connected: true, events: 2, errors: 0 });
    expect(r.health(true).lastEventAt).toBeGreaterThan(0);
  });

  test("a sink that throws is counted as an error and the next batch still goes through", () => {
    const r = new SourceRunner("test source b");
    let calls = 0;
    r.begin(() => {
      if (++calls === 1) throw new Error("gateway bug");
      return [];
    });
    r.deliver([msg("1")]);
    r.deliver([msg("2")]);
    expect(calls).toBe(2);
    expect(r.health(true)).toMatchObject({ events: 2, errors: 1, lastError: "gateway bug" });
  });

  test("stop runs once, aborts the signal, and nothing is delivered or counted after it", async () => {
    const r = new SourceRunner("test source c");
    const got: SourceMessage[][] = [];
    r.begin((b) => (got.push(b), []));
    let stops = 0;
    const stop = async () => {
      stops++;
      r.halt();
    };
    await Promise.all([r.stopOnce(stop), r.stopOnce(stop)]);
    await r.stopOnce(stop);
    expect(stops).toBe(1);
    expect(r.stopped).toBe(true);
    expect(r.signal.aborted).toBe(true);
    r.deliver([msg("late")]);
    r.recordError(new Error("while stopping"));
    expect(got).toEqual([]);
    expect(r.health(false)).toMatchObject({ events: 0, errors: 0 });
  });

  test("start twice is refused; after stop only a restartable source starts again, with a fresh signal", async () => {
    const once = new SourceRunner("test source d");
    once.begin(() => []);
    expect(() => once.begin(() => [])).toThrow("test source d: start() twice");
    await once.stopOnce(async () => once.halt());
    expect(() => once.begin(() => [])).toThrow("start() twice");

    const again = new SourceRunner("test source e", { restartable: true });
    again.begin(() => []);
    await again.stopOnce(async () => undefined); // halts even if the source's stop forgot to
    expect(again.stopped).toBe(true);
    const first = again.signal;
    again.begin(() => []);
    expect(again.running).toBe(true);
    expect(first.aborted).toBe(true);
    expect(again.signal.aborted).toBe(false);
  });

  test("shared breaker settings and a jittered backoff", () => {
    const r = new SourceRunner("test source f", { backoff: { initialMs: 1000, maxMs: 8000, random: () => 1 } });
    expect(CONNECT_BREAKER).toEqual({ failureThreshold: 5, cooldownMs: 10_000 });
    expect(REPLAY_BREAKER).toEqual({ failureThreshold: 3, cooldownMs: 5_000 });
    for (let i = 0; i < CONNECT_BREAKER.failureThreshold; i++) r.breaker.failure();
    expect(r.breaker.state).toBe("open");
    for (let i = 0; i < REPLAY_BREAKER.failureThreshold; i++) r.replayBreaker.failure();
    expect(r.replayBreaker.state).toBe("open");
    // random() = 1 takes the full default jitter (half the delay): 500, 1000, 2000, 4000, then capped.
    expect([1, 2, 3, 4, 5].map(() => r.backoff.next())).toEqual([500, 1000, 2000, 4000, 4000]);
  });
});
