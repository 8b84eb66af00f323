import type { Transform } from "../../config/bindings.ts";

/** A compiled transform: returns the new payload, or undefined to filter the event out. */
export type CompiledTransform = (data: unknown) => unknown;

/** Reads a dotted path (`a.b.0`) from a value. */
export function getPath(v: unknown, path: string): unknown {
  let cur = v;
  for (const p of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** Compiles a binding's transforms into one function run once per event. */
export function compileTransforms(ts: Transform[] | undefined): CompiledTransform | undefined {
  if (!ts || ts.length === 0) return undefined;
  const steps = ts.map(compileOne);
  return (data) => {
    let cur: unknown = data;
    for (const step of steps) {
      cur = step(cur);
      if (cur === undefined) return undefined;
    }
    return cur;
  };
}

function compileOne(t: Transform): CompiledTransform {
  if ("rename" in t) {
    const pairs = Object.entries(t.rename);
    return (d) => {
      if (!isObject(d)) return d;
      const out: Record<string, unknown> = { ...d };
      for (const [from, to] of pairs) {
        if (from in out) {
          out[to] = out[from];
          delete out[from];
        }
      }
      return out;
    };
  }
  if ("drop" in t) {
    const names = t.drop;
    return (d) => {
      if (!isObject(d)) return d;
      const out: Record<string, unknown> = { ...d };
      for (const n of names) delete out[n];
      return out;
    };
  }
  if ("pick" in t) {
    const names = t.pick;
    return (d) => {
      if (!isObject(d)) return d;
      const out: Record<string, unknown> = {};
      for (const n of names) if (n in d) out[n] = d[n];
      return out;
    };
  }
  const f = t.filter;
  const keep =
    "eq" in f ? (v: unknown) => v === f.eq
    : "ne" in f ? (v: unknown) => v !== f.ne
    : "in" in f ? (v: unknown) => f.in!.includes(v)
    : (v: unknown) => (v !== undefined) === f.exists;
  return (d) => (keep(getPath(d, f.field)) ? d : undefined);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
