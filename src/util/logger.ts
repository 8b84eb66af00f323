import { deepRedact, isSecretField, REDACTED } from "./redact.ts";

/** Structured JSON log lines on stdout; one object per event, never a credential. */
export type LogLevel = "debug" | "info" | "warn" | "error";

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A leveled logger writing one JSON object per line. */
export class Logger {
  private min: number;

  constructor(
    level: LogLevel = "info",
    private readonly base: Record<string, unknown> = {},
    private readonly write: (line: string) => void = (l) => process.stdout.write(l + "\n"),
  ) {
    this.min = ORDER[level];
  }

  setLevel(level: LogLevel): void {
    this.min = ORDER[level];
  }

  /** A logger that adds `fields` to every line. */
  child(fields: Record<string, unknown>): Logger {
    const c = new Logger("info", { ...this.base, ...fields }, this.write);
    c.min = this.min;
    return c;
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= this.min;
  }

  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < this.min) return;
    const rec: Record<string, unknown> = { ts: new Date().toISOString(), level, event, ...(deepRedact(this.base) as Record<string, unknown>) };
    // Secrets are hidden at any depth, whatever the caller passes (redact.ts).
    if (fields) for (const k in fields) rec[k] = isSecretField(k, fields[k]) ? REDACTED : deepRedact(fields[k]);
    this.write(JSON.stringify(rec));
  }

  debug(event: string, fields?: Record<string, unknown>): void {
    this.log("debug", event, fields);
  }
  info(event: string, fields?: Record<string, unknown>): void {
    this.log("info", event, fields);
  }
  warn(event: string, fields?: Record<string, unknown>): void {
    this.log("warn", event, fields);
  }
  error(event: string, fields?: Record<string, unknown>): void {
    this.log("error", event, fields);
  }
}

/** A logger that drops everything; for tests and benches. */
export const silentLogger = new Logger("error", {}, () => {});
