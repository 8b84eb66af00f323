/**
 * Percentiles estimated from Prometheus histogram buckets, the way PromQL's histogram_quantile
 * does: find the bucket holding the rank and interpolate linearly inside it.
 */

/** Cumulative bucket counts of one histogram (summed over its label sets), by upper bound. */
export interface BucketCounts {
  /** Finite upper bounds, ascending. */
  bounds: number[];
  /** Cumulative counts per bound, then the +Inf bucket last (length = bounds.length + 1). */
  counts: number[];
}

/** The metric object prom-client's `Histogram.get()` resolves to, narrowed to what is read. */
interface HistogramValues {
  values: { value: number; metricName?: string; labels: Record<string, string | number | undefined> }[];
}

/** Sums a histogram's cumulative buckets over all its label sets. */
export function bucketsOf(h: HistogramValues): BucketCounts {
  const byLe = new Map<number, number>();
  let inf = 0;
  for (const v of h.values) {
    if (!v.metricName?.endsWith("_bucket")) continue;
    const le = v.labels.le;
    if (le === "+Inf") inf += v.value;
    else if (le !== undefined) byLe.set(Number(le), (byLe.get(Number(le)) ?? 0) + v.value);
  }
  const bounds = [...byLe.keys()].sort((a, b) => a - b);
  return { bounds, counts: [...bounds.map((b) => byLe.get(b) ?? 0), inf] };
}

/** `now - before`, bucket by bucket; `before` may be undefined (then `now` is returned). */
export function bucketDelta(now: BucketCounts, before: BucketCounts | undefined): BucketCounts {
  if (!before || before.counts.length !== now.counts.length) return now;
  return { bounds: now.bounds, counts: now.counts.map((c, i) => Math.max(0, c - (before.counts[i] ?? 0))) };
}

/** Observations in `b`. */
export function bucketTotal(b: BucketCounts): number {
  return b.counts[b.counts.length - 1] ?? 0;
}

/**
 * The q-quantile (0..1) of `b`, or null without observations. Ranks that land in the +Inf
 * bucket answer the highest finite bound, as PromQL does.
 */
export function quantile(b: BucketCounts, q: number): number | null {
  const total = bucketTotal(b);
  if (total <= 0 || b.bounds.length === 0) return null;
  const rank = q * total;
  let prevCount = 0;
  let prevBound = 0;
  for (let i = 0; i < b.bounds.length; i++) {
    const count = b.counts[i] ?? 0;
    const bound = b.bounds[i]!;
    if (count >= rank && count > prevCount) {
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / (count - prevCount);
    }
    prevCount = count;
    prevBound = bound;
  }
  return b.bounds[b.bounds.length - 1]!;
}
