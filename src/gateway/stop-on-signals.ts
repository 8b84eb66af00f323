import type { Gateway } from "./gateway.ts";

/**
 * On the first SIGTERM or SIGINT: drains the gateway and exits 0, or exits 1 if draining takes
 * longer than `shutdownGraceMs` + 5 s. `onSignal` hears which signal it was.
 */
export function stopOnSignals(gateway: Gateway, shutdownGraceMs: number, onSignal?: (signal: NodeJS.Signals) => void): void {
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    onSignal?.(signal);
    // A hard bound on exit even if something hangs while draining.
    setTimeout(() => process.exit(1), shutdownGraceMs + 5000).unref();
    await gateway.shutdown();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
}
