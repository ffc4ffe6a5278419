import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

// Layers, lowest first (style.md §2.2): a file may import only from its own layer or a lower one.
const RANK: Record<string, number> = {
  util: 0,
  errors: 0,
  message: 1,
  transport: 2,
  transaction: 3,
  proxy: 4,
  modules: 5,
  script: 6,
  config: 6,
  manage: 6,
  'server.ts': 7,
  cli: 8,
  'index.ts': 9,
};

const SRC = resolve(import.meta.dirname, '..', 'src');

function files(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

function layerOf(file: string): string {
  const rel = relative(SRC, file).split(/[\\/]/);
  return rel[0] ?? '';
}

/** Every relative import of a source file, resolved. */
export function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    out.push(resolve(dirname(file), (m[1] as string).replace(/\.js$/, '.ts')));
  }
  return out;
}

test('architecture: no file imports from a higher layer (style.md §2.1)', () => {
  const violations: string[] = [];
  for (const f of files(SRC)) {
    const from = layerOf(f);
    const rf = RANK[from];
    assert.notEqual(
      rf,
      undefined,
      `${relative(SRC, f)}: unknown layer '${from}' (add it to test/arch.test.ts)`,
    );
    for (const imp of importsOf(f)) {
      const to = layerOf(imp);
      const rt = RANK[to];
      if (rt === undefined || rf === undefined) continue;
      if (rt > rf)
        violations.push(`${relative(SRC, f)} imports ${relative(SRC, imp)} (${from} -> ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('architecture: the checker sees an upward import', () => {
  // guard against a regex that silently matches nothing
  const f = join(SRC, 'server.ts');
  assert.ok(importsOf(f).some((p) => layerOf(p) === 'proxy'));
});
