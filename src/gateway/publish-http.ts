import type { EmbeddedEvent, EmbeddedSource } from "../sources/embedded/embedded-source.ts";
import { hasBearer, httpError, json } from "./http.ts";

/** Largest /publish body accepted. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Most events in one /publish call. */
const MAX_EVENTS = 10_000;

/**
 * `POST /publish`: injects `{stream, data}` (or an array of them) into the embedded source,
 * behind the admin token, and answers with the seq each event got.
 */
export async function handlePublish(req: Request, adminToken: string, source: EmbeddedSource): Promise<Response> {
  if (req.method !== "POST") return httpError(405, "method_not_allowed", "use POST");
  if (!hasBearer(req, adminToken)) return httpError(401, "unauthorized", "admin token required");
  const len = Number(req.headers.get("content-length") ?? 0);
  if (len > MAX_BODY_BYTES) return httpError(413, "too_large", `body over ${MAX_BODY_BYTES} bytes`);
  let body: unknown;
  try {
    const text = await req.text();
    if (text.length > MAX_BODY_BYTES) return httpError(413, "too_large", `body over ${MAX_BODY_BYTES} bytes`);
    body = JSON.parse(text);
  } catch {
    return httpError(400, "bad_request", "body must be JSON");
  }
  const items = Array.isArray(body) ? body : [body];
  if (items.length === 0 || items.length > MAX_EVENTS) return httpError(400, "bad_request", `1 to ${MAX_EVENTS} events per call`);
  const events: EmbeddedEvent[] = [];
  for (const [i, it] of items.entries()) {
    if (it === null || typeof it !== "object" || typeof (it as EmbeddedEvent).stream !== "string" || !("data" in it)) {
      return httpError(400, "bad_request", `event ${i}: expected {"stream": string, "data": ...}`);
    }
    const stream = (it as EmbeddedEvent).stream;
    if (!/^[a-z0-9_-]+\.[a-zA-Z0-9_@:-]+$/.test(stream) || stream.length > 128) {
      return httpError(400, "bad_request", `event ${i}: stream name must look like kind.name`);
    }
    events.push({ stream, data: (it as EmbeddedEvent).data });
  }
  const outcomes = source.publish(events);
  const results = outcomes.map((o) => ("seq" in o ? { stream: o.stream, seq: o.seq } : { error: o.skipped }));
  return json(Array.isArray(body) ? { results } : results[0], 202);
}
