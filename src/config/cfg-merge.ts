import { isAbsolute, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { Script } from '../script/api.js';
import { type CfgIssue, type CompiledCfg, compileCfg } from '../script/cfg/index.js';
import {
  asConfigIssue,
  isCfgFile,
  issue,
  noteLines,
  type Path,
  schemaIssues,
  sortCfg,
  toCfgIssues,
} from './cfg-common.js';
import { mapCfg } from './cfg-map.js';
import { setPath } from './cfg-values.js';
import { type ConfigIssue, formatPath } from './errors.js';
import { elementSchema, type RawConfig, type RawElement } from './schema.js';

/** What {@link mergeCfgScripts} returns. */
export interface CfgMerge {
  /** The configuration with each `.cfg` element's settings merged in. */
  readonly raw: RawConfig;
  /** Compiled scripts and notes, by element. */
  readonly scripts: ReadonlyMap<string, { script: Script; notes: string[] }>;
  readonly issues: readonly ConfigIssue[];
}

/** Leaves of a plain object (arrays are leaves), with their paths. */
function leaves(
  o: unknown,
  path: (string | number)[] = [],
  out: [Path, unknown][] = [],
): [Path, unknown][] {
  if (typeof o === 'object' && o !== null && !Array.isArray(o) && Object.keys(o).length > 0) {
    for (const [k, v] of Object.entries(o)) leaves(v, [...path, k], out);
  } else out.push([path, o]);
  return out;
}

function getPath(o: unknown, path: Path): unknown {
  let cur = o;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[String(k)];
  }
  return cur;
}

/**
 * `script: ./registrar.cfg` in flowgate.yaml: compiles each such script (its errors at the
 * `.cfg`'s file:line:col) and merges what the `.cfg` sets into its element. The YAML stays in
 * charge: a setting both give must be equal (otherwise an error at the `.cfg` line naming the YAML
 * key), unless `--set` gave it (the command line wins); one only the `.cfg` gives applies (its
 * listen=, alias=, modparams, and the modules it loads). Process-wide settings of the `.cfg` (debug, runtime_dir, the ctl socket) are the YAML's
 * (log, data_dir, management) and are not read.
 */
export function mergeCfgScripts(
  raw: RawConfig,
  ctx: {
    dir: string;
    cwd: string;
    shownYaml: string;
    defines?: readonly string[] | undefined;
    env?: Readonly<Record<string, string | undefined>> | undefined;
    /** True for a config path a `--set` wrote (at, above or below it): its value applies. */
    overridden?: ((path: Path) => boolean) | undefined;
  },
): CfgMerge {
  const issues: ConfigIssue[] = [];
  const scripts = new Map<string, { script: Script; notes: string[] }>();
  const elements = raw.elements;
  if (elements === undefined) return { raw, scripts, issues };
  const merged: Record<string, RawElement> = { ...elements };
  for (const [name, re] of Object.entries(elements)) {
    const s = re.script;
    if (s === undefined || !isCfgFile(s)) continue;
    const path = isAbsolute(s) ? s : resolve(ctx.dir, s);
    let c: CompiledCfg;
    try {
      c = compileCfg(path, { cwd: ctx.cwd, defines: ctx.defines, env: ctx.env });
    } catch (e) {
      issues.push(...toCfgIssues(e).map(asConfigIssue));
      continue;
    }
    const m = mapCfg(c, {});
    const errs: CfgIssue[] = [...m.issues];
    // the ctl socket does not apply here (see below)
    const notes = m.notes.filter((n) => !n.message.startsWith('modparam("ctl"'));
    // the .cfg's own listen only when it has listen= lines (not flowgate's loopback default)
    const cfgEl: Record<string, unknown> = { ...m.element };
    delete cfgEl['script'];
    if (!c.program.globals.some((g) => g.name === 'listen')) delete cfgEl['listen'];
    const mods = cfgEl['modules'] as Record<string, unknown>;
    // "not loaded" is no opinion here: the YAML may load more than the routes need
    for (const [k, v] of Object.entries(mods)) if (v === false) delete mods[k];
    // the location store's backend only when the .cfg says (db_mode / db_url), not its default
    const u = mods['usrloc'] as Record<string, unknown> | undefined;
    const dbSet = c.program.modparams.some(
      (mp) => mp.modules.includes('usrloc') && (mp.param === 'db_mode' || mp.param === 'db_url'),
    );
    if (u !== undefined && !dbSet) {
      delete u['backend'];
      if (Object.keys(u).length === 0) delete mods['usrloc'];
    }
    const pe = elementSchema.safeParse(cfgEl, { reportInput: true });
    if (!pe.success) {
      errs.push(...schemaIssues(pe.error.issues, ['elements', name], m.origins, name));
      issues.push(...errs.map(asConfigIssue));
      continue;
    }
    const out = structuredClone(re) as Record<string, unknown>;
    // a module the .cfg loads (its routes call its functions) and the YAML switches off
    const off = new Set<string>();
    for (const k of Object.keys(pe.data.modules ?? {})) {
      if (getPath(re, ['modules', k]) !== false) continue;
      off.add(k);
      const o = m.origins.get(['elements', '*', 'modules', k]);
      errs.push(
        issue(
          o.pos,
          `${o.what ?? k}: the .cfg loads ${k}, but elements.${name}.modules.${k} is false in ${ctx.shownYaml}`,
        ),
      );
    }
    for (const [p, v] of leaves(pe.data)) {
      if (p[0] === 'modules' && off.has(String(p[1]))) continue;
      const yv = getPath(re, p);
      const o = m.origins.get(['elements', '*', ...p]);
      if (yv === undefined) {
        setPath(out, p, v);
        continue;
      }
      // a --set from the command line overrides the .cfg as it overrides the YAML
      if (ctx.overridden?.(['elements', name, ...p]) === true) continue;
      // `{}`: the .cfg loads the module; any parameters the YAML gives it agree with that
      const loadsOnly =
        typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
      if (loadsOnly && typeof yv === 'object' && yv !== null) continue;
      if (!isDeepStrictEqual(yv, v))
        errs.push(
          issue(
            o.pos,
            `${o.what ?? formatPath(p)} conflicts with elements.${name}.${formatPath(p)} in ${ctx.shownYaml}: in a YAML configuration the YAML's value applies; remove one of them or make them equal`,
          ),
        );
    }
    for (const g of c.program.globals)
      if (g.name === 'debug' || g.name === 'runtime_dir')
        notes.push({
          pos: g.pos,
          message: `${g.name}=${g.value} is not read: ${g.name === 'debug' ? 'log.level' : 'data_dir'} of ${ctx.shownYaml} applies`,
        });
    if (m.management !== false && m.management !== undefined)
      notes.push({
        pos: m.origins.get(['management', 'listen']).pos,
        message: `the ctl socket is not read: management.listen of ${ctx.shownYaml} applies`,
      });
    if (errs.length > 0) {
      issues.push(...sortCfg(errs, c).map(asConfigIssue));
      continue;
    }
    merged[name] = { ...(out as RawElement), script: path };
    scripts.set(name, { script: c.script(), notes: noteLines(notes) });
  }
  return { raw: { ...raw, elements: merged }, scripts, issues };
}
