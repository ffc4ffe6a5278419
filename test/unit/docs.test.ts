// The documentation is self-contained: README.md and docs/*.md name no file outside the
// repository, every repository path they name exists, every decision label (Q-E1, …) used in the
// docs, the code or the tests is explained in docs/kamailio-differences.md, and configuration keys
// are written as the configuration spells them (`seed_strict`, not `seedStrict`).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** README.md and every docs/*.md, with their text. */
function docs(): { file: string; text: string }[] {
  const files = [
    join(ROOT, 'README.md'),
    ...readdirSync(join(ROOT, 'docs'))
      .filter((n) => n.endsWith('.md'))
      .map((n) => join(ROOT, 'docs', n)),
  ];
  return files.map((file) => ({ file, text: readFileSync(file, 'utf8') }));
}

function rel(file: string): string {
  return relative(ROOT, file);
}

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

function inside(p: string): boolean {
  const r = relative(ROOT, p);
  return !r.startsWith('..') && !isAbsolute(r);
}

/** The targets of markdown links `[text](target)`, with their offsets. */
function links(text: string): { target: string; index: number }[] {
  const out: { target: string; index: number }[] = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)/g))
    out.push({ target: m[1] ?? '', index: m.index });
  return out;
}

/** Every file under src/ and test/ (for the decision labels they use). */
function sources(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|mjs|js)$/.test(n)) out.push(p);
  }
  return out;
}

// ------------------------------------------------------------------ configuration keys

interface Def {
  readonly type: string;
  readonly innerType?: Schema;
  readonly shape?: Record<string, Schema>;
  readonly valueType?: Schema;
  readonly options?: readonly Schema[];
  readonly element?: Schema;
  readonly in?: Schema;
  readonly out?: Schema;
}
interface Schema {
  readonly def: Def;
}

/** Every key path of the configuration schema; `*` stands for a name (elements.<name>). */
function keyPaths(s: Schema, prefix: readonly string[] = [], out: string[][] = []): string[][] {
  const d = s.def;
  switch (d.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
      if (d.innerType !== undefined) keyPaths(d.innerType, prefix, out);
      break;
    case 'pipe':
      if (d.in !== undefined) keyPaths(d.in, prefix, out);
      if (d.out !== undefined) keyPaths(d.out, prefix, out);
      break;
    case 'union':
      for (const o of d.options ?? []) keyPaths(o, prefix, out);
      break;
    case 'array':
      if (d.element !== undefined) keyPaths(d.element, prefix, out);
      break;
    case 'record':
      if (d.valueType !== undefined) keyPaths(d.valueType, [...prefix, '*'], out);
      break;
    case 'object':
      for (const [k, v] of Object.entries(d.shape ?? {})) {
        out.push([...prefix, k]);
        keyPaths(v, [...prefix, k], out);
      }
      break;
    default:
      break;
  }
  return out;
}

const PATHS = keyPaths(configSchema as unknown as Schema);
const KEYS = new Set(PATHS.map((p) => p[p.length - 1] as string));
/** Keys that hold a mapping: a dotted name in the docs starting with one is a key path. */
const SECTIONS = new Set(
  PATHS.filter((p) => PATHS.some((q) => q.length > p.length && p.every((s, i) => q[i] === s))).map(
    (p) => p[p.length - 1] as string,
  ),
);

