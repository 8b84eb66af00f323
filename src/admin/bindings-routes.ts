import { BindingError, type Binding } from "../config/bindings.ts";
import { hasBearer, httpError, json, type RouteHandler } from "../util/http.ts";
import type { Logger } from "../util/logger.ts";

/** The live binding set as admin changes it (BindingRouter implements it). */
export interface BindingStore {
  bindings(): Binding[];
  /** Replaces every binding; throws BindingError (keeping the old set) on a bad one. */
  set(raw: unknown[]): void;
  /** Adds or replaces one binding by id. */
  upsert(raw: unknown): Binding;
  /** Removes a binding; false when there was none with that id. */
  remove(id: string): boolean;
}

/**
 * `/admin/api/bindings`: list (GET), replace all (PUT), add or change one (PUT .../{id}), remove
 * one (DELETE .../{id}). Changes apply to the next event; no client is dropped.
 */
export function bindingsRoutes(router: BindingStore, adminToken: string, log: Logger): RouteHandler {
  return async (req, url) => {
    const path = url.pathname;
    if (path !== "/admin/api/bindings" && !path.startsWith("/admin/api/bindings/")) return undefined;
    if (!hasBearer(req, adminToken)) return httpError(401, "unauthorized", "admin token required");
    const id = path.length > "/admin/api/bindings/".length ? decodeURIComponent(path.slice("/admin/api/bindings/".length)) : undefined;
    try {
      if (req.method === "GET" && !id) return json({ bindings: router.bindings() });
      if (req.method === "PUT" && !id) {
        const body = await readJson(req);
        if (!Array.isArray(body)) return httpError(400, "bad_request", "expected an array of bindings");
        router.set(body);
        log.info("bindings_replaced", { count: body.length });
        return json({ bindings: router.bindings() });
      }
      if (req.method === "PUT" && id) {
        const body = await readJson(req);
        if (body === null || typeof body !== "object" || Array.isArray(body)) return httpError(400, "bad_request", "expected a binding object");
        const def = router.upsert({ ...body, id });
        log.info("binding_upserted", { id });
        return json(def);
      }
      if (req.method === "DELETE" && id) {
        if (!router.remove(id)) return httpError(404, "not_found", `no binding "${id}"`);
        log.info("binding_removed", { id });
        return new Response(null, { status: 204 });
      }
      return httpError(405, "method_not_allowed", "GET or PUT the list; PUT or DELETE one by id");
    } catch (err) {
      if (err instanceof BindingError || err instanceof SyntaxError) return httpError(400, "bad_request", err.message);
      throw err;
    }
  };
}

async function readJson(req: Request): Promise<unknown> {
  const text = await req.text();
  if (text.length > 1024 * 1024) throw new BindingError("body over 1 MiB");
  return JSON.parse(text);
}
