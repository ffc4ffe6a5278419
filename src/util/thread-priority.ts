import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** What lowerHelperThreads did. */
export type HelperNice =
  | { readonly threads: number; readonly nice: number; readonly failed: number }
  | { readonly skipped: string };

/** Linux's lowest priority (highest nice value). */
const NICE_MAX = 19;

/**
 * Gives every thread of this process but the main one (the event loop that answers SIP) `add`
 * more nice than it has: V8's helper threads (concurrent marking, parallel scavenge, concurrent
 * compilation) and libuv's pool, as they exist when this runs.
 *
 * Why: a full collection's concurrent marking runs on all of V8's helpers at once (4 by default).
 * On a 2-core machine they and the event loop then share the cores as equals: sampled every
 * 10 ms under 2 500 REGISTER/s, the main thread waited 10–23 ms in the run queue each time, the
 * edge's receive queue filled with 70–240 KB of datagrams, and those answers took 10–30 ms
 * (bench/README.md, "Soak"). At nice +10 a helper weighs a tenth of the loop in the kernel's
 * scheduler (CFS), so the loop runs first; the helpers still get every idle cycle, and when the
 * loop waits for them (a parallel scavenge) nothing competes with them but other processes.
 *
 * Threads started later by the main thread (worker threads, e.g. the SQLite checkpointer) inherit
 * the main thread's nice and are left alone. Linux only (a thread id is a pid to setpriority(2));
 * elsewhere, or with no /proc, it does nothing and says why. Raising one's own nice needs no
 * privilege; a thread that cannot be changed (gone, or a seccomp policy) is counted, not thrown.
 */
export function lowerHelperThreads(add: number, pid = process.pid): HelperNice {
  if (add <= 0) return { skipped: 'off' };
  if (process.platform !== 'linux') return { skipped: `not Linux (${process.platform})` };
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch (e) {
    return { skipped: `cannot list threads: ${(e as Error).message}` };
  }
  let threads = 0;
  let failed = 0;
  let nice = 0;
  for (const t of tids) {
    const tid = Number(t);
    // the main thread's id is the process id
    if (!Number.isInteger(tid) || tid === pid) continue;
    try {
      nice = Math.min(NICE_MAX, getPriority(tid) + add);
      setPriority(tid, nice);
      threads++;
    } catch {
      failed++;
    }
  }
  return { threads, nice, failed };
}
