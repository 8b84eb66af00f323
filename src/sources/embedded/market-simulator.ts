import type { SimulatorConfig } from "../../config/config.ts";
import type { EmbeddedEvent } from "./embedded-source.ts";
import { SimulatedBook } from "./simulated-book.ts";

/** A pair's producer sends a full book every this many depth updates (and first). */
const SNAPSHOT_EVERY = 600;

/** Per-pair state of the random walk. */
interface PairState {
  pair: string;
  price: number;
  open: number;
  high: number;
  low: number;
  volume: number;
  tradeId: number;
  decimals: number;
  book: SimulatedBook;
  depthEvents: number;
}

const BASE_PRICES: Record<string, number> = { btc_usdt: 64000, eth_usdt: 3200, sol_usdt: 150, bnb_usdt: 580 };

/**
 * A market that moves: trades, order-book diffs (and periodic snapshots) and tickers for a few pairs, and order updates
 * for a few demo users, so a newcomer sees live data without any broker.
 */
export class MarketSimulator {
  private readonly pairs: PairState[];
  private timer?: ReturnType<typeof setInterval>;
  private orderId = 1;
  private tick = 0;

  constructor(
    private readonly cfg: SimulatorConfig,
    private readonly emit: (batch: EmbeddedEvent[]) => void,
    private readonly random: () => number = Math.random,
  ) {
    this.pairs = cfg.pairs.map((pair) => {
      const price = BASE_PRICES[pair] ?? 10 + this.random() * 100;
      const decimals = price > 1000 ? 1 : 2;
      return { pair, price, open: price, high: price, low: price, volume: 0, tradeId: 1, decimals, book: new SimulatedBook(decimals, this.random), depthEvents: 0 };
    });
  }

  /** Emits one batch every 50 ms, sized so the configured events/second is met on average. */
  start(intervalMs = 50): void {
    if (this.timer || this.cfg.eventsPerSecond <= 0 || this.pairs.length === 0) return;
    const perTick = (this.cfg.eventsPerSecond * intervalMs) / 1000;
    let carry = 0;
    this.timer = setInterval(() => {
      carry += perTick;
      const n = Math.floor(carry);
      carry -= n;
      if (n > 0) this.emit(this.batch(n));
    }, intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** `n` events: mostly trades and depth, a ticker per pair now and then, some order updates. */
  batch(n: number): EmbeddedEvent[] {
    const out: EmbeddedEvent[] = [];
    for (let i = 0; i < n; i++) {
      const p = this.pairs[Math.floor(this.random() * this.pairs.length)]!;
      const r = this.random();
      if (r < 0.45) out.push(this.trade(p));
      else if (r < 0.8) out.push(this.depth(p));
      else if (r < 0.9 || this.cfg.users.length === 0) out.push(this.ticker(p));
      else out.push(this.order(p));
    }
    if (++this.tick % 20 === 0) for (const p of this.pairs) out.push(this.ticker(p));
    return out;
  }

  private move(p: PairState): void {
    p.price = Math.max(0.01, p.price * (1 + (this.random() - 0.5) * 0.001));
    p.high = Math.max(p.high, p.price);
    p.low = Math.min(p.low, p.price);
  }

  private trade(p: PairState): EmbeddedEvent {
    this.move(p);
    const qty = this.random() * 2;
    p.volume += qty;
    return {
      stream: `trades.${p.pair}`,
      data: { id: p.tradeId++, price: p.price.toFixed(p.decimals), qty: qty.toFixed(4), side: this.random() < 0.5 ? "buy" : "sell", timestamp: Date.now() },
    };
  }

  /** Level diffs of the pair's moving book; a full snapshot first and every SNAPSHOT_EVERY. */
  private depth(p: PairState): EmbeddedEvent {
    const data = p.depthEvents++ % SNAPSHOT_EVERY === 0 ? p.book.snapshot(p.price) : p.book.update(p.price);
    return { stream: `depth.${p.pair}`, data };
  }

  private ticker(p: PairState): EmbeddedEvent {
    const change = ((p.price - p.open) / p.open) * 100;
    return {
      stream: `ticker.${p.pair}`,
      data: {
        price: p.price.toFixed(p.decimals),
        volume: p.volume.toFixed(4),
        high: p.high.toFixed(p.decimals),
        low: p.low.toFixed(p.decimals),
        change: change.toFixed(3),
        timestamp: Date.now(),
      },
    };
  }

  private order(p: PairState): EmbeddedEvent {
    const user = this.cfg.users[Math.floor(this.random() * this.cfg.users.length)]!;
    const qty = (this.random() * 3).toFixed(4);
    const filled = this.random() < 0.5;
    return {
      stream: `orders.${user}`,
      data: {
        orderId: String(this.orderId++),
        pair: p.pair,
        side: this.random() < 0.5 ? "buy" : "sell",
        type: "limit",
        status: filled ? "filled" : "new",
        price: p.price.toFixed(p.decimals),
        qty,
        filledQty: filled ? qty : "0",
        timestamp: Date.now(),
      },
    };
  }
}
