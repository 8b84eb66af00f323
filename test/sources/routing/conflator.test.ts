import { describe, expect, test } from "bun:test";
import { Conflator } from "../../../src/sources/routing/conflator.ts";
import type { RoutedEvent } from "../../../src/sources/routing/message-router.ts";

const ev = (stream: string, n: number): RoutedEvent => ({ stream, data: String(n), sourceTs: 0 });

describe("Conflator", () => {
  test("the first event of a quiet window goes at once; the latest of the window follows at its end", async () => {
    let now = 1000;
    const emitted: RoutedEvent[] = [];
    const c = new Conflator(30, (e) => emitted.push(e), () => now);
    expect(c.offer(ev("ticker.a", 1))).toBe(true);
    expect(c.offer(ev("ticker.a", 2))).toBe(false);
    expect(c.offer(ev("ticker.a", 3))).toBe(false);
    now += 30; // the clock the flush reads when the window's timer fires
    await Bun.sleep(60);
    expect(emitted).toEqual([ev("ticker.a", 3)]);
    // The window restarted at the trailing send: an event right after is held again.
    expect(c.offer(ev("ticker.a", 4))).toBe(false);
    c.stop();
  });

  test("streams have windows of their own", () => {
    const c = new Conflator(1000, () => undefined, () => 5000);
    expect(c.offer(ev("ticker.a", 1))).toBe(true);
    expect(c.offer(ev("ticker.b", 1))).toBe(true);
    expect(c.offer(ev("ticker.a", 2))).toBe(false);
    c.stop();
  });

  test("stop drops held events: nothing is emitted after it", async () => {
    const emitted: RoutedEvent[] = [];
    const c = new Conflator(10, (e) => emitted.push(e));
    c.offer(ev("ticker.a", 1));
    c.offer(ev("ticker.a", 2));
    c.stop();
    await Bun.sleep(40);
    expect(emitted).toEqual([]);
  });
});
