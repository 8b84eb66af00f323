/** Bench scripts parse their flags strictly: an unknown flag or a bad value is exit 2, not a default. */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { FlagError, parseFlags } from "../../bench/flags.ts";

const ROOT = join(import.meta.dir, "../..");

describe("parseFlags", () => {
  const defaults = { clients: 100, mode: "client", "depth-levels": 10 };

  test("defaults, --name value, --name=value, numbers as numbers", () => {
    expect(parseFlags(defaults, { argv: [] })).toEqual({ clients: 100, mode: "client", "depth-levels": 10 });
    expect(parseFlags(defaults, { argv: ["--clients", "7", "--depth-levels=20", "--mode", "raw"] })).toEqual({ clients: 7, mode: "raw", "depth-levels": 20 });
  });

  test("the environment supplies a value when the command line does not", () => {
    const env = (n: string) => (n === "clients" ? "9" : undefined);
    expect(parseFlags(defaults, { argv: [], env }).clients).toBe(9);
    expect(parseFlags(defaults, { argv: ["--clients", "3"], env }).clients).toBe(3);
  });

  test.each([
    [["--client", "5"], /Unknown option '--client'/],
    [["--clients"], /argument missing/],
    [["--clients", "lots"], /--clients: "lots" is not a number/],
    [["--clients", ""], /--clients: "" is not a number/],
    [["stray"], /Unexpected argument 'stray'/],
  ])("%p is refused: %p", (argv, message) => {
    let err: unknown;
    try {
      parseFlags(defaults, { argv: argv as string[] });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FlagError);
    expect((err as FlagError).message).toMatch(message);
    expect((err as FlagError).usage).toContain("--depth-levels <number> (default 10)");
  });
});

const SCRIPTS = ["codec.ts", "ringlog.ts", "binary-vs-json.ts", "e2e.ts", "fanout.ts", "cluster.ts", "depth-bandwidth.ts"];

describe("every bench script", () => {
  test("is in this list (bench/*.ts except flags.ts)", () => {
    const found = readdirSync(join(ROOT, "bench")).filter((f) => f.endsWith(".ts") && f !== "flags.ts");
    expect(found.sort()).toEqual([...SCRIPTS].sort());
  });

  test.each(SCRIPTS)("%s exits 2 on an unknown flag, before doing any work", (script) => {
    const r = Bun.spawnSync([process.execPath, join(ROOT, "bench", script), "--no-such-flag", "1"], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
    const err = r.stderr.toString();
    expect(err).toContain("Unknown option '--no-such-flag'");
    expect(r.exitCode).toBe(2);
  });
});
