/** Reads typed settings from env (wins) or a parsed config file (dotted path), collecting problems. */
export class Reader {
  readonly problems: string[] = [];

  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly file: Record<string, unknown>,
  ) {}

  problem(msg: string): void {
    this.problems.push(msg);
  }

  private raw(envName: string, path: string): unknown {
    const e = this.env[envName];
    if (e !== undefined && e !== "") return e;
    let cur: unknown = this.file;
    for (const part of path.split(".")) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
    return cur;
  }

  str(envName: string, path: string): string | undefined {
    const v = this.raw(envName, path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") {
      this.problem(`${envName} (${path}): expected a string, got ${JSON.stringify(v)}`);
      return undefined;
    }
    return v;
  }

  num(envName: string, path: string, def: number, min: number, max: number): number {
    const v = this.raw(envName, path);
    if (v === undefined || v === null) return def;
    const n = typeof v === "number" ? v : Number(v);
    if (!Number.isFinite(n) || n < min || n > max) {
      this.problem(`${envName} (${path}): expected a number in [${min}, ${max}], got ${JSON.stringify(v)}`);
      return def;
    }
    return n;
  }

  int(envName: string, path: string, def: number, min: number, max: number): number {
    const n = this.num(envName, path, def, min, max);
    if (!Number.isInteger(n)) {
      this.problem(`${envName} (${path}): expected a whole number, got ${n}`);
      return def;
    }
    return n;
  }

  bool(envName: string, path: string, def: boolean): boolean {
    const v = this.raw(envName, path);
    if (v === undefined || v === null) return def;
    if (typeof v === "boolean") return v;
    const s = String(v).toLowerCase();
    if (["1", "true", "yes", "on"].includes(s)) return true;
    if (["0", "false", "no", "off"].includes(s)) return false;
    this.problem(`${envName} (${path}): expected true/false or 1/0, got ${JSON.stringify(v)}`);
    return def;
  }

  optList(envName: string, path: string): string[] | undefined {
    const v = this.raw(envName, path);
    if (v === undefined || v === null) return undefined;
    if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
    if (typeof v === "string") return v.split(",").map((s) => s.trim()).filter(Boolean);
    this.problem(`${envName} (${path}): expected a comma-separated list or an array of strings`);
    return undefined;
  }

  list(envName: string, path: string, def: string[]): string[] {
    return this.optList(envName, path) ?? def;
  }

  oneOf<T extends string>(envName: string, path: string, allowed: readonly T[], def: T): T {
    const v = this.str(envName, path);
    if (v === undefined) return def;
    if (!(allowed as readonly string[]).includes(v)) {
      this.problem(`${envName} (${path}): expected one of ${allowed.join(", ")}, got "${v}"`);
      return def;
    }
    return v as T;
  }
}
