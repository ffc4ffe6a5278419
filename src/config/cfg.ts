import { basename, dirname, resolve } from 'node:path';
import type { z } from 'zod';
import { type CfgIssue, type CompiledCfg, compileCfg } from '../script/cfg/index.js';
import { buildConfig, type PathIssue } from './build.js';
import {
  asConfigIssue,
  noteLines,
  type Path,
  schemaIssues,
  sortCfg,
  toCfgIssues,
} from './cfg-common.js';
import { mapCfg } from './cfg-map.js';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import { type SetOverride, SetOverrides } from './overrides.js';
import { configSchema } from './schema.js';
import type { Config, ConfigLocation, LogLevel } from './types.js';

export { isCfgFile } from './cfg-common.js';
export { type CfgMerge, mergeCfgScripts } from './cfg-merge.js';

/** What `loadConfig` passes on for a `.cfg` file. */
export interface CfgLoadOptions {
  readonly dataDir?: string | undefined;
  readonly logLevel?: LogLevel | undefined;
  readonly pretty?: boolean | undefined;
  readonly cwd?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** `-A NAME[=VALUE]`: preprocessor defines (Kamailio `-A`). */
  readonly defines?: readonly string[] | undefined;
  /** `-l ADDRESS`: listeners instead of the file's `listen=` lines (Kamailio `-l`). */
  readonly listen?: readonly string[] | undefined;
  /**
   * `--set`: applied to the configuration the file maps to (its keys: `elements.<file name>.…`,
   * `management.listen`, `data_dir`) before validation, as to a YAML file's.
   */
  readonly overrides?: readonly SetOverride[] | undefined;
  /** Schema problems of `--set` values in words (load-issues.ts's: did you mean, got …); else zod's. */
  readonly explain?:
    | ((
        issues: readonly z.core.$ZodIssue[],
      ) => readonly { path: readonly PropertyKey[]; message: string }[])
    | undefined;
}

/** The file name as an element name (letters, digits, `-`, `_`; a letter first). */
export function elementNameOf(file: string): string {
  let n = basename(file)
    .replace(/\.cfg$/i, '')
    .replace(/[^A-Za-z0-9_-]/g, '_');
  if (!/^[A-Za-z]/.test(n)) n = `cfg-${n}`;
  return n.slice(0, 32);
}

/** Adds the `.cfg` way out to the issue-10 "public address without authentication" refusal. */
function cfgHint(message: string): string {
  if (!message.includes('nothing authenticates')) return message;
  return `${message.replace(/: (load|set) .*$/, '')}: load auth and call auth_check()/www_authorize() in the routes, listen on a loopback address, or (an edge whose registrar authenticates) set allow_unauthenticated=yes inside #!ifdef FLOWGATE … #!endif`;
}

/** Freezes a built configuration and everything in it (load.ts freezes its result the same way). */
export function deepFreeze<T>(o: T): T {
  if (typeof o !== 'object' || o === null || Object.isFrozen(o)) return o;
  for (const v of Object.values(o)) deepFreeze(v);
  return Object.freeze(o);
}

/**
 * Loads a Kamailio configuration file as a flowgate configuration of one element (`flowgate start
 * -c edge.cfg`): the element is named after the file; its listeners, aliases and module
 * parameters come from the file's globals and modparams; the routes are compiled once. Data lives
 * in `<file's directory>/<name>.data` (or `runtime_dir`, or `--data-dir`); the management API only
 * where `modparam("ctl", "binrpc", "tcp:host:port")` puts it, so two processes started from two
 * files never share a port or a directory.
 * @throws ConfigError with every problem, each at the file:line:col of the `.cfg`.
 */
export function loadCfgConfig(file: string, opts: CfgLoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  let c: CompiledCfg;
  try {
    c = compileCfg(file, { cwd, defines: opts.defines, env: opts.env });
  } catch (e) {
    throw new ConfigError(toCfgIssues(e).map(asConfigIssue), { cause: e });
  }
  const name = elementNameOf(c.file);
  const m = mapCfg(c, opts);
  const issues: CfgIssue[] = [...m.issues];
  const raw: Record<string, unknown> = {
    data_dir: m.dataDir ?? resolve(dirname(c.file), `${name}.data`),
    management: { listen: m.management ?? false },
    elements: { [name]: m.element },
  };
  if (m.logLevel !== undefined) raw['log'] = { level: m.logLevel };
  // --set on the keys the .cfg maps to; their problems name the argument, not a .cfg line
  let overrides = SetOverrides.none;
  const fromSet: ConfigIssue[] = [];
  if ((opts.overrides?.length ?? 0) > 0) {
    const r = SetOverrides.apply(raw, opts.overrides ?? []);
    fromSet.push(...r.issues);
    overrides = r.overrides;
  }
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    // the problems of --set values apart; an unknown key is at the path of its mapping
    const ours: z.core.$ZodIssue[] = [];
    const rest: z.core.$ZodIssue[] = [];
    for (const i of parsed.error.issues) {
      if (i.code !== 'unrecognized_keys') {
        (overrides.location(i.path) === undefined ? rest : ours).push(i);
        continue;
      }
      const mine = i.keys.filter((k) => overrides.location([...i.path, k]) !== undefined);
      if (mine.length > 0) ours.push({ ...i, keys: mine });
      if (mine.length === 0) rest.push(i);
      else if (mine.length < i.keys.length)
        rest.push({ ...i, keys: i.keys.filter((k) => !mine.includes(k)) });
    }
    const explained =
      opts.explain?.(ours) ?? ours.map((i) => ({ path: i.path, message: i.message }));
    for (const e of explained) {
      const i = overrides.issue(e.path, e.message);
      if (i !== undefined) fromSet.push(i);
    }
    issues.push(...schemaIssues(rest, [], m.origins, name));
  }
  if (issues.length > 0 || fromSet.length > 0 || !parsed.success)
    throw new ConfigError(overrides.sort([...fromSet, ...sortCfg(issues, c).map(asConfigIssue)]));
  const built = buildConfig(parsed.data, {
    file: c.file,
    dir: dirname(c.file),
    dataDir: opts.dataDir === undefined ? undefined : resolve(cwd, opts.dataDir),
    logLevel: opts.logLevel,
    pretty: opts.pretty,
  });
  const where = (path: Path): ConfigLocation => {
    const set = overrides.location(path);
    if (set !== undefined) return set;
    const g = [...path];
    if (g[0] === 'elements' && g[1] === name) g[1] = '*';
    const o = m.origins.get(g);
    return { file: o.pos.file, line: o.pos.line, col: o.pos.col };
  };
  if (!built.ok)
    throw new ConfigError(
      built.issues.map((i: PathIssue) => {
        const set = overrides.issue(i.path, i.message);
        if (set !== undefined) return set;
        const w = where(i.path);
        const o = m.origins.get(
          i.path[0] === 'elements' ? ['elements', '*', ...i.path.slice(2)] : i.path,
        );
        return {
          file: w.file,
          line: w.line,
          col: w.col,
          path: '',
          message: `${o.what === undefined ? formatPath(i.path) : o.what}: ${cfgHint(i.message)}`,
        };
      }),
    );
  const el = built.config.elements[name];
  if (el === undefined) throw new Error(`internal: element ${name} missing`);
  const script = c.script();
  const config: Config = {
    ...built.config,
    elements: {
      [name]: {
        ...el,
        script: {
          kind: 'file',
          path: c.file,
          source: c.shown,
          compiled: script,
          notes: noteLines(m.notes),
        },
      },
    },
    where,
  };
  return deepFreeze(config);
}
