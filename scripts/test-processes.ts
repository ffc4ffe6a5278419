// "No process outlives the suite" (issue 11): the test runner marks its environment with a run id
// that every process started under it inherits (test files, and what they start: flowgate,
// Kamailio, sipp, baresip, redis-server, chromium…, also when they daemonize or are re-parented);
// after the last file, any process still carrying the mark is a leftover: listed, and killed by PID.
// Linux only (/proc); elsewhere the check reports nothing.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** The environment variable that carries the run id. */
export const TEST_RUN_ENV = 'FLOWGATE_TEST_RUN';

/** Marks this process's environment (inherited by every child) with a fresh run id; returns it. */
export function markTestRun(): string {
  const id = `${process.pid}-${randomUUID()}`;
  process.env[TEST_RUN_ENV] = id;
  return id;
}

/** A process that still runs. */
export interface Leftover {
  readonly pid: number;
  readonly ppid: number;
  readonly command: string;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return undefined;
  }
}

/** The processes (other than this one) whose environment carries `id`. */
export function processesOfRun(id: string): Leftover[] {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return [];
  }
  const mark = `${TEST_RUN_ENV}=${id}`;
  const out: Leftover[] = [];
  for (const p of pids) {
    const pid = Number(p);
    if (pid === process.pid) continue;
    const env = read(`/proc/${p}/environ`);
    if (env === undefined || !env.split('\0').includes(mark)) continue;
    // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces and parentheses
    const stat = read(`/proc/${p}/stat`) ?? '';
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state[0] === 'Z') continue; // exited, waiting for its parent to reap it
    const command = (read(`/proc/${p}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
    out.push({ pid, ppid: Number(state[1] ?? 0), command });
  }
  return out;
}

/**
 * Waits up to `graceMs` for the processes of run `id` to end; those still running then are killed
 * (SIGKILL, by PID) and returned.
 */
export async function reapLeftovers(id: string, graceMs = 10_000): Promise<Leftover[]> {
  const end = Date.now() + graceMs;
  let left = processesOfRun(id);
  while (left.length > 0 && Date.now() < end) {
    await sleep(250);
    left = processesOfRun(id);
  }
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
  return left;
}
