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
import { type Environment, expandEnvironment } from './env.js';
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

function flatten(issues: readonly z.core.$ZodIssue[], prefix: Path, out: FlatIssue[]): void {
  for (const iss of issues) {
    const path = [...prefix, ...iss.path];
    switch (iss.code) {
      case 'invalid_union': {
        const branches = iss.errors.filter((e) => !typeMismatchOnly(e));
        const first = branches[0];
        if (first !== undefined) flatten(first, path, out);
        else out.push({ path, message: withGot(iss.message, iss.input, true), atKey: false });
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
        flatten(iss.issues, path, out);
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
      default:
        out.push({ path, message: withGot(iss.message, iss.input, 'input' in iss), atKey: false });
    }
  }
}

function withGot(message: string, input: unknown, hasInput: boolean): string {
  if (!hasInput || input === undefined) return `missing: ${message}`;
  return `${message}, got ${describe(input)}`;
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
  const envIssues = expandEnvironment(doc, opts.env ?? process.env);
  if (envIssues.length > 0)
    throw new ConfigError(envIssues.map((i) => issueAt(pos(i.offset), i.path, i.message)));
  const where = (path: Path, atKey = false): Position => {
    const n = nodeAt(doc, path, atKey);
    const r = n?.range;
    return r === undefined || r === null ? { line: 1, col: 1 } : pos(r[0]);
  };
  const rawJs: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  const parsed = configSchema.safeParse(rawJs, { reportInput: true });
  if (!parsed.success) {
    const flat: FlatIssue[] = [];
    flatten(parsed.error.issues, [], flat);
    throw new ConfigError(
      sortIssues(flat.map((f) => issueAt(where(f.path, f.atKey), f.path, f.message))),
    );
  }
  return finish(
    parsed.data,
    { file: abs, dir: dirname(abs), shown, opts, cwd },
    (i) => issueAt(where(i.path, i.atKey === true), i.path, i.message),
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