function snake(s: string): string {
  return s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** True when `segs` (with `<placeholders>`) is the tail of some key path of the schema. */
function resolvesInSchema(segs: readonly string[]): boolean {
  const seg = (doc: string, key: string): boolean =>
    doc === key || /^<.*>$/.test(doc) || key === '*';
  return PATHS.some((p) => {
    for (let start = 0; start + segs.length <= p.length; start++) {
      if (start + segs.length !== p.length) continue;
      if (segs.every((s, i) => seg(s, p[start + i] as string))) return true;
    }
    return false;
  });
}

/** Backticked code spans of a markdown text, outside fenced blocks, with their offsets. */
function codeSpans(text: string): { code: string; index: number }[] {
  const out: { code: string; index: number }[] = [];
  const fenced = [...text.matchAll(/^```[\s\S]*?^```$/gm)].map(
    (m) => [m.index, m.index + m[0].length] as const,
  );
  for (const m of text.matchAll(/`([^`\n]+)`/g)) {
    if (fenced.some(([a, b]) => m.index >= a && m.index < b)) continue;
    out.push({ code: m[1] ?? '', index: m.index });
  }
  return out;
}

const FILE_EXT = /\.(db|ts|js|mjs|json|ya?ml|md|key|token|pem|crt|xml|cfg|sh|service|log|wav)$/;

describe('docs are self-contained', () => {
  test('no link or path points outside the repository; linked and named repository files exist', () => {
    const problems: string[] = [];
    for (const { file, text } of docs()) {
      const here = dirname(file);
      for (const { target, index } of links(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const path = resolve(here, target.replace(/#.*$/, ''));
        if (!inside(path))
          problems.push(
            `${rel(file)}:${lineOf(text, index)}: links outside the repository: ${target}`,
          );
        else if (!existsSync(path))
          problems.push(`${rel(file)}:${lineOf(text, index)}: links a missing file: ${target}`);
      }
      // any ../ path, linked or not, must stay inside the repository
      for (const m of text.matchAll(/(?<![\w/.])((?:\.\.\/)+[\w.-][\w./-]*)/g)) {
        const path = resolve(here, m[1] ?? '');
        if (!inside(path))
          problems.push(
            `${rel(file)}:${lineOf(text, m.index)}: names a path outside the repository: ${m[1]}`,
          );
      }
      // documents that live only outside the repository
      for (const m of text.matchAll(/spec\/outbound\.md|\bdecisions\.md\b|\boutbound\.md\b/g))
        problems.push(
          `${rel(file)}:${lineOf(text, m.index)}: names ${m[0]}, which is not in the repository`,
        );
      // repository paths in code spans exist
      for (const { code, index } of codeSpans(text)) {
        const m = /^((?:src|test|docs|examples|scripts|bench)\/[\w./-]+)$/.exec(code);
        if (m?.[1] !== undefined && !m[1].includes('*') && !existsSync(join(ROOT, m[1])))
          problems.push(`${rel(file)}:${lineOf(text, index)}: names a missing file: ${m[1]}`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('every decision label (Q-E1, Q-R7, …) is explained in docs/kamailio-differences.md', () => {
    const differences = readFileSync(join(ROOT, 'docs', 'kamailio-differences.md'), 'utf8');
    const section = differences.slice(differences.indexOf('\n## Decision labels'));
    assert.ok(
      section.length > 20,
      'docs/kamailio-differences.md has a "## Decision labels" section',
    );
    const defined = new Set([...section.matchAll(/^- \*\*(Q-[ERT]\d+)\*\*/gm)].map((m) => m[1]));
    const used = new Map<string, string>();
    const files = [
      ...docs().map((d) => d.file),
      ...sources(join(ROOT, 'src')),
      ...sources(join(ROOT, 'test')),
    ];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      // Q-E10/11 style pairs name two labels
      for (const m of text.matchAll(/\bQ-([ERT])(\d+)((?:\/(?:Q-[ERT])?\d+)*)/g)) {
        const kind = m[1] as string;
        const nums = [m[2] as string, ...(m[3] ?? '').split('/').filter((x) => x !== '')];
        for (const n of nums) {
          const label = n.startsWith('Q-') ? n : `Q-${kind}${n}`;
          if (!used.has(label)) used.set(label, `${rel(f)}:${lineOf(text, m.index)}`);
        }
      }
    }
    const missing = [...used].filter(([l]) => !defined.has(l)).map(([l, at]) => `${l} (${at})`);
    assert.deepEqual(missing, [], 'labels used but not explained');
  });

  test('configuration keys are named as in the configuration (snake_case, existing paths)', () => {
    assert.ok(KEYS.has('seed_strict') && SECTIONS.has('edge'), 'the schema walk finds the keys');
    assert.ok(resolvesInSchema(['edge', 'seed_strict']));
    assert.ok(resolvesInSchema(['elements', '<name>', 'modules', 'usrloc']));
    assert.ok(!resolvesInSchema(['edge', 'seedStrict']));
    const problems: string[] = [];
    for (const { file, text } of docs()) {
      for (const { code, index } of codeSpans(text)) {
        const at = `${rel(file)}:${lineOf(text, index)}`;
        // `seedStrict` or `seedStrict: true`: a camelCase spelling of a configuration key
        const bare = /^([a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+)(?:\s*[:=].*)?$/.exec(code);
        if (bare?.[1] !== undefined && KEYS.has(snake(bare[1])))
          problems.push(`${at}: \`${code}\`: the configuration key is ${snake(bare[1])}`);
        // `edge.seed_strict`, `modules.usrloc.timer_interval: 60`: a key path that must exist
        const dotted = /^([a-z][\w<>]*(?:\.[\w<>]+)+)(?:\s*:.*)?$/i.exec(code);
        const path = dotted?.[1];
        if (path === undefined || FILE_EXT.test(path)) continue;
        const segs = path.split('.');
        if (!SECTIONS.has(segs[0] as string)) continue;
        if (segs.some((s) => /[A-Z]/.test(s) && KEYS.has(snake(s))))
          problems.push(`${at}: \`${code}\`: keys are snake_case (${segs.map(snake).join('.')})`);
        else if (!resolvesInSchema(segs))
          problems.push(`${at}: \`${code}\`: no such configuration key path`);
      }
    }
    assert.deepEqual(problems, []);
  });

  test('code examples import the package, not repository files', () => {
    const problems: string[] = [];
    for (const { file, text } of docs()) {
      for (const block of text.matchAll(/^```(?:ts|js|typescript|javascript)\n([\s\S]*?)^```$/gm)) {
        for (const m of (block[1] ?? '').matchAll(/\bfrom\s+'([^']+)'/g)) {
          const spec = m[1] ?? '';
          if (spec !== 'flowgate' && !spec.startsWith('flowgate/') && !spec.startsWith('node:'))
            problems.push(`${rel(file)}:${lineOf(text, block.index)}: imports '${spec}'`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
