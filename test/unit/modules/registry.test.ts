import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { MODULE_DEFAULTS } from '../../../src/config/defaults.js';
import { knownKeys } from '../../../src/config/load.js';
import type {
  ModuleContext,
  ModuleExports,
  ModuleHandle,
  ModuleParam,
} from '../../../src/modules/contract.js';
import {
  closeModules,
  createModules,
  creationOrder,
  FUNCTION_INDEX,
  MODULE_REGISTRY,
  moduleByName,
  startModules,
} from '../../../src/modules/registry.js';
import type { RequestContext } from '../../../src/proxy/context.js';
import { FUNCTIONS, MODULES, PARAMS } from '../../../src/script/cfg/registry.js';
import { ScriptContext, type ScriptEnv } from '../../../src/script/context.js';
import { noopLogger } from '../../../src/util/logger.js';

// A module is declared once (src/modules/registry.ts) and every reader follows: these tests fail
// when a module is half-registered (a function the script context or the .cfg interpreter lacks,
// a parameter the configuration schema does not accept, a schema key no module declares).

/** Methods of the script context that are not Kamailio functions of a module. */
const CONTEXT_HELPERS = new Set([
  'constructor',
  'route',
  'exit',
  'drop',
  'match',
  'via',
  '$hdr',
  'uriUser',
  'viaCount',
  // flowgate's own test of a preloaded route set (the built-in edge script; no Kamailio name)
  'routes_are_myself',
  // the context's protected helpers (request of a request route, $rc, $pv format, failed branch)
  'req',
  'rc',
  'format',
  'branch',
]);

/** Module keys of flowgate.yaml that are no module: message and connection caps (core globals). */
const NOT_MODULES = new Set(['limits']);

function contextMethods(): Set<string> {
  const out = new Set<string>();
  for (let p = ScriptContext.prototype; p !== Object.prototype; p = Object.getPrototypeOf(p))
    for (const [name, d] of Object.entries(Object.getOwnPropertyDescriptors(p)))
      if (typeof d.value === 'function') out.add(name);
  return out;
}

const elementModules = ['elements', 'x', 'modules'];

function paramPath(m: ModuleExports, p: ModuleParam): readonly string[] | undefined {
  if (p.to !== undefined) return 'key' in p.to ? p.to.key : undefined;
  return ['modules', m.config ?? m.name, p.name];
}

