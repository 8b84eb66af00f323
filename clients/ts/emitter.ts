/** A small typed event emitter (no node:events, so it runs in browsers as is). */
/** Event name -> listener arguments. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

type Listener = (...args: unknown[]) => void;

export class Emitter<E extends EventMap<E>> {
  private readonly listeners = new Map<keyof E, Set<Listener>>();

  /** Called when a listener throws; the other listeners still run. */
  onListenerError: (err: unknown, event: string) => void = (err, event) => {
    console.error(`GatewayClient: a "${event}" listener threw`, err);
  };

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(fn as unknown as Listener);
    return () => this.off(event, fn);
  }

  /** Adds a listener called at most once. */
  once<K extends keyof E>(event: K, fn: (...args: E[K]) => void): () => void {
    const off = this.on(event, (...args) => {
      off();
      fn(...args);
    });
    return off;
  }

  off<K extends keyof E>(event: K, fn: (...args: E[K]) => void): void {
    this.listeners.get(event)?.delete(fn as unknown as Listener);
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.listeners.get(event);
    if (!set || set.size === 0) return;
    for (const fn of [...set]) {
      try {
        fn(...(args as unknown[]));
      } catch (err) {
        this.onListenerError(err, String(event));
      }
    }
  }

  protected listenerCount(event: keyof E): number {
    return this.listeners.get(event)?.size ?? 0;
  }
}
