import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type Scalar,
  visit,
  type YAMLMap,
} from 'yaml';
import type { z } from 'zod';
import type { Script } from '../script/api.js';
import { buildConfig, type PathIssue } from './build.js';
import { isCfgFile, loadCfgConfig, mergeCfgScripts } from './cfg.js';
import { type Environment, type EnvSource, expandEnvironment } from './env.js';
import { ConfigError, type ConfigIssue, formatPath, SECRET_KEYS } from './errors.js';
import { parseSetOption, type SetOverride, SetOverrides } from './overrides.js';
import { configSchema } from './schema.js';
import { closest, kamailioHint } from './suggest.js';
import type { Config, ConfigLocation, LogLevel } from './types.js';

/** Command-line overrides and where relative paths start. */
export interface LoadOptions {
  /** `--data-dir`, resolved against `cwd`. */
  readonly dataDir?: string | undefined;
  /** `--log-level` */
  readonly logLevel?: LogLevel | undefined;
  /** `--pretty` */
  readonly pretty?: boolean | undefined;
  /** Working directory (default `process.cwd()`): the embedded default's paths and `--data-dir` resolve against it. */
  readonly cwd?: string | undefined;
  /** Where `${NAME}` references in values are read (default `process.env`). */
  readonly env?: Environment | undefined;
  /** `-A NAME[=VALUE]`: preprocessor defines for Kamailio `.cfg` files (Kamailio's `-A`). */
  readonly defines?: readonly string[] | undefined;
  /** `-l ADDRESS`: listeners instead of a `.cfg` file's `listen=` lines (Kamailio's `-l`). */
  readonly listen?: readonly string[] | undefined;
  /**
   * `--set path.to.key=value` (the text after `--set`), in order: each replaces a key of the
   * configuration before validation (overrides.ts); a `.cfg` file's keys as it maps them.
   */
  readonly set?: readonly string[] | undefined;
}

/** Name of the embedded default in messages. */
export const DEFAULT_CONFIG_NAME = '<default config>';

interface Position {
  readonly line: number;
  readonly col: number;
}

type Path = readonly PropertyKey[];

/** A YAML 1.1 merge key (`<<: *defaults`): the `yaml` package reads a plain `<<` as a symbol. */
function isMergePair(p: Pair): boolean {
  return isScalar(p.key) && typeof p.key.value === 'symbol';
}

/** The mappings a merge key's value names: a mapping, an alias of one, or a list of those. */
function mergeSources(doc: Document, value: unknown): YAMLMap[] {
  const v = isAlias(value) ? value.resolve(doc) : value;
  const items: unknown[] = isSeq(v) ? v.items : [v];
  return items.map((i) => (isAlias(i) ? i.resolve(doc) : i)).filter((m) => isMap(m));
}

/**
 * The pairs a mapping's value is read from, by key, as the `yaml` package merges: the mapping's
 * own keys win, then each merge key in order, the mappings of a list in order (the first wins).
 */
function effectivePairs(doc: Document, map: YAMLMap, depth = 0): Map<string, Pair> {
  const out = new Map<string, Pair>();
  for (const p of map.items)
    if (!isMergePair(p)) out.set(String(isScalar(p.key) ? p.key.value : p.key), p);
  if (depth > 32) return out;
  for (const p of map.items) {
    if (!isMergePair(p)) continue;
    for (const src of mergeSources(doc, p.value))
      for (const [k, q] of effectivePairs(doc, src, depth + 1)) if (!out.has(k)) out.set(k, q);
  }
  return out;
}

/**
 * Finds the YAML node at a config path; falls back to the deepest node that exists. Through an
 * alias or a merge key it finds the node where the value is written (in the anchored mapping).
 */
