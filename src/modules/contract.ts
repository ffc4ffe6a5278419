import type { SipRequest } from '../message/message.js';
import type { ProxyTransport } from '../proxy/types.js';
import type { ReceiveInfo } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ProxyNeed, ProxyServices } from './proxy-api.js';

/**
 * The one shape every module has, like a Kamailio module's `exports`: its name, the script
 * functions it provides, its parameters and what it needs from the proxy. The module registry
 * (`registry.ts`) lists every module through it; the script context, the `.cfg` interpreter,
 * `flowgate check` and the configuration reference read that registry, so a function or
 * parameter exists for all of them or for none.
 */

/** Where a function may be used (Kamailio route types). */
export type RouteKind = 'request' | 'failure' | 'branch-failure' | 'reply' | 'xhttp' | 'event';

/** What kind of value a function argument is. */
export type ArgKind =
  /** A string with `$pv` references substituted (a format). */
  | 'fmt'
  /** A literal string taken as it is. */
  | 'static'
  /** An integer (given as a number or a string of digits). */
  | 'int'
  /** A regular expression. */
  | 'regex'
  /** The name of a `failure_route`. */
  | 'failure-route'
  /** The name of an `event_route[tm:branch-failure:NAME]`. */
  | 'branch-failure-route'
  /** A log level (`L_ERR`, …). */
  | 'level'
  /** A location table name (`location`). */
  | 'table';

/** A script function a module exports (Kamailio `cmd_export_t`). */
export interface ModuleFunction {
  /** Kamailio name, also the script context's method unless {@link method} says otherwise. */
  readonly name: string;
  readonly args: readonly ArgKind[];
  /** Arguments that may be left out (from the end). */
  readonly optional?: number;
  /** The script context's method when it differs from the name (`xinfo` → `xlog`). */
  readonly method?: string;
  /** Returns a promise: a route awaits it. */
  readonly async?: boolean;
  /** Where it can be used; default everywhere except the xhttp route. */
  readonly routes?: readonly RouteKind[];
  /** Argument indexes the context method formats itself (`$pv` substitution at run time). */
  readonly formats?: readonly number[];
  /** Return codes and what each means (positive: true, negative: false, 0: the script ends). */
  readonly returns: Readonly<Record<number, string>>;
  /** One line: what it does. */
  readonly doc: string;
  /**
   * Not a method of the script context: the `.cfg` interpreter handles it itself (xhttp route
   * functions that flowgate's WebSocket transport makes moot).
   */
  readonly cfgOnly?: true;
}

/** The value type of a parameter, as the configuration schema checks it. */
export type ParamType = 'int' | 'flag' | 'string' | 'list';

/** A parameter default: what leaving it out means. */
export type ParamDefault = number | boolean | string | null | readonly string[];

/**
 * Where a parameter's value goes: a key of the element configuration (path below
 * `elements.<name>`), a conversion the configuration layer makes (`special`), or nowhere (`none`,
 * accepted with no effect, with the reason).
 */
export type ParamMapping =
  | { readonly key: readonly string[] }
  | { readonly special: string }
  | { readonly none: string };

/** A module parameter (Kamailio `param_export_t`, set with `modparam`). */
export interface ModuleParam {
  /** Kamailio `modparam` name (and flowgate.yaml key unless {@link to} says otherwise). */
  readonly name: string;
  readonly type: ParamType;
  /** Kamailio's default (flowgate's where it has no Kamailio counterpart); absent: none. */
  readonly default?: ParamDefault;
  /** Unit of a number (`seconds`, `milliseconds`, `bytes`, …). */
  readonly unit?: string;
  /** One line: what it sets. */
  readonly doc: string;
  /** Where the value goes; default `modules.<config>.<name>` of the element. */
  readonly to?: ParamMapping;
  /** A flowgate.yaml key only: no `modparam` of this name (store backends, URLs). */
  readonly yamlOnly?: true;
}

/**
 * How a module maps onto flowgate: `flowgate` a module of flowgate's own with the same name and
 * parameters; `builtin` flowgate does this itself (loading it has no run-time effect); `mapped`
 * its parameters configure something else (a store, the management API).
 */
export type ModuleKind = 'flowgate' | 'builtin' | 'mapped';

