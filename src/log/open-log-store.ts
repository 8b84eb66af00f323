/** The one place that picks a LogStore implementation from options. */
import type { LogStoreOptions } from "./log-options.ts";
import type { LogStore } from "./log-store.ts";
import { MemoryLogStore } from "./memory-log-store.ts";
import { MmapLogStore } from "./mmap-log-store.ts";

export type { LogStoreOptions } from "./log-options.ts";

/** Opens the mmap store at `opts.dir` (default "./data/log"), or the memory store when `kind` is "memory". */
export function openLogStore(opts: LogStoreOptions = {}): LogStore {
  return opts.kind === "memory" ? new MemoryLogStore(opts) : new MmapLogStore(opts);
}
