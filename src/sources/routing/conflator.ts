import type { RoutedEvent } from "./message-router.ts";

/** Per-stream conflation state. */
interface Window {
  lastEmitAt: number;
  pending?: RoutedEvent;
  timer?: ReturnType<typeof setTimeout>;
}

/**
 * At most one event per window per stream, the latest wins. The first event after a quiet window
 * goes out at once (no added latency); later ones in the window replace each other and the last
 * is sent when the window ends.
 */
export class Conflator {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly windowMs: number,
    private readonly emit: (ev: RoutedEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when `ev` should be sent now; false when it was held (and may replace a held one). */
  offer(ev: RoutedEvent): boolean {
    const t = this.now();
    let w = this.windows.get(ev.stream);
    if (!w) this.windows.set(ev.stream, (w = { lastEmitAt: 0 }));
    if (!w.pending && t - w.lastEmitAt >= this.windowMs) {
      w.lastEmitAt = t;
      return true;
    }
    w.pending = ev;
    if (!w.timer) {
      const win = w;
      win.timer = setTimeout(() => this.flush(ev.stream, win), Math.max(0, win.lastEmitAt + this.windowMs - t));
    }
    return false;
  }

  private flush(stream: string, w: Window): void {
    w.timer = undefined;
    const ev = w.pending;
    w.pending = undefined;
    if (!ev) return;
    w.lastEmitAt = this.now();
    this.emit(ev);
    if (this.windows.size > 10_000) this.windows.delete(stream);
  }

  /** Cancels timers; held events are dropped (the binding was removed or the gateway stops). */
  stop(): void {
    for (const w of this.windows.values()) if (w.timer) clearTimeout(w.timer);
    this.windows.clear();
  }
}
