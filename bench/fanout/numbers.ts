/** Sum of `xs`. */
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Median of the finite values of `xs`; NaN when there is none. */
export const median = (xs: number[]) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
