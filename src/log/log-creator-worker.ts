/**
 * The thread LogCreator runs new logs' file creation on: one message per log, answered when its
 * files exist (or with the error that stopped them).
 */
import { createStreamFiles, type LogMeta } from "./stream-dir.ts";

declare const self: Worker;

self.onmessage = (e: MessageEvent<{ id: number; root: string; meta: LogMeta }>) => {
  const { id, root, meta } = e.data;
  try {
    createStreamFiles(root, meta);
    self.postMessage({ id });
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
