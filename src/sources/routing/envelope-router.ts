import { DEFAULT_MAX_PAYLOAD_DEPTH, jsonNestsDeeperThan } from "../../../protocol/json-depth.ts";
import type { SourceMessage } from "../source.ts";
import type { MessageRouter, RoutedEvent, SkipReason } from "./message-router.ts";

const decoder = new TextDecoder();

/**
 * The default route of a source without bindings: a payload in the envelope format
 * `{"stream": ..., "data": ...}` (the requirements' producer format, `format: "seed"` in a binding)
 * goes to its stream; any other JSON payload goes to the stream named by the message origin.
 * Timestamps come from `data.timestamp` when the producer set one, else from the broker.
 * A message whose source already named its stream (`msg.unwrapped`: the embedded source) is data,
 * never an envelope, so a `/publish` whose data looks like one stays on the stream it named.
 * Data nested deeper than `maxDepth` is skipped (`too_deep`).
 */
export class EnvelopeRouter implements MessageRouter {
  constructor(private readonly maxDepth = DEFAULT_MAX_PAYLOAD_DEPTH) {}

  route(_source: string, msg: SourceMessage): RoutedEvent | SkipReason {
    const text = typeof msg.value === "string" ? msg.value : decoder.decode(msg.value);
    // An envelope adds one level above its data.
    if (jsonNestsDeeperThan(text, this.maxDepth + 1)) return "too_deep";
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return "malformed";
    }
    if (!msg.unwrapped && parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
      const o = parsed as Record<string, unknown>;
      if (typeof o.stream === "string" && "data" in o) {
        return { stream: o.stream, data: JSON.stringify(o.data), seq: msg.position, sourceTs: eventTime(o.data, msg), value: o.data };
      }
    }
    if (jsonNestsDeeperThan(text, this.maxDepth)) return "too_deep";
    if (!msg.origin) return "unroutable";
    return { stream: msg.origin, data: text, seq: msg.position, sourceTs: eventTime(parsed, msg), value: parsed };
  }
}

/** The producer's event time when the payload carries one, else the broker's, else 0. */
export function eventTime(data: unknown, msg: SourceMessage): number {
  if (data !== null && typeof data === "object") {
    const ts = (data as Record<string, unknown>).timestamp;
    if (typeof ts === "number" && ts > 0) return ts;
  }
  return msg.timestamp ?? 0;
}
