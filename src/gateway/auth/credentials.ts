import { TOKEN_PROTOCOL_PREFIX } from "../../../protocol/wire.ts";

/** What a client presented at the upgrade. */
export interface Credentials {
  token?: string;
  apiKey?: string;
  /** Subprotocols offered, minus any that carried the token. */
  protocols: string[];
  /** The subprotocol entry that carried the token, if any (browsers need one echoed back). */
  tokenProtocol?: string;
}

/**
 * Pulls the token or API key out of an upgrade request: `Authorization: Bearer`, `?token=`,
 * `Sec-WebSocket-Protocol: bearer.<token>`, `X-API-Key`, `?apiKey=`.
 */
export function extractCredentials(req: Request, url: URL): Credentials {
  const protocols: string[] = [];
  let tokenProtocol: string | undefined;
  let token: string | undefined;
  const proto = req.headers.get("sec-websocket-protocol");
  if (proto) {
    for (const p of proto.split(",")) {
      const v = p.trim();
      if (!v) continue;
      if (v.startsWith(TOKEN_PROTOCOL_PREFIX)) {
        tokenProtocol = v;
        token ??= v.slice(TOKEN_PROTOCOL_PREFIX.length);
      } else protocols.push(v);
    }
  }
  const auth = req.headers.get("authorization");
  if (auth && /^bearer\s+/i.test(auth)) token = auth.replace(/^bearer\s+/i, "").trim();
  token ??= url.searchParams.get("token") ?? undefined;
  const apiKey = req.headers.get("x-api-key") ?? url.searchParams.get("apiKey") ?? undefined;
  return { token: token || undefined, apiKey: apiKey || undefined, protocols, tokenProtocol };
}
