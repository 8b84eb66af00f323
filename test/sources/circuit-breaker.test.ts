/** Unit tests for CircuitBreaker, on a fake clock. */
import { describe, expect, test } from "bun:test";
import { CircuitBreaker, CircuitOpenError } from "../../src/sources/circuit-breaker.ts";

function breaker(threshold = 3, cooldownMs = 1000) {
  const clock = { t: 0 };
  const b = new CircuitBreaker({ failureThreshold: threshold, cooldownMs, now: () => clock.t });
  return { b, clock };
}

describe("CircuitBreaker", () => {
  test("stays closed below the threshold; a success resets the count", () => {
    const { b } = breaker(3);
    b.failure();
    b.failure();
    expect(b.state).toBe("closed");
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.consecutiveFailures).toBe(0);
    b.failure();
    b.failure();
    expect(b.state).toBe("closed");
  });

  test("opens after N consecutive failures and fails fast during the cool-down", () => {
    const { b, clock } = breaker(3, 1000);
    b.failure();
    b.failure();
    b.failure();
    expect(b.state).toBe("open");
    expect(b.tryAcquire()).toBe(false);
    clock.t = 400;
    expect(b.remainingCooldownMs()).toBe(600);
    expect(b.tryAcquire()).toBe(false);
  });

  test("half-open after the cool-down lets exactly one trial through", () => {
    const { b, clock } = breaker(1, 1000);
    b.failure();
    clock.t = 1000;
    expect(b.state).toBe("half-open");
    expect(b.remainingCooldownMs()).toBe(0);
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    expect(b.state).toBe("half-open");
  });

  test("a successful trial closes, a failed trial re-opens for a full cool-down", () => {
    const { b, clock } = breaker(2, 1000);
    b.failure();
    b.failure();
    clock.t = 1000;
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state).toBe("open");
    clock.t = 1999;
    expect(b.tryAcquire()).toBe(false);
    clock.t = 2000;
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.state).toBe("closed");
    expect(b.tryAcquire()).toBe(true);
  });

  test("run() passes results through, counts failures and rejects fast when open", async () => {
    const { b, clock } = breaker(2, 1000);
    expect(await b.run(async () => 42)).toBe(42);
    let calls = 0;
    const fail = async () => {
      calls++;
      throw new Error("down");
    };
    await expect(b.run(fail)).rejects.toThrow("down");
    await expect(b.run(fail)).rejects.toThrow("down");
    await expect(b.run(fail)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(calls).toBe(2);
    clock.t = 1000;
    expect(await b.run(async () => "ok")).toBe("ok");
    expect(b.state).toBe("closed");
  });
});
