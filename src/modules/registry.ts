import { authDbExports, authExports } from './auth/exports.js';
import {
  coreExports,
  corexExports,
  ctlExports,
  dbRedisExports,
  dbSqliteExports,
  dbTextExports,
  domainExports,
  jsonrpcsExports,
  kexExports,
  miFifoExports,
  pvExports,
  slExports,
  stunExports,
  tlsExports,
  tmExports,
  tmxExports,
  websocketExports,
  xhttpExports,
  xlogExports,
} from './builtin.js';
import type {
  ModuleContext,
  ModuleExports,
  ModuleFunction,
  ModuleHandle,
  ModuleInstance,
} from './contract.js';
import { usrlocExports } from './location/exports.js';
import { maxfwdExports } from './maxfwd/exports.js';
import { nathelperExports } from './nathelper/exports.js';
import { outboundExports } from './outbound/exports.js';
import { pathExports } from './path/exports.js';
import { permissionsExports } from './permissions/exports.js';
import { pikeExports } from './pike/exports.js';
import { registrarExports } from './registrar/exports.js';
import { rrExports } from './rr/exports.js';
import { sanityExports } from './sanity/exports.js';
import { siptraceExports } from './siptrace/exports.js';
import { siputilsExports, textopsExports } from './textops/exports.js';

/**
 * Every module, declared once through the module contract (`contract.ts`), in the order a
 * Kamailio configuration's modules are listed to its author. The script context, the `.cfg`
 * interpreter, `flowgate check` and docs/configuration.md read this list; test/unit/modules/
 * registry.test.ts keeps each of them in step with it.
 */
export const MODULE_REGISTRY: readonly ModuleExports[] = [
  coreExports,
  tmExports,
  slExports,
  rrExports,
  outboundExports,
  pathExports,
  maxfwdExports,
  sanityExports,
  textopsExports,
  siputilsExports,
  registrarExports,
  usrlocExports,
  authExports,
  authDbExports,
  dbTextExports,
  dbSqliteExports,
  dbRedisExports,
  permissionsExports,
  pikeExports,
  nathelperExports,
  websocketExports,
  xhttpExports,
  stunExports,
  pvExports,
  xlogExports,
  tmxExports,
  ctlExports,
  kexExports,
  corexExports,
  domainExports,
  tlsExports,
  jsonrpcsExports,
  miFifoExports,
  siptraceExports,
];

/** A module by name. */
export function moduleByName(name: string): ModuleExports | undefined {
  return MODULE_REGISTRY.find((m) => m.name === name);
}

/** A declared function with the module that exports it. */
export interface RegisteredFunction {
  readonly module: ModuleExports;
  readonly fn: ModuleFunction;
}

function indexFunctions(): ReadonlyMap<string, RegisteredFunction> {
  const out = new Map<string, RegisteredFunction>();
  for (const module of MODULE_REGISTRY)
    for (const fn of module.functions) {
      const prev = out.get(fn.name);
      if (prev !== undefined)
        throw new Error(
          `module registry: ${fn.name}() is declared by ${prev.module.name} and ${module.name}`,
        );
      out.set(fn.name, { module, fn });
    }
  return out;
}

/** Every declared function by name (built once, at load). */
export const FUNCTION_INDEX: ReadonlyMap<string, RegisteredFunction> = indexFunctions();

/**
 * The "module not loaded" message of a script function whose module instance is absent, e.g.
 * `record_route(): the rr module is not loaded` (auth_db's functions name auth, the module that
 * holds them in flowgate). Used on the error path only: no lookup per message.
 */
export function notLoadedMessage(fn: string, instance: ModuleInstance): string {
  return `${fn}(): the ${FUNCTION_INDEX.get(fn)?.module.instance ?? instance} module is not loaded`;
}

/**
 * The modules with a `create`, each after the modules it `depends` on (a depth-first topological
 * sort that keeps the list's order where `depends` leaves it free). Throws naming a dependency
 * that is not such a module, or the modules of a cycle.
 */
export function creationOrder(
  modules: readonly ModuleExports[] = MODULE_REGISTRY,
): ModuleExports[] {
  const byName = new Map<string, ModuleExports>();
  for (const m of modules) if (m.create !== undefined) byName.set(m.name, m);
  const out: ModuleExports[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (m: ModuleExports): void => {
    if (done.has(m.name)) return;
    const at = path.indexOf(m.name);
    if (at >= 0)
      throw new Error(
        `module registry: cyclic depends: ${[...path.slice(at), m.name].join(' -> ')}`,
      );
    path.push(m.name);
    for (const d of m.depends ?? []) {
      const dep = byName.get(d);
      if (dep === undefined)
        throw new Error(
          `module registry: ${m.name} depends on ${d}, which is no module with a create`,
        );
      visit(dep);
    }
    path.pop();
    done.add(m.name);
    out.push(m);
  };
  for (const m of byName.values()) visit(m);
  return out;
}

/** A module created for an element, with what its `create` returned (undefined: not loaded). */
export interface CreatedModule {
  readonly module: ModuleExports;
  readonly handle: ModuleHandle | undefined;
}

/**
 * Creates an element's modules in {@link creationOrder} (once, at start): each `create` gets its
 * parameters from `params(module)` and the instances of its `depends`.
 */
export function createModules(
  base: Omit<ModuleContext, 'params' | 'dep'>,
  params: (module: ModuleExports) => unknown,
  modules: readonly ModuleExports[] = MODULE_REGISTRY,
): CreatedModule[] {
  const created: CreatedModule[] = [];
  const instances = new Map<string, unknown>();
  for (const module of creationOrder(modules)) {
    const deps = new Set(module.depends);
    const handle = module.create?.({
      ...base,
      params: params(module),
      dep: <T>(name: string): T | undefined => {
        // only declared dependencies: they are the ones created before this module
        if (!deps.has(name))
          throw new Error(`module ${module.name}: ${name} is not in its depends`);
        return instances.get(name) as T | undefined;
      },
    });
    instances.set(module.name, handle?.instance);
    created.push({ module, handle });
  }
  return created;
}

/** Runs the `start` hooks in creation order. */
export async function startModules(created: readonly CreatedModule[]): Promise<void> {
  for (const c of created) await c.handle?.start?.();
}

/**
 * Runs the `close` hooks in reverse creation order (a module closes before what it depends on);
 * every hook runs, and the first failure is thrown after the last.
 */
export async function closeModules(created: readonly CreatedModule[]): Promise<void> {
  let failure: { error: unknown } | undefined;
  for (let i = created.length - 1; i >= 0; i--) {
    try {
      await created[i]?.handle?.close?.();
    } catch (error) {
      failure ??= { error };
    }
  }
  if (failure !== undefined) throw failure.error;
}