/** The key of the script environment that holds a loaded module's instance. */
export type ModuleInstance =
  | 'rr'
  | 'path'
  | 'outbound'
  | 'registrar'
  | 'auth'
  | 'pike'
  | 'permissions'
  | 'nathelper';

/** A module, declared once (Kamailio `struct module_exports`). */
export interface ModuleExports {
  /** Kamailio module name (`loadmodule "name.so"`). */
  readonly name: string;
  readonly kind: ModuleKind;
  /** What loading it means in flowgate (docs, `.cfg` notes). */
  readonly note: string;
  /** Its key under `elements.<name>.modules` in flowgate.yaml, when it has one. */
  readonly config?: string;
  /**
   * The script environment key its instance is found at; a function of the module called while
   * it is absent fails with "the <name> module is not loaded". Absent: always there.
   */
  readonly instance?: ModuleInstance;
  readonly functions: readonly ModuleFunction[];
  readonly params: readonly ModuleParam[];
  /** What it uses of the proxy (members of `ProxyServices` / `ScriptProxy`). */
  readonly needs: readonly ProxyNeed[];
  /** A flowgate module a Kamailio configuration cannot load (Kamailio's is not the same module). */
  readonly notInCfg?: string;
  /**
   * The element option its parameters are read from (`ServerOptions[options]`, handed to
   * {@link create} as `ctx.params`); default its name.
   */
  readonly options?: string;
  /**
   * The script environment key its created instance is handed to, when it has no
   * {@link instance} (a module that is always there: permissions).
   */
  readonly scriptEnv?: ModuleInstance;
  /**
   * Modules created before it, whose instances {@link create} reads with `ctx.dep(name)` (an
   * instance is undefined when the element does not load that module); each must be a registry
   * module with a `create`. Closed after it.
   */
  readonly depends?: readonly string[];
  /**
   * Builds the module for one element, once at start (Kamailio `mod_init`): reads `ctx.params`,
   * registers its hooks with the proxy services itself. Returns undefined when the element does
   * not load it. Absent: nothing to create (a builtin or mapped module).
   */
  readonly create?: (ctx: ModuleContext) => ModuleHandle | undefined;
}

/** What a module's {@link ModuleExports.create} is given. */
export interface ModuleContext {
  /** The element's parameters for this module (see {@link ModuleExports.options}); undefined: none given. */
  readonly params: unknown;
  readonly services: ProxyServices;
  readonly element: ElementServices;
  readonly clock: Clock;
  readonly logger: Logger;
  /** A file in the element's data directory; undefined without one (a key then lives in memory). */
  dataFile(name: string): string | undefined;
  /** The instance of a module named in `depends`; undefined when the element does not load it. */
  dep<T>(name: string): T | undefined;
}

/** What the element offers a module's `create` beyond the proxy services (set once, at start). */
export interface ElementServices {
  readonly name: string;
  /** The element's transport (listeners, flows): a message tap reads it. */
  readonly transport: Pick<ProxyTransport, 'listeners' | 'getFlow'>;
  /** `signDialogs`: sign our Record-Route per dialog. */
  readonly signDialogs: boolean;
  /**
   * A match for the sources of the element's registrar set when it is named by host (its
   * addresses are known only at run time); undefined: no such set.
   */
  readonly registrarSource: ((ip: string, port: number) => boolean) | undefined;
  /** The first check of every received request, before any transaction; false drops it. */
  setRequestFilter(filter: (req: SipRequest, info: ReceiveInfo) => boolean): void;
  /** Which UDP destinations are gone (`ProxyServices.isUdpFlowGone`). */
  setUdpFlowGone(gone: (listenerId: number, address: string, port: number) => boolean): void;
  /** Adds one to a limit counter (`/metrics`), with no log line. */
  countLimit(limit: string): void;
}

/** A created module (Kamailio `child_init` / `destroy` as start / close). */
export interface ModuleHandle {
  /**
   * The instance: the script environment's at {@link ModuleExports.instance} (or `scriptEnv`) and
   * the server's field of the module's name; undefined: not loaded.
   */
  readonly instance: unknown;
  /** Other objects it gives the element, by name (siptrace: the message tap). */
  readonly provides?: Readonly<Record<string, unknown>>;
  /** Once the transport listens, in creation order. */
  start?(): void | Promise<void>;
  /** When the element closes, in reverse creation order. */
  close?(): void | Promise<void>;
}
