// What /proc says about CPU and memory: a process's CPU time and resident memory, and how busy the
// whole machine is (to tell the bench's own load from other people's).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';

export interface Memory {
  /** Resident set size now (VmRSS), MiB. */
  rssMiB: number;
  /** Peak resident set size since start (VmHWM), MiB. */
  hwmMiB: number;
}

/** VmRSS and VmHWM of a process, from /proc/<pid>/status. */
export function readMemory(pid: number): Memory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    if (!m?.[1]) throw new Error(`no ${field} in /proc/${pid}/status`);
    return Number(m[1]);
  };
  return { rssMiB: kib('VmRSS') / 1024, hwmMiB: kib('VmHWM') / 1024 };
}

let clockTicks: number | undefined;

/** CPU time (user + system) a process has used so far, ms, from /proc/<pid>/stat. */
export function readCpuMs(pid: number): number {
  clockTicks ??= Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks;
}

/** Busy and total jiffies (1/100 s of one CPU) of the whole machine, from /proc/stat. */
export function cpuJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of all CPUs busy over `ms` while the bench itself does nothing: other people's load. */
export async function machineBusyPct(ms: number): Promise<number> {
  const a = cpuJiffies();
  await sleep(ms);
  const b = cpuJiffies();
  return (100 * (b.busy - a.busy)) / Math.max(1, b.total - a.total);
}

/** pid of redis-server when it runs on this machine (from INFO), for its CPU time. */
export async function findRedisPid(r: Redis): Promise<number | undefined> {
  const info = await r.info('server');
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  if (!pid) return undefined;
  try {
    readCpuMs(pid);
    return pid;
  } catch {
    return undefined; // another machine or container
  }
}
