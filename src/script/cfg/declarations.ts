import type { CfgNote, Pos, Program } from './ast.js';
import { didYouMean } from './names.js';
import { acceptsAnyParam, GLOBALS, KAMAILIO_ONLY_MODULES, MODULES, PARAMS } from './registry.js';

type Err = (pos: Pos, message: string) => void;

/**
 * Checks a configuration's `loadmodule`s, `modparam`s and core globals against the module
 * registry's view (`registry.ts`): an unknown name is an error with the nearest known one, a
 * module flowgate does not have is named as such, a parameter without effect gets a note.
 * Returns the modules the configuration loads.
 */
export function checkDeclarations(prog: Program, err: Err, notes: CfgNote[]): Set<string> {
  const modules = new Set<string>();
  checkModules(prog, modules, err);
  checkModparams(prog, modules, err, notes);
  checkGlobals(prog, err, notes);
  return modules;
}

function checkModules(prog: Program, modules: Set<string>, err: Err): void {
  for (const m of prog.modules) {
    if (MODULES[m.name] !== undefined) {
      modules.add(m.name);
      continue;
    }
    if (KAMAILIO_ONLY_MODULES.includes(m.name)) {
      err(
        m.pos,
        `Kamailio module '${m.name}' is not available in flowgate (flowgate has: ${Object.keys(MODULES).join(', ')}); remove the loadmodule and what uses it`,
      );
      continue;
    }
    err(
      m.pos,
      `unknown module '${m.name}'${didYouMean(m.name, [...Object.keys(MODULES), ...KAMAILIO_ONLY_MODULES])}`,
    );
  }
}

function checkModparams(
  prog: Program,
  modules: ReadonlySet<string>,
  err: Err,
  notes: CfgNote[],
): void {
  for (const mp of prog.modparams) {
    for (const name of mp.modules) {
      if (MODULES[name] === undefined) {
        if (KAMAILIO_ONLY_MODULES.includes(name))
          err(mp.modulePos, `modparam: Kamailio module '${name}' is not available in flowgate`);
        else
          err(
            mp.modulePos,
            `modparam: unknown module '${name}'${didYouMean(name, Object.keys(MODULES))}`,
          );
        continue;
      }
      if (!modules.has(name)) {
        err(
          mp.modulePos,
          `modparam for module '${name}', which is not loaded: add loadmodule "${name}.so" before it`,
        );
        continue;
      }
      if (acceptsAnyParam(name)) {
        notes.push({
          pos: mp.paramPos,
          message: `modparam("${name}", "${mp.param}", …): ${name} is built into flowgate (${MODULES[name]?.note}); the parameter has no effect`,
        });
        continue;
      }
      const params = PARAMS[name] ?? {};
      const p = params[mp.param];
      if (p === undefined) {
        const known = Object.keys(params);
        err(
          mp.paramPos,
          `unknown parameter '${mp.param}' of module ${name}${didYouMean(mp.param, known)}${known.length === 0 ? ` (flowgate's ${name} has no parameters)` : `; flowgate's ${name} has: ${known.join(', ')}`}`,
        );
        continue;
      }
      if ('none' in p)
        notes.push({
          pos: mp.paramPos,
          message: `modparam("${name}", "${mp.param}", …) has no effect: ${p.none}`,
        });
    }
  }
}

function checkGlobals(prog: Program, err: Err, notes: CfgNote[]): void {
  for (const g of prog.globals) {
    const d = GLOBALS[g.name];
    if (d === undefined) {
      err(g.pos, `unknown global parameter '${g.name}'${didYouMean(g.name, Object.keys(GLOBALS))}`);
      continue;
    }
    if ('none' in d) notes.push({ pos: g.pos, message: `${g.name}=… has no effect: ${d.none}` });
  }
}
