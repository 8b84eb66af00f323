/**
 * The import layering of docs/architecture.md, checked over the import graph: every relative
 * import (type-only ones included: a type import is a dependency too) of protocol/, src/ and
 * clients/ must point at a layer its own layer may use. A new import against the layering fails
 * here with the file, the import and the rule it breaks.
 */
import { describe, expect, test } from "bun:test";
import { Glob } from "bun";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "../..");

/**
 * Layer of a file and what it may import, bottom first. A rule's `may` lists path prefixes; the
 * first rule whose `files` prefix matches a file applies to it (so more specific rules come first).
 */
const RULES: { files: string; may: string[]; why: string }[] = [
  { files: "protocol/", may: ["protocol/"], why: "the protocol leaf imports nothing of the server or the clients" },
  { files: "src/util/", may: ["protocol/", "src/util/"], why: "util sits on the protocol only" },
  { files: "src/codec/", may: ["protocol/", "src/util/", "src/codec/"], why: "codec sits on the protocol" },
  { files: "src/log/", may: ["protocol/", "src/util/", "src/log/"], why: "log sits on the protocol" },
  { files: "src/config/", may: ["protocol/", "src/util/", "src/config/"], why: "config is pure functions over plain data" },
  { files: "src/books/", may: ["protocol/", "src/util/", "src/codec/", "src/log/", "src/books/"], why: "order books sit on codec and log" },
  {
    files: "src/sources/",
    may: ["protocol/", "src/util/", "src/codec/", "src/log/", "src/config/", "src/sources/"],
    why: "sources sit on codec, log and config",
  },
  {
    files: "src/metrics/",
    may: ["protocol/", "src/util/", "src/config/", "src/sources/source.ts", "src/metrics/"],
    why: "metrics reads the gateway through its ScrapeTarget view, never by import",
  },
  {
    files: "src/gateway/",
    may: ["protocol/", "src/util/", "src/codec/", "src/log/", "src/config/", "src/books/", "src/metrics/", "src/sources/source.ts", "src/sources/routing/message-router.ts", "src/gateway/"],
    why: "the gateway imports neither admin nor concrete sources (main wires them); it knows sources through the Source and MessageRouter interfaces",
  },
  {
    files: "src/admin/",
    may: ["protocol/", "src/util/", "src/config/", "src/metrics/", "src/log/", "src/sources/source.ts", "src/sources/routing/message-router.ts", "src/admin/"],
    why: "admin sees the gateway through its AdminView, never by import",
  },
  { files: "src/web/", may: ["protocol/", "src/util/", "src/web/"], why: "the web page is served by path, never imported" },
  { files: "src/main.ts", may: ["protocol/", "src/"], why: "main wires the server; it never imports clients/" },
  { files: "src/create-gateway.ts", may: ["protocol/", "src/"], why: "createGateway wires the server; it never imports clients/" },
  { files: "src/", may: ["protocol/", "src/"], why: "the server never imports clients/" },
  { files: "clients/ts/", may: ["protocol/", "clients/ts/"], why: "the client shares the protocol leaf, never src/" },
  { files: "clients/", may: ["protocol/", "clients/"], why: "clients never import src/" },
];

/** Files that only main (or createGateway beside it) may import: the wiring. */
const WIRING = ["src/main.ts", "src/create-gateway.ts"];

/** Every relative import specifier of `text`, type-only imports and re-exports included. */
function importSpecifiers(text: string): string[] {
  const out: string[] = [];
  // `import|export [type] <clause> from "x"` (the clause may span lines), `import "x"`, `import("x")`.
  const clause = String.raw`(?:type\s+)?(?:\{[^}]*\}|\*(?:\s+as\s+\w+)?|\w+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+\w+))?)`;
  const re = new RegExp(String.raw`^\s*(?:import|export)\s+${clause}\s*from\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)`, "gm");
  for (const m of text.matchAll(re)) out.push((m[1] ?? m[2] ?? m[3])!);
  return out;
}

interface Edge {
  from: string;
  to: string;
}

