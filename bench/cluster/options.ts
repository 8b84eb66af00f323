/** Options of bench/cluster.ts: strict `parseArgs` (an unknown flag or a bad value is an error). */
import { parseArgs } from "node:util";
import { MAX_SOCKETS_PER_PROCESS } from "../shared/client-process.ts";
import type { SourceKind } from "./broker.ts";

/** What --chaos does during the measured window. */
export type Chaos = "none" | "rolling" | "kill";

export const USAGE = `usage: bun bench/cluster.ts [--clients 100000] [--gateways 6] [--seconds 30] [--source nats|redis|kafka]
       [--events-per-sec 500] [--pairs 200] [--orders-share 0.02] [--chaos none|rolling|kill]
       [--client-procs N] [--port 0] [--json]`;

/** Parses argv; throws with the usage on anything it does not know. */
export function parseOptions(argv = process.argv.slice(2)) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      clients: { type: "string", default: "100000" },
      gateways: { type: "string", default: "6" },
      seconds: { type: "string", default: "30" },
      source: { type: "string", default: "nats" },
      "events-per-sec": { type: "string", default: "500" },
      pairs: { type: "string", default: "200" },
      "orders-share": { type: "string", default: "0.02" },
      chaos: { type: "string", default: "none" },
      "client-procs": { type: "string" },
      port: { type: "string", default: "0" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", default: false },
    },
  });
  const num = (name: keyof typeof values, min: number, max: number, int = true): number => {
    const v = Number(values[name]);
    if (!Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) throw new Error(`--${name}: expected ${int ? "an integer" : "a number"} in ${min}..${max}, got ${values[name]}\n${USAGE}`);
    return v;
  };
  const source = values.source as SourceKind;
  if (!["nats", "redis", "kafka"].includes(source)) throw new Error(`--source: nats, redis or kafka\n${USAGE}`);
  const chaos = values.chaos as Chaos;
  if (!["none", "rolling", "kill"].includes(chaos)) throw new Error(`--chaos: none, rolling or kill\n${USAGE}`);
  const clients = num("clients", 1, 1_000_000);
  const clientProcs = values["client-procs"] === undefined ? Math.max(1, Math.ceil(clients / MAX_SOCKETS_PER_PROCESS)) : num("client-procs", 1, 200);
  if (Math.ceil(clients / clientProcs) > MAX_SOCKETS_PER_PROCESS) throw new Error(`more than ${MAX_SOCKETS_PER_PROCESS} sockets per client process (20,000 open files): raise --client-procs`);
  const gateways = num("gateways", 1, 64);
  if (chaos !== "none" && gateways < 2) throw new Error("--chaos needs at least 2 gateways (clients fail over to the others)");
  return {
    help: values.help,
    clients,
    gateways,
    seconds: num("seconds", 5, 3600),
    source,
    eventsPerSec: num("events-per-sec", 1, 1_000_000, false),
    pairs: num("pairs", 1, 10_000),
    ordersShare: num("orders-share", 0, 1, false),
    chaos,
    clientProcs,
    port: num("port", 0, 65535),
    json: values.json,
  };
}

/** The bench's options, as parseOptions returns them. */
export type ClusterOptions = ReturnType<typeof parseOptions>;
