/**
 * Options of the fan-out bench: `--name value` on the command line, or the env var FANOUT_NAME
 * (--client-procs 3 is FANOUT_CLIENT_PROCS=3). Checked against the limits of one machine; an
 * unknown flag is an error (exit 2).
 */

import { flagsOrExit } from "../flags.ts";
import { MAX_CONNECTIONS_PER_ADDRESS, MAX_SOCKETS_PER_PROCESS } from "../shared/client-process.ts";

/** Every flag and its default (0 for --pool and --client-procs: derived from --streams and --clients). */
const DEFAULTS = {
  clients: 15_000,
  streams: 4,
  pool: 0,
  batch: 20,
  servers: 2,
  "client-procs": 0,
  rounds: 4,
  seconds: 3,
  warmup: 1,
  "low-rounds": 2,
  "low-seconds": 4,
  rate: 0,
  "low-frac": 0.25,
  window: 2,
  log: "mmap",
  metrics: "on",
  compare: "log,metrics",
  only: "",
  hosts: 1,
  "send-buffer": 0,
  concurrency: 256,
  "sample-mask": 15,
  trace: "0",
  profile: "",
  diag: "0",
};

/** Parses and checks the options; throws on a value the bench cannot run with. */
export function parseOptions() {
  const f = flagsOrExit(DEFAULTS, { env: (name) => process.env["FANOUT_" + name.toUpperCase().replace(/-/g, "_")] });
  const opts = {
    clients: f.clients,
    streams: f.streams,
    pool: f.pool || f.streams,
    batch: f.batch,
    servers: f.servers,
    clientProcs: f["client-procs"] || Math.max(2, Math.ceil(f.clients / 8000)),
    rounds: f.rounds,
    seconds: f.seconds,
    warmup: f.warmup,
    lowRounds: f["low-rounds"],
    lowSeconds: f["low-seconds"],
    rate: f.rate,
    lowFrac: f["low-frac"],
    window: f.window,
    log: f.log as "mmap" | "mem",
    metrics: f.metrics as "on" | "off",
    compare: f.compare.split(",").filter((s) => s && s !== "none"),
    only: f.only.split(",").filter(Boolean),
    hosts: f.hosts,
    sendBuffer: f["send-buffer"],
    concurrency: f.concurrency,
    sampleMask: f["sample-mask"],
    trace: f.trace === "1",
    profile: f.profile,
    diag: f.diag === "1",
  };
  if (opts.streams > opts.pool) throw new Error("--streams must be <= --pool");
  if (Math.ceil(opts.clients / opts.clientProcs) > MAX_SOCKETS_PER_PROCESS) throw new Error("more than 15,000 sockets per client process (20,000 fd cap): raise --client-procs");
  if (Math.ceil(opts.clients / opts.hosts) > MAX_CONNECTIONS_PER_ADDRESS) throw new Error("more than 25,000 connections per destination address (ephemeral ports): raise --hosts");
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
