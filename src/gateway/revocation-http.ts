import { hasBearer, httpError, json } from "../util/http.ts";
import { MAX_REVOCATION_VALUE } from "./auth/revocation-list.ts";
import type { RevocationService, RevocationTarget } from "./revocation-service.ts";
import type { Logger } from "../util/logger.ts";

const PATH = "/admin/api/revocations";

/**
 * `POST /admin/api/revocations` with `{"userId":...}` or `{"jti":...}` (admin token): closes every
 * matching connection of the cluster with 4004 and refuses those credentials until they expire.
 * 200 with the revocation and the connections closed on this gateway; 503 when the cluster's
 * channel could not take it (this gateway has applied it anyway).
 */
export function revocationRoutes(revocations: RevocationService, adminToken: string, log: Logger) {
  return async (req: Request, url: URL): Promise<Response | undefined> => {
    if (url.pathname !== PATH) return undefined;
    if (!hasBearer(req, adminToken)) return httpError(401, "unauthorized", "admin token required");
    if (req.method !== "POST") return httpError(405, "method_not_allowed", "use POST", { allow: "POST" });
    const target = parseTarget(await req.text().catch(() => ""));
    if (typeof target === "string") return httpError(400, "bad_request", target);
    let result: Awaited<ReturnType<RevocationService["revoke"]>>;
    try {
      result = await revocations.revoke(target);
    } catch (err) {
      log.error("revocation_publish_failed", { error: (err as Error).message });
      return httpError(503, "revocation_unavailable", "applied on this gateway only: the cluster's revocation channel is unavailable");
    }
    const { revocation: r, closed } = result;
    return json({ kind: r.kind, value: r.value, revokedAt: r.revokedAt, until: r.until, closed });
  };
}

/** `{"userId"}` or `{"jti"}`: exactly one, a non-empty string; otherwise the reason it is refused. */
function parseTarget(text: string): RevocationTarget | string {
  if (text.length > 4096) return "body over 4 KiB";
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return "expected a JSON body {\"userId\"} or {\"jti\"}";
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) return "expected a JSON object {\"userId\"} or {\"jti\"}";
  const { userId, jti } = body as Record<string, unknown>;
  if ((userId === undefined) === (jti === undefined)) return "give exactly one of userId and jti";
  const v = userId ?? jti;
  if (typeof v !== "string" || v === "" || v.length > MAX_REVOCATION_VALUE) return `userId/jti must be a string of 1 to ${MAX_REVOCATION_VALUE} chars`;
  return userId !== undefined ? { userId: v } : { jti: v };
}