async function importGraph(): Promise<Edge[]> {
  const edges: Edge[] = [];
  for (const dir of ["protocol", "src", "clients"]) {
    for await (const f of new Glob(`${dir}/**/*.ts`).scan(ROOT)) {
      if (f.startsWith("protocol/generated/")) continue; // flatc's output imports only itself and flatbuffers
      const text = await Bun.file(path.join(ROOT, f)).text();
      for (const spec of importSpecifiers(text)) {
        if (!spec.startsWith(".")) continue;
        edges.push({ from: f, to: path.posix.normalize(path.posix.join(path.posix.dirname(f), spec)) });
      }
    }
  }
  return edges;
}

function ruleOf(file: string) {
  return RULES.find((r) => file.startsWith(r.files));
}

/** The import's problem against the layering, or undefined when it is allowed. */
function violation(e: Edge): string | undefined {
  const rule = ruleOf(e.from);
  if (!rule) return `${e.from}: no layer (add it to RULES and docs/architecture.md)`;
  if (WIRING.includes(e.to) && !WIRING.includes(e.from)) return `${e.from} -> ${e.to}: only main wires`;
  const backend = (f: string) => /^src\/sources\/([^/]+)\//.exec(f)?.[1];
  const [a, b] = [backend(e.from), backend(e.to)];
  if (a && b && a !== b && a !== "routing" && b !== "routing") return `${e.from} -> ${e.to}: one source backend does not import another`;
  if (rule.may.some((p) => e.to === p || e.to.startsWith(p))) return undefined;
  return `${e.from} -> ${e.to}: ${rule.why}`;
}

describe("import layering (docs/architecture.md)", () => {
  test("the scanner sees value, type-only and dynamic imports and re-exports", () => {
    const text = [
      'import { a } from "./a.ts";',
      'import type { B } from "../b.ts";',
      "import {\n  c,\n  type D,\n} from './c.ts';",
      'export { e } from "./e.ts";',
      'export type { F } from "./f.ts";',
      'const g = await import("./g.ts");',
      'import "./side-effect.ts";',
      'import x from "node:fs";',
      'export function f(s: string) { return s.indexOf("."); }',
      ' * a comment: import it from "./not-an-import.ts" some day',
    ].join("\n");
    expect(importSpecifiers(text)).toEqual(["./a.ts", "../b.ts", "./c.ts", "./e.ts", "./f.ts", "./g.ts", "./side-effect.ts", "node:fs"]);
  });

  test("the rules catch what they are meant to", () => {
    expect(violation({ from: "protocol/frames.ts", to: "src/codec/json-codec.ts" })).toContain("protocol leaf");
    expect(violation({ from: "clients/ts/client.ts", to: "src/gateway/protocol.ts" })).toContain("never src/");
    expect(violation({ from: "src/gateway/gateway.ts", to: "src/admin/admin-api.ts" })).toBeDefined();
    expect(violation({ from: "src/config/config.ts", to: "src/gateway/auth/api-key-store.ts" })).toContain("pure functions");
    expect(violation({ from: "src/admin/admin-api.ts", to: "src/gateway/gateway.ts" })).toContain("AdminView");
    expect(violation({ from: "src/sources/kafka/kafka-source.ts", to: "src/sources/nats/nats-source.ts" })).toContain("backend");
    expect(violation({ from: "src/gateway/fanout.ts", to: "src/main.ts" })).toContain("only main wires");
    expect(violation({ from: "src/main.ts", to: "clients/web/serve.ts" })).toContain("never imports clients/");
    expect(violation({ from: "src/gateway/session.ts", to: "protocol/frames.ts" })).toBeUndefined();
    expect(violation({ from: "src/sources/kafka/kafka-source.ts", to: "src/sources/source.ts" })).toBeUndefined();
  });

  test("every import of protocol/, src/ and clients/ runs with the layering", async () => {
    const edges = await importGraph();
    expect(edges.length).toBeGreaterThan(100);
    const problems = edges.map(violation).filter((v): v is string => v !== undefined);
    expect([...new Set(problems)].sort()).toEqual([]);
  });
});
