import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The old generation may grow to (1 + this/100) × the live heap before the next full collection.
 * V8 picks a factor up to 4 when collections are cheap compared with the program's work; under a
 * steady SIP load (every finished UDP transaction is kept 32 s, RFC 3261 Timer J, so much of what
 * is allocated is promoted) that left a ~55 MB live heap in ~190 MB of old space. Full collections
 * now come more often, each over the same small live heap (figures: bench/README.md, soak).
 */
export const HEAP_GROWING_PERCENT = 50;

/**
 * The young generation stays at the size it starts with (1 MB semi-spaces) instead of growing to
 * 16 MB. A scavenge copies what is alive in it, and under load that is what the last interval
 * kept (finished transactions, fresh bindings): growing the space only makes each pause longer
 * and rarer. With 16 MB, scavenges of 4–6 ms ten times a second put 1–3 % of REGISTERs over
 * 10 ms at 2 500/s; with 1 MB they take ~0.3 ms (more of them: ~2 % more GC time in all). V8
 * sizes the space at start, so `--max-semi-space-size` only works on the node command line;
 * the growth factor is read when it would grow, so setting it at run time works.
 */
export const SEMI_SPACE_GROWTH_FACTOR = 1;

/** What tuneHeap did with each setting. */
export interface HeapTuning {
  readonly heapGrowingPercent: 'set' | 'operator';
  readonly youngGeneration: 'pinned' | 'operator';
  /** The young generation's size (MB) when it was pinned (both semi-spaces). */
  readonly newSpaceMb: number;
}

let done: HeapTuning | undefined;

const given = (execArgv: readonly string[], ...flags: string[]): boolean =>
  execArgv.some((a) => flags.some((f) => new RegExp(`^--${f.replaceAll('-', '[-_]')}\\b`).test(a)));

/**
 * Tunes V8's heap for a server process, once per process, leaving alone any setting the operator
 * chose on the node command line (`node --heap-growing-percent=N …`, `--max-semi-space-size=N`,
 * `--semi-space-growth-factor=N` win). Returns what it did, or 'already' on later calls.
 */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): HeapTuning | 'already' {
  if (done !== undefined) return 'already';
  const heapGrowingPercent = given(execArgv, 'heap-growing-percent') ? 'operator' : 'set';
  if (heapGrowingPercent === 'set')
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const youngGeneration = given(
    execArgv,
    'max-semi-space-size',
    'min-semi-space-size',
    'semi-space-growth-factor',
  )
    ? 'operator'
    : 'pinned';
  if (youngGeneration === 'pinned')
    setFlagsFromString(`--semi-space-growth-factor=${SEMI_SPACE_GROWTH_FACTOR}`);
  const ns = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  done = {
    heapGrowingPercent,
    youngGeneration,
    newSpaceMb: Math.round(((ns?.space_size ?? 0) / 1048576) * 10) / 10,
  };
  return done;
}
