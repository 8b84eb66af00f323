/** Figures of processes and of the machine, read from /proc. */
import fs from "node:fs";

/** Resident memory of a process, KiB. */
export function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}
/** CPU seconds (user + system, all threads) of a process. */
export function cpuSec(pid: number): number {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return 0;
  }
}
/** Busy CPU seconds of the whole machine (every process of every user), from /proc/stat. */
export function machineBusySec(): number {
  const line = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
}
