/**
 * A bench's child processes and temp dir, and the guarantees that they go away: on exit, on a
 * signal, and after a hard bound on the whole run (FANOUT_MAX_SECONDS, default 600, for
 * bench/fanout.ts; bench/cluster.ts passes its own). Async teardown (deleting a broker stream,
 * stopping a broker the run started) goes through onShutdown and runs, bounded, before the kill.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";

/** Temp dirs of earlier runs whose orchestrator died without cleaning up (kill -9): removed. */
function removeStaleTempDirs(prefix: string): void {
  for (const d of fs.readdirSync(os.tmpdir())) {
    if (!d.startsWith(prefix)) continue;
    const dir = path.join(os.tmpdir(), d);
    try {
      const owner = Number(fs.readFileSync(path.join(dir, "owner.pid"), "utf8"));
      if (owner > 0 && fs.existsSync(`/proc/${owner}`)) continue;
      fs.rmSync(dir, { recursive: true, force: true });
    } catch {}
  }
}

const children = new Set<Subprocess>();
let runDir: string | undefined;
let cleaned = false;

/** Creates this run's temp dir (removing those of dead earlier runs) and returns its path. */
export function createRunDir(prefix = "fanout-bench-"): string {
  removeStaleTempDirs(prefix);
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.writeFileSync(path.join(runDir, "owner.pid"), String(process.pid));
  return runDir;
}

/** Kills every child and removes the temp dir (once). */
export function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  for (const c of children) {
    try {
      c.kill("SIGKILL");
    } catch {}
  }
  children.clear();
  try {
    if (runDir) fs.rmSync(runDir, { recursive: true, force: true });
  } catch {}
}

const shutdownHooks: (() => unknown)[] = [];
let shuttingDown = false;

/** Registers async teardown for shutdown(); hooks run last-registered first. */
export function onShutdown(fn: () => unknown): void {
  shutdownHooks.push(fn);
}

/** Runs the shutdown hooks (at most `hookMs` in all), then cleanup(), then exits with `code`. */
export async function shutdown(code: number, hookMs = 15_000): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    const hooks = shutdownHooks.splice(0).reverse();
    const run = (async () => {
      for (const h of hooks) await Promise.resolve().then(h).catch((err) => console.error("bench teardown:", (err as Error).message));
    })();
    await Promise.race([run, Bun.sleep(hookMs)]);
  }
  cleanup();
  process.exit(code);
}

/**
 * Cleans up on exit and on SIGINT/SIGTERM/SIGHUP, and aborts the run after its hard bound: env
 * `limitEnv` seconds, else `defaultSeconds`.
 */
export function installCleanup(limitEnv = "FANOUT_MAX_SECONDS", defaultSeconds = 600): void {
  process.on("exit", cleanup);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => void shutdown(130));
  // Hard bound on the whole run, whatever happens.
  const hardLimitMs = Number(process.env[limitEnv] ?? defaultSeconds) * 1000;
  setTimeout(() => {
    console.error(`bench: over ${hardLimitMs / 1000} s (${limitEnv}), aborting`);
    void shutdown(1);
  }, hardLimitMs).unref();
}

/** Spawns a child with IPC (JSON) whose messages go to `onMessage`; it is killed by cleanup(). */
export function spawnChild<M>(cmd: string[], env: Record<string, string>, onMessage: (m: M) => void, opts: { cwd?: string; stdout?: "inherit" | "ignore" } = {}): Subprocess {
  // A clean environment: nothing of the caller's gateway settings (CONFIG_FILE, LOG_DIR, ...) leaks in.
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TMPDIR: os.tmpdir() };
  const proc = Bun.spawn({
    cmd,
    cwd: opts.cwd,
    env: { ...base, ...env },
    stdio: ["ignore", opts.stdout ?? "inherit", "inherit"],
    serialization: "json",
    ipc: (m) => onMessage(m as M),
  });
  children.add(proc);
  void proc.exited.then(() => children.delete(proc));
  return proc;
}

/** Asks a child to exit with `msg`; kills it when it has not within `graceMs`. */
export async function stopChild(proc: Subprocess, msg: object, graceMs: number): Promise<void> {
  try {
    proc.send(msg);
  } catch {}
  const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
  if (!done) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

/** `p`, or a rejection naming `what` after `ms`. */
export function timeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, Bun.sleep(ms).then(() => Promise.reject(new Error(`timeout: ${what}`)))]);
}
