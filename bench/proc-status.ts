// Linux /proc/<pid>/status memory fields (kB in the file; bytes here).
import { readFileSync } from 'node:fs';

export interface ProcMemory {
  /** Resident set size (VmRSS = RssAnon + RssFile + RssShmem). */
  rss: number;
  /** Peak RSS (VmHWM). */
  hwm: number;
  /** Anonymous memory (heap, stacks) — what this process alone costs. */
  rssAnon: number;
  /** File-backed pages (node binary, shared libraries): largely shared with other processes. */
  rssFile: number;
}

export function procMemory(pid: number | 'self' = 'self'): ProcMemory {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(s);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]) * 1024;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), rssAnon: kb('RssAnon'), rssFile: kb('RssFile') };
}

export const MB = 1024 * 1024;
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
};
export const percentile = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
