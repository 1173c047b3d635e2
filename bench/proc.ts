/** What Linux's /proc says about a process (this one: "self"), for the benchmarks' memory and CPU figures. */
import { readFileSync } from "node:fs";

/** Current and peak resident set in bytes (/proc/PID/status; 0 where there is none). */
export function processMemory(pid: number | "self"): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** User + system CPU of a process in ms (/proc/PID/stat fields 14 and 15, in USER_HZ = 100 ticks/s on Linux). */
export function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}
