/** What the schedule keeps on each item: its place in the heap (-1 when not scheduled). */
export interface Scheduled {
  expirySlot: number;
}

/**
 * Calls `due(item)` once an item's deadline (ms since epoch) has passed, for any number of items,
 * with one timer in all. A setTimeout per connection costs a Timeout and a closure each, ~400 B of
 * RSS per connection at 100K connections; here an entry is two array slots and a number on the item.
 */
export class ExpirySchedule<T extends Scheduled> {
  /** A binary min-heap on `ats`, with `items` moved alongside; each item knows its slot. */
  private readonly ats: number[] = [];
  private readonly items: T[] = [];
  private timer?: ReturnType<typeof setTimeout>;
  private timerAt = Infinity;

  constructor(
    private readonly due: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Items scheduled. */
  get size(): number {
    return this.ats.length;
  }

  /** Schedules `item` at `at`, replacing its earlier deadline. */
  set(item: T, at: number): void {
    this.remove(item);
    const i = this.ats.length;
    this.ats.push(at);
    this.items.push(item);
    item.expirySlot = i;
    this.up(i);
    if (at < this.timerAt) this.arm();
  }

  /** Unschedules `item` (a no-op when it is not scheduled). */
  remove(item: T): void {
    const i = item.expirySlot;
    if (i < 0 || this.items[i] !== item) return;
    item.expirySlot = -1;
    const lastAt = this.ats.pop()!;
    const lastItem = this.items.pop()!;
    if (i === this.ats.length) return;
    this.ats[i] = lastAt;
    this.items[i] = lastItem;
    lastItem.expirySlot = i;
    this.down(this.up(i));
  }

  /** Stops the timer (gateway shutdown). */
  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private arm(): void {
    clearTimeout(this.timer);
    const at = this.ats[0];
    if (at === undefined) {
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    this.timerAt = at;
    // setTimeout holds at most ~24.8 days; a later deadline is re-armed when that one fires.
    this.timer = setTimeout(() => this.fire(), Math.min(Math.max(0, at - this.now()), 2 ** 31 - 1));
    (this.timer as { unref?: () => void }).unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    // Bounded: each pass removes one entry (due() may re-schedule, but only later than now).
    for (let n = this.ats.length; n > 0 && this.ats.length > 0 && this.ats[0]! <= now; n--) {
      const item = this.items[0]!;
      this.remove(item);
      try {
        this.due(item);
      } catch {
        // one owner's failure must not stop the other deadlines
      }
    }
    this.arm();
  }

  private up(i: number): number {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.ats[p]! <= this.ats[i]!) break;
      this.swap(i, p);
      i = p;
    }
    return i;
  }

  private down(i: number): void {
    const n = this.ats.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.ats[l]! < this.ats[m]!) m = l;
      if (r < n && this.ats[r]! < this.ats[m]!) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(a: number, b: number): void {
    const at = this.ats[a]!;
    this.ats[a] = this.ats[b]!;
    this.ats[b] = at;
    const it = this.items[a]!;
    this.items[a] = this.items[b]!;
    this.items[b] = it;
    this.items[a]!.expirySlot = a;
    this.items[b]!.expirySlot = b;
  }
}