function nodeAt(doc: Document, path: Path, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined = isNode(node) ? node : undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    if (isMap(node)) {
      const pair = effectivePairs(doc, node).get(String(seg));
      if (pair === undefined) return last;
      if (i === path.length - 1 && atKey && isNode(pair.key)) return pair.key;
      // a key without a value (`outbound:`): point at the key
      const vr = isNode(pair.value) ? pair.value.range : undefined;
      if (
        !isNode(pair.value) ||
        vr === undefined ||
        vr === null ||
        (isScalar(pair.value) && pair.value.value === null && vr[0] === vr[1])
      ) {
        return isNode(pair.key) ? pair.key : last;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg];
      if (!isNode(item)) return last;
      node = item;
    } else return last;
    if (isNode(node)) last = node;
  }
  return last;
}

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && 'range' in v;
}

/** Calls `fn` for each scalar the configuration reads, at its config path (aliases, merges followed). */
function eachScalar(
  doc: Document,
  fn: (node: Scalar, path: readonly (string | number)[]) => void,
): void {
  const open = new Set<unknown>();
  const walk = (n: unknown, path: (string | number)[]): void => {
    const node = isAlias(n) ? n.resolve(doc) : n;
    if (isScalar(node)) {
      fn(node, path);
      return;
    }
    if ((!isMap(node) && !isSeq(node)) || open.has(node) || path.length > 64) return;
    open.add(node);
    if (isSeq(node)) for (const [i, it] of node.items.entries()) walk(it, [...path, i]);
    else for (const [k, p] of effectivePairs(doc, node)) walk(p.value, [...path, k]);
    open.delete(node);
  };
  walk(doc.contents, []);
}

/**
 * What `toJS` would throw on, found first with a position: an alias without its anchor, an alias
 * inside its own anchor, a merge key whose value is not a mapping (or alias of one, or list of them).
 */
function aliasIssues(doc: Document): { offset: number; message: string }[] {
  const out: { offset: number; message: string }[] = [];
  visit(doc, {
    Alias(_, node, ancestors) {
      const target = node.resolve(doc);
      if (target === undefined)
        out.push({
          offset: node.range?.[0] ?? 0,
          message: `unknown alias *${node.source}: the anchor &${node.source} must come before it`,
        });
      else if (ancestors.includes(target as never))
        out.push({
          offset: node.range?.[0] ?? 0,
          message: `alias *${node.source} is inside its own anchor &${node.source}`,
        });
    },
    Pair(_, pair) {
      if (!isMergePair(pair)) return;
      const v = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
      const items: unknown[] = isSeq(v) ? v.items : [pair.value];
      for (const it of items) {
        const m = isAlias(it) ? it.resolve(doc) : it;
        if (m === undefined && isAlias(it)) continue; // reported as an unknown alias
        if (isMap(m)) continue;
        const at = isNode(it) ? it.range?.[0] : undefined;
        out.push({
          offset: at ?? (isNode(pair.key) ? (pair.key.range?.[0] ?? 0) : 0),
          message:
            'a merge key (<<) takes a mapping, an alias of one (<<: *defaults) or a list of them (<<: [*a, *b])',
        });
      }
    },
  });
  return out;
}

// ----------------------------------------------------------------------------- schema walk

interface Def {
  readonly type: string;
  readonly innerType?: SchemaLike;
  readonly shape?: Record<string, SchemaLike>;
  readonly valueType?: SchemaLike;
  readonly options?: readonly SchemaLike[];
  readonly element?: SchemaLike;
  readonly in?: SchemaLike;
}
interface SchemaLike {
  readonly def: Def;
}

