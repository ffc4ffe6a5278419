import { parseDocument } from 'yaml';
import { DEFAULT_ELEMENTS } from './build.js';
import { type ConfigIssue, formatPath, SECRET_KEYS } from './errors.js';
import { isPrefix } from './load-redact.js';
import { closest } from './suggest.js';
import type { ConfigLocation } from './types.js';

/**
 * `flowgate start --set path.to.key=value` (repeatable): one configuration file for several
 * processes, each given what must differ (its management address, its data directory) on its
 * command line instead of in an environment reference written into the file.
 *
 * - The path is the configuration's keys joined by dots; a list item is given by its index
 *   (`elements.edge.listen.0`, or `listen[0]` as messages write it); an index one past the end
 *   appends.
 * - The value is read as YAML, as if written in the file in flow style: `5070` is a number, `true` a
 *   boolean, `[udp:127.0.0.1:5070]` a list, `{ backend: redis }` a mapping, `'"0123"'` a string,
 *   an empty value null. No `${…}` expansion: the shell has done its own.
 * - It replaces the value at the path, after environment references are expanded (a reference it
 *   replaces need not be set) and before the schema reads the file, so a value that would be wrong
 *   in the file is wrong here, with the same message, located at the argument instead of a line.
 * - Missing mappings on the way are created (a null one, as `outbound:`, becomes a mapping); a
 *   missing `elements` starts from the default elements (edge + registrar), as the file without
 *   one would run them. An element the configuration does not have is only set whole
 *   (`elements.edge3={…}`): a key below a missing element is taken for a typo.
 */

type Path = readonly PropertyKey[];

/** One parsed `--set` argument. */
export interface SetOverride {
  /** The argument as given, without `--set`. */
  readonly text: string;
  /** The keys of the path, as written (an index is still text: the list it meets decides). */
  readonly keys: readonly string[];
  /** The value as YAML reads it. */
  readonly value: unknown;
  /** The value as written. */
  readonly valueText: string;
}

/** {@link parseSetOption}'s result: the override, or what is wrong with the argument. */
export type SetParse = { ok: true; override: SetOverride } | { ok: false; message: string };

const PATH = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+|\[\d+\])*$/;

/** Parses `path.to.key=value` (the text after `--set`). */
export function parseSetOption(text: string): SetParse {
  const eq = text.indexOf('=');
  if (eq < 0)
    return {
      ok: false,
      message:
        'expected KEY=VALUE, a dotted key path and a value, e.g. management.listen=127.0.0.1:8082',
    };
  const pathText = text.slice(0, eq);
  if (!PATH.test(pathText))
    return {
      ok: false,
      message: `bad key path '${pathText}': keys joined by dots (elements.edge.tcp_connection_lifetime), a list item by its index (elements.edge.listen.0 or listen[0])`,
    };
  const keys = [...pathText.matchAll(/([A-Za-z0-9_-]+)|\[(\d+)\]/g)].map((m) => m[1] ?? m[2] ?? '');
  const valueText = text.slice(eq + 1);
  const doc = parseDocument(valueText, { uniqueKeys: true, prettyErrors: false });
  const err = doc.errors[0];
  if (err !== undefined)
    return {
      ok: false,
      message: `the value is not YAML: ${(err.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')} (quote the value to take it as text: ${pathText}='"…"')`,
    };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 });
  } catch (e) {
    return { ok: false, message: `the value is not YAML: ${(e as Error).message}` };
  }
  return { ok: true, override: { text, keys, value, valueText } };
}

/** Where a `--set` wrote. */
interface Applied {
  /** The path it wrote, indexes as numbers. */
  readonly path: Path;
  /** The first key it created on the way (not in the file), when it created any. */
  readonly created: Path | undefined;
  /** How messages name it: `--set <path>=<value>`, a secret's value left out. */
  readonly label: string;
}

