// What the kernel says about a process's threads (Linux /proc), for tests of thread priorities.
import { readdirSync, readFileSync } from 'node:fs';

/** tid → nice, from /proc/<pid>/task/<tid>/stat (field 19; the name in parentheses may hold spaces). */
export function niceOfThreads(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(Number(t), Number(fields[16]));
    } catch {
      // the thread ended while we read
    }
  }
  return out;
}
