import type { HttpErrorCode } from "../../protocol/error-codes.ts";
import { isValidStreamName } from "../../protocol/stream-name.ts";
import { jsonNestsDeeperThan, jsonValueDepth } from "../../protocol/json-depth.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { IngestOutcome } from "../sources/source.ts";
import { hasBearer, httpError, json } from "../util/http.ts";
import type { KnownStreams } from "./stream-policy.ts";

/** One event of a /publish body: a stream name and its payload. */
export interface PublishedEvent {
  stream: string;
  data: unknown;
}

/** Where /publish puts its events in one batch: the embedded source (wired in createGateway). */
export interface EventInjector {
  publish(events: PublishedEvent[]): IngestOutcome[];
}

/** Largest /publish body accepted. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Most events in one /publish call. */
const MAX_EVENTS = 10_000;

/** Why a /publish body is refused: a bounded metric label (gateway_publish_rejected_total). */
export const PUBLISH_REJECTIONS = ["malformed", "unknown_stream", "too_deep", "too_large", "stream_limit"] as const;
type Rejection = (typeof PUBLISH_REJECTIONS)[number];

/** What `POST /publish` needs from the gateway. */
export interface PublishContext {
  adminToken: string;
  source: EventInjector;
  /** The stream policy: names outside the configured patterns are refused before anything is published. */
  known: KnownStreams;
  metrics: GatewayMetrics;
  /** Most levels of nesting in an event's `data` (MAX_PAYLOAD_DEPTH). */
  maxDepth: number;
}

/**
 * `POST /publish`: injects `{stream, data}` (or an array of them) into the embedded source,
 * behind the admin token, and answers with the seq each event got. The whole body is checked
 * first, so a refused call (400 with the event's index and the reason) publishes nothing.
 */
export async function handlePublish(req: Request, ctx: PublishContext): Promise<Response> {
  if (req.method !== "POST") return httpError(405, "method_not_allowed", "use POST");
  if (!hasBearer(req, ctx.adminToken)) return httpError(401, "unauthorized", "admin token required");
  const refuse = (status: number, reason: Rejection, message: string) => {
    ctx.metrics.publishRejected.inc({ reason });
    const code: HttpErrorCode = reason === "malformed" ? "bad_request" : reason;
    return httpError(status, code, message);
  };
  const len = Number(req.headers.get("content-length") ?? 0);
  if (len > MAX_BODY_BYTES) return refuse(413, "too_large", `body over ${MAX_BODY_BYTES} bytes`);
  let body: unknown;
  try {
    const text = await req.text();
    if (text.length > MAX_BODY_BYTES) return refuse(413, "too_large", `body over ${MAX_BODY_BYTES} bytes`);
    // An array of envelopes adds two levels above the data; deeper is refused before parsing.
    if (jsonNestsDeeperThan(text, ctx.maxDepth + 2)) return refuse(400, "too_deep", `data nested deeper than ${ctx.maxDepth} levels`);
    body = JSON.parse(text);
  } catch {
    return refuse(400, "malformed", "body must be JSON");
  }
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0 || items.length > MAX_EVENTS) return refuse(400, "malformed", `1 to ${MAX_EVENTS} events per call`);
  const events: PublishedEvent[] = [];
  for (const [i, it] of items.entries()) {
    if (it === null || typeof it !== "object" || typeof (it as PublishedEvent).stream !== "string" || !("data" in it)) {
      return refuse(400, "malformed", `event ${i}: expected {"stream": string, "data": ...}`);
    }
    const { stream, data } = it as PublishedEvent;
    if (!isValidStreamName(stream)) return refuse(400, "malformed", `event ${i}: stream name must look like kind.name`);
    if (!ctx.known.isKnown(stream)) {
      return refuse(400, "unknown_stream", `event ${i}: stream ${JSON.stringify(stream.slice(0, 64))} is not a configured stream (kind.name matching PUBLIC_STREAMS or PRIVATE_STREAMS)`);
    }
    if (jsonValueDepth(data, ctx.maxDepth) > ctx.maxDepth) return refuse(400, "too_deep", `event ${i}: data nested deeper than ${ctx.maxDepth} levels`);
    events.push({ stream, data });
  }
  const outcomes = ctx.source.publish(events);
  const results = outcomes.map((o) => ("seq" in o ? { stream: o.stream, seq: o.seq } : { error: o.skipped }));
  if (!Array.isArray(body) && "skipped" in outcomes[0]! && outcomes[0].skipped === "stream_limit") {
    return refuse(507, "stream_limit", `stream ${(items[0] as PublishedEvent).stream.slice(0, 64)} refused: the gateway holds its maximum number of stream logs (LOG_MAX_STREAMS)`);
  }
  return json(Array.isArray(body) ? { results } : results[0], 202);
}
