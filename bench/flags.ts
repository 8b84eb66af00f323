/**
 * Strict command-line flags for the bench scripts: `--name value` (or `--name=value`) for every
 * flag in `defaults`, nothing else. An unknown flag, a missing value, a stray argument or a number
 * that is not one is an error (exit 2 with usage), never a silent default.
 */
import { parseArgs } from "node:util";

/** Flag name (kebab-case) -> default; numbers parse as numbers, strings stay text. */
export type FlagDefaults = Record<string, string | number>;

/** Thrown by parseFlags on a bad command line; `usage` lists the known flags. */
export class FlagError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

/** The flags of `argv` (default: this process's) over `defaults`; `env(name)` may supply a value first. */
export function parseFlags<T extends FlagDefaults>(defaults: T, opts: { argv?: string[]; env?: (name: string) => string | undefined } = {}): { -readonly [K in keyof T]: T[K] extends number ? number : string } {
  const usage = "flags: " + Object.entries(defaults).map(([k, v]) => `--${k} ${typeof v === "number" ? "<number>" : "<text>"} (default ${JSON.stringify(v)})`).join(", ");
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: opts.argv ?? process.argv.slice(2),
      options: Object.fromEntries(Object.keys(defaults).map((k) => [k, { type: "string" as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new FlagError((err as Error).message, usage);
  }
  const out: Record<string, string | number> = {};
  for (const [name, def] of Object.entries(defaults)) {
    const text = (values[name] as string | undefined) ?? opts.env?.(name);
    if (text === undefined) {
      out[name] = def;
    } else if (typeof def === "number") {
      const n = text.trim() === "" ? NaN : Number(text);
      if (!Number.isFinite(n)) throw new FlagError(`--${name}: "${text}" is not a number`, usage);
      out[name] = n;
    } else {
      out[name] = text;
    }
  }
  return out as never;
}

/** Ends the script with exit 2 and `message` (a flag value the bench cannot run with). */
export function usageError(message: string): never {
  console.error(message);
  process.exit(2);
}

/** parseFlags for a script's main: on a bad command line prints the problem and usage, exits 2. */
export function flagsOrExit<T extends FlagDefaults>(defaults: T, opts?: Parameters<typeof parseFlags<T>>[1]): ReturnType<typeof parseFlags<T>> {
  try {
    return parseFlags(defaults, opts);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    console.error(`${err.message}\n${err.usage}`);
    process.exit(2);
  }
}
