/**
 * The simulator's order book of one pair: levels on a tick grid around a moving mid price that
 * appear, change and vanish. It emits what an exchange's matching engine would: level diffs
 * (changed levels only, qty "0" = removed) with U/u, and now and then a full snapshot.
 */

/** Levels per side the simulated book aims to hold. */
const LEVELS = 40;
/** Changes per update, at most. */
const MAX_CHANGES = 6;

/** One side: price in ticks -> qty. */
type Side = Map<number, number>;

/** A depth event as the simulator publishes it on `depth.<pair>`. */
export interface SimulatedDepth {
  type: "snapshot" | "update";
  bids: [string, string][];
  asks: [string, string][];
  firstUpdateId: number;
  lastUpdateId: number;
  timestamp: number;
}

export class SimulatedBook {
  private readonly bids: Side = new Map();
  private readonly asks: Side = new Map();
  private updateId = 0;
  private readonly scale: number;
  /** Ticks between adjacent levels (about 0.5 bp of the price). */
  private step = 1;
  /** The book's mid, in ticks: it follows the traded price by at most 2 steps per update. */
  private mid = 0;

  constructor(
    private readonly decimals: number,
    private readonly random: () => number,
  ) {
    this.scale = 10 ** decimals;
  }

  private px(ticks: number): string {
    return (ticks / this.scale).toFixed(this.decimals);
  }

  /** Moves the mid toward `price`, on the level grid. */
  private follow(price: number): number {
    const target = Math.round((price * this.scale) / this.step) * this.step;
    if (this.mid === 0) this.mid = target;
    const d = Math.max(-2, Math.min(2, Math.round((target - this.mid) / this.step)));
    this.mid += d * this.step;
    return this.mid;
  }

  private qty(): number {
    return Math.max(1, Math.floor(this.random() * 50_000)) / 10_000; // 0.0001 .. 5.0000
  }

  private static fmtQty(q: number): string {
    return q === 0 ? "0" : q.toFixed(4);
  }

  /** A full book around `price`, replacing whatever was there. */
  snapshot(price: number): SimulatedDepth {
    this.step = Math.max(1, Math.round(price * this.scale * 0.00005));
    this.mid = 0;
    const mid = this.follow(price);
    this.bids.clear();
    this.asks.clear();
    for (let i = 1; i <= LEVELS; i++) {
      if (this.random() < 0.85) this.bids.set(mid - i * this.step, this.qty());
      if (this.random() < 0.85) this.asks.set(mid + i * this.step, this.qty());
    }
    const id = ++this.updateId;
    const side = (s: Side, desc: boolean) =>
      [...s.entries()].sort((a, b) => (desc ? b[0] - a[0] : a[0] - b[0])).map(([t, q]) => [this.px(t), SimulatedBook.fmtQty(q)] as [string, string]);
    return { type: "snapshot", bids: side(this.bids, true), asks: side(this.asks, false), firstUpdateId: id, lastUpdateId: id, timestamp: Date.now() };
  }

  /** The changes that move the book to `price`: crossed levels go, some levels appear, change or vanish. */
  update(price: number): SimulatedDepth {
    const mid = this.follow(price);
    const bids = new Map<number, number>();
    const asks = new Map<number, number>();
    const set = (side: Side, out: Map<number, number>, t: number, q: number) => {
      if (q === 0) side.delete(t);
      else side.set(t, q);
      out.set(t, q);
    };
    for (const t of this.bids.keys()) if (t >= mid) set(this.bids, bids, t, 0);
    for (const t of this.asks.keys()) if (t <= mid) set(this.asks, asks, t, 0);
    const n = 1 + Math.floor(this.random() * MAX_CHANGES);
    for (let i = 0; i < n; i++) {
      const buy = this.random() < 0.5;
      // Near the touch more often than far from it.
      const d = 1 + Math.floor(this.random() ** 2 * LEVELS);
      const t = buy ? mid - d * this.step : mid + d * this.step;
      const side = buy ? this.bids : this.asks;
      const out = buy ? bids : asks;
      set(side, out, t, side.has(t) && this.random() < 0.35 ? 0 : this.qty());
    }
    // Keep the book from growing without bound: the farthest levels vanish.
    for (const [side, out, far] of [
      [this.bids, bids, (a: number, b: number) => a - b],
      [this.asks, asks, (a: number, b: number) => b - a],
    ] as const) {
      if (side.size <= LEVELS * 1.5) continue;
      const extra = [...side.keys()].sort(far).slice(0, side.size - LEVELS);
      for (const t of extra) set(side, out, t, 0);
    }
    const first = this.updateId + 1;
    this.updateId += n;
    const list = (m: Map<number, number>) => [...m.entries()].map(([t, q]) => [this.px(t), SimulatedBook.fmtQty(q)] as [string, string]);
    return { type: "update", bids: list(bids), asks: list(asks), firstUpdateId: first, lastUpdateId: this.updateId, timestamp: Date.now() };
  }
}
