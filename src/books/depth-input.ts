/**
 * What a producer may publish on `depth.<pair>` (and what the gateway's own views commit): changed
 * levels, or a full snapshot that resets the book. Checked strictly: a bad level must never reach
 * a book every client copies.
 */
import { isDecimal } from "../../protocol/book/decimal-compare.ts";
import type { DepthFrameType } from "../../protocol/book/depth-payload.ts";
import type { BookLevel } from "../../protocol/book/order-book.ts";

/** A depth event as a producer sends it; ids and timestamp may be left to the gateway. */
export interface DepthInput {
  type: DepthFrameType;
  bids: BookLevel[];
  asks: BookLevel[];
  firstUpdateId?: number;
  lastUpdateId?: number;
  timestamp?: number;
  /** Other fields the producer sent: kept, after the contract's own. */
  extra?: Record<string, unknown>;
}

const OWN = new Set(["type", "bids", "asks", "firstUpdateId", "lastUpdateId", "timestamp", "checksum"]);

function isLevels(v: unknown): v is BookLevel[] {
  if (!Array.isArray(v)) return false;
  for (const l of v) {
    if (!Array.isArray(l) || l.length !== 2 || !isDecimal(l[0]) || !isDecimal(l[1]) || (l[1] as string).startsWith("-")) return false;
  }
  return true;
}

function isOptUint(v: unknown): v is number | undefined {
  return v === undefined || (Number.isSafeInteger(v) && (v as number) >= 0);
}

/**
 * The depth event in `v`, or why not. Events logged before depth diffs existed (no `type`) were
 * full books, so a missing type reads as "snapshot" only when `legacySnapshots` is set (replaying
 * an old log); from producers it means "update".
 */
export function parseDepthInput(v: unknown, legacySnapshots = false): DepthInput | string {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "depth payload is not an object";
  const o = v as Record<string, unknown>;
  const type = o.type ?? (legacySnapshots ? "snapshot" : "update");
  if (type !== "snapshot" && type !== "update") return 'depth "type" must be "snapshot" or "update"';
  if (!isLevels(o.bids) || !isLevels(o.asks)) return "depth bids/asks must be [[price, qty], ...] of decimal strings, qty >= 0";
  if (!isOptUint(o.firstUpdateId) || !isOptUint(o.lastUpdateId)) return "depth update ids must be non-negative integers";
  if (o.timestamp !== undefined && !Number.isSafeInteger(o.timestamp)) return "depth timestamp must be an integer (ms)";
  let extra: Record<string, unknown> | undefined;
  for (const k in o) if (!OWN.has(k)) (extra ??= {})[k] = o[k];
  return {
    extra,
    type,
    bids: o.bids,
    asks: o.asks,
    firstUpdateId: o.firstUpdateId as number | undefined,
    lastUpdateId: o.lastUpdateId as number | undefined,
    timestamp: o.timestamp as number | undefined,
  };
}
