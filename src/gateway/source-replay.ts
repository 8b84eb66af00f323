import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { MessageRouter } from "../sources/routing/message-router.ts";
import type { Source } from "../sources/source.ts";
import type { StreamOrigins } from "./stream-origins.ts";

/** Messages asked of the source per page while filling a gap. */
const PAGE = 1000;

/**
 * Resume's second tier: when the ring log no longer reaches back to a client's position, re-read
 * the gap from the source (Kafka seek, JetStream by sequence, Redis XRANGE). Only for streams whose
 * seq is the source position, so a client's position means the same thing to the source.
 */
export class SourceReplay {
  constructor(
    private readonly origins: StreamOrigins,
    private readonly sources: () => Source[],
    private readonly router: MessageRouter,
  ) {}

  /** Whether the gap of `stream` could be filled from its source. */
  canReplay(stream: string): boolean {
    const o = this.origins.get(stream);
    if (!o?.positional) return false;
    return typeof this.sources().find((s) => s.name === o.source)?.replay === "function";
  }

  /**
   * Events of `stream` with afterSeq < seq < beforeSeq, oldest first, with `prev` chained from
   * afterSeq; undefined when the source cannot serve it or more than `maxEvents` are missing.
   */
  async fetch(stream: string, afterSeq: number, beforeSeq: number, maxEvents: number): Promise<StreamEvent[] | undefined> {
    const o = this.origins.get(stream);
    const src = o && this.sources().find((s) => s.name === o.source);
    if (!o?.positional || !src?.replay) return undefined;
    const out: StreamEvent[] = [];
    let pos = afterSeq;
    let prev = afterSeq;
    const now = Date.now();
    for (;;) {
      const page = await src.replay(o.origin, pos, PAGE);
      for (const msg of page) {
        if (msg.position === undefined) return undefined;
        pos = msg.position;
        if (pos >= beforeSeq) return out;
        const routed = this.router.route(o.source, msg, true);
        if (typeof routed === "string" || routed.stream !== stream || routed.seq === undefined || routed.seq <= prev) continue;
        out.push({ stream, seq: routed.seq, prev, data: routed.data, sourceTs: routed.sourceTs, gatewayTs: now });
        prev = routed.seq;
        if (out.length > maxEvents) return undefined;
      }
      // Short page: the source has nothing newer. Continuity with the log is checked by the caller.
      if (page.length < PAGE) return out;
    }
  }
}