describe('module registry', () => {
  test('module names and function names are unique', () => {
    const names = MODULE_REGISTRY.map((m) => m.name);
    assert.deepEqual(names, [...new Set(names)]);
    const fns = MODULE_REGISTRY.flatMap((m) => m.functions.map((f) => f.name));
    const dup = fns.filter((f, i) => fns.indexOf(f) !== i);
    assert.deepEqual(dup, [], 'a function declared by two modules');
    assert.equal(FUNCTION_INDEX.size, fns.length);
  });

  test('every declared function is a method of the script context', () => {
    const methods = contextMethods();
    for (const m of MODULE_REGISTRY)
      for (const f of m.functions) {
        if (f.cfgOnly === true) {
          assert.ok(
            f.routes?.every((r) => r === 'xhttp'),
            `${f.name}: cfgOnly is for xhttp routes`,
          );
          continue;
        }
        const method = f.method ?? f.name;
        assert.ok(methods.has(method), `${m.name}.${f.name}: ScriptContext has no ${method}()`);
      }
  });

  test('every function of the script context is declared by a module', () => {
    const declared = new Set(
      MODULE_REGISTRY.flatMap((m) => m.functions.map((f) => f.method ?? f.name)),
    );
    for (const name of contextMethods())
      if (!CONTEXT_HELPERS.has(name))
        assert.ok(declared.has(name), `ScriptContext.${name}() is in no module's exports`);
  });

  test("the .cfg interpreter's functions are the registry's, with the same signature", () => {
    assert.deepEqual(Object.keys(FUNCTIONS).sort(), [...FUNCTION_INDEX.keys()].sort());
    for (const [name, { module, fn }] of FUNCTION_INDEX) {
      const c = FUNCTIONS[name];
      assert.ok(c !== undefined, name);
      assert.equal(c.module, module.name, name);
      assert.deepEqual(c.args, fn.args, name);
      assert.equal(c.optional, fn.optional, name);
      assert.equal(c.async, fn.async, name);
      assert.equal(c.method, fn.method, name);
      assert.ok(Object.keys(fn.returns).length > 0, `${name}: no return codes declared`);
      // a loadable module's functions, or the core's
      assert.ok(module.name === 'core' || MODULES[module.name] !== undefined, name);
    }
  });

  test("the .cfg interpreter's modules and parameters are the registry's", () => {
    const loadable = MODULE_REGISTRY.filter((m) => m.notInCfg === undefined);
    assert.deepEqual(
      Object.keys(MODULES),
      loadable.map((m) => m.name),
    );
    for (const m of loadable) {
      const cfgParams = Object.keys(PARAMS[m.name] ?? {});
      assert.deepEqual(
        cfgParams,
        m.params.filter((p) => p.yamlOnly !== true).map((p) => p.name),
        m.name,
      );
    }
  });

  test('a function of a module that is not loaded fails with the registry message', async () => {
    const env: ScriptEnv = {
      core: {} as ScriptEnv['core'],
      logger: noopLogger,
      runRoute: () => {},
    };
    const ctx = new ScriptContext(env, {} as RequestContext);
    const call = ctx as unknown as Record<string, (...a: unknown[]) => unknown>;
    let checked = 0;
    for (const [name, { module, fn }] of FUNCTION_INDEX) {
      if (module.instance === undefined || fn.cfgOnly === true) continue;
      // an alias (www_authenticate) fails as the function it runs (www_authorize)
      const expected = new RegExp(`^(\\w+)\\(\\): the ${module.instance} module is not loaded$`);
      const own = (message: string): void => {
        const fnName = expected.exec(message)?.[1] ?? '';
        assert.ok(
          fnName === name || FUNCTION_INDEX.get(fnName)?.module === module,
          `${name}: ${message}`,
        );
      };
      const args = fn.args.map((a) => (a === 'int' ? 0 : a === 'table' ? 'location' : 'x'));
      let result: unknown;
      try {
        result = call[fn.method ?? name]?.(...args);
      } catch (e) {
        own((e as Error).message);
        assert.notEqual(fn.async, true, `${name}: declared async, threw synchronously`);
        checked++;
        continue;
      }
      assert.ok(result instanceof Promise, `${name}() did not fail without ${module.instance}`);
      assert.equal(fn.async, true, `${name}: returns a promise, not declared async`);
      await assert.rejects(result, (e: Error) => {
        own(e.message);
        return true;
      });
      checked++;
    }
    assert.ok(checked >= 20, `only ${checked} functions checked`);
  });

  test('every declared parameter is accepted by the configuration schema, with its default', () => {
    const defaults = MODULE_DEFAULTS as unknown as Record<string, Record<string, unknown>>;
    for (const m of MODULE_REGISTRY)
      for (const p of m.params) {
        const path = paramPath(m, p);
        if (path === undefined) continue; // special or no effect: the configuration layer's
        const key = path[path.length - 1] as string;
        assert.ok(
          knownKeys(['elements', 'x', ...path.slice(0, -1)]).includes(key),
          `${m.name}.${p.name}: elements.<name>.${path.join('.')} is not a configuration key`,
        );
        if (path[0] !== 'modules' || p.default === undefined) continue;
        const section = defaults[path[1] as string];
        if (section === undefined) continue;
        const d = section[key];
        assert.deepEqual(d ?? null, p.default, `${m.name}.${p.name}: default`);
      }
  });

  test('every module key of the configuration schema is declared by a module', () => {
    for (const config of knownKeys(elementModules)) {
      if (NOT_MODULES.has(config)) continue;
      const m = MODULE_REGISTRY.find((x) => x.config === config);
      assert.ok(m !== undefined, `modules.${config} belongs to no registered module`);
      const declared = new Set(
        MODULE_REGISTRY.flatMap((x) =>
          x.params.flatMap((p) => {
            // a special mapping converts a parameter of the same name (permissions trusted)
            if (p.to !== undefined && 'special' in p.to) return x.config === config ? [p.name] : [];
            const path = paramPath(x, p);
            return path?.[0] === 'modules' && path[1] === config ? [path[2] as string] : [];
          }),
        ),
      );
      for (const key of knownKeys([...elementModules, config]))
        assert.ok(declared.has(key), `modules.${config}.${key} is declared by no module`);
    }
  });

  test('every special parameter mapping is converted by the configuration layer', () => {
    const src = join(import.meta.dirname, '..', '..', '..', 'src');
    const files = ['config', join('script', 'cfg')].flatMap((d) =>
      readdirSync(join(src, d))
        .filter((f) => f.endsWith('.ts') && f !== 'registry.ts')
        .map((f) => readFileSync(join(src, d, f), 'utf8')),
    );
    for (const m of MODULE_REGISTRY)
      for (const p of m.params) {
        if (p.to === undefined || !('special' in p.to)) continue;
        const special = p.to.special;
        // a case on the mapping's name, or code that reads this module's parameter by name
        const handled = files.some(
          (t) =>
            t.includes(`'${special}'`) || (t.includes(`'${m.name}'`) && t.includes(`'${p.name}'`)),
        );
        assert.ok(handled, `${special}: converted nowhere in src/config or src/script/cfg`);
      }
  });

  test("a module's code uses only the proxy members its exports declare it needs", () => {
    const root = join(import.meta.dirname, '..', '..', '..', 'src', 'modules');
    const dirs: Readonly<Record<string, string>> = { usrloc: 'location' };
    let checked = 0;
    for (const m of MODULE_REGISTRY) {
      const dir = join(root, dirs[m.name] ?? m.name);
      let files: string[];
      try {
        files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
      } catch {
        continue; // declared in builtin.ts: the proxy core does its job
      }
      if (m.name === 'auth_db') continue; // shares the auth module's code
      const used = new Set<string>();
      for (const f of files)
        for (const u of readFileSync(join(dir, f), 'utf8').matchAll(/(?:#core|\bcore)\.(\w+)/g))
          used.add(u[1] as string);
      for (const u of used)
        assert.ok(
          (m.needs as readonly string[]).includes(u),
          `${m.name} uses the proxy's ${u}, not in its needs`,
        );
      checked++;
    }
    assert.ok(checked >= 10, `only ${checked} modules checked`);
  });

  test('moduleByName', () => {
    assert.equal(moduleByName('rr')?.instance, 'rr');
    assert.equal(moduleByName('nope'), undefined);
  });
});

/** A module for the lifecycle tests: records its create / start / close in `log`. */
function fake(
  name: string,
  depends: readonly string[],
  log: string[],
  close?: () => void,
): ModuleExports {
  return {
    name,
    kind: 'flowgate',
    note: 'test',
    needs: [],
    functions: [],
    params: [],
    depends,
    create: (ctx): ModuleHandle => {
      const deps = depends.map((d) => `${d}=${String(ctx.dep<string>(d))}`);
      log.push(
        `create ${name}(${String(ctx.params)})${deps.length > 0 ? ` ${deps.join(',')}` : ''}`,
      );
      return {
        instance: `${name}!`,
        start: () => {
          log.push(`start ${name}`);
        },
        close: () => {
          log.push(`close ${name}`);
          close?.();
        },
      };
    },
  };
}

const BASE = {} as Omit<ModuleContext, 'params' | 'dep'>;

describe('module lifecycle (create / start / close from the registry)', () => {
  test("the registry's modules are created after what they depend on", () => {
    const order = creationOrder().map((m) => m.name);
    for (const m of MODULE_REGISTRY)
      for (const d of m.depends ?? [])
        assert.ok(order.indexOf(d) < order.indexOf(m.name), `${m.name} created before ${d}`);
    for (const name of ['outbound', 'rr', 'path', 'usrloc', 'registrar', 'permissions', 'pike'])
      assert.ok(order.includes(name), `${name} has no create`);
    assert.deepEqual(
      ['auth', 'nathelper', 'siptrace'].filter((n) => !order.includes(n)),
      [],
    );
    // builtin modules have nothing to create
    assert.equal(order.includes('tm'), false);
  });

  test('creation follows depends, keeps the list order otherwise; close runs in reverse', async () => {
    const log: string[] = [];
    const modules = [
      fake('auth', ['perm', 'pike'], log),
      fake('pike', ['perm'], log),
      fake('perm', [], log),
      fake('other', [], log),
    ];
    assert.deepEqual(
      creationOrder(modules).map((m) => m.name),
      ['perm', 'pike', 'auth', 'other'],
    );
    const created = createModules(BASE, (m) => `p-${m.name}`, modules);
    await startModules(created);
    await closeModules(created);
    assert.deepEqual(log, [
      'create perm(p-perm)',
      'create pike(p-pike) perm=perm!',
      'create auth(p-auth) perm=perm!,pike=pike!',
      'create other(p-other)',
      'start perm',
      'start pike',
      'start auth',
      'start other',
      'close other',
      'close auth',
      'close pike',
      'close perm',
    ]);
  });

  test('a missing dependency is refused, naming it', () => {
    const modules = [fake('rr', ['outbound'], []), fake('path', [], [])];
    assert.throws(() => creationOrder(modules), /rr depends on outbound, which is no module/);
    // a module without a create cannot be depended on either
    assert.throws(
      () => creationOrder([fake('x', ['tm'], []), ...MODULE_REGISTRY]),
      /x depends on tm, which is no module with a create/,
    );
  });

  test('a dependency cycle is refused, naming the cycle', () => {
    const modules = [fake('a', ['b'], []), fake('b', ['c'], []), fake('c', ['a'], [])];
    assert.throws(() => creationOrder(modules), /cyclic depends: a -> b -> c -> a/);
    assert.throws(
      () => creationOrder([fake('self', ['self'], [])]),
      /cyclic depends: self -> self/,
    );
  });

  test("a module reads only its declared dependencies' instances", () => {
    const sneaky: ModuleExports = {
      ...fake('sneaky', [], []),
      create: (ctx) => ({ instance: ctx.dep('a') }),
    };
    assert.throws(
      () => createModules(BASE, () => undefined, [fake('a', [], []), sneaky]),
      /sneaky: a is not in its depends/,
    );
  });

  test('every close hook runs; the first failure is thrown after the last', async () => {
    const log: string[] = [];
    const created = createModules(BASE, () => undefined, [
      fake('first', [], log),
      fake('second', [], log, () => {
        throw new Error('second failed');
      }),
      fake('third', [], log),
    ]);
    await assert.rejects(closeModules(created), /second failed/);
    assert.deepEqual(log.slice(3), ['close third', 'close second', 'close first']);
  });

  test('src/server.ts creates no module itself: it imports module classes as types only', () => {
    const src = join(import.meta.dirname, '..', '..', '..', 'src');
    const server = readFileSync(join(src, 'server.ts'), 'utf8');
    const valueImports = [
      ...server.matchAll(/^import\s+(?!type\b)[^;]*?from\s+'(\.\/modules\/[^']+)'/gms),
    ].map((m) => m[1]);
    assert.deepEqual(valueImports, ['./modules/registry.js']);
    // and constructs none of the classes a module exports
    const moduleClasses = new Set<string>();
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.ts'))
          for (const m of readFileSync(p, 'utf8').matchAll(/export\s+class\s+(\w+)/g))
            moduleClasses.add(m[1] as string);
      }
    };
    walk(join(src, 'modules'));
    assert.ok(moduleClasses.has('Outbound') && moduleClasses.has('MessageTap'));
    const constructed = [...server.matchAll(/\bnew\s+(\w+)/g)].map((m) => m[1] as string);
    assert.deepEqual(
      constructed.filter((c) => moduleClasses.has(c)),
      [],
    );
  });
});
