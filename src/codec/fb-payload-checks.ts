/**
 * Checks that a parsed value fits a typed FlatBuffers table exactly. A payload is written typed
 * only when it round-trips exactly (same keys, same types, nothing that would decode differently);
 * anything else travels as RawJson.
 */
import type { DepthData, DepthLevel, OrderData, Side, TickerData, TradeData } from "../../protocol/frames.ts";

/** A parsed JSON object. */
export type Obj = Record<string, unknown>;

/** Set per payload: strings must be checked for lone surrogates (they would not survive UTF-8). */
let checkWellFormed = false;

/** Whether isStr must also reject lone surrogates, for the payload about to be checked. */
export function setCheckWellFormed(on: boolean): void {
  checkWellFormed = on;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function keyCount(o: Obj): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

export function isStr(v: unknown): v is string {
  return typeof v === "string" && (!checkWellFormed || v.isWellFormed());
}

/** A safe integer (-0 excluded: it would come back as 0). */
export function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && !(v === 0 && 1 / v < 0);
}

export function isUint(v: unknown): v is number {
  return isInt(v) && v >= 0;
}

function isId(v: unknown): v is number | string {
  return isUint(v) || isStr(v);
}

function isSide(v: unknown): v is Side {
  return v === "buy" || v === "sell";
}

export function isTrade(o: unknown): o is TradeData {
  return (
    isObj(o) &&
    keyCount(o) === 5 &&
    isId(o.id) &&
    isStr(o.price) &&
    isStr(o.qty) &&
    isSide(o.side) &&
    isInt(o.timestamp)
  );
}

function isLevels(v: unknown): v is DepthLevel[] {
  if (!Array.isArray(v)) return false;
  for (let i = 0; i < v.length; i++) {
    const l: unknown = v[i];
    if (!Array.isArray(l) || l.length !== 2 || !isStr(l[0]) || !isStr(l[1])) return false;
  }
  return true;
}

export function isDepth(o: unknown): o is DepthData {
  return (
    isObj(o) &&
    keyCount(o) === 7 &&
    (o.type === "update" || o.type === "snapshot") &&
    isUint(o.checksum) &&
    (o.checksum as number) <= 0xffffffff &&
    isLevels(o.bids) &&
    isLevels(o.asks) &&
    isUint(o.firstUpdateId) &&
    isUint(o.lastUpdateId) &&
    isInt(o.timestamp)
  );
}

export function isTicker(o: unknown): o is TickerData {
  return (
    isObj(o) &&
    keyCount(o) === 6 &&
    isStr(o.price) &&
    isStr(o.volume) &&
    isStr(o.high) &&
    isStr(o.low) &&
    isStr(o.change) &&
    isInt(o.timestamp)
  );
}

export function isOrder(o: unknown): o is OrderData {
  if (!isObj(o)) return false;
  let n = 10;
  if (!("clientOrderId" in o)) n = 9;
  else if (!isStr(o.clientOrderId)) return false;
  return (
    keyCount(o) === n &&
    isId(o.orderId) &&
    isStr(o.pair) &&
    isSide(o.side) &&
    isStr(o.type) &&
    isStr(o.status) &&
    isStr(o.price) &&
    isStr(o.qty) &&
    isStr(o.filledQty) &&
    isInt(o.timestamp)
  );
}
