// `npm run fuzz:long`: every fuzz suite (test/fuzz/*.test.ts) far beyond CI's counts, with a random
// seed printed first and last so that a failure can be replayed. Opt-in (or scheduled): not part
// of `npm test` nor of CI. Bounded in time: each property stops at its FUZZ_TIME_MS budget.
// Usage: npm run fuzz:long [-- test/fuzz/framer.test.ts ...]
// Env (see test/fuzz/fuzz-parameters.ts): FUZZ_SEED (default: random), FUZZ_SCALE (default 1000 ×
// each property's CI run count), FUZZ_TIME_MS (default 30000 per property).
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

const env = process.env;
const seed = env['FUZZ_SEED'] ?? String(randomInt(0x7fffffff));
const scale = env['FUZZ_SCALE'] ?? '1000';
const timeMs = env['FUZZ_TIME_MS'] ?? '30000';
const files = process.argv.slice(2);
const replay = `FUZZ_SEED=${seed} FUZZ_SCALE=${scale} FUZZ_TIME_MS=${timeMs} npm run fuzz:long`;

console.log(`fuzz:long seed ${seed}, ${scale} × CI runs, ${timeMs} ms per property`);
console.log(`replay: ${replay}`);
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', 'scripts/run-tests.ts', ...(files.length > 0 ? files : ['test/fuzz'])],
  {
    stdio: 'inherit',
    env: {
      ...env,
      FUZZ_SEED: seed,
      FUZZ_SCALE: scale,
      FUZZ_TIME_MS: timeMs,
      // a file runs its properties one after the other, each up to FUZZ_TIME_MS plus shrinking
      TEST_TIMEOUT_MS: env['TEST_TIMEOUT_MS'] ?? String(Math.max(300_000, 40 * Number(timeMs))),
    },
  },
);
const status = r.status ?? 1;
console.log(`fuzz:long ${status === 0 ? 'passed' : 'FAILED'} (seed ${seed}); replay: ${replay}`);
process.exit(status);
