/** The WebSocket side of the client: subprotocols, the URL with its token, detaching handlers. */
import { PROTOCOL_FB, PROTOCOL_JSON, TOKEN_PROTOCOL_PREFIX } from "../../protocol/wire.ts";
import type { Format } from "./types.ts";

export { PROTOCOL_FB, PROTOCOL_JSON } from "../../protocol/wire.ts";

/**
 * URL and subprotocols of a connection: the format's subprotocol, and the token either as a
 * `bearer.<token>` subprotocol or as `?token=`.
 */
export function socketParams(url: string, format: Format, token: string | undefined, transport: "protocol" | "query"): { url: string; protocols: string[] } {
  const u = new URL(url);
  const protocols = [format === "fb" ? PROTOCOL_FB : PROTOCOL_JSON];
  if (token) {
    if (transport === "query") u.searchParams.set("token", token);
    else protocols.push(TOKEN_PROTOCOL_PREFIX + token);
  }
  return { url: u.toString(), protocols };
}

/** Removes the client's handlers, so a socket being abandoned reports nothing more. */
export function detach(ws: WebSocket): void {
  ws.onopen = null;
  ws.onmessage = null;
  ws.onclose = null;
  ws.onerror = null;
}

/** A URL without its token, for messages. */
export function redact(url: string): string {
  return url.replace(/([?&]token=)[^&]*/, "$1***");
}
