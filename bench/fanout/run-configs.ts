import type { FanoutOptions } from "./options.ts";

/** One configuration measured: the bare server or the gateway with some settings. */
export interface RunConfig {
  name: string;
  kind: "bare" | "gateway";
  log?: "mmap" | "mem";
  metrics?: "on" | "off";
  /** Diagnostics only: feed frames straight to the gateway's Bun server; stop its timers. */
  feed?: "pipeline" | "direct";
  timers?: "on" | "off";
}

/** The configurations to measure, in round order: bare, gateway, then the --compare and --diag variants (filtered by --only). */
export function runConfigs(opts: FanoutOptions): RunConfig[] {
  const allConfigs: RunConfig[] = [
    { name: "bare", kind: "bare" },
    { name: "gateway", kind: "gateway", log: opts.log, metrics: opts.metrics },
  ];
  if (opts.compare.includes("log")) {
    const log = opts.log === "mmap" ? "mem" : "mmap";
    allConfigs.push({ name: `gateway log=${log}`, kind: "gateway", log, metrics: opts.metrics });
  }
  if (opts.compare.includes("metrics")) {
    const metrics = opts.metrics === "on" ? "off" : "on";
    allConfigs.push({ name: `gateway metrics=${metrics}`, kind: "gateway", log: opts.log, metrics });
  }
  if (opts.diag) {
    allConfigs.push({ name: "gateway feed=direct", kind: "gateway", log: opts.log, metrics: opts.metrics, feed: "direct" });
    allConfigs.push({ name: "gateway direct,timers=off", kind: "gateway", log: opts.log, metrics: opts.metrics, feed: "direct", timers: "off" });
  }
  return opts.only.length ? allConfigs.filter((c) => opts.only.includes(c.name) || opts.only.includes(c.name.split(" ")[0]!)) : allConfigs;
}

/** A configuration's name with its settings, for the header. */
export function describeConfig(c: RunConfig): string {
  return c.kind === "bare" ? c.name : `${c.name} (log ${c.log}, metrics ${c.metrics}${c.feed ? `, feed ${c.feed}` : ""}${c.timers ? `, timers ${c.timers}` : ""})`;
}
