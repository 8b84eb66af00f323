/**
 * The CRC32 checksum of the top of an order book, carried by every depth frame so a client can
 * prove its book equals the gateway's (docs/protocol.md, "Order books").
 *
 * Byte string (OKX's layout, Kraken's idea): for i = 0 .. N-1, the i-th best bid as
 * "<price>:<qty>" then the i-th best ask as "<price>:<qty>" (a side that has no i-th level adds
 * nothing), all joined by ":". Prices and quantities are the decimal strings exactly as the JSON
 * frame carries them. Bids best (highest) first, asks best (lowest) first. The checksum is the
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF, as zlib's
 * crc32) of those ASCII bytes, as an unsigned 32-bit integer. An empty book checksums to 0.
 *
 * Example: bids [["100.5","2"],["100.4","1.25"]], asks [["100.6","0.5"]], N = 25 ->
 *   "100.5:2:100.6:0.5:100.4:1.25"
 */

/** Levels per side the checksum covers unless configured otherwise. */
export const DEFAULT_CHECKSUM_DEPTH = 25;

const TABLE = /* @__PURE__ */ (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC state fed with the chars of `s` (decimal strings: ASCII; other chars as their UTF-8). */
function feed(crc: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      crc = TABLE[(crc ^ c) & 0xff]! ^ (crc >>> 8);
      continue;
    }
    const bytes = new TextEncoder().encode(s.slice(i, i + 1));
    for (let j = 0; j < bytes.length; j++) crc = TABLE[(crc ^ bytes[j]!) & 0xff]! ^ (crc >>> 8);
    c = 0;
  }
  return crc;
}

const COLON = 58;

/** One side of a book as the checksum reads it: level i's price and qty strings. */
export interface LevelSource {
  readonly length: number;
  price(i: number): string;
  qty(i: number): string;
}

/** The checksum of the top `depth` levels of `bids` and `asks` (see the byte string above). */
export function bookChecksum(bids: LevelSource, asks: LevelSource, depth = DEFAULT_CHECKSUM_DEPTH): number {
  let crc = 0xffffffff;
  let first = true;
  const put = (side: LevelSource, i: number) => {
    if (!first) crc = TABLE[(crc ^ COLON) & 0xff]! ^ (crc >>> 8);
    first = false;
    crc = feed(crc, side.price(i));
    crc = TABLE[(crc ^ COLON) & 0xff]! ^ (crc >>> 8);
    crc = feed(crc, side.qty(i));
  };
  const nb = Math.min(depth, bids.length);
  const na = Math.min(depth, asks.length);
  for (let i = 0; i < Math.max(nb, na); i++) {
    if (i < nb) put(bids, i);
    if (i < na) put(asks, i);
  }
  return first ? 0 : (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 of a string's UTF-8 bytes (the same function; exported for tests and docs). */
export function crc32(s: string): number {
  return s.length === 0 ? 0 : (feed(0xffffffff, s) ^ 0xffffffff) >>> 0;
}

/** A LevelSource over [price, qty] pairs. */
export function pairLevels(levels: readonly (readonly [string, string])[]): LevelSource {
  return { length: levels.length, price: (i) => levels[i]![0], qty: (i) => levels[i]![1] };
}
