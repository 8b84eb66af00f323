import { timingSafeEqual } from "node:crypto";
import type { HttpErrorCode } from "../../protocol/error-codes.ts";

/** An HTTP route mounted beside the gateway's own (admin, the web page): undefined when not its path. */
export type RouteHandler = (req: Request, url: URL) => Promise<Response | undefined> | Response | undefined;

/** A JSON response with the given status. */
export function json(body: unknown, status = 200, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

/** A JSON error body `{error, message}`: what every refused HTTP request gets. */
export function httpError(status: number, error: HttpErrorCode, message: string, headers?: Record<string, string>): Response {
  return json({ error, message }, status, headers);
}

/** Constant-time comparison for bearer secrets. */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  if (x.length !== y.length) return false;
  return timingSafeEqual(x, y);
}

/** True when the request carries `Authorization: Bearer <token>`. */
export function hasBearer(req: Request, token: string): boolean {
  const h = req.headers.get("authorization");
  if (!h || !/^bearer\s+/i.test(h)) return false;
  return safeEqual(h.replace(/^bearer\s+/i, "").trim(), token);
}
