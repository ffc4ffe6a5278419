import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { errorsDoc } from '../../../scripts/gen-errors-doc.js';
import { ERRORS } from '../../../src/errors/codes.js';
import { REG_ERRORS } from '../../../src/modules/registrar/codes.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');

function sources(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('docs/errors.md is generated from the catalogues and up to date (npx tsx scripts/gen-errors-doc.ts)', () => {
  assert.equal(readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8'), errorsDoc());
});

test('every error code used in src is in a catalogue', () => {
  const known = new Set([...Object.keys(ERRORS), ...Object.keys(REG_ERRORS)]);
  const unknown: string[] = [];
  for (const f of sources(join(ROOT, 'src'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/'((?:SIP|REG|OB)_ERR_[A-Z0-9_]+)'/g)) {
      if (!known.has(m[1] as string)) unknown.push(`${m[1]} in ${f.slice(ROOT.length + 1)}`);
    }
  }
  assert.deepEqual(unknown, []);
});
