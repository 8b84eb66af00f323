import { describe, expect, test } from "bun:test";
import { bookChecksum, crc32, pairLevels } from "../../protocol/book/book-checksum.ts";
import { compareDecimal } from "../../protocol/book/decimal-compare.ts";
import { fixedScale, formatFixed, parseFixed } from "../../protocol/book/fixed-point.ts";
import { OrderBook } from "../../protocol/book/order-book.ts";

describe("fixed-point decimals", () => {
  test("every canonical decimal string round-trips exactly", () => {
    const cases = ["0", "1", "-1", "0.5", "65012.34000000", "0.01230000", "-0.001", "9007199254740991", "0.000000000000000000000000000001", "123.4500"];
    for (const s of cases) {
      const m = parseFixed(s);
      expect(Number.isNaN(m)).toBe(false);
      expect(formatFixed(m, fixedScale)).toBe(s);
    }
    expect(parseFixed("65012.34000000")).toBe(6501234000000);
    expect(fixedScale).toBe(8);
  });

  test("strings that would not come back identical are refused, never rounded", () => {
    for (const s of ["", "-", "1e5", "+1", "01.5", ".5", "5.", "-0", "-0.00", "1.2.3", "12a", "9007199254740992", "0.0000000000000000000000000000001", " 1"]) {
      expect(Number.isNaN(parseFixed(s))).toBe(true);
    }
  });

  test("random decimals round-trip", () => {
    for (let i = 0; i < 5000; i++) {
      const int = String(Math.floor(Math.random() * 10 ** Math.floor(Math.random() * 8)));
      const frac = Math.random() < 0.7 ? "." + String(Math.floor(Math.random() * 1e8)).padStart(Math.floor(Math.random() * 8) + 1, "0") : "";
      const s = (Math.random() < 0.1 && int !== "0" ? "-" : "") + int + frac;
      const m = parseFixed(s);
      if (Number.isNaN(m)) continue;
      expect(formatFixed(m, fixedScale)).toBe(s);
      expect(formatFixed(BigInt(m), fixedScale)).toBe(s);
    }
  });
});

describe("checksum", () => {
  test("is zlib's CRC-32 of the documented byte string", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    const bids = pairLevels([["100.5", "2"], ["100.4", "1.25"]]);
    const asks = pairLevels([["100.6", "0.5"]]);
    expect(bookChecksum(bids, asks)).toBe(crc32("100.5:2:100.6:0.5:100.4:1.25"));
    expect(bookChecksum(pairLevels([]), pairLevels([]))).toBe(0);
    expect(bookChecksum(bids, asks, 1)).toBe(crc32("100.5:2:100.6:0.5"));
  });
});

describe("order book", () => {
  test("decimal order is exact, also where doubles tie", () => {
    expect(compareDecimal("1.50", "1.5")).toBe(0);
    expect(compareDecimal("0.30000000000000000001", "0.3")).toBe(1);
    expect(compareDecimal("-2", "-10")).toBe(1);
    expect(compareDecimal("10", "9.999")).toBe(1);
  });

  test("random updates keep both sides sorted and equal to a reference map", () => {
    const book = new OrderBook();
    const ref = { bids: new Map<string, string>(), asks: new Map<string, string>() };
    for (let i = 0; i < 5000; i++) {
      const bid = Math.random() < 0.5;
      const price = (100 + Math.floor(Math.random() * 200) / 10).toFixed(1);
      const qty = Math.random() < 0.3 ? "0" : (Math.random() * 5).toFixed(3);
      book.apply(bid ? { bids: [[price, qty]], asks: [] } : { bids: [], asks: [[price, qty]] });
      const m = bid ? ref.bids : ref.asks;
      if (qty === "0") m.delete(price);
      else m.set(price, qty);
    }
    const sorted = (m: Map<string, string>, desc: boolean) => [...m.entries()].sort((a, b) => (desc ? Number(b[0]) - Number(a[0]) : Number(a[0]) - Number(b[0])));
    expect(book.top()).toEqual({ bids: sorted(ref.bids, true), asks: sorted(ref.asks, false) });
    expect(book.checksum(10)).toBe(bookChecksum(pairLevels(sorted(ref.bids, true)), pairLevels(sorted(ref.asks, false)), 10));
  });

  test("a snapshot resets; qty 0 removes; qtyAt reads a level", () => {
    const book = new OrderBook();
    book.reset({ bids: [["10", "1"], ["9", "2"]], asks: [["11", "3"]] }, 7);
    book.apply({ bids: [["10", "0.000"]], asks: [["11.0", "4"]] }, 8);
    expect(book.top()).toEqual({ bids: [["9", "2"]], asks: [["11.0", "4"]] });
    expect(book.asks.qtyAt("11")).toBe("4");
    expect(book.lastUpdateId).toBe(8);
  });
});
