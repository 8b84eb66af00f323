/**
 * The bench's child processes and temp dir, and the guarantees that they go away: on exit, on a
 * signal, and after a hard bound on the whole run (FANOUT_MAX_SECONDS, default 600).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Subprocess } from "bun";

/** Temp dirs of earlier runs whose orchestrator died without cleaning up (kill -9): removed. */
function removeStaleTempDirs(): void {
  for (const d of fs.readdirSync(os.tmpdir())) {
    if (!d.startsWith("fanout-bench-")) continue;
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
export function createRunDir(): string {
  removeStaleTempDirs();
  runDir = fs.mkdtempSync(path.join(os.tmpdir(), "fanout-bench-"));
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

/** Cleans up on exit and on SIGINT/SIGTERM/SIGHUP, and aborts the run after its hard bound. */
export function installCleanup(): void {
  process.on("exit", cleanup);
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  // Hard bound on the whole run, whatever happens.
  const hardLimitMs = Number(process.env.FANOUT_MAX_SECONDS ?? 600) * 1000;
  setTimeout(() => {
    console.error(`fanout bench: over ${hardLimitMs / 1000} s, aborting`);
    cleanup();
    process.exit(1);
  }, hardLimitMs).unref();
}

/** Spawns a child with IPC (JSON) whose messages go to `onMessage`; it is killed by cleanup(). */
export function spawnChild<M>(cmd: string[], env: Record<string, string>, onMessage: (m: M) => void): Subprocess {
  // A clean environment: nothing of the caller's gateway settings (CONFIG_FILE, LOG_DIR, ...) leaks in.
  const base: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", TMPDIR: os.tmpdir() };
  const proc = Bun.spawn({
    cmd,
    env: { ...base, ...env },
    stdio: ["ignore", "inherit", "inherit"],
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
