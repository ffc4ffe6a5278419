import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { configDocs, DOC_PATH } from '../../../scripts/gen-config-docs.js';
import { knownKeys } from '../../../src/config/load.js';

test('docs/configuration.md is generated from the schema and up to date (npx tsx scripts/gen-config-docs.ts)', () => {
  assert.equal(readFileSync(DOC_PATH, 'utf8'), configDocs());
});

test('docs: every key of every module section is documented', () => {
  const doc = readFileSync(DOC_PATH, 'utf8');
  for (const mod of [
    'tm',
    'rr',
    'outbound',
    'websocket',
    'sanity',
    'limits',
    'registrar',
    'usrloc',
  ]) {
    const keys = knownKeys(['elements', 'x', 'modules', mod]);
    assert.ok(keys.length > 0, mod);
    for (const k of keys)
      assert.match(doc, new RegExp(`^\\| \`${k}\` +\\|`, 'm'), `${mod}.${k} missing from the docs`);
  }
});