/** A plain object (not null, not an array): a YAML mapping. */
export function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a value is, for "X is …, not a mapping". */
function kind(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

/** `{ a: { b: … } }` for keys a, b. */
function nested(keys: readonly string[]): string {
  return keys.reduceRight((inner, k) => `{ ${k}: ${inner} }`, '…');
}

/** True when `v` is or contains a mapping with one of `keys`. */
function hasKey(v: unknown, keys: ReadonlySet<string>): boolean {
  if (Array.isArray(v)) return v.some((x) => hasKey(x, keys));
  if (!isMapping(v)) return false;
  return Object.entries(v).some(([k, x]) => keys.has(k) || hasKey(x, keys));
}

/**
 * The `--set` overrides applied to a configuration before validation, and the answer to "did this
 * value come from the command line?" for every message about it.
 */
export class SetOverrides {
  readonly #applied: Applied[];
  /** How messages name each argument, in command-line order. */
  readonly #labels: string[];

  private constructor(applied: Applied[], labels: string[]) {
    this.#applied = applied;
    this.#labels = labels;
  }

  /** No overrides. */
  static readonly none: SetOverrides = new SetOverrides([], []);

  /**
   * Applies `list` in order to `raw` (changed in place; a later one wins). Problems (a key on the
   * way that is a value, an index past the end, a likely misspelt element) are returned, each
   * naming its argument.
   */
  static apply(
    raw: Record<string, unknown>,
    list: readonly SetOverride[],
  ): { overrides: SetOverrides; issues: ConfigIssue[] } {
    const applied: Applied[] = [];
    const labels: string[] = [];
    const issues: ConfigIssue[] = [];
    const secrets = SECRET_KEYS;
    for (const o of list) {
      const r = applyOne(raw, o);
      if (!r.ok) {
        labels.push(`--set ${o.text}`);
        issues.push({
          file: `--set ${o.text}`,
          line: undefined,
          col: undefined,
          path: '',
          message: r.message,
        });
        continue;
      }
      const secret = r.path.some((k) => secrets.has(String(k))) || hasKey(o.value, secrets);
      const label = `--set ${formatPath(r.path)}=${secret ? '…' : o.valueText}`;
      labels.push(label);
      applied.push({ path: r.path, created: r.created, label });
    }
    return { overrides: new SetOverrides(applied, labels), issues };
  }

  /** `issues` with those of the command line first, in the order of their arguments (stable). */
  sort(issues: readonly ConfigIssue[]): ConfigIssue[] {
    const rank = (i: ConfigIssue): number => {
      const n = i.line === undefined ? this.#labels.indexOf(i.file) : -1;
      return n < 0 ? this.#labels.length : n;
    };
    return issues
      .map((i, n) => ({ i, n, r: rank(i) }))
      .sort((a, b) => a.r - b.r || a.n - b.n)
      .map((x) => x.i);
  }

  /** The last `--set` whose value holds `path`: at or below its own path, or below a key it created. */
  #at(path: Path): Applied | undefined {
    for (let i = this.#applied.length - 1; i >= 0; i--) {
      const a = this.#applied[i] as Applied;
      if (isPrefix(a.path, path) || (a.created !== undefined && isPrefix(a.created, path)))
        return a;
    }
    return undefined;
  }

  /** True when a `--set` wrote `path`, something below it, or something above it. */
  touches(path: Path): boolean {
    return this.#applied.some((a) => isPrefix(a.path, path) || isPrefix(path, a.path));
  }

  /** Where the value at `path` came from when a `--set` wrote it: the argument, no line. */
  location(path: Path): ConfigLocation | undefined {
    const a = this.#at(path);
    return a === undefined ? undefined : { file: a.label, line: undefined, col: undefined };
  }

  /**
   * A problem with the value at `path`, when a `--set` wrote it, located at that argument
   * (`formatIssue` leaves out a path the argument names: `--set x.y=abc: expected …`).
   */
  issue(path: Path, message: string): ConfigIssue | undefined {
    const a = this.#at(path);
    if (a === undefined) return undefined;
    return { file: a.label, line: undefined, col: undefined, path: formatPath(path), message };
  }
}

type ApplyResult =
  | { ok: true; path: Path; created: Path | undefined }
  | { ok: false; message: string };

function applyOne(raw: Record<string, unknown>, o: SetOverride): ApplyResult {
  const path: (string | number)[] = [];
  let created: Path | undefined;
  let cur: Record<string, unknown> | unknown[] = raw;
  for (let i = 0; i < o.keys.length; i++) {
    const key = o.keys[i] as string;
    const last = i === o.keys.length - 1;
    let next: unknown;
    if (Array.isArray(cur)) {
      const at = `${formatPath(path)} is a list`;
      if (!/^\d+$/.test(key))
        return {
          ok: false,
          message: `${at}: give an item by its index (${formatPath(path)}.0), not '${key}'`,
        };
      const idx = Number(key);
      if (idx > cur.length)
        return {
          ok: false,
          message: `${at} of ${cur.length} item${cur.length === 1 ? '' : 's'}: index ${idx} is past its end (${cur.length} appends)`,
        };
      path.push(idx);
      if (last) {
        cur[idx] = structuredClone(o.value);
        break;
      }
      next = cur[idx];
      if (next === undefined || next === null) {
        next = {};
        cur[idx] = next;
        created ??= [...path];
      }
    } else {
      // `elements` missing: the elements the file without one runs (build.ts), then the change
      if (path.length === 0 && key === 'elements' && cur[key] === undefined && !last)
        cur[key] = structuredClone(DEFAULT_ELEMENTS);
      // a new element only whole: a key below one that does not exist is most likely a typo
      if (path.length === 1 && path[0] === 'elements' && cur[key] === undefined && !last) {
        const names = Object.keys(cur);
        const near = closest(key, names);
        return {
          ok: false,
          message: `no element '${key}'${near === undefined ? '' : ` (did you mean '${near}'?)`}; the elements are ${names.join(', ') || 'none'} (a new one is set whole: elements.${key}='{ script: …, listen: […] }')`,
        };
      }
      path.push(key);
      if (last) {
        cur[key] = structuredClone(o.value);
        break;
      }
      next = cur[key];
      if (next === undefined || next === null) {
        next = {};
        cur[key] = next;
        created ??= [...path];
      }
    }
    if (!Array.isArray(next) && !isMapping(next))
      return {
        ok: false,
        message: `${formatPath(path)} is ${kind(next)}, not a mapping: set it whole (${formatPath(path)}='${nested(o.keys.slice(i + 1))}')`,
      };
    cur = next;
  }
  return { ok: true, path, created };
}
