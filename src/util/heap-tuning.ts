import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The old generation may grow to (1 + this/100) × the live heap before the next full collection.
 * V8 picks a factor up to 4 when collections are cheap compared with the program's work; under a
 * steady SIP load (every finished UDP transaction is kept 32 s, RFC 3261 Timer J, so much of what
 * is allocated is promoted) that left a ~55 MB live heap in ~190 MB of old space. 50 kept the
 * process smallest, but then a full collection came every ~4 s at 2 500 REGISTER/s, and each one
 * delays the answers of its marking's ~40 ms. Since finished transactions keep their keys out of
 * the heap (transaction/retired.ts) the live heap is ~30 MB, and 200 (3×) gives one full
 * collection every ~12 s for ~20 MB more RSS than 100, still well below Kamailio's memory for the
 * same work (figures: bench/README.md, soak, "What helped").
 */
export const HEAP_GROWING_PERCENT = 200;

/**
 * The young generation (both semi-spaces) grows to this size and no further, instead of to V8's
 * 32 MB. A scavenge copies what is alive in it, and under load that is what the last interval
 * kept (finished transactions, fresh bindings): a larger space only makes each pause longer and
 * the process larger (90 s soaks at 2 500 REGISTER/s: 4 MB gave 99.8 % of answers within 10 ms
 * at 184 MiB RSS, scavenges ≤ 8 ms; 32 MB 99.8 % at 210 MiB, scavenges up to 10 ms; 2 MB spent
 * 3.8 % of the time in the collector against 3.2 %). V8 sizes the space limits at start, so
 * `--max-semi-space-size` works only on the node command line; the growth factor is read each
 * time the space would grow, so setting it to 1 once the space has this size works at run time.
 */
export const YOUNG_GENERATION_MB = 4;

/** What tuneHeap did with each setting. */
export interface HeapTuning {
  readonly heapGrowingPercent: 'set' | 'operator';
  /** pinned: held at its start size, then (growYoungGeneration) grows to {@link YOUNG_GENERATION_MB} and stays. */
  readonly youngGeneration: 'pinned' | 'operator';
}

let done: HeapTuning | undefined;

const given = (execArgv: readonly string[], ...flags: string[]): boolean =>
  execArgv.some((a) => flags.some((f) => new RegExp(`^--${f.replaceAll('-', '[-_]')}\\b`).test(a)));

/** The young generation's size now, MB. */
export function youngGenerationMb(): number {
  const ns = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  return (ns?.space_size ?? 0) / 1048576;
}

let growing = false;
/** The growth factor this module set last (undefined: none, the operator's or V8's). */
let growthFactor: 1 | 2 | undefined;

function setGrowthFactor(f: 1 | 2): void {
  growthFactor = f;
  setFlagsFromString(`--semi-space-growth-factor=${f}`);
}

/**
 * Sets this module's V8 flags again. Starting a worker thread puts V8's flags back to what the
 * node command line says (measured with Node 20: the young generation grew to 32 MB again after
 * the SQLite checkpoint worker started), so util/worker-ready.ts calls this once a worker runs.
 */
export function reapplyHeapTuning(): void {
  if (done === undefined) return;
  if (done.heapGrowingPercent === 'set')
    setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  if (growthFactor !== undefined) setFlagsFromString(`--semi-space-growth-factor=${growthFactor}`);
}

/**
 * Lets the young generation grow (V8's doubling) until it has `mb`, then no further. Call it once
 * the program is loaded and serving: V8 grows the space at a scavenge, and the check runs after
 * each collection (its entries come between scavenges while the event loop turns; while modules
 * load synchronously it would not, which is why tuneHeap holds the size until then).
 */
export function growYoungGeneration(mb = YOUNG_GENERATION_MB): void {
  if (done?.youngGeneration !== 'pinned' || growing) return;
  growing = true;
  const stop = (): boolean => {
    if (youngGenerationMb() < mb) return false;
    setGrowthFactor(1);
    return true;
  };
  if (stop()) return;
  setGrowthFactor(2); // V8's default
  const obs = new PerformanceObserver(() => {
    if (stop()) obs.disconnect();
  });
  obs.observe({ entryTypes: ['gc'] });
}

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
  // held at its start size until growYoungGeneration(): loading the program would grow it to 16 MB
  if (youngGeneration === 'pinned') setGrowthFactor(1);
  done = { heapGrowingPercent, youngGeneration };
  return done;
}

/** What {@link tuneHeap} did in this process (undefined: not called). */
export function heapTuning(): HeapTuning | undefined {
  return done;
}
