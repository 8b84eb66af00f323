/**
 * Creates new logs' files off the event loop. Opening a new stream's log costs a directory, a few
 * preallocated segment files and a meta file (~3 ms, far more under load); on the event loop every
 * other stream's delivery waited for it. Here a worker thread does that work, one log at a time,
 * while the stream's first events are held in memory (PendingLog).
 */
import type { LogMeta } from "./stream-dir.ts";

/** One background file creator (a worker thread) per store. */
export class LogCreator {
  private worker: Worker | undefined;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();

  /** Resolves once the files of `meta`'s log exist under `root`. */
  create(root: string, meta: LogMeta): Promise<void> {
    const w = (this.worker ??= this.spawn());
    const id = ++this.seq;
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      w.postMessage({ id, root, meta });
    });
  }

  /** Stops the thread; creations in flight reject (the store then creates them itself). */
  terminate(): void {
    this.worker?.terminate();
    this.worker = undefined;
    for (const w of this.waiting.values()) w.reject(new Error("log creator terminated"));
    this.waiting.clear();
  }

  private spawn(): Worker {
    const w = new Worker(new URL("./log-creator-worker.ts", import.meta.url).href);
    w.onmessage = (e: MessageEvent<{ id: number; error?: string }>) => {
      const p = this.waiting.get(e.data.id);
      this.waiting.delete(e.data.id);
      if (!p) return;
      if (e.data.error) p.reject(new Error(e.data.error));
      else p.resolve();
    };
    w.onerror = (e) => {
      for (const p of this.waiting.values()) p.reject(new Error(`log creator: ${e.message}`));
      this.waiting.clear();
      this.worker = undefined;
    };
    // Bun workers do not keep the process alive unless asked to (`ref`), so an idle one is free.
    return w;
  }
}
