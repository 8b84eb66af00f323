/**
 * Builds the @cex-ws-gateway/client package into a directory ready for `npm pack`:
 *   dist/index.js          ESM for Bun and Node (the protocol/ code bundled in, flatbuffers external)
 *   dist/index.browser.js  ESM for browsers and bundlers
 *   dist/cli.js            the `cex-ws` bin
 *   dist/types/            declarations (tsc), of clients/ts and the protocol/ files it uses
 * plus package.json and README.md.
 *
 *   bun clients/ts/build.ts --out <dir>     (default clients/ts/.package)
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

const HERE = import.meta.dir;
const ROOT = path.resolve(HERE, "../..");

/** Builds into `out` (emptied first); returns the files written, relative to it. */
export async function buildClientPackage(out: string): Promise<string[]> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(path.join(out, "dist"), { recursive: true });
  const bundles: { entry: string; target: "node" | "browser"; name: string; banner?: string }[] = [
    { entry: path.join(HERE, "index.ts"), target: "node", name: "index.js" },
    { entry: path.join(HERE, "index.ts"), target: "browser", name: "index.browser.js" },
    { entry: path.join(ROOT, "clients/cli/bin.ts"), target: "node", name: "cli.js", banner: "#!/usr/bin/env node" },
  ];
  await Promise.all(
    bundles.map(async (b) => {
      const r = await Bun.build({ entrypoints: [b.entry], target: b.target, format: "esm", external: ["flatbuffers"], minify: false, sourcemap: "none", banner: b.banner });
      if (!r.success) throw new Error(`${b.name}: ${r.logs.map(String).join("\n")}`);
      writeFileSync(path.join(out, "dist", b.name), await r.outputs[0]!.text(), { mode: b.banner ? 0o755 : 0o644 });
    }),
  );
  await declarations(path.join(out, "dist/types"));
  cpSync(path.join(HERE, "package.json"), path.join(out, "package.json"));
  cpSync(path.join(HERE, "README.md"), path.join(out, "README.md"));
  return listFiles(out);
}

/** tsc declarations of the client's public entry; `.ts` import specifiers become `.js`. */
async function declarations(outDir: string): Promise<void> {
  const tsconfig = path.join(path.dirname(outDir), "tsconfig.types.json");
  writeFileSync(
    tsconfig,
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "ESNext",
        moduleResolution: "bundler",
        lib: ["ES2022", "DOM"],
        types: [],
        strict: true,
        skipLibCheck: true,
        declaration: true,
        emitDeclarationOnly: true,
        allowImportingTsExtensions: true,
        verbatimModuleSyntax: true,
        rootDir: ROOT,
        outDir,
      },
      files: [path.join(HERE, "index.ts")],
    }),
  );
  const tsc = Bun.spawnSync([process.execPath, path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", tsconfig], { stdout: "pipe", stderr: "pipe" });
  rmSync(tsconfig);
  if (tsc.exitCode !== 0) throw new Error(`tsc: ${tsc.stdout.toString()}${tsc.stderr.toString()}`);
  for (const f of listFiles(outDir)) {
    const p = path.join(outDir, f);
    writeFileSync(p, readFileSync(p, "utf8").replace(/(from\s+["']\.{1,2}\/[^"']*?)\.ts(["'])/g, "$1.js$2").replace(/(import\(["']\.{1,2}\/[^"']*?)\.ts(["']\))/g, "$1.js$2"));
  }
}

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const rel = path.join(prefix, name);
    if (statSync(path.join(dir, name)).isDirectory()) out.push(...listFiles(path.join(dir, name), rel));
    else out.push(rel);
  }
  return out;
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { out: { type: "string" } }, strict: true });
  const out = path.resolve(values.out ?? path.join(HERE, ".package"));
  const t0 = performance.now();
  const files = await buildClientPackage(out);
  console.log(`built ${files.length} files into ${out} in ${Math.round(performance.now() - t0)} ms`);
}
