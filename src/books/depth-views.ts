/**
 * The per-client views of each `depth.<pair>` stream, computed once per stream and view (never
 * per client) and committed as streams of their own, so subscribe, resume, logs and fan-out work
 * for them unchanged:
 *
 * - `depth5.<pair>`, `depth20.<pair>`: the top N levels, a "snapshot" frame each time they change.
 * - `depth.<pair>@100ms`: the diffs of a 100 ms window conflated into one "update" (each changed
 *   level at its latest qty, "0" when gone), U = the window's first U, u = its last u, so it is
 *   continuous by U/u and its checksum equals the full stream's at u.
 */
import { DEPTH_VIEWS, THROTTLED_MS, THROTTLED_SUFFIX, type DepthPayload } from "../../protocol/book/depth-payload.ts";
import type { BookLevel, OrderBook } from "../../protocol/book/order-book.ts";

/** What a view commits: a stream and its depth data (JSON text), numbered by the pipeline. */
export type ViewCommit = (stream: string, data: string) => void;

/** A throttled view's window: changed prices per side since the last flush. */
interface Pending {
  first: number;
  /** A snapshot arrived in the window: the flush sends the whole book. */
  reset: boolean;
  bids: Set<string>;
  asks: Set<string>;
}

function sameLevels(a: BookLevel[] | undefined, b: BookLevel[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]![0] !== b[i]![0] || a[i]![1] !== b[i]![1]) return false;
  return true;
}

/** Computes every view of every depth stream from the gateway's books. */
export class DepthViews {
  private readonly lastTop = new Map<string, { bids: BookLevel[]; asks: BookLevel[] }>();
  private readonly pending = new Map<string, Pending>();
  private timer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly bookOf: (stream: string) => OrderBook,
    private readonly commit: ViewCommit,
    private readonly windowMs = THROTTLED_MS,
  ) {}

  /** Called after each committed event of a `depth.<pair>` stream (its book already updated). */
  onDepth(stream: string, p: DepthPayload): void {
    const pair = stream.slice("depth.".length);
    const book = this.bookOf(stream);
    for (const v of Object.values(DEPTH_VIEWS)) {
      const name = v.prefix + pair;
      const top = book.top(v.levels);
      const last = this.lastTop.get(name);
      if (last && sameLevels(last.bids, top.bids) && sameLevels(last.asks, top.asks)) continue;
      this.lastTop.set(name, top);
      const data = { type: "snapshot", bids: top.bids, asks: top.asks, firstUpdateId: p.firstUpdateId, lastUpdateId: p.lastUpdateId, timestamp: p.timestamp };
      this.commit(name, JSON.stringify(data));
    }
    let w = this.pending.get(stream);
    if (w === undefined) this.pending.set(stream, (w = { first: p.firstUpdateId, reset: false, bids: new Set(), asks: new Set() }));
    if (p.type === "snapshot") {
      w.reset = true;
      w.bids.clear();
      w.asks.clear();
    } else if (!w.reset) {
      for (const l of p.bids) w.bids.add(l[0]);
      for (const l of p.asks) w.asks.add(l[0]);
    }
    this.timer ??= setInterval(() => this.flush(), this.windowMs);
  }

  /** Emits one conflated frame per throttled stream that changed in the window. */
  flush(): void {
    if (this.pending.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    for (const [stream, w] of this.pending) {
      const book = this.bookOf(stream);
      // The view's own book must be at the window's start for a diff to apply; else resend it all.
      const viewU = this.bookOf(stream + THROTTLED_SUFFIX).lastUpdateId;
      let data: Omit<DepthPayload, "checksum">;
      if (w.reset || viewU === 0 || viewU + 1 !== w.first) {
        const all = book.top();
        data = { type: "snapshot", bids: all.bids, asks: all.asks, firstUpdateId: w.first, lastUpdateId: book.lastUpdateId, timestamp: Date.now() };
      } else {
        const side = (prices: Set<string>, get: (p: string) => string | undefined): BookLevel[] => {
          const out: BookLevel[] = [];
          for (const p of prices) out.push([p, get(p) ?? "0"]);
          return out;
        };
        data = {
          type: "update",
          bids: side(w.bids, (p) => book.bids.qtyAt(p)),
          asks: side(w.asks, (p) => book.asks.qtyAt(p)),
          firstUpdateId: w.first,
          lastUpdateId: book.lastUpdateId,
          timestamp: Date.now(),
        };
      }
      this.commit(stream + THROTTLED_SUFFIX, JSON.stringify(data));
    }
    this.pending.clear();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}
