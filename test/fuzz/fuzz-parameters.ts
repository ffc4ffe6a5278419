// fast-check parameters shared by the fuzz suites (test/fuzz/*.test.ts). In `npm test` (CI) every
// property runs with its file's fixed seed and run count. Longer runs (`npm run fuzz:long`, or by
// hand) change them through the environment:
//   FUZZ_SEED=<int>    seed for every property instead of the fixed one (replays a long run)
//   FUZZ_SCALE=<x>     multiplies every property's run count
//   FUZZ_TIME_MS=<ms>  time budget per property: stops it after that long, passing if nothing failed
// Each file's own FUZZ_RUNS keeps the meaning its header gives; FUZZ_SCALE applies on top of it.
import fc from 'fast-check';

const env = process.env;
const seedOverride = env['FUZZ_SEED'] === undefined ? undefined : Number(env['FUZZ_SEED']);
const scale = Number(env['FUZZ_SCALE'] ?? 1);
const timeMs = Number(env['FUZZ_TIME_MS'] ?? 0);
const long = seedOverride !== undefined || scale !== 1 || timeMs > 0;
if (seedOverride !== undefined && !Number.isInteger(seedOverride))
  throw new Error(`FUZZ_SEED must be an integer, got ${env['FUZZ_SEED']}`);
if (!(scale > 0)) throw new Error(`FUZZ_SCALE must be a positive number, got ${env['FUZZ_SCALE']}`);

/**
 * `fc.assert` parameters for one property: its fixed seed and CI run count, changed by FUZZ_SEED,
 * FUZZ_SCALE and FUZZ_TIME_MS. In a long run it prints the runs done and the seed to stderr.
 */
export function fuzzParameters<T>(base: { seed: number; numRuns: number }): fc.Parameters<T> {
  const seed = seedOverride ?? base.seed;
  const numRuns = Math.max(1, Math.round(base.numRuns * scale));
  const plugins: fc.Plugin<T>[] = [];
  // the plugin touches no value, but fast-check types it Plugin<unknown>
  if (timeMs > 0) plugins.push(fc.interruptAfterTimeLimit(timeMs) as fc.Plugin<T>);
  if (long) {
    plugins.push(() => ({
      onAllRunsComplete: (d) => {
        const stop = d.interrupted ? ' (FUZZ_TIME_MS budget spent)' : '';
        process.stderr.write(`fuzz: ${d.numRuns} of ${numRuns} runs, seed ${seed}${stop}\n`);
      },
    }));
  }
  return { seed, numRuns, plugins };
}
