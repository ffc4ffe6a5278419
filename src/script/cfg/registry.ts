import { XLOG_LEVEL } from '../../modules/builtin.js';
import type { ArgKind, ModuleFunction, ModuleKind, RouteKind } from '../../modules/contract.js';
import { MODULE_REGISTRY } from '../../modules/registry.js';

/**
 * What the Kamailio configuration interpreter knows: modules, their functions and parameters
 * (derived from the module registry, `src/modules/registry.ts`, so that the interpreter, the
 * script context, `flowgate check` and the configuration reference cannot disagree), and what
 * only the interpreter needs: core globals, pseudo-variables, selects, unsupported functions.
 */

export type { ArgKind, RouteKind };

/** A function a configuration may call: a module function with the module that exports it. */
export interface CfgFunction extends Omit<ModuleFunction, 'name' | 'returns' | 'doc'> {
  /** Kamailio module that exports it (`core`: always there). */
  readonly module: string;
}

/** How a module maps onto flowgate (see `ModuleKind`). */
export interface CfgModule {
  readonly kind: ModuleKind;
  /** What loading it means in flowgate (for docs and notes). */
  readonly note: string;
}

/** The value type of a parameter (as the configuration schema checks it). */
export type ParamValue = 'int' | 'flag' | 'string';

/**
 * A module parameter: where it goes in an element of the configuration (`to`, a path below
 * `elements.<name>`), or `special` (converted by the configuration layer), or `none` (accepted,
 * no effect, with the reason).
 */
export type CfgParam =
  | { readonly to: readonly string[]; readonly value: ParamValue }
  | { readonly special: string }
  | { readonly none: string };

interface CfgView {
  readonly functions: Record<string, CfgFunction>;
  readonly modules: Record<string, CfgModule>;
  readonly params: Record<string, Record<string, CfgParam>>;
}

/** The interpreter's view of the module registry, built once when this file loads. */
function cfgView(): CfgView {
  const view: CfgView = { functions: {}, modules: {}, params: {} };
  for (const m of MODULE_REGISTRY) {
    for (const f of m.functions) {
      const { name, returns: _r, doc: _d, ...rest } = f;
      view.functions[name] = { module: m.name, ...rest };
    }
    // the core needs no loadmodule; a flowgate module Kamailio has differently is not loadable
    if (m.notInCfg !== undefined) continue;
    view.modules[m.name] = { kind: m.kind, note: m.note };
    const params: Record<string, CfgParam> = {};
    for (const p of m.params) {
      if (p.yamlOnly === true) continue;
      const to = p.to;
      if (to !== undefined && !('key' in to)) params[p.name] = to;
      else if (p.type === 'list')
        throw new Error(`module registry: ${m.name}.${p.name}: a list parameter needs a mapping`);
      else
        params[p.name] = {
          to: to?.key ?? ['modules', m.config ?? m.name, p.name],
          value: p.type,
        };
    }
    if (Object.keys(params).length > 0) view.params[m.name] = params;
  }
  return view;
}

const VIEW = cfgView();

/**
 * Every function flowgate runs from a configuration, by Kamailio name. `core` functions need no
 * `loadmodule`; the others need their module loaded, as in Kamailio.
 */
export const FUNCTIONS: Readonly<Record<string, CfgFunction>> = VIEW.functions;

/** The log level a `xinfo()`-style function logs at (the xlog module's own table). */
export const XLOG_SHORTHANDS: Readonly<Record<string, string>> = XLOG_LEVEL;

/** xlog levels. */
export const XLOG_LEVELS: readonly string[] = [
  'L_ALERT',
  'L_BUG',
  'L_CRIT',
  'L_ERR',
  'L_WARN',
  'L_NOTICE',
  'L_INFO',
  'L_DBG',
];

/**
 * Kamailio functions flowgate does not have, with what to do instead (so that a port gets an
 * answer rather than "unknown function").
 */
export const UNSUPPORTED_FUNCTIONS: Readonly<Record<string, string>> = {
  forward: 'stateless forwarding is not supported: use t_relay()',
  t_on_branch: 'flowgate runs no branch_route',
  t_on_reply: 'flowgate runs no named onreply_route: use the main onreply_route',
  t_forward_nonack: 'use t_relay()',
  t_relay_to_udp: 'set $du = "sip:host:port;transport=udp" and t_relay()',
  t_relay_to_tcp: 'set $du = "sip:host:port;transport=tcp" and t_relay()',
  t_relay_to_tls: 'set $du = "sip:host:port;transport=tls" and t_relay()',
  rewritehostport: 'assign $ru or $du',
  rewriteuri: 'assign $ru',
  revert_uri: 'assign $ru',
  subst: 'message rewriting by regular expression is not supported',
  subst_uri: 'assign $ru',
  search: 'use if ($hdr(Name) =~ "re")',
  sl_forward_reply: 'not supported',
  registered: 'not supported: use lookup()',
  ds_select_dst: 'the dispatcher module is not available',
  rtpengine_manage: 'the rtpengine module is not available',
  dlg_manage: 'the dialog module is not available',
  force_rport: 'use the force_rport=yes global',
  add_local_rport: 'use the force_rport=yes global',
  fix_nated_sdp: 'SDP rewriting is not supported',
  avp_printf: 'use $avp(name) = "…"',
  log: 'use xlog("L_INFO", "…")',
};

