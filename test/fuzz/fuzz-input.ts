/**
 * Inputs for the fuzz suite: a seeded generator (a failing run is reproduced with FUZZ_SEED), random
 * bytes, random JSON values, client requests mutated at the structure and at the text level, and
 * random stream names (well-formed, almost well-formed and hostile).
 */

/** A seeded random source: mulberry32, fast and good enough to pick mutations. */
export class Rng {
  private s: number;

  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** The seed of this run: FUZZ_SEED when set, else random (printed by the suite). */
export function fuzzSeed(): number {
  const env = Number(process.env.FUZZ_SEED);
  return Number.isInteger(env) && env > 0 ? env : 1 + Math.floor(Math.random() * 2 ** 31);
}

export function randomBytes(r: Rng, maxLen: number): Uint8Array {
  const b = new Uint8Array(r.int(maxLen + 1));
  for (let i = 0; i < b.length; i++) b[i] = r.int(256);
  return b;
}

const TRICKY_STRINGS = ["", " ", "\u0000", "\uFFFF", "\uD800", "😀", "__proto__", "constructor", "toString", "null", "-0", "1e999", "../../etc/passwd", "%00", "\\", '"', "a".repeat(300)];
const TRICKY_NUMBERS = [0, -1, 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e-308, 0.5, Number.MAX_SAFE_INTEGER, 4294967296];

/** A random JSON value at most `depth` levels deep. */
export function randomJson(r: Rng, depth = 3): unknown {
  const k = r.int(depth > 0 ? 9 : 6);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.chance(0.5);
    case 2:
      return r.pick(TRICKY_NUMBERS);
    case 3:
      return r.int(1000) - 500;
    case 4:
      return r.pick(TRICKY_STRINGS);
    case 5:
      return randomStreamName(r);
    case 6:
    case 7:
      return Array.from({ length: r.int(5) }, () => randomJson(r, depth - 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(5); i > 0; i--) o[r.pick(["action", "streams", "id", "positions", "epochs", "epoch", "lastSequence", "token", r.pick(TRICKY_STRINGS)])] = randomJson(r, depth - 1);
      return o;
    }
  }
}

const KINDS = ["trades", "depth", "ticker", "orders", "zzz", "news", "Trades", "trades-x", "", "a"];
const NAME_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-@:.";

/** A stream name: mostly `kind.name` shaped, often subtly or grossly wrong. */
export function randomStreamName(r: Rng): string {
  switch (r.int(8)) {
    case 0:
      return r.pick(["trades.eth_usdt", "depth.eth_usdt", "ticker.sol_usdt", "orders.fuzz", "orders.someone_else"]);
    case 1:
      return r.pick(TRICKY_STRINGS);
    case 2:
      return `${r.pick(KINDS)}.${"x".repeat(100 + r.int(60))}`;
    case 3: {
      let s = "";
      for (let i = 1 + r.int(40); i > 0; i--) s += String.fromCharCode(r.int(0x3000));
      return s;
    }
    default: {
      let name = "";
      for (let i = 1 + r.int(20); i > 0; i--) name += NAME_CHARS[r.int(NAME_CHARS.length)];
      return `${r.pick(KINDS)}.${name}`;
    }
  }
}

/** Well-formed client requests, the starting points of mutation. */
function validRequest(r: Rng): Record<string, unknown> {
  const streams = Array.from({ length: 1 + r.int(4) }, () => r.pick(["trades.btc_usdt", "ticker.eth_usdt", "depth.sol_usdt", "orders.fuzz"]));
  switch (r.int(7)) {
    case 0:
      return { action: "subscribe", streams, id: r.int(1000) };
    case 1:
      return { action: "unsubscribe", streams, id: `u${r.int(1000)}` };
    case 2:
      return { action: "list", id: r.int(10) };
    case 3:
      return { action: "ping" };
    // Resumes name quiet streams: replaying the busy ones thousands of times would only cost time.
    case 4:
      return { action: "resume", streams: ["depth.sol_usdt", "orders.fuzz"], lastSequence: r.int(50), epoch: "x" };
    case 5:
      return { action: "resume", positions: { "ticker.sol_usdt": r.int(50), "orders.fuzz": r.int(3) } };
    default:
      return { action: "auth", token: "not.a.token" };
  }
}

const TEXT_INSERTS = ['"', "{", "}", "[", "]", ",", ":", "\\", "\\u", "\\ud800", "null", "1e9999", "-", "😀", "\u0000", " ", "\n", "[[[[[[[[", "{\"a\":"];

/** A client request mutated: fields replaced with random values, then the text damaged. */
export function mutatedRequest(r: Rng): string {
  const req = validRequest(r);
  if (r.chance(0.6)) {
    const keys = Object.keys(req);
    for (let i = 1 + r.int(2); i > 0; i--) {
      const k = r.chance(0.8) ? r.pick(keys) : r.pick(TRICKY_STRINGS);
      if (r.chance(0.2)) delete req[k];
      else req[k] = randomJson(r);
    }
  }
  let text = r.chance(0.05) ? `[${JSON.stringify(req)}]` : JSON.stringify(req);
  if (r.chance(0.5)) {
    for (let i = 1 + r.int(3); i > 0; i--) {
      const at = r.int(text.length + 1);
      switch (r.int(5)) {
        case 0:
          text = text.slice(0, at) + text.slice(at + 1 + r.int(4));
          break;
        case 1:
          text = text.slice(0, at) + r.pick(TEXT_INSERTS) + text.slice(at);
          break;
        case 2:
          text = text.slice(0, at);
          break;
        case 3:
          text = text.slice(0, at) + text.slice(Math.max(0, at - 8), at) + text.slice(at);
          break;
        default:
          text = text.slice(0, at) + String.fromCharCode(r.int(0x10000)) + text.slice(at + 1);
      }
    }
  }
  if (r.chance(0.01)) text = "[".repeat(20_000) + "]".repeat(20_000);
  return text;
}
