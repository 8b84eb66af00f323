/**
 * Exact decimal strings as fixed-point integers: value = mantissa * 10^-scale.
 *
 * A string converts only when it comes back as the very same string (`formatFixed(m, s) === str`):
 * an optional "-", an integer part without leading zeros ("0" alone is allowed), an optional
 * fraction; the mantissa a safe integer (|m| < 2^53), the scale at most MAX_FIXED_SCALE, no
 * negative zero. Anything else ("1e5", "+1", "01.5", ".5", "-0", 20 digits) is not converted: the
 * codec then carries it as a decimal string. Nothing is ever rounded.
 */

/** Largest scale (digits after the point) a fixed-point field carries. */
export const MAX_FIXED_SCALE = 30;

/** Scale of the last successful parseFixed (module state: the hot path allocates nothing). */
export let fixedScale = 0;

/**
 * The mantissa of `s`, with its scale in `fixedScale`; NaN when `s` does not convert exactly.
 */
export function parseFixed(s: string): number {
  const n = s.length;
  let i = 0;
  let neg = false;
  if (n > 0 && s.charCodeAt(0) === 45 /* - */) {
    neg = true;
    i = 1;
  }
  if (i >= n) return NaN;
  const first = s.charCodeAt(i);
  // Leading zero only as the whole integer part ("0", "0.5").
  if (first === 48 && i + 1 < n && s.charCodeAt(i + 1) !== 46) return NaN;
  let m = 0;
  let digits = 0;
  let scale = -1;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46 /* . */) {
      if (scale >= 0 || digits === 0) return NaN;
      scale = 0;
      continue;
    }
    const d = c - 48;
    if (d < 0 || d > 9) return NaN;
    m = m * 10 + d;
    digits++;
    if (scale >= 0) scale++;
  }
  if (digits === 0 || scale === 0) return NaN; // "" or "5."
  if (scale < 0) scale = 0;
  if (scale > MAX_FIXED_SCALE || m > Number.MAX_SAFE_INTEGER) return NaN;
  if (neg && m === 0) return NaN; // "-0.00" would come back as "0.00"
  fixedScale = scale;
  return neg ? -m : m;
}

/** The decimal string of mantissa * 10^-scale, as parseFixed read it (bigint for |m| >= 2^53). */
export function formatFixed(mantissa: number | bigint, scale: number): string {
  const neg = mantissa < 0;
  let digits = String(neg ? -mantissa : mantissa);
  if (scale > 0) {
    if (digits.length <= scale) digits = "0".repeat(scale - digits.length + 1) + digits;
    digits = digits.slice(0, digits.length - scale) + "." + digits.slice(digits.length - scale);
  }
  return neg ? "-" + digits : digits;
}
