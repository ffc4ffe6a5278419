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

/**
 * The import cycles among the files of one layer (a directory of src/, subfolders included): each
 * strongly connected component of more than one file (Tarjan). Type-only imports count: a cycle
 * of types still ties the files' designs together and hides which one is the lower.
 */
export function layerCycles(
  all: readonly string[],
  importsOfFile: (file: string) => string[] = importsOf,
): string[][] {
  const known = new Set(all);
  const edges = new Map<string, string[]>();
  for (const f of all)
    edges.set(
      f,
      importsOfFile(f).filter((i) => known.has(i) && i !== f && layerOf(i) === layerOf(f)),
    );
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop() as string;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1) out.push(scc.map((f) => relative(SRC, f)).sort());
  };
  for (const f of all) if (!index.has(f)) visit(f);
  return out;
}

test('architecture: no import cycle among the files of one layer', () => {
  const cycles = layerCycles(files(SRC)).map((c) => c.join(' <-> '));
  assert.deepEqual(
    cycles,
    [],
    `import cycles inside a layer (each line: files that reach one another):\n${cycles.join('\n')}`,
  );
});

test('architecture: the cycle checker sees a cycle', () => {
  // guard: two files of one layer that import each other are reported
  const a = join(SRC, 'proxy', 'core.ts');
  const b = join(SRC, 'proxy', 'context.ts');
  const fake = (f: string): string[] => (f === a ? [b] : f === b ? [a] : []);
  assert.deepEqual(layerCycles([a, b], fake), [['proxy/context.ts', 'proxy/core.ts']]);
});