/** Every Kamailio module a configuration may load. */
export const MODULES: Readonly<Record<string, CfgModule>> = VIEW.modules;

/** Kamailio modules flowgate does not have (named as such, never silently ignored). */
export const KAMAILIO_ONLY_MODULES: readonly string[] = [
  'acc',
  'alias_db',
  'app_lua',
  'app_python3',
  'app_jsdt',
  'avpops',
  'benchmark',
  'cfgutils',
  'db_mysql',
  'db_postgres',
  'debugger',
  'dialog',
  'dispatcher',
  'dmq',
  'drouting',
  'enum',
  'evapi',
  'group',
  'htable',
  'http_client',
  'ims_registrar_pcscf',
  'jansson',
  'keepalive',
  'lcr',
  'mqueue',
  'msilo',
  'nat_traversal',
  'presence',
  'pua',
  'rtimer',
  'rtpengine',
  'rtpproxy',
  'sdpops',
  'secfilter',
  'sipcapture',
  'siptrace',
  'speeddial',
  'sqlops',
  'statistics',
  'textopsx',
  'topoh',
  'topos',
  'uac',
  'uac_redirect',
  'uri_db',
  'userblocklist',
  'usrloc_redis',
  'utils',
];

/** Parameters of every module that has any, by module and Kamailio name. */
export const PARAMS: Readonly<Record<string, Readonly<Record<string, CfgParam>>>> = VIEW.params;

/** Modules whose parameters are all accepted without effect (flowgate does their job itself). */
export function acceptsAnyParam(module: string): boolean {
  const m = MODULES[module];
  return m?.kind === 'builtin' && PARAMS[module] === undefined;
}

/** A core global parameter (`name=value`). */
export type CfgGlobal =
  | { readonly to: readonly string[]; readonly value: ParamValue }
  | { readonly special: string }
  | { readonly none: string };

const NOT_HERE = 'no effect in flowgate';

/** Core globals, by Kamailio name. */
export const GLOBALS: Readonly<Record<string, CfgGlobal>> = {
  listen: { special: 'listen' },
  port: { special: 'port' },
  alias: { special: 'alias' },
  force_rport: { to: ['force_rport'], value: 'flag' },
  tcp_connection_lifetime: { to: ['tcp_connection_lifetime'], value: 'int' },
  tcp_connect_timeout: { to: ['tcp_connect_timeout'], value: 'int' },
  tcp_max_connections: { to: ['modules', 'limits', 'max_connections'], value: 'int' },
  children: { to: ['children'], value: 'int' },
  server_header: { special: 'server_header' },
  server_signature: { special: 'server_signature' },
  debug: { special: 'debug' },
  runtime_dir: { special: 'runtime_dir' },
  enable_tls: { special: 'enable_tls' },
  allow_unauthenticated: { special: 'allow_unauthenticated' },
  log_stderror: { none: 'flowgate logs JSON lines to stdout (or log.file)' },
  log_facility: { none: 'flowgate logs JSON lines; send them to syslog with the service manager' },
  log_name: { none: NOT_HERE },
  log_prefix: { none: NOT_HERE },
  log_color: { none: NOT_HERE },
  fork: { none: 'flowgate runs one process per element' },
  mpath: { none: 'modules are built in' },
  auto_aliases: { none: 'flowgate never looks up its own addresses in DNS' },
  tcp_accept_no_cl: { none: 'WebSocket upgrades are handled by the WebSocket transport' },
  sip_warning: { none: NOT_HERE },
  memdbg: { none: NOT_HERE },
  memlog: { none: NOT_HERE },
  dns: { none: NOT_HERE },
  rev_dns: { none: NOT_HERE },
  use_dns_cache: { none: NOT_HERE },
  dns_try_ipv6: { none: NOT_HERE },
  disable_tcp: { special: 'disable_tcp' },
  tcp_children: { none: 'flowgate runs one process per element' },
  udp4_raw: { none: NOT_HERE },
  shm_mem_size: { none: NOT_HERE },
  pkg_mem_size: { none: NOT_HERE },
  user_agent_header: { none: 'flowgate sends no User-Agent of its own' },
  max_while_loops: { special: 'max_while_loops' },
};

