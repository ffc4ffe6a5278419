import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { tuneHeap } from '../../../src/util/heap-tuning.js';

const run = (nodeArgs: string[]): string => {
  const code = `import('${new URL('../../../src/util/heap-tuning.ts', import.meta.url).href}').then((m) => { console.log(m.tuneHeap(), m.tuneHeap()); });`;
  const r = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '-e', code], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};

test('tuneHeap sets the growing factor once per process', () => {
  assert.equal(run([]), 'set already');
});

test('tuneHeap leaves an operator’s --heap-growing-percent on the node command line alone', () => {
  assert.equal(run(['--heap-growing-percent=80']), 'operator already');
  assert.equal(tuneHeap(['--heap_growing_percent=80']) !== 'set', true);
});
