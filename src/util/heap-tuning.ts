import { setFlagsFromString } from 'node:v8';

/**
 * The old generation may grow to (1 + this/100) × the live heap before the next full collection.
 * V8 picks a factor up to 4 when collections are cheap compared with the program's work; under a
 * steady SIP load (every finished UDP transaction is kept 32 s, RFC 3261 Timer J, so much of what
 * is allocated is promoted) that left a ~55 MB live heap in ~190 MB of old space. Full collections
 * now come more often, each over the same small live heap (figures: bench/README.md, soak).
 */
export const HEAP_GROWING_PERCENT = 50;

let tuned = false;

/**
 * Sets V8's heap growing factor for a server process, once, unless the operator chose one on the
 * node command line (`node --heap-growing-percent=N …`, which wins). Returns what it did.
 */
export function tuneHeap(
  execArgv: readonly string[] = process.execArgv,
): 'set' | 'operator' | 'already' {
  if (tuned) return 'already';
  tuned = true;
  if (execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a))) return 'operator';
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return 'set';
}