/**
 * Pseudo-variables, by name (without `$`): how the script context reads them, and whether the
 * context's own `$pv` formatting (xlog, headers) knows them.
 */
export interface CfgPv {
  /** JavaScript reading it, with `ctx` the script context and `A` the quoted argument. */
  readonly read: string;
  /** JavaScript assigning `V` to it, when it can be assigned. */
  readonly write?: string;
  /** The value's type: string, integer, or either (a script variable). */
  readonly type: 'str' | 'int' | 'any';
  /** Needs an argument: `$hdr(Name)`. */
  readonly arg?: boolean;
  /** The context's format substitution (`xlog`, `insert_hf`) knows it as written. */
  readonly inFormat?: boolean;
}

/** Every pseudo-variable flowgate reads; names are Kamailio's. */
export const PVS: Readonly<Record<string, CfgPv>> = {
  ru: { read: 'ctx.$ru', write: 'ctx.$ru = V', type: 'str', inFormat: true },
  rU: { read: 'ctx.$rU', type: 'str', inFormat: true },
  rd: { read: 'ctx.$rd', type: 'str' },
  du: { read: 'ctx.$du', write: 'ctx.$du = V', type: 'str', inFormat: true },
  fu: { read: 'ctx.$fu', type: 'str', inFormat: true },
  tu: { read: 'ctx.$tu', type: 'str', inFormat: true },
  fd: { read: 'ctx.$fd', type: 'str', inFormat: true },
  td: { read: 'ctx.$td', type: 'str', inFormat: true },
  fU: { read: 'ctx.$fU', type: 'str', inFormat: true },
  tU: { read: 'ctx.$tU', type: 'str', inFormat: true },
  si: { read: 'ctx.$si', type: 'str', inFormat: true },
  sp: { read: 'ctx.$sp', type: 'int', inFormat: true },
  Ri: { read: 'ctx.$Ri', type: 'str' },
  Rp: { read: 'ctx.$Rp', type: 'int' },
  rm: { read: 'ctx.$rm', type: 'str', inFormat: true },
  rs: { read: 'ctx.$rs', type: 'int', inFormat: true },
  pr: { read: 'ctx.$pr', type: 'str', inFormat: true },
  proto: { read: 'ctx.$pr', type: 'str' },
  ci: { read: 'ctx.$ci', type: 'str', inFormat: true },
  ua: { read: 'ctx.$ua', type: 'str' },
  rc: { read: 'ctx.$rc', type: 'int', inFormat: true },
  retcode: { read: 'ctx.$rc', type: 'int' },
  '?': { read: 'ctx.$rc', type: 'int' },
  au: { read: 'ctx.$au', type: 'str', inFormat: true },
  ar: { read: 'ctx.$ar', type: 'str', inFormat: true },
  ad: { read: 'ctx.$ad', type: 'str', inFormat: true },
  route_uri: { read: 'ctx.$route_uri', type: 'str', inFormat: true },
  T_reply_ruid: { read: 'ctx.$T_reply_ruid', type: 'str', inFormat: true },
  null: { read: 'undefined', type: 'any' },
  hdr: { read: 'ctx.$hdr(A)', type: 'str', arg: true, inFormat: true },
  var: { read: 'ctx.$var[A]', write: 'ctx.$var[A] = V', type: 'any', arg: true, inFormat: true },
  avp: { read: 'avps(ctx)[A]', write: 'avps(ctx)[A] = V', type: 'any', arg: true },
};

/** Selects: `@via[N]` (the N-th Via value). */
export const SELECTS: readonly string[] = ['via'];

/**
 * Legacy core keywords in expressions (`method == "INVITE"`, `uri == myself`), with the
 * pseudo-variable each stands for.
 */
export const KEYWORD_PVS: Readonly<Record<string, string>> = {
  method: 'rm',
  uri: 'ru',
  status: 'rs',
  src_ip: 'si',
  src_port: 'sp',
  dst_ip: 'Ri',
  dst_port: 'Rp',
  proto: 'pr',
  from_uri: 'fu',
  to_uri: 'tu',
};

/** `event_route[...]` names flowgate accepts, with what it does with each. */
export const EVENT_ROUTES: Readonly<Record<string, string>> = {
  'xhttp:request':
    "not run: flowgate's WebSocket transport answers the HTTP upgrade itself (RFC 7118); the route's $Rp test selects which TCP listeners speak WebSocket",
  'websocket:closed':
    'not run: flowgate logs the end of every flow itself (flowgate:flow:close; flowgate ctl flows)',
};
