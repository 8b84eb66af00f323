/**
 * Exact ordering of decimal strings ("65012.34", "0.0100", "-1.5"): books sort and match price
 * levels with it, never with floats alone (two different prices must never become one level).
 */

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** A plain decimal string: optional "-", digits, optional fraction. No exponent, no "+". */
export function isDecimal(s: unknown): s is string {
  return typeof s === "string" && s.length <= 64 && DECIMAL.test(s);
}

/** True for "0", "0.000", "-0": a quantity that removes its level. */
export function isZeroDecimal(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 48 && c !== 46 && c !== 45) return false;
  }
  return true;
}

/** Sign, integer digits without leading zeros and fraction digits without trailing zeros. */
function parts(s: string): [neg: boolean, int: string, frac: string] {
  let neg = s.charCodeAt(0) === 45;
  const body = neg ? s.slice(1) : s;
  const dot = body.indexOf(".");
  let int = (dot < 0 ? body : body.slice(0, dot)).replace(/^0+/, "");
  const frac = dot < 0 ? "" : body.slice(dot + 1).replace(/0+$/, "");
  if (int === "" && frac === "") neg = false;
  if (int === "") int = "";
  return [neg, int, frac];
}

function compareMagnitude(a: [boolean, string, string], b: [boolean, string, string]): number {
  if (a[1].length !== b[1].length) return a[1].length < b[1].length ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  if (a[2] !== b[2]) return a[2] < b[2] ? -1 : 1; // no trailing zeros: plain string order is numeric
  return 0;
}

/** -1, 0 or 1 as decimal `a` is below, equal to or above decimal `b` ("1.50" equals "1.5"). */
export function compareDecimal(a: string, b: string, fa = Number(a), fb = Number(b)): number {
  // Doubles order decimals correctly except when both round to the same double.
  if (fa !== fb) return fa < fb ? -1 : 1;
  if (a === b) return 0;
  const pa = parts(a);
  const pb = parts(b);
  if (pa[0] !== pb[0]) return pa[0] ? -1 : 1;
  const m = compareMagnitude(pa, pb);
  return pa[0] ? -m : m;
}
