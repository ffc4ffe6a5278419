import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { Script } from '../script/api.js';
import { buildConfig, type PathIssue } from './build.js';
import { deepFreeze, isCfgFile, loadCfgConfig, mergeCfgScripts } from './cfg.js';
import { type Environment, expandEnvironment } from './env.js';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import { explainIssues, type FlatIssue, flatten, sortIssues } from './load-issues.js';
import { EnvRedaction, isPrefix } from './load-redact.js';
import { setOverrides } from './load-set.js';
import { aliasIssues, ipv6ListenHint, nodeAt, withAliases } from './load-yaml.js';
import { isMapping, SetOverrides } from './overrides.js';
import { configSchema } from './schema.js';
import type { Config, ConfigLocation, LogLevel } from './types.js';

export { knownKeys } from './load-issues.js';

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
  // `script: x.cfg`: the Kamailio configuration's routes, and its settings merged in (cfg-merge.ts)
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