/** The object schemas reachable at a config path (through optional, union, record, array, pipe). */
function objectsAt(schema: SchemaLike, path: Path): SchemaLike[] {
  const unwrap = (s: SchemaLike): SchemaLike[] => {
    const d = s.def;
    switch (d.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
        return d.innerType === undefined ? [] : unwrap(d.innerType);
      case 'pipe':
        return d.in === undefined ? [] : unwrap(d.in);
      case 'union':
        return (d.options ?? []).flatMap(unwrap);
      default:
        return [s];
    }
  };
  let cur = unwrap(schema);
  for (const seg of path) {
    const next: SchemaLike[] = [];
    for (const s of cur) {
      const d = s.def;
      if (d.type === 'object' && typeof seg === 'string' && d.shape?.[seg] !== undefined)
        next.push(...unwrap(d.shape[seg]));
      else if (d.type === 'record' && d.valueType !== undefined) next.push(...unwrap(d.valueType));
      else if (d.type === 'array' && typeof seg === 'number' && d.element !== undefined)
        next.push(...unwrap(d.element));
    }
    cur = next;
  }
  return cur.filter((s) => s.def.type === 'object');
}

/** The keys the schema knows at a path (for "did you mean"). */
export function knownKeys(path: Path): string[] {
  const keys = new Set<string>();
  for (const o of objectsAt(configSchema as unknown as SchemaLike, path))
    for (const k of Object.keys(o.def.shape ?? {})) keys.add(k);
  return [...keys];
}

// ----------------------------------------------------------------------------- issues

interface FlatIssue {
  readonly path: Path;
  readonly message: string;
  readonly atKey: boolean;
}

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

function isPrefix(a: Path, b: Path): boolean {
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
class EnvRedaction {
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

/** True when a union branch failed only because the value is of another type. */
function typeMismatchOnly(errors: readonly z.core.$ZodIssue[]): boolean {
  return errors.every(
    (e) =>
      e.path.length === 0 &&
      (e.code === 'invalid_type' ||
        e.code === 'invalid_value' ||
        (e.code === 'invalid_union' && e.errors.every(typeMismatchOnly))),
  );
}

function flatten(
  issues: readonly z.core.$ZodIssue[],
  prefix: Path,
  out: FlatIssue[],
  env: EnvRedaction,
): void {
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    switch (iss.code) {
      case 'invalid_union': {
        const branches = iss.errors.filter((e) => !typeMismatchOnly(e));
        const first = branches[0];
        if (first !== undefined) flatten(first, path, out, env);
        else
          out.push({
            path,
            message: withGot(iss.message, iss.input, true, path, env),
            atKey: false,
          });
        break;
      }
      case 'invalid_key': {
        const inner = iss.issues[0];
        out.push({
          path,
          message:
            inner === undefined
              ? iss.message
              : `bad name '${String(iss.path[iss.path.length - 1])}': ${inner.message}`,
          atKey: true,
        });
        break;
      }
      case 'invalid_element': {
        flatten(iss.issues, path, out, env);
        break;
      }
      case 'unrecognized_keys': {
        const known = knownKeys(path);
        for (const key of iss.keys) {
          const near = closest(key, known);
          const hint = kamailioHint(key);
          let m = `unknown key '${key}'`;
          if (near !== undefined) m += ` (did you mean '${near}'?)`;
          else if (hint !== undefined) m += `: ${hint}`;
          if (near === undefined && known.length > 0 && known.length <= 16)
            m += `; expected one of: ${known.join(', ')}`;
          out.push({ path: [...path, key], message: m, atKey: true });
        }
        break;
      }
      case 'custom':
        out.push({ path, message: iss.message, atKey: false });
        break;
      default: {
        let message = withGot(iss.message, iss.input, 'input' in iss, path, env);
        const src = env.at(path);
        // an unquoted reference is typed by YAML: a secret of digits arrives as a number
        if (
          src !== undefined &&
          iss.code === 'invalid_type' &&
          iss.expected === 'string' &&
          typeof iss.input !== 'string'
        )
          message += `; quote it ("${src.written}") to keep the text as a string`;
        out.push({ path, message, atKey: false });
      }
    }
  }
}

function withGot(
  message: string,
  input: unknown,
  hasInput: boolean,
  path: Path,
  env: EnvRedaction,
): string {
  if (!hasInput || input === undefined) return `missing: ${message}`;
  // "expected …, got an empty string" already says what it got
  if (/, got [^,]*$/.test(message)) return message;
  return `${message}, got ${env.describe(path, input)}`;
}

// ----------------------------------------------------------------------------- load

function display(file: string, cwd: string): string {
  const abs = resolve(cwd, file);
  const r = relative(cwd, abs);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r) ? r : abs;
}

