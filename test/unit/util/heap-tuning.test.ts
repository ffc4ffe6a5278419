import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/** tuneHeap twice in a fresh node with `nodeArgs`, then 300 MB of churn with survivors. */
const run = (
  nodeArgs: string[],
): { first: Record<string, unknown>; second: unknown; newSpaceMbAfter: number } => {
  const code = `import('${new URL('../../../src/util/heap-tuning.ts', import.meta.url).href}').then(async (m) => {
    const first = m.tuneHeap(), second = m.tuneHeap();
    const keep = [];
    for (let i = 0; i < 3e6; i++) { const o = { i, s: 'x' + i, a: [i] }; if (i % 10 === 0) keep.push(o); if (keep.length > 50000) keep.splice(0, 10000); }
    const ns = (await import('node:v8')).getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(JSON.stringify({ first, second, newSpaceMbAfter: ns.space_size / 1048576 }));
  });`;
  const r = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '-e', code], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim());
};

test('tuneHeap sets the growing factor and pins the young generation, once per process', () => {
  const r = run([]);
  assert.equal(r.first['heapGrowingPercent'], 'set');
  assert.equal(r.first['youngGeneration'], 'pinned');
  assert.equal(r.second, 'already');
  const pinned = Number(r.first['newSpaceMb']);
  assert.ok(pinned > 0 && pinned <= 4, `${pinned} MB`);
  // churn with survivors grows an unpinned new space to 32 MB (node 20 defaults)
  assert.ok(r.newSpaceMbAfter <= pinned, `grew to ${r.newSpaceMbAfter} MB`);
});

test('tuneHeap leaves an operator’s settings on the node command line alone', () => {
  const a = run(['--heap-growing-percent=80']);
  assert.equal(a.first['heapGrowingPercent'], 'operator');
  assert.equal(a.first['youngGeneration'], 'pinned');
  const b = run(['--max-semi-space-size=8']);
  assert.equal(b.first['heapGrowingPercent'], 'set');
  assert.equal(b.first['youngGeneration'], 'operator');
  assert.ok(b.newSpaceMbAfter > 4, `the operator's 8 MB semi-spaces: ${b.newSpaceMbAfter} MB`);
});
