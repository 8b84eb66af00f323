/**
 * The gateway processes of bench/cluster.ts: `bun src/main.ts` as in production (the probe is only
 * preloaded), N of them sharing one port with REUSE_PORT=1, each reading the same broker. Starts,
 * replaces (rolling update) and kills them, and keeps the CPU seconds of every one that ever ran,
 * so CPU per delivery counts the replaced ones too.
 */
import path from "node:path";
import type { Subprocess } from "bun";
import { cpuSec, rssKb } from "../fanout/proc-stats.ts";
import { spawnChild, timeout } from "../fanout/processes.ts";
import type { FromProbe, ToProbe } from "./gateway-probe.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const PROBE = path.join(import.meta.dir, "gateway-probe.ts");

/** One gateway process. */
export interface GatewayProc {
  id: number;
  proc: Subprocess;
  pid: number;
  /** Last CPU seconds read while it ran. */
  cpu: number;
  memWaiter?: (m: FromProbe) => void;
}

/** Settings every gateway gets. */
export interface FleetConfig {
  port: number;
  listen: string;
  configFile: string;
  runDir: string;
  jwtSecret: string;
  adminToken: string;
}

/** Pids listening on TCP `port` (from `ss`, which names each socket's process). */
function listeners(port: number): Set<number> {
  const out = Bun.spawnSync(["ss", "-Hltnp", `sport = :${port}`]).stdout.toString();
  return new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
}

/** The fleet. */
export class GatewayFleet {
  readonly live: GatewayProc[] = [];
  private readonly gone: GatewayProc[] = [];
  private nextId = 0;

  constructor(private readonly cfg: FleetConfig) {}

  /** Starts one gateway and resolves once it listens on the shared port. */
  async spawn(): Promise<GatewayProc> {
    const id = this.nextId++;
    const env: Record<string, string> = {
      PORT: String(this.cfg.port),
      HOST: this.cfg.listen,
      REUSE_PORT: "1",
      CONFIG_FILE: this.cfg.configFile,
      LOG_DIR: path.join(this.cfg.runDir, `log-${id}`),
      // Small segments: 600 public streams x 6 gateways of the default 4 MiB would be 14 GB of logs.
      LOG_SEGMENT_BYTES: String(256 * 1024),
      LOG_PRIVATE_SEGMENT_BYTES: String(16 * 1024),
      JWT_SECRET: this.cfg.jwtSecret,
      ADMIN_TOKEN: this.cfg.adminToken,
      SIMULATOR: "0",
      LOG_LEVEL: "warn",
      CONNECTIONS_PER_IP_PER_MIN: "1000000000",
      SHUTDOWN_GRACE_MS: "5000",
    };
    const g: GatewayProc = { id, proc: undefined as unknown as Subprocess, pid: 0, cpu: 0 };
    g.proc = spawnChild<FromProbe>([process.execPath, "--preload", PROBE, "src/main.ts"], env, (m) => g.memWaiter?.(m), { cwd: ROOT });
    g.pid = g.proc.pid;
    const deadline = performance.now() + 30_000;
    while (!listeners(this.cfg.port).has(g.pid)) {
      if (g.proc.exitCode !== null || g.proc.signalCode !== null) throw new Error(`gateway ${id} exited (${g.proc.exitCode ?? g.proc.signalCode}) before listening`);
      if (performance.now() > deadline) throw new Error(`gateway ${id} not listening on ${this.cfg.port} after 30 s`);
      await Bun.sleep(100);
    }
    this.live.push(g);
    return g;
  }

  /** Sends `signal` to live gateway `g` and resolves once it has exited (SIGKILL after `graceMs`). */
  async stop(g: GatewayProc, signal: "SIGTERM" | "SIGKILL", graceMs = 15_000): Promise<void> {
    this.sample();
    this.live.splice(this.live.indexOf(g), 1);
    this.gone.push(g);
    g.proc.kill(signal);
    const exited = await Promise.race([g.proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!exited) {
      g.proc.kill("SIGKILL");
      await g.proc.exited;
    }
  }

  /** Reads the CPU of the live gateways (call it often: a process's CPU is gone once it exits). */
  sample(): void {
    for (const g of this.live) {
      const c = cpuSec(g.pid);
      if (c > 0) g.cpu = c;
    }
  }

  /** CPU seconds of every gateway that ever ran, as last sampled. */
  cpuSec(): number {
    this.sample();
    let s = 0;
    for (const g of [...this.live, ...this.gone]) s += g.cpu;
    return s;
  }

  /** RSS of the live gateways, KiB. */
  rssKb(): number {
    let s = 0;
    for (const g of this.live) s += rssKb(g.pid);
    return s;
  }

  /** Heap statistics of each live gateway (after a full GC when `gc`). */
  async mem(gc: boolean): Promise<FromProbe[]> {
    return timeout(
      Promise.all(
        this.live.map(
          (g) =>
            new Promise<FromProbe>((resolve) => {
              g.memWaiter = resolve;
              g.proc.send({ t: "mem", gc } satisfies ToProbe);
            }),
        ),
      ),
      30_000,
      "gateway heap stats",
    );
  }

  /** Ends every gateway at once (end of run). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.live].map((g) => this.stop(g, "SIGKILL", 5000)));
  }
}
