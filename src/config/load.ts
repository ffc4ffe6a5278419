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
  parseDocument,
} from 'yaml';
import type { z } from 'zod';
import { buildConfig, type PathIssue } from './build.js';
import { type Environment, type EnvSource, expandEnvironment } from './env.js';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
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
}

/** Name of the embedded default in messages. */
export const DEFAULT_CONFIG_NAME = '<default config>';

interface Position {
  readonly line: number;
  readonly col: number;
}

type Path = readonly PropertyKey[];

/** Finds the YAML node at a config path; falls back to the deepest node that exists. */
function nodeAt(doc: Document, path: Path, atKey: boolean): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined = isNode(node) ? node : undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find(
        (p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg),
      );
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

/** Keys whose values are secrets: messages give their kind and length, never their text. */
const SECRET_KEYS: ReadonlySet<string> = new Set([
  'flow_token_secret',
  'flow_token_secret_previous',
  'token',
  'secret',
]);

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
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
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
          `YAML syntax: ${e.code === 'DUPLICATE_KEY' ? 'duplicate key (each key may appear once in a mapping)' : e.message}`,
        ),
      ),
    );
  }
  // ${NAME} / ${NAME:-default} in values (env.ts), before the schema reads them
  const expansion = expandEnvironment(doc, opts.env ?? process.env);
  if (expansion.issues.length > 0)
    throw new ConfigError(expansion.issues.map((i) => issueAt(pos(i.offset), i.path, i.message)));
  const env = new EnvRedaction(expansion.sources);
  const where = (path: Path, atKey = false): Position => {
    const n = nodeAt(doc, path, atKey);
    const r = n?.range;
    return r === undefined || r === null ? { line: 1, col: 1 } : pos(r[0]);
  };
  // every message below may be about a value from the environment: none may echo it
  const report = (path: Path, atKey: boolean, message: string): ConfigIssue =>
    issueAt(where(path, atKey), path, env.apply(path, message));
  const rawJs: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const parsed = configSchema.safeParse(rawJs, { reportInput: true });
  if (!parsed.success) {
    const flat: FlatIssue[] = [];
    flatten(parsed.error.issues, [], flat, env);
    throw new ConfigError(sortIssues(flat.map((f) => report(f.path, f.atKey, f.message))));
  }
  return finish(
    parsed.data,
    { file: abs, dir: dirname(abs), shown, opts, cwd },
    (i) => report(i.path, i.atKey === true, i.message),
    (p) => ({ file: shown, ...where(p) }),
  );
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.col ?? 0) - (b.col ?? 0));
}

function finish(
  raw: z.output<typeof configSchema>,
  src: { file: string | undefined; dir: string; shown: string; opts: LoadOptions; cwd: string },
  toIssue: (i: PathIssue) => ConfigIssue,
  where: (p: Path) => ConfigLocation,
): Config {
  const built = buildConfig(raw, {
    file: src.file,
    dir: src.dir,
    dataDir: src.opts.dataDir === undefined ? undefined : resolve(src.cwd, src.opts.dataDir),
    logLevel: src.opts.logLevel,
    pretty: src.opts.pretty,
  });
  if (!built.ok) throw new ConfigError(sortIssues(built.issues.map(toIssue)));
  return deepFreeze({ ...built.config, where: (p: readonly (string | number)[]) => where(p) });
}

/**
 * Loads a configuration file, or the embedded default (the seed's edge + registrar in one
 * process) when `file` is undefined.
 * @throws ConfigError (file unreadable, YAML syntax, schema, cross-checks), every message with file:line:col.
 */
export function loadConfig(file?: string, opts: LoadOptions = {}): Config {
  if (file === undefined) return defaultConfig(opts);
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

/** The embedded default: no file; relative paths (data_dir `.data`) start in the working directory. */
export function defaultConfig(opts: LoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  return finish(
    {},
    { file: undefined, dir: cwd, shown: DEFAULT_CONFIG_NAME, opts, cwd },
    (i) => ({
      file: DEFAULT_CONFIG_NAME,
      line: undefined,
      col: undefined,
      path: formatPath(i.path),
      message: i.message,
    }),
    () => ({ file: DEFAULT_CONFIG_NAME, line: undefined, col: undefined }),
  );
}

function deepFreeze<T>(o: T): T {
  if (typeof o !== 'object' || o === null || Object.isFrozen(o)) return o;
  for (const v of Object.values(o)) deepFreeze(v);
  return Object.freeze(o);
}
