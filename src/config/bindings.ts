/**
 * A binding: how messages of one source become events of gateway streams. Bindings are plain
 * JSON (config file or admin API) and validated here by pure functions over that data, so a bad
 * one is refused with a reason before anything is built from it (BindingRouter compiles them).
 */
import { isValidStreamName } from "../../protocol/stream-name.ts";

/** How to get the stream name. Templates use `{origin}`, `{key}`, `{origin.N}` (Nth dot segment) and `{payload.path}`. */
export type StreamRule = { fixed: string } | { template: string } | { field: string };

/** A per-stream transform, applied once per event before fan-out. */
export type Transform =
  | { rename: Record<string, string> }
  | { drop: string[] }
  | { pick: string[] }
  | { filter: { field: string; eq?: unknown; ne?: unknown; in?: unknown[]; exists?: boolean } };

/** One binding: which messages it takes and what it makes of them. */
export interface Binding {
  /** Unique id, used by the admin API to change or remove it. */
  id: string;
  /** Source name this binding reads from. */
  source: string;
  /** Origin glob (topic/subject/key): `*` one dot segment, `>` the rest; default all. */
  match?: string;
  /** Payload shape: "seed" is the envelope `{"stream","data"}`; "raw" is the data itself. Default "raw". */
  format?: "seed" | "raw";
  /** Stream name; default: the seed payload's `stream`, else the origin. */
  stream?: StreamRule;
  /** Where seq comes from: the source position (default when there is one), a payload field, or the gateway. */
  seq?: "position" | "gateway" | { field: string };
  /** Where the event time is: a payload field (ms); default `timestamp`, else the broker time. */
  timeField?: string;
  transforms?: Transform[];
  /** At most one event per window per stream, the latest wins (leading edge sent at once). */
  conflateMs?: number;
}

/** Why a binding was refused. */
export class BindingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BindingError";
  }
}

const KEYS = new Set(["id", "source", "match", "format", "stream", "seq", "timeField", "transforms", "conflateMs"]);

/** Validates an untrusted binding object; throws BindingError naming the first problem. */
export function parseBinding(raw: unknown, knownSources?: Set<string>): Binding {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new BindingError("binding must be an object");
  const b = raw as Record<string, unknown>;
  const where = typeof b.id === "string" ? `binding ${b.id}` : "binding";
  for (const k of Object.keys(b)) if (!KEYS.has(k)) throw new BindingError(`${where}: unknown field "${k}"`);
  if (typeof b.id !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(b.id)) throw new BindingError(`${where}: id must be 1-64 of [A-Za-z0-9_.-]`);
  if (typeof b.source !== "string" || !b.source) throw new BindingError(`${where}: source is required`);
  if (knownSources && !knownSources.has(b.source)) throw new BindingError(`${where}: unknown source "${b.source}"`);
  if (b.match !== undefined && (typeof b.match !== "string" || !b.match)) throw new BindingError(`${where}: match must be a non-empty string`);
  if (b.format !== undefined && b.format !== "seed" && b.format !== "raw") throw new BindingError(`${where}: format must be "seed" or "raw"`);
  if (b.stream !== undefined) checkStreamRule(b.stream, where);
  if (b.seq !== undefined && b.seq !== "position" && b.seq !== "gateway" && !isFieldRule(b.seq)) {
    throw new BindingError(`${where}: seq must be "position", "gateway" or {"field": "..."}`);
  }
  if (b.timeField !== undefined && typeof b.timeField !== "string") throw new BindingError(`${where}: timeField must be a string`);
  if (b.conflateMs !== undefined && (typeof b.conflateMs !== "number" || !(b.conflateMs >= 1 && b.conflateMs <= 60_000))) {
    throw new BindingError(`${where}: conflateMs must be 1..60000`);
  }
  if (b.transforms !== undefined) {
    if (!Array.isArray(b.transforms)) throw new BindingError(`${where}: transforms must be an array`);
    b.transforms.forEach((t, i) => checkTransform(t, `${where} transform ${i}`));
  }
  return b as unknown as Binding;
}

/** Validates a whole set of bindings (ids unique); throws BindingError naming the first problem. */
export function parseBindings(raw: unknown[], knownSources?: Set<string>): Binding[] {
  const defs = raw.map((b) => parseBinding(b, knownSources));
  const ids = new Set<string>();
  for (const d of defs) {
    if (ids.has(d.id)) throw new BindingError(`duplicate binding id "${d.id}"`);
    ids.add(d.id);
  }
  return defs;
}

function isFieldRule(v: unknown): v is { field: string } {
  return v !== null && typeof v === "object" && typeof (v as { field?: unknown }).field === "string" && Object.keys(v).length === 1;
}

function checkStreamRule(v: unknown, where: string): void {
  if (v === null || typeof v !== "object" || Object.keys(v).length !== 1) throw new BindingError(`${where}: stream must be {fixed}, {template} or {field}`);
  const r = v as Record<string, unknown>;
  const val = r.fixed ?? r.template ?? r.field;
  if (typeof val !== "string" || !val) throw new BindingError(`${where}: stream must be {fixed}, {template} or {field} with a non-empty string`);
  if (r.template !== undefined && !/\{[a-zA-Z0-9_.]+\}/.test(val)) throw new BindingError(`${where}: stream template needs a {placeholder}`);
  if (r.fixed !== undefined && !isValidStreamName(val)) throw new BindingError(`${where}: stream.fixed "${val.slice(0, 64)}" is not a stream name (kind.name)`);
}

function checkTransform(t: unknown, where: string): void {
  if (t === null || typeof t !== "object" || Object.keys(t).length !== 1) throw new BindingError(`${where}: one of rename, drop, pick, filter`);
  const [kind, arg] = Object.entries(t)[0]!;
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === "string");
  switch (kind) {
    case "rename":
      if (arg === null || typeof arg !== "object" || !Object.values(arg).every((x) => typeof x === "string")) {
        throw new BindingError(`${where}: rename takes {"from": "to"}`);
      }
      return;
    case "drop":
    case "pick":
      if (!strings(arg)) throw new BindingError(`${where}: ${kind} takes an array of field names`);
      return;
    case "filter": {
      const f = arg as Record<string, unknown>;
      if (f === null || typeof f !== "object" || typeof f.field !== "string") throw new BindingError(`${where}: filter needs a field`);
      const ops = ["eq", "ne", "in", "exists"].filter((o) => o in f);
      if (ops.length !== 1) throw new BindingError(`${where}: filter takes exactly one of eq, ne, in, exists`);
      if ("in" in f && !Array.isArray(f.in)) throw new BindingError(`${where}: filter.in must be an array`);
      return;
    }
    default:
      throw new BindingError(`${where}: unknown transform "${kind}"`);
  }
}
