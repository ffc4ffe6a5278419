// "No process outlives the suite" (issue 11). Two ways to know a process was started by the run:
//  - the mark: the test runner puts a run id in its environment, which every process started under
//    it inherits (test files, flowgate, Kamailio, sipp, baresip…, also when they daemonize or are
//    re-parented to init);
//  - the family: some programs overwrite their environment block with their process title
//    (redis-server, redis-sentinel, Chromium's zygote and renderers: /proc/<pid>/environ no longer
//    shows the mark), so the runner also watches the process tree while the files run and
//    remembers every descendant of itself and of a marked process (by PID and start time, so a
//    reused PID is not mistaken for it).
// After the last file, any process still carrying the mark, or remembered and still running, is a
// leftover: listed, and killed by PID. Processes that ran before the run began are never counted.
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

interface Proc {
  readonly pid: number;
  readonly ppid: number;
  /** `pid:starttime`: one process, even after its PID is reused. */
  readonly key: string;
  readonly zombie: boolean;
}

function pidsNow(): number[] {
  try {
    return readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return [];
  }
}

function stat(pid: number): Proc | undefined {
  // "pid (comm) state ppid … starttime(22) …"; comm may contain spaces and parentheses
  const s = read(`/proc/${pid}/stat`);
  if (s === undefined) return undefined;
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { pid, ppid: Number(f[1] ?? 0), key: `${pid}:${f[19] ?? ''}`, zombie: f[0] === 'Z' };
}

function commandOf(pid: number): string {
  return (read(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean).join(' ');
}

function marked(pid: number, id: string): boolean {
  const env = read(`/proc/${pid}/environ`);
  return env?.split('\0').includes(`${TEST_RUN_ENV}=${id}`) === true;
}

/** The processes (other than this one) whose environment carries `id`. */
export function processesOfRun(id: string): Leftover[] {
  const out: Leftover[] = [];
  for (const pid of pidsNow()) {
    if (pid === process.pid) continue;
    const p = stat(pid);
    if (p === undefined || p.zombie || !marked(pid, id)) continue;
    out.push({ pid, ppid: p.ppid, command: commandOf(pid) });
  }
  return out;
}

/**
 * Watches the process tree of a test run: remembers every process that carries the run's mark or
 * descends from this process or from a marked one. Start it right after {@link markTestRun}.
 */
export class RunWatch {
  /** Processes that ran before the run: never leftovers (this runner's own helpers among them). */
  private readonly before = new Set<string>();
  /** What the run started, by `pid:starttime`. */
  private readonly seen = new Map<string, { pid: number; command: string }>();
  /** Whether a process carries the mark, by `pid:starttime` (the environment is read once). */
  private readonly markOf = new Map<string, boolean>();
  private timer: NodeJS.Timeout | undefined;
  private readonly id: string;
  private readonly intervalMs: number;

  constructor(id: string, intervalMs = 500) {
    this.id = id;
    this.intervalMs = intervalMs;
    for (const pid of pidsNow()) {
      const p = stat(pid);
      if (p !== undefined) this.before.add(p.key);
    }
  }

  /** Starts sampling the process tree (the timer does not keep the runner alive). */
  start(): this {
    this.scan();
    this.timer = setInterval(() => this.scan(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at the process tree. */
  scan(): void {
    const procs = pidsNow()
      .map(stat)
      .filter((p): p is Proc => p !== undefined);
    const kids = new Map<number, Proc[]>();
    for (const p of procs) {
      const list = kids.get(p.ppid);
      if (list === undefined) kids.set(p.ppid, [p]);
      else list.push(p);
    }
    const ours: Proc[] = [...(kids.get(process.pid) ?? [])];
    for (const p of procs) {
      if (p.pid === process.pid || this.before.has(p.key)) continue;
      let m = this.markOf.get(p.key);
      if (m === undefined) {
        m = marked(p.pid, this.id);
        this.markOf.set(p.key, m);
      }
      if (m) ours.push(p);
    }
    // and everything below them
    for (let i = 0; i < ours.length; i++) {
      const p = ours[i] as Proc;
      if (!this.seen.has(p.key) && !this.before.has(p.key))
        this.seen.set(p.key, { pid: p.pid, command: commandOf(p.pid) });
      for (const k of kids.get(p.pid) ?? []) ours.push(k);
    }
  }

  /** The processes of the run that still run now (not zombies). */
  alive(): Leftover[] {
    this.scan();
    const out: Leftover[] = [];
    for (const [key, s] of this.seen) {
      const p = stat(s.pid);
      if (p === undefined || p.key !== key || p.zombie) continue;
      out.push({ pid: s.pid, ppid: p.ppid, command: commandOf(s.pid) || s.command });
    }
    return out;
  }
}

/**
 * Waits up to `graceMs` for the processes of the run to end; those still running then are killed
 * (SIGKILL, by PID) and returned. `watch` adds the processes it saw during the run to those that
 * carry the mark `id`.
 */
export async function reapLeftovers(
  id: string,
  graceMs = 10_000,
  watch?: RunWatch,
): Promise<Leftover[]> {
  const now = (): Leftover[] => {
    const byPid = new Map<number, Leftover>();
    for (const p of [...processesOfRun(id), ...(watch?.alive() ?? [])]) byPid.set(p.pid, p);
    return [...byPid.values()];
  };
  const end = Date.now() + graceMs;
  let left = now();
  while (left.length > 0 && Date.now() < end) {
    await sleep(250);
    left = now();
  }
  watch?.stop();
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
  return left;
}
