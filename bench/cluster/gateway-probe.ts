/**
 * Preloaded into each gateway of bench/cluster.ts (`bun --preload bench/cluster/gateway-probe.ts
 * src/main.ts`), so the gateway runs exactly as in production and the bench can still ask it, over
 * IPC, where its memory is: RSS and Bun's `bun:jsc` heapStats (object counts by type). It also
 * ends the gateway when the bench is gone (IPC closed), so a killed bench leaves no gateway behind.
 */
import { heapStats } from "bun:jsc";

/** Bench -> gateway. */
export type ToProbe = { t: "mem"; gc?: boolean };
/** Gateway -> bench. */
export type FromProbe = { t: "mem"; rss: number; heapSize: number; extraMemorySize: number; objectCount: number; objectTypeCounts: Record<string, number> };

if (process.send) {
  process.on("disconnect", () => process.exit(0));
  process.on("message", (m: ToProbe) => {
    if (m.t !== "mem") return;
    if (m.gc) Bun.gc(true);
    const h = heapStats();
    process.send?.({ t: "mem", rss: process.memoryUsage().rss, heapSize: h.heapSize, extraMemorySize: h.extraMemorySize, objectCount: h.objectCount, objectTypeCounts: h.objectTypeCounts } satisfies FromProbe);
  });
}
