import type { ReplyContext, RequestContext } from '../proxy/context.js';
import type { RouteHandlers } from '../proxy/types.js';
import { ScriptContext, type ScriptEnv } from './context.js';

/** A route body: gets the script context; may be async when it awaits I/O functions. */
export type Route = (ctx: ScriptContext) => void | Promise<void>;

/**
 * A routing script, in Kamailio's shape: the same route blocks, names and functions as a
 * `kamailio.cfg`, written in TypeScript/JavaScript.
 */
export interface Script {
  /** `request_route { … }`: every request. */
  readonly request_route: Route;
  /** `onreply_route { … }`: every reply (before transaction processing). */
  readonly onreply_route?: Route | undefined;
  /** `route[NAME] { … }` */
  readonly route?: Readonly<Record<string, Route>> | undefined;
  /** `failure_route[NAME] { … }` */
  readonly failure_route?: Readonly<Record<string, Route>> | undefined;
  /** `event_route[NAME] { … }`, e.g. `'tm:branch-failure:FAIL-BRANCH'`. */
  readonly event_route?: Readonly<Record<string, Route>> | undefined;
}

/** Declares a script (identity at run time; gives editors the types). */
export function defineScript(s: Script): Script {
  return s;
}

/** Checks a script object's shape and that every route it names from code exists; throws with a clear message. */
export function validateScript(s: unknown, source: string): Script {
  const fail = (m: string): never => {
    throw new Error(`${source}: ${m}`);
  };
  if (typeof s !== 'object' || s === null)
    fail('the script module must export default defineScript({ request_route(ctx) { … } })');
  const o = s as Record<string, unknown>;
  if (typeof o['request_route'] !== 'function') fail('request_route is missing or not a function');
  if (o['onreply_route'] !== undefined && typeof o['onreply_route'] !== 'function')
    fail('onreply_route must be a function');
  for (const k of ['route', 'failure_route', 'event_route']) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'object' || v === null) fail(`${k} must be an object of named routes`);
    for (const [name, fn] of Object.entries(v as object))
      if (typeof fn !== 'function') fail(`${k}[${name}] is not a function`);
  }
  const known = new Set([
    'request_route',
    'onreply_route',
    'route',
    'failure_route',
    'event_route',
  ]);
  for (const k of Object.keys(o))
    if (!known.has(k)) fail(`unknown key '${k}' (expected ${[...known].join(', ')})`);
  return s as Script;
}

/** Adapts a script to the proxy core's route handlers. */
export function scriptHandlers(script: Script, env: Omit<ScriptEnv, 'runRoute'>): RouteHandlers {
  const full: ScriptEnv = {
    ...env,
    runRoute: (name: string, ctx: ScriptContext) => {
      const r = script.route?.[name];
      if (r === undefined) throw new Error(`route(${name}): no such route`);
      return r(ctx);
    },
  };
  const reply = script.onreply_route;
  return {
    request: (ctx: RequestContext) => script.request_route(new ScriptContext(full, ctx)),
    reply:
      reply === undefined ? undefined : (ctx: ReplyContext) => reply(new ScriptContext(full, ctx)),
    failure: (name: string, ctx: RequestContext) => {
      const r = script.failure_route?.[name];
      if (r === undefined) throw new Error(`failure_route[${name}] is not defined`);
      return r(new ScriptContext(full, ctx));
    },
    branchFailure: (name: string, ctx: RequestContext) => {
      const r = script.event_route?.[`tm:branch-failure:${name}`];
      if (r === undefined) throw new Error(`event_route[tm:branch-failure:${name}] is not defined`);
      return r(new ScriptContext(full, ctx));
    },
  };
}
