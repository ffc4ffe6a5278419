import { readFileSync, statSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { defineScript, type Script, validateScript } from '../api.js';
import type { CfgNote, Program, RouteBlock } from './ast.js';
import { type CodegenOptions, type CompiledRoutes, compileRoutes, jsString } from './compile.js';
import { CfgError, issueAt } from './errors.js';
import type { PreprocessOptions, SourceReader } from './lexer.js';
import { parseCfg } from './parser.js';

export type { CfgNote, Pos, Program } from './ast.js';
export { CfgError, type CfgIssue, formatCfgIssue } from './errors.js';
export { FUNCTIONS, GLOBALS, MODULES, PARAMS, PVS } from './registry.js';

/** Options of {@link compileCfg}. */
export interface CfgCompileOptions extends PreprocessOptions {
  /** How files are read (default: the file system). */
  readonly reader?: SourceReader | undefined;
  /** Working directory names in messages are relative to (default `process.cwd()`). */
  readonly cwd?: string | undefined;
}

/** Options of {@link CompiledCfg.typescript}. */
export interface TranslateOptions {
  /** Module `defineScript` is imported from (default `flowgate`). */
  readonly importFrom?: string | undefined;
}

/** A configuration checked and compiled: its program, its routes' code, the script. */
export interface CompiledCfg {
  /** Absolute path of the main file. */
  readonly file: string;
  /** How the file is named in messages. */
  readonly shown: string;
  readonly program: Program;
  readonly routes: CompiledRoutes;
  /** Remarks: accepted, but worth knowing (no effect, not run, read differently). */
  readonly notes: readonly CfgNote[];
  /** The equivalent TypeScript script module (`flowgate cfg translate`). */
  typescript(opts?: TranslateOptions): string;
  /** The JavaScript the script is built from (the body of a function of `defineScript`). */
  javascript(): string;
  /** The script: the routes compiled once into functions calling the script context. */
  script(): Script;
}

/** The file system, with names shown relative to `cwd` when inside it. */
export function fileReader(cwd = process.cwd()): SourceReader {
  return {
    read(path) {
      try {
        if (!statSync(path).isFile()) return undefined;
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
    display(path) {
      const r = relative(cwd, path);
      return r !== '' && !r.startsWith('..') && !isAbsolute(r) ? r : path;
    },
  };
}

/**
 * Reads, checks and compiles a Kamailio configuration file: preprocessing, parsing, then every
 * module, parameter, global, function, argument count, pseudo-variable and route name checked
 * against what flowgate has. The routes become JavaScript once, here; nothing walks a syntax tree
 * per message.
 * @throws CfgError with every problem found (file:line:col and a hint each).
 */
export function compileCfg(path: string, opts: CfgCompileOptions = {}): CompiledCfg {
  const cwd = opts.cwd ?? process.cwd();
  const file = resolve(cwd, path);
  const reader = opts.reader ?? fileReader(cwd);
  const program = parseCfg(file, reader, opts);
  const cg = codegenOptions(program);
  const r = compileRoutes(program, cg);
  if (!r.ok) throw new CfgError(r.issues);
  const routes = r.routes;
  const shown = reader.display(file);
  let js: string | undefined;
  let script: Script | undefined;
  return {
    file,
    shown,
    program,
    routes,
    notes: routes.notes,
    typescript: (o = {}) => generate(routes, shown, true, o.importFrom ?? 'flowgate'),
    javascript: () => {
      js ??= generate(routes, shown, false, '');
      return js;
    },
    script: () => {
      if (script === undefined) {
        js ??= generate(routes, shown, false, '');
        const make = new Function('defineScript', js) as (d: typeof defineScript) => unknown;
        script = validateScript(make(defineScript), shown);
      }
      return script;
    },
  };
}

/** Compiles a configuration file into a script (for `script: ./x.cfg`). */
export function loadCfgScript(path: string, opts: CfgCompileOptions = {}): Script {
  return compileCfg(path, opts).script();
}

/** Code generator options from the modparams that change generated calls. */
function codegenOptions(p: Program): CodegenOptions {
  let maxfwdLimit: number | undefined;
  for (const mp of p.modparams) {
    if (!mp.modules.includes('maxfwd') || mp.param !== 'max_limit') continue;
    const n = typeof mp.value === 'number' ? mp.value : Number(mp.value);
    if (!Number.isInteger(n) || n < 1 || n > 255)
      throw new CfgError([
        issueAt(
          mp.valuePos,
          `modparam("maxfwd", "max_limit", …): expected an integer 1..255, got ${JSON.stringify(mp.value)}`,
        ),
      ]);
    maxfwdLimit = n;
  }
  let maxWhileLoops: number | undefined;
  for (const g of p.globals) {
    if (g.name !== 'max_while_loops') continue;
    const n = Number(g.value);
    if (!Number.isInteger(n) || n < 1)
      throw new CfgError([
        issueAt(g.valuePos, `max_while_loops=${g.value}: expected a positive integer`),
      ]);
    maxWhileLoops = n;
  }
  return { maxfwdLimit, maxWhileLoops };
}

function where(b: RouteBlock): string {
  return `${b.pos.file}:${b.pos.line}`;
}

function blockName(b: RouteBlock): string {
  const kw =
    b.type === 'request'
      ? 'request_route'
      : b.type === 'route'
        ? 'route'
        : b.type === 'failure'
          ? 'failure_route'
          : b.type === 'onreply'
            ? 'onreply_route'
            : b.type === 'reply'
              ? 'reply_route'
              : `${b.type}_route`;
  return b.name === undefined ? kw : `${kw}[${b.name}]`;
}

/** The script module's source: TypeScript (`ts`) or the JavaScript body run by `new Function`. */
function generate(r: CompiledRoutes, shown: string, ts: boolean, importFrom: string): string {
  const out: string[] = [];
  const param = (usesCtx: boolean): string => {
    const n = usesCtx ? 'ctx' : '_ctx';
    return ts ? `${n}: ScriptContext` : n;
  };
  const method = (
    o: {
      key: string;
      async: boolean;
      body: readonly string[];
      usesCtx: boolean;
      block: RouteBlock;
    },
    ind: string,
  ): void => {
    if (ts) out.push(`${ind}// ${blockName(o.block)} (${where(o.block)})`);
    const name = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(o.key) ? o.key : jsString(o.key);
    out.push(`${ind}${o.async ? 'async ' : ''}${name}(${param(o.usesCtx)}) {`);
    for (const l of o.body) out.push(`${ind}${l}`);
    out.push(`${ind}},`);
  };
  if (ts) {
    out.push(
      `// ${shown}, translated by flowgate cfg translate (see docs/kamailio-cfg.md in flowgate).`,
      '// The routes only: the globals, loadmodule and modparam lines become the configuration of the',
      '// element that runs this script (flowgate.yaml: elements.<name>.listen, alias, modules.<module>…).',
      `import { defineScript, type ScriptContext } from ${jsString(importFrom)};`,
      '',
    );
    for (const s of r.skipped) out.push(`// ${blockName(s.block)} (${where(s.block)}): ${s.why}.`);
    if (r.skipped.length > 0) out.push('');
  } else out.push("'use strict';");
  // regular expressions first (compiled once, at load), then the helper functions
  const hs = [...r.helpers].sort(
    ([a], [b]) => Number(!a.startsWith('RE_')) - Number(!b.startsWith('RE_')),
  );
  for (const [name, h] of hs) {
    out.push(ts ? h.ts : h.js);
    if (ts && !name.startsWith('RE_')) out.push('');
  }
  if (ts && hs.length > 0 && out[out.length - 1] !== '') out.push('');
  out.push(ts ? 'export default defineScript({' : 'return defineScript({');
  if (r.request !== undefined) method(r.request, '  ');
  if (r.onreply !== undefined) method(r.onreply, '  ');
  for (const [k, list] of [
    ['route', r.route],
    ['failure_route', r.failure],
    ['event_route', r.event],
  ] as const) {
    if (list.length === 0) continue;
    out.push(`  ${k}: {`);
    for (const o of list) method(o, '    ');
    out.push('  },');
  }
  out.push('});');
  if (!ts) out.push(`//# sourceURL=${basename(shown)}.js`);
  return `${out.join('\n')}\n`;
}
