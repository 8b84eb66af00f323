/**
 * The market bench/cluster.ts simulates: `pairs` pairs with trades, depth and ticker streams, and
 * `orders.<userId>` for a share of the clients. Which streams a client reads, which stream each
 * produced event goes to, and the event payload, shared by the producer, the clients and the
 * orchestrator so all three agree without talking.
 */

/** Public stream kinds and their share of the public event rate (depth updates dominate a real feed). */
export const KINDS = [
  { kind: "depth", weight: 0.5 },
  { kind: "trades", weight: 0.35 },
  { kind: "ticker", weight: 0.15 },
] as const;

const NAMED = ["btc_usdt", "eth_usdt", "sol_usdt", "bnb_usdt", "xrp_usdt", "doge_usdt", "ada_usdt", "ton_usdt"];

/** Name of pair `j`: the big ones first, then p8_usdt, p9_usdt, ... */
export function pairName(j: number): string {
  return NAMED[j] ?? `p${j}_usdt`;
}

/** Every public stream, kind-major within each pair: depth.btc_usdt, trades.btc_usdt, ticker.btc_usdt, ... */
export function publicStreams(pairs: number): string[] {
  const out: string[] = [];
  for (let j = 0; j < pairs; j++) for (const k of KINDS) out.push(`${k.kind}.${pairName(j)}`);
  return out;
}

/** A well-mixed 32-bit hash of `k` (so client choices look random but are reproducible). */
function mix(k: number): number {
  let h = (k + 0x9e3779b9) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** User of client `k`, or undefined when it has none (`ordersShare` of the clients have one). */
export function clientUser(k: number, ordersShare: number): string | undefined {
  return mix(k * 7 + 3) / 2 ** 32 < ordersShare ? `u${k}` : undefined;
}

/**
 * Streams client `k` reads: the three streams of one pair (skewed towards the big pairs, as real
 * traffic is: pair = floor(pairs * u^2)), the ticker of a second pair, and its own orders stream
 * when it has a user.
 */
export function clientStreams(k: number, pairs: number, ordersShare: number): string[] {
  const u = mix(k) / 2 ** 32;
  const p = Math.min(pairs - 1, Math.floor(pairs * u * u));
  const q = mix(k + 1_000_003) % pairs;
  const out = KINDS.map((x) => `${x.kind}.${pairName(p)}`);
  if (q !== p) out.push(`ticker.${pairName(q)}`);
  const user = clientUser(k, ordersShare);
  if (user) out.push(`orders.${user}`);
  return out;
}

/**
 * The producer's schedule: event `i` goes to a public stream (round robin within a kind, kinds by
 * weight) or, for `ordersShare` of the events, to the orders stream of one of `users`.
 */
export class EventPlan {
  private readonly byKind: string[][];
  private readonly kindAcc: number[];
  private readonly cursor: number[];
  private orderCursor = 0;

  constructor(
    pairs: number,
    private readonly users: string[],
    private readonly ordersShare: number,
  ) {
    this.byKind = KINDS.map((k) => Array.from({ length: pairs }, (_, j) => `${k.kind}.${pairName(j)}`));
    let acc = 0;
    this.kindAcc = KINDS.map((k) => (acc += k.weight));
    this.cursor = KINDS.map(() => 0);
  }

  /** Stream of event `i`. */
  stream(i: number): string {
    const r = mix(i) / 2 ** 32;
    if (this.users.length && r < this.ordersShare) return `orders.${this.users[this.orderCursor++ % this.users.length]}`;
    const x = (mix(i + 77) / 2 ** 32) * this.kindAcc[this.kindAcc.length - 1]!;
    let k = 0;
    while (k < this.kindAcc.length - 1 && x >= this.kindAcc[k]!) k++;
    const list = this.byKind[k]!;
    return list[this.cursor[k]!++ % list.length]!;
  }
}

/**
 * The payload of one event in the gateway's seed format `{"stream", "data"}`. `n` numbers the
 * events of each stream 1, 2, 3, ... (the clients count losses and duplicates by it); `pt` is the
 * producer's send time (ms since epoch, sub-ms), `m` 1 inside the measured window.
 */
export function eventJson(stream: string, n: number, pt: number, measured: boolean): string {
  const kind = stream.slice(0, stream.indexOf("."));
  const pair = stream.slice(kind.length + 1);
  const head = `{"stream":"${stream}","data":{"n":${n},"m":${measured ? 1 : 0},"pt":${pt},"timestamp":${Math.floor(pt)}`;
  switch (kind) {
    case "trades":
      return `${head},"pair":"${pair}","price":"65012.34","qty":"0.0123","side":"${n & 1 ? "buy" : "sell"}","tradeId":${n}}}`;
    case "depth":
      return `${head},"pair":"${pair}","bids":[["65012.30","1.20"],["65012.10","0.40"]],"asks":[["65012.40","0.80"],["65012.90","2.10"]]}}`;
    case "ticker":
      return `${head},"pair":"${pair}","last":"65012.34","bid":"65012.30","ask":"65012.40","volume24h":"18234.11"}}`;
    default:
      return `${head},"orderId":"o${n}","pair":"btc_usdt","side":"buy","status":"new","price":"65000.00","qty":"0.0100","filledQty":"0"}}`;
  }
}
