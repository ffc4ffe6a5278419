import type { EnvSource } from './env.js';
import { SECRET_KEYS } from './errors.js';

type Path = readonly PropertyKey[];

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** What a value is, without what it says. */
function kindOf(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'number') return 'a number';
  if (typeof v === 'boolean') return 'a boolean';
  return 'a mapping';
}

/**
 * An environment value this long (a management token's minimum) is replaced wherever it appears; a
 * shorter one only in messages about its own key, so that `127.0.0.1` in an example stays.
 */
const LONG_VALUE = 16;

export function isPrefix(a: Path, b: Path): boolean {
  return a.length <= b.length && a.every((seg, i) => String(seg) === String(b[i]));
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Keeps values that came from the environment out of messages (issue 10 §7: secrets arrive that
 * way, and messages end up in logs and CI output). A message names the reference as written
 * (`${FLOWGATE_SECRET}`) instead.
 */
export class EnvRedaction {
  readonly #sources: readonly EnvSource[];

  constructor(sources: readonly EnvSource[]) {
    this.#sources = sources;
  }

  /** The `${…}` value at exactly `path`. */
  at(path: Path): EnvSource | undefined {
    return this.#sources.find((s) => s.path.length === path.length && isPrefix(s.path, path));
  }

  /** How a schema message shows the value at `path` that it refuses. */
  describe(path: Path, input: unknown): string {
    const src = this.at(path);
    const key = path[path.length - 1];
    const secret = typeof key === 'string' && SECRET_KEYS.has(key);
    if (secret && typeof input === 'string') {
      const d = `a string of ${input.length} characters`;
      return src === undefined ? d : `${d} from ${src.written}`;
    }
    if (src !== undefined) return `${kindOf(input)} from ${src.written}`;
    return secret ? kindOf(input) : describe(input);
  }

  /**
   * `message` with every environment value replaced by its reference: long values anywhere; in a
   * message about the value (or its parent) also the whole value as a word and a substituted part
   * where quoted. A message about such a value that names no reference gets one appended.
   */
  apply(path: Path, message: string): string {
    const subs = new Map<string, string>();
    const alternatives = new Set<string>();
    const add = (text: string, ref: string, pattern: string): void => {
      if (!subs.has(text)) subs.set(text, ref);
      alternatives.add(pattern);
    };
    for (const s of this.#sources) {
      if (s.vars.length === 0) continue;
      const related = isPrefix(s.path, path) || isPrefix(path, s.path);
      const whole = escapeRegExp(s.text);
      if (s.text.length >= LONG_VALUE) add(s.text, s.written, whole);
      else if (related && s.text !== '')
        add(s.text, s.written, `(?<![A-Za-z0-9])${whole}(?![A-Za-z0-9])`);
      for (const v of s.vars) {
        const part = escapeRegExp(v.value);
        if (v.value.length >= LONG_VALUE) add(v.value, `\${${v.name}}`, part);
        else if (related && v.value !== '')
          add(v.value, `\${${v.name}}`, `(?<=['"])${part}(?=['"])`);
      }
    }
    let out = message;
    if (alternatives.size > 0) {
      // longest first, so a whole value wins over a variable inside it; one pass, no re-replacing
      const re = [...alternatives].sort((a, b) => b.length - a.length).join('|');
      out = out.replace(new RegExp(re, 'g'), (m) => subs.get(m) ?? m);
    }
    // a parser quoting a piece of the value ("unknown transport 'xyz'"): name where it came from
    out = out.replace(/(['"])([^'"]+)\1/g, (all, q: string, frag: string) => {
      if (frag.includes('${')) return all;
      for (const s of this.#sources) {
        if (!(isPrefix(s.path, path) || isPrefix(path, s.path)) || s.written.includes(frag))
          continue;
        const v = s.vars.find((x) => x.value.includes(frag));
        if (v !== undefined) return `${q}(part of \${${v.name}})${q}`;
      }
      return all;
    });
    const src = this.at(path);
    if (
      src !== undefined &&
      src.vars.length > 0 &&
      !out.includes(src.written) &&
      !src.vars.some((v) => out.includes(`\${${v.name}`))
    )
      out += ` (value from ${src.written})`;
    return out;
  }
}
