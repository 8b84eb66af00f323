/** What a client sends: JSON text frames with an `action` and an optional `id` the answer echoes. */

/** A request id the client chose; echoed verbatim in the answer. */
export type RequestId = string | number;

/** A well-formed client request (the server's parser returns exactly these). */
export type ClientRequest =
  | { action: "subscribe"; streams: string[]; id?: RequestId }
  | { action: "unsubscribe"; streams: string[]; id?: RequestId }
  | { action: "list"; id?: RequestId }
  | { action: "ping"; id?: RequestId }
  | { action: "resume"; positions: Record<string, number>; epochs?: Record<string, string>; id?: RequestId }
  /** In-band token refresh: same `sub`, answered `authenticated` or `invalid_token`. */
  | { action: "auth"; token: string; id?: RequestId };

/** Most streams accepted in one request; bigger lists are a bad request. */
export const MAX_STREAMS_PER_REQUEST = 256;

/** Longest token an in-band `auth` accepts (a JWT with generous claims fits easily). */
export const MAX_TOKEN_CHARS = 8192;
