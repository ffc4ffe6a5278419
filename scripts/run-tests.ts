// Finds test files and hands them to node:test's run(): Node 20 has no `--test` globs. After the
// last file, no process started under the run may still be alive (scripts/test-processes.ts: the
// run's environment mark, and the process tree watched while the files run): each one left is
// listed, killed, and fails the run.
// Usage: tsx scripts/run-tests.ts [dir-or-file ...]   (default: test/)
// Env: TEST_CONCURRENCY (default: available cores), TEST_TIMEOUT_MS (per file, default 300000).
import { readdirSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { finished } from 'node:stream/promises';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { markTestRun, RunWatch, reapLeftovers } from './test-processes.js';

function collect(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isFile()) {
    if (path.endsWith('.test.ts')) out.push(resolve(path));
    return;
  }
  for (const name of readdirSync(path).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    collect(join(path, name), out);
  }
}

const roots = process.argv.slice(2);
const files: string[] = [];
for (const root of roots.length > 0 ? roots : ['test']) collect(root, files);
if (files.length === 0) {
  console.error(`no test files under ${roots.join(' ')}`);
  process.exit(1);
}

// inherited by the test files and everything they start
const runId = markTestRun();
const watch = new RunWatch(runId).start();
const stream = run({
  files,
  concurrency: Number(process.env['TEST_CONCURRENCY'] ?? availableParallelism()),
  timeout: Number(process.env['TEST_TIMEOUT_MS'] ?? 300_000),
});
stream.on('test:fail', (d) => {
  // a failing `todo` test documents a known gap; it does not fail the run
  if (d.todo !== undefined && d.todo !== false) return;
  process.exitCode = 1;
});
const report = stream.compose(new spec());
report.pipe(process.stdout);
await finished(report);

const left = await reapLeftovers(runId, 10_000, watch);
if (left.length > 0) {
  console.error(
    `\n✖ ${left.length} process(es) started by the tests were still running after the last file (killed now):\n${left
      .map((p) => `  pid ${p.pid} (parent ${p.ppid}): ${p.command}`)
      .join('\n')}`,
  );
  process.exitCode = 1;
}