/** An unquoted `proto:[IPv6]` listen string, e.g. `udp:[::1]:5060`. */
const UNQUOTED_IPV6_LISTEN = /(?<!["'\w])(?:udp|tcp|tls|sctp|wss?):\[[0-9a-f:.%]*\]/i;

/**
 * The hint for a YAML syntax error caused by an IPv6 listen string in a `[ ]` flow list, where
 * `[` and `:` are YAML syntax: `listen: [udp:[::1]:5060]` does not parse. Empty for other errors.
 */
function ipv6ListenHint(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', Math.max(0, offset - 1)) + 1;
  const lineEnd = text.indexOf('\n', offset);
  const line = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd);
  if (!line.includes('[') || !UNQUOTED_IPV6_LISTEN.test(line)) return '';
  return ' (an IPv6 listen string inside a [ ] list must be quoted: listen: ["udp:[::1]:5060"], or written one per line as - udp:[::1]:5060)';
}

/**
 * Parses and validates a configuration text. `file` names it in messages and anchors relative
 * paths (TLS files, scripts, data_dir).
 * @throws ConfigError with every problem found, each with file, line and column.
 */
export function parseConfig(text: string, file: string, opts: LoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const abs = resolve(cwd, file);
  const shown = display(file, cwd);
  const lc = new LineCounter();
  // merge: YAML 1.1 merge keys (<<: *defaults), one file for several processes
  const doc = parseDocument(text, {
    lineCounter: lc,
    prettyErrors: false,
    uniqueKeys: true,
    merge: true,
  });
  const pos = (offset: number): Position => lc.linePos(offset);
  const issueAt = (p: Position | undefined, path: Path, message: string): ConfigIssue => ({
    file: shown,
    line: p?.line,
    col: p?.col,
    path: formatPath(path),
    message,
  });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) =>
        issueAt(
          pos(e.pos[0]),
          [],
          `YAML syntax: ${e.code === 'DUPLICATE_KEY' ? 'duplicate key (each key may appear once in a mapping)' : e.message}${ipv6ListenHint(text, e.pos[0])}`,
        ),
      ),
    );
  }
  // aliases and merge keys (<<) that toJS would refuse, with their position
  const aliases = aliasIssues(doc);
  if (aliases.length > 0)
    throw new ConfigError(aliases.map((a) => issueAt(pos(a.offset), [], `YAML: ${a.message}`)));
  const sets = setOverrides(opts);
  // a value a --set replaces is never read: its environment references need not be set
  const replaced = (path: Path): boolean => sets.some((o) => isPrefix(o.keys, path));
  // ${NAME} / ${NAME:-default} in values (env.ts), before the schema reads them
  const expansion = expandEnvironment(doc, opts.env ?? process.env);
  const envIssues = expansion.issues.filter((i) => !replaced(i.path));
  if (envIssues.length > 0)
    throw new ConfigError(envIssues.map((i) => issueAt(pos(i.offset), i.path, i.message)));
  const env = new EnvRedaction(
    withAliases(doc, expansion.sources).filter((s) => !replaced(s.path)),
  );
  const where = (path: Path, atKey = false): Position => {
    const n = nodeAt(doc, path, atKey);
    const r = n?.range;
    return r === undefined || r === null ? { line: 1, col: 1 } : pos(r[0]);
  };
  let rawJs: unknown;
  try {
    rawJs = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (e) {
    throw new ConfigError([issueAt(undefined, [], `YAML: ${(e as Error).message}`)], { cause: e });
  }
  // top-level x-… keys hold anchors for merge keys (as in Compose files); nothing reads them
  if (isMapping(rawJs)) for (const k of Object.keys(rawJs)) if (k.startsWith('x-')) delete rawJs[k];
  // --set: after the environment, before the schema, so that its values are checked as the file's
  let overrides = SetOverrides.none;
  let setIssues: ConfigIssue[] = [];
  if (sets.length > 0 && isMapping(rawJs)) {
    const r = SetOverrides.apply(rawJs, sets);
    setIssues = r.issues;
    overrides = r.overrides;
  }
  // every message below may be about a value from the environment: none may echo it; one about a
  // value from --set names the argument instead of a line
  const report = (path: Path, atKey: boolean, message: string): ConfigIssue => {
    const m = env.apply(path, message);
    return overrides.issue(path, m) ?? issueAt(where(path, atKey), path, m);
  };
  const parsed = configSchema.safeParse(rawJs, { reportInput: true });
  if (!parsed.success) {
    const flat: FlatIssue[] = [];
    flatten(parsed.error.issues, [], flat, env);
    throw new ConfigError(
      overrides.sort([
        ...setIssues,
        ...sortIssues(flat.map((f) => report(f.path, f.atKey, f.message))),
      ]),
    );
  }
  if (setIssues.length > 0) throw new ConfigError(setIssues);
  // `script: x.cfg`: the Kamailio configuration's routes, and its settings merged in (cfg.ts)
  const cfg = mergeCfgScripts(parsed.data, {
    dir: dirname(abs),
    cwd,
    shownYaml: shown,
    defines: opts.defines,
    env: opts.env ?? process.env,
    overridden: (p) => overrides.touches(p),
  });
  if (cfg.issues.length > 0) throw new ConfigError(cfg.issues);
  return finish(
    cfg.raw,
    { file: abs, dir: dirname(abs), shown, opts, cwd },
    (i) => report(i.path, i.atKey === true, i.message),
    (p) => overrides.location(p) ?? { file: shown, ...where(p) },
    cfg.scripts,
  );
}

