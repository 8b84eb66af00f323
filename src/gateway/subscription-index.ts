import type { WireFormat } from "../../protocol/wire.ts";

/** Subscriber counts of one stream per wire format. */
export interface StreamSubscribers {
  /** The stream name, shared by every session subscribed to it. */
  readonly name: string;
  json: number;
  fb: number;
}

/**
 * Counts subscribers per stream and format, so the hot path encodes a format only when someone
 * reads it and metrics and admin can list streams without asking Bun for every topic.
 */
export class SubscriptionIndex {
  private readonly counts = new Map<string, StreamSubscribers>();

  /**
   * Counts one more subscriber and returns the index's own copy of the name: every session keeps
   * that one string instead of the copy its request parsed (100K connections x a few streams).
   */
  add(stream: string, format: WireFormat): string {
    let c = this.counts.get(stream);
    if (!c) this.counts.set(stream, (c = { name: stream, json: 0, fb: 0 }));
    c[format]++;
    return c.name;
  }

  remove(stream: string, format: WireFormat): void {
    const c = this.counts.get(stream);
    if (!c) return;
    c[format]--;
    if (c.json <= 0 && c.fb <= 0) this.counts.delete(stream);
  }

  /** Subscribers of `stream`, or undefined when none: the hot path's "skip this event" check. */
  get(stream: string): StreamSubscribers | undefined {
    return this.counts.get(stream);
  }

  entries(): IterableIterator<[string, StreamSubscribers]> {
    return this.counts.entries();
  }

  get streamCount(): number {
    return this.counts.size;
  }
}
