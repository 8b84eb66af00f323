/**
 * The store directory's ".lock" file: a best-effort guard against two gateways writing the same
 * logs, and the record of how the previous owner stopped.
 *
 * The file exists exactly while a store has the directory open; a clean close removes it. Finding
 * one whose owner is gone means that owner crashed. If it crashed in this boot, its mapped writes
 * are in the page cache and nothing is lost; if the boot id differs the machine went down with the
 * store open, and whatever the kernel had not written back is gone. Not a mutex: two processes
 * starting in the same instant over a stale lock can both take it.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fsyncDir } from "./stream-dir.ts";

/** How the previous owner of a store directory left it. */
export type PreviousShutdown = "clean" | "process-crash" | "machine-crash";

interface LockFile {
  pid: number;
  bootId: string;
  /** Start time of the owning process, to tell it from a later process that reused its pid. */
  startTime: string;
}

const LOCK = ".lock";
const heldHere = new Set<string>();

/**
 * Takes `root` for this process. Returns how the previous owner left it, and leaves the lock to be
 * written by `writeDirLock` once the caller has dealt with a crash (a "machine-crash" answer must
 * stay on disk until every log it concerns has been handled). Throws when `root` is in use.
 */
export function claimDir(root: string): PreviousShutdown {
  if (heldHere.has(root)) throw new Error(`log dir ${root} is already open in this process`);
  const p = path.join(root, LOCK);
  let text: string;
  try {
    text = fs.readFileSync(p, "utf8");
  } catch {
    heldHere.add(root);
    return "clean";
  }
  let lock: Partial<LockFile> = {};
  try {
    lock = JSON.parse(text) as Partial<LockFile>;
  } catch {
    // A lock torn by a machine crash.
  }
  const boot = bootId();
  if (typeof lock.pid !== "number" || lock.bootId !== boot) {
    heldHere.add(root);
    return "machine-crash";
  }
  if (lock.pid !== process.pid && isAlive(lock.pid) && processStartTime(lock.pid) === lock.startTime) {
    throw new Error(`log dir ${root} is in use by pid ${lock.pid}`);
  }
  heldHere.add(root);
  return "process-crash";
}

/** Writes this process's lock (durably: a stale one must not come back after a machine crash). */
export function writeDirLock(root: string): void {
  const lock: LockFile = { pid: process.pid, bootId: bootId(), startTime: processStartTime(process.pid) };
  const tmp = path.join(root, `${LOCK}.tmp`);
  const fd = fs.openSync(tmp, "w", 0o644);
  try {
    fs.writeSync(fd, JSON.stringify(lock));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(root, LOCK));
  fsyncDir(root);
}

/** Removes the lock after a clean close: the next owner will find "clean". */
export function releaseDir(root: string, removeLock: boolean): void {
  heldHere.delete(root);
  if (!removeLock) return;
  try {
    fs.unlinkSync(path.join(root, LOCK));
  } catch {
    // Already gone: nothing to release.
  }
}

let cachedBootId: string | undefined;

/** Identifies the current boot: Linux's boot_id, else the boot time rounded to 10 s. */
export function bootId(): string {
  if (cachedBootId !== undefined) return cachedBootId;
  try {
    cachedBootId = fs.readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    // A rounding edge can misreport a reboot; that only costs an unneeded epoch change.
    cachedBootId = `boot@${Math.round((Date.now() / 1000 - os.uptime()) / 10)}`;
  }
  return cachedBootId;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function processStartTime(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Field 22 (starttime); fields after the ")" that closes the command name start at field 3.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}
