import { PROTOCOL_FB, PROTOCOL_JSON } from "../../protocol/wire.ts";
import type { GatewayConfig } from "../config/config.ts";
import type { Authenticator } from "./auth/authenticator.ts";
import { extractCredentials } from "./auth/credentials.ts";
import { AuthError, type Identity } from "./auth/identity.ts";
import { publicJwk, type FrameSigner } from "./frame-signer.ts";
import { httpError, json } from "../util/http.ts";
import type { StreamPolicy } from "./stream-policy.ts";

/**
 * The front-end's realtime API (seed 002 section 9):
 * - `POST /realtime/token`: a short-lived WebSocket token for the caller (long-lived JWT or API key).
 * - `GET /realtime/bootstrap`: WebSocket URL(s), the streams the caller may read, the wire formats.
 * - `GET /realtime/keys`: the public keys that verify signed private frames, by key id.
 */
export function realtimeRoutes(auth: Authenticator, policy: StreamPolicy, cfg: GatewayConfig, signer?: FrameSigner) {
  const keys = [...(signer ? [signer.publicKey] : []), ...cfg.realtime.previousPublicKeys.map((k) => publicJwk(k.kid, k.pem))];
  const noStore = { "cache-control": "no-store" };
  const identify = async (req: Request, url: URL): Promise<Identity | Response> => {
    try {
      return await auth.authenticate(extractCredentials(req, url));
    } catch (err) {
      const e = err instanceof AuthError ? err : new AuthError("invalid_token", "authentication failed");
      return httpError(e.code === "auth_unavailable" ? 503 : 401, e.code, e.message, noStore);
    }
  };
  return async (req: Request, url: URL): Promise<Response | undefined> => {
    switch (url.pathname) {
      case "/realtime/keys":
        if (req.method !== "GET") return httpError(405, "method_not_allowed", "use GET", { allow: "GET" });
        // Public by nature; short cache so a rotation is seen within a minute.
        return json({ keys }, 200, { "cache-control": "public, max-age=60" });
      case "/realtime/token": {
        if (req.method !== "POST") return httpError(405, "method_not_allowed", "use POST", { allow: "POST" });
        const who = await identify(req, url);
        if (who instanceof Response) return who;
        if (who.userId === undefined) return httpError(401, "missing_credentials", "a user credential is required", noStore);
        return json(await auth.wsTokens.issue({ ...who, userId: who.userId }), 200, noStore);
      }
      case "/realtime/bootstrap": {
        if (req.method !== "GET") return httpError(405, "method_not_allowed", "use GET", { allow: "GET" });
        const who = await identify(req, url);
        if (who instanceof Response) return who;
        const origin = new URL(url.origin);
        const ws = `${origin.protocol === "https:" ? "wss:" : "ws:"}//${req.headers.get("host") ?? origin.host}/ws`;
        return json(
          {
            userId: who.userId ?? null,
            wsUrls: cfg.realtime.wsUrls ?? [ws],
            tokenUrl: "/realtime/token",
            keysUrl: "/realtime/keys",
            streams: policy.readableBy(who),
            formats: [
              { format: "json", subprotocol: PROTOCOL_JSON },
              { format: "fb", subprotocol: PROTOCOL_FB },
            ],
            signed: signer ? policy.readableBy(who).filter((s) => policy.isPrivate(s)) : [],
            tokenTtlSec: cfg.auth.wsToken.ttlSec,
          },
          200,
          noStore,
        );
      }
      default:
        return undefined;
    }
  };
}
