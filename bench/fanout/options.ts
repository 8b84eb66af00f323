/**
 * Options of the fan-out bench: `--name value` on the command line, or the env var FANOUT_NAME
 * (--client-procs 3 is FANOUT_CLIENT_PROCS=3). Checked against the limits of one machine.
 */

/** The option `--name`'s text, else FANOUT_NAME's, else `def`. */
function arg(name: string, def: string): string {
  const i = process.argv.indexOf("--" + name);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1]!;
  const env = process.env["FANOUT_" + name.toUpperCase().replace(/-/g, "_")];
  return env ?? def;
}
const num = (name: string, def: number) => {
  const v = Number(arg(name, String(def)));
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number`);
  return v;
};

/** Parses and checks the options; throws on a value the bench cannot run with. */
export function parseOptions() {
  const opts = {
    clients: num("clients", 15_000),
    streams: num("streams", 4),
    pool: 0,
    batch: num("batch", 20),
    servers: num("servers", 2),
    clientProcs: 0,
    rounds: num("rounds", 4),
    seconds: num("seconds", 3),
    warmup: num("warmup", 1),
    lowRounds: num("low-rounds", 2),
    lowSeconds: num("low-seconds", 4),
    rate: num("rate", 0),
    lowFrac: num("low-frac", 0.25),
    window: num("window", 2),
    log: arg("log", "mmap") as "mmap" | "mem",
    metrics: arg("metrics", "on") as "on" | "off",
    compare: arg("compare", "log,metrics").split(",").filter((s) => s && s !== "none"),
    only: arg("only", "").split(",").filter(Boolean),
    hosts: num("hosts", 1),
    sendBuffer: num("send-buffer", 0),
    concurrency: num("concurrency", 256),
    sampleMask: num("sample-mask", 15),
    trace: arg("trace", "0") === "1",
    profile: arg("profile", ""),
    diag: arg("diag", "0") === "1",
  };
  opts.pool = num("pool", opts.streams);
  opts.clientProcs = num("client-procs", Math.max(2, Math.ceil(opts.clients / 8000)));
  if (opts.streams > opts.pool) throw new Error("--streams must be <= --pool");
  if (Math.ceil(opts.clients / opts.clientProcs) > 15_000) throw new Error("more than 15,000 sockets per client process (20,000 fd cap): raise --client-procs");
  if (Math.ceil(opts.clients / opts.hosts) > 25_000) throw new Error("more than 25,000 connections per destination address (ephemeral ports): raise --hosts");
  if (!["mmap", "mem"].includes(opts.log) || !["on", "off"].includes(opts.metrics)) throw new Error("--log mmap|mem, --metrics on|off");
  return opts;
}

/** The bench's options, as parseOptions returns them. */
export type FanoutOptions = ReturnType<typeof parseOptions>;

/**
 * Loopback only. With --hosts > 1 the servers listen on 0.0.0.0 so that clients can spread over
 * 127.0.0.1..n as destinations (Bun's WebSocket client cannot bind a source address).
 */
export function addresses(opts: FanoutOptions): { hosts: string[]; listen: string } {
  return {
    hosts: Array.from({ length: opts.hosts }, (_, i) => `127.0.0.${i + 1}`),
    listen: opts.hosts > 1 ? "0.0.0.0" : "127.0.0.1",
  };
}
