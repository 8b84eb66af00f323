/**
 * The config file's `sources`: plain data, validated by a pure function before any source is
 * built from it (src/sources/source-factory.ts builds them).
 */
import { validateRabbitMqDef } from "./rabbitmq-source-def.ts";

/** One entry of the config file's `sources`: a name, a kind, and that kind's settings. */
export interface SourceDef {
  name: string;
  kind: "kafka" | "nats" | "redis" | "rabbitmq";
  [setting: string]: unknown;
}

/** Checks the shape of `sources` entries; returns the problems found (empty when fine). */
export function validateSourceDefs(raw: unknown[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>(["embedded"]);
  raw.forEach((r, i) => {
    const where = `sources[${i}]`;
    if (r === null || typeof r !== "object") return void problems.push(`${where}: expected an object`);
    const d = r as Record<string, unknown>;
    if (typeof d.name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(d.name)) problems.push(`${where}: name must be 1-64 of [A-Za-z0-9_-]`);
    else if (names.has(d.name)) problems.push(`${where}: duplicate source name "${d.name}"`);
    else names.add(d.name);
    const list = (k: string) => Array.isArray(d[k]) && (d[k] as unknown[]).length > 0 && (d[k] as unknown[]).every((x) => typeof x === "string");
    switch (d.kind) {
      case "kafka":
        if (!list("brokers") || !list("topics")) problems.push(`${where}: kafka needs brokers and topics (non-empty string arrays)`);
        break;
      case "nats":
        if (typeof d.servers !== "string" && !list("servers")) problems.push(`${where}: nats needs servers`);
        if (d.mode === "jetstream") {
          if (typeof d.stream !== "string") problems.push(`${where}: jetstream needs stream`);
        } else if (d.mode === "core") {
          if (!list("subjects")) problems.push(`${where}: nats core needs subjects`);
        } else problems.push(`${where}: nats mode must be "core" or "jetstream"`);
        break;
      case "redis":
        if (typeof d.url !== "string" || !list("streams")) problems.push(`${where}: redis needs url and streams`);
        if (d.from !== undefined && d.from !== "$" && d.from !== "0") problems.push(`${where}: redis from must be "$" or "0"`);
        break;
      case "rabbitmq":
        problems.push(...validateRabbitMqDef(d, where));
        break;
      default:
        problems.push(`${where}: kind must be kafka, nats, redis or rabbitmq`);
    }
  });
  return problems;
}