function isMapping(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The `--set` arguments of `opts`, parsed.
 * @throws ConfigError naming each argument that is not `path=value`.
 */
function setOverrides(opts: LoadOptions): SetOverride[] {
  const out: SetOverride[] = [];
  const issues: ConfigIssue[] = [];
  for (const text of opts.set ?? []) {
    const r = parseSetOption(text);
    if (r.ok) {
      out.push(r.override);
      continue;
    }
    // a secret's value stays out of the message: its key in the path, or in the value's text
    const eq = text.indexOf('=');
    const keys = text.slice(0, eq).split(/[.[\]]/);
    const secret =
      eq >= 0 &&
      [...SECRET_KEYS].some(
        (k) => keys.includes(k) || new RegExp(`\\b${k}\\s*:`).test(text.slice(eq + 1)),
      );
    issues.push({
      file: `--set ${secret ? `${text.slice(0, eq)}=…` : text}`,
      line: undefined,
      col: undefined,
      path: '',
      message: secret ? r.message.replace(/"[^"]*"/g, '"…"') : r.message,
    });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return out;
}

/** Each environment value also at the paths an alias or a merge key reads it at. */
function withAliases(doc: Document, sources: readonly EnvSource[]): EnvSource[] {
  const out = [...sources];
  const byNode = new Map<Scalar, EnvSource>();
  for (const s of sources) if (s.node !== undefined) byNode.set(s.node, s);
  if (byNode.size === 0) return out;
  eachScalar(doc, (node, path) => {
    const s = byNode.get(node);
    if (s !== undefined && formatPath(path) !== formatPath(s.path)) out.push({ ...s, path });
  });
  return out;
}

/** Schema problems in the words of a file's (did you mean, got …), without positions (cfg.ts). */
function explainIssues(issues: readonly z.core.$ZodIssue[]): { path: Path; message: string }[] {
  const flat: FlatIssue[] = [];
  flatten(issues, [], flat, new EnvRedaction([]));
  return flat;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

function finish(
  raw: z.output<typeof configSchema>,
  src: { file: string | undefined; dir: string; shown: string; opts: LoadOptions; cwd: string },
  toIssue: (i: PathIssue) => ConfigIssue,
  where: (p: Path) => ConfigLocation,
  cfgScripts?: ReadonlyMap<string, { script: Script; notes: string[] }>,
): Config {
  const built = buildConfig(raw, {
    file: src.file,
    dir: src.dir,
    dataDir: src.opts.dataDir === undefined ? undefined : resolve(src.cwd, src.opts.dataDir),
    logLevel: src.opts.logLevel,
    pretty: src.opts.pretty,
  });
  if (!built.ok) throw new ConfigError(sortIssues(built.issues.map(toIssue)));
  const elements = { ...built.config.elements };
  for (const [name, c] of cfgScripts ?? []) {
    const el = elements[name];
    if (el?.script.kind === 'file')
      elements[name] = { ...el, script: { ...el.script, compiled: c.script, notes: c.notes } };
  }
  return deepFreeze({
    ...built.config,
    elements,
    where: (p: readonly (string | number)[]) => where(p),
  });
}

/**
 * Loads a configuration file, or the embedded default (the seed's edge + registrar in one
 * process) when `file` is undefined.
 * @throws ConfigError (file unreadable, YAML syntax, schema, cross-checks), every message with file:line:col.
 */
export function loadConfig(file?: string, opts: LoadOptions = {}): Config {
  if (file === undefined) return defaultConfig(opts);
  if (isCfgFile(file))
    return loadCfgConfig(file, { ...opts, overrides: setOverrides(opts), explain: explainIssues });
  const cwd = opts.cwd ?? process.cwd();
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : String((e as Error).message);
    throw new ConfigError(
      [
        {
          file: display(file, cwd),
          line: undefined,
          col: undefined,
          path: '',
          message: `cannot read the configuration: ${why}`,
        },
      ],
      { cause: e },
    );
  }
  return parseConfig(text, file, opts);
}

/**
 * The embedded default: no file; relative paths (data_dir `.data`) start in the working directory.
 * `--set` applies to it as to a file without keys.
 */
export function defaultConfig(opts: LoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const sets = setOverrides(opts);
  let overrides = SetOverrides.none;
  const toIssue = (path: Path, message: string): ConfigIssue =>
    overrides.issue(path, message) ?? {
      file: DEFAULT_CONFIG_NAME,
      line: undefined,
      col: undefined,
      path: formatPath(path),
      message,
    };
  let raw: z.output<typeof configSchema> = {};
  if (sets.length > 0) {
    const js: Record<string, unknown> = {};
    const r = SetOverrides.apply(js, sets);
    overrides = r.overrides;
    const parsed = configSchema.safeParse(js, { reportInput: true });
    if (!parsed.success)
      throw new ConfigError(
        overrides.sort([
          ...r.issues,
          ...explainIssues(parsed.error.issues).map((f) => toIssue(f.path, f.message)),
        ]),
      );
    if (r.issues.length > 0) throw new ConfigError(r.issues);
    raw = parsed.data;
  }
  return finish(
    raw,
    { file: undefined, dir: cwd, shown: DEFAULT_CONFIG_NAME, opts, cwd },
    (i) => toIssue(i.path, i.message),
    (p) => overrides.location(p) ?? { file: DEFAULT_CONFIG_NAME, line: undefined, col: undefined },
  );
}

function deepFreeze<T>(o: T): T {
  if (typeof o !== 'object' || o === null || Object.isFrozen(o)) return o;
  for (const v of Object.values(o)) deepFreeze(v);
  return Object.freeze(o);
}
