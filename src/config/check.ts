import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import type { ModuleInstance } from '../modules/contract.js';
import { FUNCTION_INDEX } from '../modules/registry.js';
import { checkTlsFiles, errnoText } from './check-tls.js';
import { type ConfigIssue, formatPath } from './errors.js';
import { formatListen } from './listen.js';
import { bindProblem, isWildcardAddress, probeBind, spaceOf } from './probe.js';
import { loadScriptFile } from './script-file.js';
import type { Config, ModulesConfig } from './types.js';

/** What `checkConfig` looks at besides the files. */
export interface CheckOptions {
  /** Only these elements (`flowgate start --role`); default: every element of the file. */
  readonly elements?: readonly string[] | undefined;
  /**
   * Bind each listener's port and the management API's port and release them at once (default
   * true). False: only test that the addresses are this host's (for the file of a running server,
   * which holds the ports itself).
   */
  readonly ports?: boolean | undefined;
  /** Where data_dir came from when not from the file (`--data-dir`): named in its problems. */
  readonly dataDirFrom?: string | undefined;
}

function whoAmI(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

async function writable(dir: string): Promise<boolean> {
  try {
    await access(dir, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * What is wrong with the data directory, if anything: it must be a writable directory, or not
 * exist yet below a directory this user may create it in (`flowgate start` creates it, mode 0700).
 * Never creates anything.
 */
export async function dataDirProblem(dir: string): Promise<string | undefined> {
  const user = whoAmI();
  try {
    const st = await stat(dir);
    if (!st.isDirectory())
      return `${dir} exists and is not a directory: remove it or choose another data_dir`;
    if (!(await writable(dir)))
      return `${dir} is not writable by ${user} (flowgate writes its keys, tokens and databases there): chown ${user} ${dir}, or run flowgate as its owner`;
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') return `cannot look at ${dir}: ${errnoText(e)}`;
  }
  // missing: the nearest existing ancestor decides whether start can create it
  let up = dirname(dir);
  for (;;) {
    try {
      const st = await stat(up);
      if (!st.isDirectory())
        return `${dir} cannot be created: ${up} is a file, not a directory; choose another data_dir`;
      if (!(await writable(up)))
        return `${dir} does not exist and ${user} cannot create it (${up} is not writable): create it once as root (install -d -m 0700 -o ${user} ${dir}), or choose another data_dir`;
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        return `${dir} cannot be created: cannot look at ${up}: ${errnoText(e)}`;
    }
    const next = dirname(up);
    if (next === up) return undefined;
    up = next;
  }
}

/**
 * What `flowgate check` and `flowgate start` add to validation, every problem in one pass: loads
 * every script file (it must export a valid script); checks the TLS files (readable PEM, the key
 * belongs to the certificate, within its validity period); checks that each listener's address is
 * one of this host's and its port free (bound and released at once; see {@link CheckOptions.ports}),
 * the management API's too; that data_dir is a writable directory or can be created (it is not
 * created here); and that the log file's place is not a directory. Returns the problems (empty: fine).
 */
export async function checkConfig(config: Config, opts: CheckOptions = {}): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const at = (path: (string | number)[], message: string): void => {
    issues.push({ ...config.where(path), path: formatPath(path), message });
  };
  const ports = opts.ports !== false;
  const names = opts.elements ?? Object.keys(config.elements);
  for (const name of names) {
    const el = config.elements[name];
    if (el === undefined) continue;
    if (el.script.kind === 'file' && el.script.compiled === undefined) {
      try {
        await loadScriptFile(el.script.path);
      } catch (e) {
        at(['elements', name, 'script'], e instanceof Error ? e.message : String(e));
      }
    }
    if (el.tls !== undefined) {
      for (const p of await checkTlsFiles(el.tls))
        at(['elements', name, 'tls', ...(p.file === undefined ? [] : [p.file])], p.message);
    }
    for (const [i, l] of el.listen.entries()) {
      const port = ports ? l.port : 0;
      // port 0 on every address: nothing a probe could find
      if (port === 0 && isWildcardAddress(l.address)) continue;
      const space = spaceOf(l.proto);
      const err = await probeBind(space, l.address, port);
      if (err !== undefined)
        at(
          ['elements', name, 'listen', i],
          bindProblem(err, formatListen(l), { space, address: l.address, port: l.port }),
        );
    }
  }
  const ml = config.management.listen;
  if (ml !== undefined && ports && ml.port !== 0) {
    const err = await probeBind('tcp', ml.host, ml.port);
    if (err !== undefined)
      at(
        ['management', 'listen'],
        bindProblem(err, `the management API ${ml.host}:${ml.port}`, {
          space: 'tcp',
          address: ml.host,
          port: ml.port,
        }),
      );
  }
  if (config.log.file !== undefined) {
    // its directory is created at start; a directory in its place is a mistake
    try {
      if ((await stat(config.log.file)).isDirectory())
        at(['log', 'file'], `${config.log.file} is a directory (expected a file path)`);
    } catch {
      // created at start
    }
  }
  const dd = await dataDirProblem(config.data_dir);
  if (dd !== undefined) {
    if (opts.dataDirFrom === undefined) at(['data_dir'], dd);
    else
      issues.push({
        file: 'command line',
        line: undefined,
        col: undefined,
        path: opts.dataDirFrom,
        message: dd,
      });
  }
  // in file order, as loadConfig reports them (issues without a line, e.g. of --data-dir, last)
  const line = (i: ConfigIssue): number => i.line ?? Number.MAX_SAFE_INTEGER;
  return issues.sort((a, b) => line(a) - line(b) || (a.col ?? 0) - (b.col ?? 0));
}

/** The module instances an element's script environment holds (see `ModuleExports.instance`). */
function loadedInstances(m: ModulesConfig): Set<ModuleInstance> {
  // rr and permissions are always there (createServer makes them whatever the file says)
  const out = new Set<ModuleInstance>(['rr', 'permissions']);
  if (m.path) out.add('path');
  if (m.outbound !== undefined) out.add('outbound');
  if (m.registrar !== undefined) out.add('registrar');
  if (m.auth !== undefined) out.add('auth');
  if (m.pike !== undefined) out.add('pike');
  if (m.nathelper !== undefined) out.add('nathelper');
  return out;
}

/**
 * Script functions a TypeScript/JavaScript script file calls (`ctx.save(`) whose module its
 * element does not load, read from the module registry: each would fail with "the <module>
 * module is not loaded" when a message reaches it. Notes, not problems: the call may sit on a
 * branch the element never takes. (A `.cfg` file's calls are checked when it is compiled.)
 */
export async function scriptModuleNotes(
  config: Config,
  elements?: readonly string[],
): Promise<string[]> {
  const notes: string[] = [];
  for (const name of elements ?? Object.keys(config.elements)) {
    const el = config.elements[name];
    if (el === undefined || el.script.kind !== 'file' || el.script.compiled !== undefined) continue;
    let text: string;
    try {
      text = await readFile(el.script.path, 'utf8');
    } catch {
      continue; // checkConfig reports a script it cannot load
    }
    const loaded = loadedInstances(el.modules);
    const seen = new Set<string>();
    for (const m of text.matchAll(/\bctx\s*\.\s*([A-Za-z_]\w*)\s*\(/g)) {
      const fn = m[1] as string;
      const r = FUNCTION_INDEX.get(fn);
      const inst = r?.module.instance;
      if (r === undefined || inst === undefined || loaded.has(inst) || seen.has(fn)) continue;
      seen.add(fn);
      const line = text.slice(0, m.index).split('\n').length;
      notes.push(
        `${el.script.source}:${line}: ${name}: ctx.${fn}() needs the ${inst} module, which this element does not load (modules.${inst}: {})`,
      );
    }
  }
  return notes;
}
