/** Renamed metrics are still exported under their old names for one release, with equal values. */
import { expect, test } from "bun:test";
import type { SourceHealth } from "../../src/sources/source.ts";
import { DEPRECATED_METRIC_NAMES, GatewayMetrics } from "../../src/metrics/gateway-metrics.ts";

/** Series lines of one family, with the family name cut off (so old and new compare equal). */
function seriesOf(text: string, name: string): string[] {
  const re = new RegExp(`^${name}(?:_bucket|_sum|_count)?(?=[{ ])`);
  return text.split("\n").filter((l) => re.test(l)).map((l) => l.slice(name.length));
}

test("every renamed family is also exported under its old name, marked deprecated, with the same series", async () => {
  const m = new GatewayMetrics({ defaultMetrics: false });
  m.bytesOut.inc({ format: "json" }, 1234);
  m.batchSize.observe(7);
  m.batchSize.observe(300);
  // Lag is read from the sources at scrape time.
  const health: SourceHealth = { connected: true, lag: 42, lastEventAt: 0, reconnects: 0, errors: 0, events: 0 };
  m.attach({ sources: [{ name: "kafka-main", kind: "kafka", health: () => health }], sessions: { size: 0 }, index: { streamCount: 0 }, readiness: () => ({ ready: true }) });
  const text = await m.render();
  for (const [old, now] of Object.entries(DEPRECATED_METRIC_NAMES)) {
    expect(text).toContain(`# TYPE ${now} `);
    expect(text).toMatch(new RegExp(`^# HELP ${old} DEPRECATED: renamed ${now}`, "m"));
    const fresh = seriesOf(text, now);
    expect(fresh.length, now).toBeGreaterThan(0);
    expect(seriesOf(text, old)).toEqual(fresh);
  }
  expect(text).toContain('gateway_sent_bytes_total{format="json"} 1234');
  expect(text).toContain('gateway_bytes_out_total{format="json"} 1234');
  expect(text).toContain('gateway_batch_size_bucket{le="10"} 1');
  expect(text).toContain("gateway_batch_size_events_count 2");
});

test("new names follow the conventions: counters end in _total, a unit before it where there is one", () => {
  for (const now of Object.values(DEPRECATED_METRIC_NAMES)) expect(now).toMatch(/_(bytes_total|events|messages)$/);
});
