import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/** tuneHeap twice in a fresh node with `nodeArgs`, churn with survivors, growYoungGeneration, more churn. */
const run = (
  nodeArgs: string[],
  worker: '' | 'worker' | 'worker+reapply' = '',
): { first: Record<string, unknown>; second: unknown; held: number; newSpaceMbAfter: number } => {
  const code = `import('${new URL('../../../src/util/heap-tuning.ts', import.meta.url).href}').then(async (m) => {
    const ns = () => require('node:v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size / 1048576;
    const first = m.tuneHeap(), second = m.tuneHeap();
    const atTune = ns();
    const keep = [];
    const churn = async (n) => { for (let i = 0; i < n; i++) { const o = { i, s: 'x' + i, a: [i] }; if (i % 10 === 0) keep.push(o); if (keep.length > 50000) keep.splice(0, 10000); if (i % 10000 === 0) await new Promise((r) => setImmediate(r)); } };
    await churn(1e6); // held at the start size
    const held = ns() - atTune;
    m.growYoungGeneration();
    await churn(1e6);
    if ('${worker}' !== '') {
      const { Worker } = require('node:worker_threads');
      const w = new Worker('require("node:worker_threads").parentPort.postMessage(1); setInterval(() => {}, 1000)', { eval: true });
      await new Promise((r) => w.once('message', r));
      w.unref();
      if ('${worker}' === 'worker+reapply') m.reapplyHeapTuning();
    }
    await churn(3e6);
    console.log(JSON.stringify({ first, second, held, newSpaceMbAfter: ns() }));
  });`;
  const r = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '-e', code], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim());
};

test('tuneHeap sets the growing factor and caps the young generation at 4 MB, once per process', () => {
  const r = run([]);
  assert.equal(r.first['heapGrowingPercent'], 'set');
  assert.equal(r.first['youngGeneration'], 'pinned');
  assert.equal(r.second, 'already');
  assert.equal(r.held, 0, 'held at its size until growYoungGeneration()');
  // churn with survivors grows an uncapped young generation to 32 MB (node 20 defaults); the cap
  // may end one doubling above 4 MB when two scavenges come before the observer runs
  assert.ok(r.newSpaceMbAfter >= 4 && r.newSpaceMbAfter <= 8, `${r.newSpaceMbAfter} MB`);
});

test('tuneHeap leaves an operator’s settings on the node command line alone', () => {
  const a = run(['--heap-growing-percent=80']);
  assert.equal(a.first['heapGrowingPercent'], 'operator');
  assert.equal(a.first['youngGeneration'], 'pinned');
  const b = run(['--max-semi-space-size=8']);
  assert.equal(b.first['heapGrowingPercent'], 'set');
  assert.equal(b.first['youngGeneration'], 'operator');
  assert.ok(b.newSpaceMbAfter > 8, `the operator's 8 MB semi-spaces: ${b.newSpaceMbAfter} MB`);
});

test("a worker thread resets V8's flags; reapplyHeapTuning sets them again (the SQLite checkpointer, HEP relay)", () => {
  const reset = run([], 'worker');
  assert.ok(reset.newSpaceMbAfter > 8, `without reapplying: ${reset.newSpaceMbAfter} MB`);
  const kept = run([], 'worker+reapply');
  assert.ok(kept.newSpaceMbAfter <= 8, `reapplied: ${kept.newSpaceMbAfter} MB`);
});
