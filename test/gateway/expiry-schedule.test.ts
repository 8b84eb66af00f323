import { describe, expect, test } from "bun:test";
import { ExpirySchedule } from "../../src/gateway/expiry-schedule.ts";

interface Item {
  name: string;
  expirySlot: number;
}
const item = (name: string): Item => ({ name, expirySlot: -1 });

describe("ExpirySchedule", () => {
  test("calls due in deadline order, once each, with one timer for all", async () => {
    const fired: string[] = [];
    const s = new ExpirySchedule<Item>((i) => fired.push(i.name));
    const now = Date.now();
    const items = Array.from({ length: 50 }, (_, i) => item(`i${i}`));
    // Deadlines in a scrambled order, all within ~60 ms.
    items.forEach((it, i) => s.set(it, now + 10 + ((i * 37) % 50)));
    expect(s.size).toBe(50);
    await Bun.sleep(200);
    const want = [...items].sort((a, b) => ((items.indexOf(a) * 37) % 50) - ((items.indexOf(b) * 37) % 50)).map((i) => i.name);
    expect(fired).toEqual(want);
    expect(s.size).toBe(0);
    expect(items.every((i) => i.expirySlot === -1)).toBe(true);
  });

  test("remove and re-set replace an item's deadline; removed items never fire", async () => {
    const fired: string[] = [];
    const s = new ExpirySchedule<Item>((i) => fired.push(i.name));
    const now = Date.now();
    const [a, b, c, d] = ["a", "b", "c", "d"].map(item) as [Item, Item, Item, Item];
    s.set(a, now + 20);
    s.set(b, now + 30);
    s.set(c, now + 40);
    s.set(d, now + 50);
    s.remove(b);
    s.remove(b); // twice is harmless
    s.set(a, now + 60); // moved later
    expect(s.size).toBe(3);
    await Bun.sleep(150);
    expect(fired).toEqual(["c", "d", "a"]);
  });

  test("a deadline already passed fires on the next timer tick; a throwing owner does not stop the others", async () => {
    const fired: string[] = [];
    const s = new ExpirySchedule<Item>((i) => {
      if (i.name === "bad") throw new Error("boom");
      fired.push(i.name);
    });
    s.set(item("bad"), Date.now() - 1000);
    s.set(item("late"), Date.now() - 10);
    expect(fired).toEqual([]);
    await Bun.sleep(20);
    expect(fired).toEqual(["late"]);
  });

  test("stop() cancels the timer", async () => {
    const fired: string[] = [];
    const s = new ExpirySchedule<Item>((i) => fired.push(i.name));
    s.set(item("x"), Date.now() + 10);
    s.stop();
    await Bun.sleep(50);
    expect(fired).toEqual([]);
  });
});
