/**
 * An order book kept from depth frames: the same class holds the gateway's book of each depth
 * stream and the typed client's copy, so both compute the checksum from the same code.
 */
import { bookChecksum, DEFAULT_CHECKSUM_DEPTH, type LevelSource } from "./book-checksum.ts";
import { compareDecimal, isZeroDecimal } from "./decimal-compare.ts";

/** One price level: decimal strings as the frames carry them. */
export type BookLevel = [price: string, qty: string];

/** The part of a depth payload a book reads. */
export interface DepthLevels {
  bids: readonly (readonly [string, string])[];
  asks: readonly (readonly [string, string])[];
}

/** One side, best level first, with the price as a double for the fast path of comparisons. */
class BookSide implements LevelSource {
  readonly prices: string[] = [];
  readonly qtys: string[] = [];
  private readonly nums: number[] = [];

  /** `descending` for bids (best = highest). */
  constructor(private readonly descending: boolean) {}

  get length(): number {
    return this.prices.length;
  }

  price(i: number): string {
    return this.prices[i]!;
  }

  qty(i: number): string {
    return this.qtys[i]!;
  }

  /** Index of `price`, or -(insertion point) - 1 when absent. */
  private find(price: string, num: number): number {
    let lo = 0;
    let hi = this.prices.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      let c = compareDecimal(this.prices[mid]!, price, this.nums[mid]!, num);
      if (this.descending) c = -c;
      if (c === 0) return mid;
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return -lo - 1;
  }

  /** Sets the level at `price` to `qty`; a zero qty removes it. */
  set(price: string, qty: string): void {
    const num = Number(price);
    const at = this.find(price, num);
    if (isZeroDecimal(qty)) {
      if (at >= 0) {
        this.prices.splice(at, 1);
        this.qtys.splice(at, 1);
        this.nums.splice(at, 1);
      }
      return;
    }
    if (at >= 0) {
      this.prices[at] = price; // the latest spelling of the price wins
      this.qtys[at] = qty;
      return;
    }
    const ins = -at - 1;
    this.prices.splice(ins, 0, price);
    this.qtys.splice(ins, 0, qty);
    this.nums.splice(ins, 0, num);
  }

  /** The qty at `price`, undefined when there is no such level. */
  qtyAt(price: string): string | undefined {
    const at = this.find(price, Number(price));
    return at >= 0 ? this.qtys[at] : undefined;
  }

  clear(): void {
    this.prices.length = 0;
    this.qtys.length = 0;
    this.nums.length = 0;
  }

  /** The best `n` levels (all when n is undefined). */
  top(n = this.prices.length): BookLevel[] {
    const k = Math.min(n, this.prices.length);
    const out = new Array<BookLevel>(k);
    for (let i = 0; i < k; i++) out[i] = [this.prices[i]!, this.qtys[i]!];
    return out;
  }
}

/** An order book: bids and asks by price, and the last update id (`u`) applied. */
export class OrderBook {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);
  /** `u` of the last update applied (0 before any). */
  lastUpdateId = 0;

  /** Applies changed levels (qty 0 = remove). */
  apply(d: DepthLevels, lastUpdateId?: number): void {
    for (const [p, q] of d.bids) this.bids.set(p, q);
    for (const [p, q] of d.asks) this.asks.set(p, q);
    if (lastUpdateId !== undefined) this.lastUpdateId = lastUpdateId;
  }

  /** Replaces the whole book. */
  reset(d: DepthLevels, lastUpdateId?: number): void {
    this.bids.clear();
    this.asks.clear();
    this.apply(d, lastUpdateId);
  }

  /** CRC32 of the top `depth` levels (book-checksum.ts documents the bytes). */
  checksum(depth = DEFAULT_CHECKSUM_DEPTH): number {
    return bookChecksum(this.bids, this.asks, depth);
  }

  /** The best `n` levels of each side (the whole book when n is undefined). */
  top(n?: number): { bids: BookLevel[]; asks: BookLevel[] } {
    return { bids: this.bids.top(n), asks: this.asks.top(n) };
  }
}
