import type { LogStore } from "../log/log-store.ts";
import type { StreamEvent } from "../../protocol/stream-event.ts";
import type { Authenticator } from "./auth/authenticator.ts";
import { extractCredentials } from "./auth/credentials.ts";
import { AuthError, type Identity } from "./auth/identity.ts";
import { httpError, json } from "../util/http.ts";
import type { StreamPolicy } from "./stream-policy.ts";

/** Most events one /replay call returns. */
const MAX_REPLAY_LIMIT = 5000;

/**
 * `GET /snapshot/{stream}` and `GET /replay/{stream}?fromSeq=N&limit=M`: the log over HTTP, with
 * the same credentials and stream permissions as the socket.
 */
export class StreamHttp {
  constructor(
    private readonly auth: Authenticator,
    private readonly policy: StreamPolicy,
    private readonly logs: LogStore,
  ) {}

  async handle(req: Request, url: URL): Promise<Response> {
    if (req.method !== "GET") return httpError(405, "method_not_allowed", "use GET");
    const [, route, ...rest] = url.pathname.split("/");
    let stream: string;
    try {
      stream = decodeURIComponent(rest.join("/"));
    } catch {
      return httpError(400, "bad_request", "malformed stream name");
    }
    let who: Identity;
    try {
      who = await this.auth.authenticate(extractCredentials(req, url));
    } catch (err) {
      const e = err instanceof AuthError ? err : new AuthError("invalid_token", "authentication failed");
      return httpError(e.code === "auth_unavailable" ? 503 : 401, e.code, e.message);
    }
    const verdict = this.policy.check(stream, who);
    if (verdict === "unknown_stream") return httpError(404, "unknown_stream", "no such stream");
    if (verdict === "forbidden") return httpError(403, "forbidden", "not allowed for this credential");
    const log = this.logs.find(stream);
    const pos = log?.position() ?? { epoch: "", oldest: 0, head: 0 };
    if (route === "snapshot") {
      const ev = log?.latest();
      if (!ev) return httpError(404, "no_data", "nothing logged for this stream yet");
      return json({ stream, seq: ev.seq, prev: ev.prev, epoch: pos.epoch, data: JSON.parse(ev.data), gatewayTs: ev.gatewayTs });
    }
    const fromSeq = intParam(url, "fromSeq", 0);
    const limit = intParam(url, "limit", 1000);
    if (fromSeq === undefined || limit === undefined || limit < 1) {
      return httpError(400, "bad_request", "fromSeq and limit must be whole numbers (limit >= 1)");
    }
    const events = log ? log.readAfter(fromSeq, Math.min(limit, MAX_REPLAY_LIMIT)) : [];
    // Tell the caller when its position is older than what the log holds, rather than a silent partial answer.
    const first = events[0];
    const complete = !first || first.prev <= fromSeq;
    return json({
      stream,
      epoch: pos.epoch,
      oldest: pos.oldest,
      head: pos.head,
      complete,
      events: events.map(toFrame),
    });
  }
}

function toFrame(ev: StreamEvent): unknown {
  return { stream: ev.stream, seq: ev.seq, prev: ev.prev, data: JSON.parse(ev.data) };
}

function intParam(url: URL, name: string, def: number): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null) return def;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}
