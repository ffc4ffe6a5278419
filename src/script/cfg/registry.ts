/**
 * What the Kamailio configuration interpreter knows, in one place: modules, their functions and
 * parameters, core globals and pseudo-variables, each mapped onto flowgate (the script context's
 * methods in `src/script/context.ts`, the configuration keys of `src/config/schema.ts`).
 *
 * These tables are the interpreter's view of flowgate's modules until modules declare themselves
 * in one module registry (issue 11 §2); then this file reads that registry instead.
 */

/** Where a function may be used. */
export type RouteKind = 'request' | 'failure' | 'branch-failure' | 'reply' | 'xhttp' | 'event';

/** What kind of value an argument is. */
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

/** A function a configuration may call. */
export interface CfgFunction {
  /** Kamailio module that exports it (`core`: always there). */
  readonly module: string;
  readonly args: readonly ArgKind[];
  /** Arguments that may be left out (from the end). */
  readonly optional?: number;
  /** The script context's method (default: the same name). */
  readonly method?: string;
  /** Returns a promise: the route awaits it. */
  readonly async?: boolean;
  /** Where it can be used; default everywhere except the xhttp route. */
  readonly routes?: readonly RouteKind[];
  /** Argument indexes the context method formats itself (`$pv` substitution at run time). */
  readonly formats?: readonly number[];
}

const REQ: readonly RouteKind[] = ['request', 'failure', 'branch-failure'];
const ANY: readonly RouteKind[] = ['request', 'failure', 'branch-failure', 'reply'];
const XHTTP: readonly RouteKind[] = ['xhttp'];

/**
 * Every function flowgate runs from a configuration, by Kamailio name. `core` functions need no
 * `loadmodule`; the others need their module loaded, as in Kamailio.
 */
export const FUNCTIONS: Readonly<Record<string, CfgFunction>> = {
  // core
  setflag: { module: 'core', args: ['int'], routes: REQ },
  resetflag: { module: 'core', args: ['int'], routes: REQ },
  isflagset: { module: 'core', args: ['int'], routes: REQ },
  append_branch: { module: 'core', args: ['fmt'], optional: 1, routes: REQ },
  is_myself: { module: 'core', args: ['fmt'], formats: [0], routes: [...ANY, 'xhttp'] },
  set_reply_close: { module: 'core', args: [], routes: XHTTP },
  set_reply_no_connect: { module: 'core', args: [], routes: XHTTP },
  // maxfwd
  mf_process_maxfwd_header: { module: 'maxfwd', args: ['int'], routes: REQ },
  // sanity
  sanity_check: { module: 'sanity', args: ['int', 'int'], optional: 2, routes: REQ },
  // textops
  is_method: { module: 'textops', args: ['static'] },
  remove_hf: { module: 'textops', args: ['static'] },
  insert_hf: { module: 'textops', args: ['fmt', 'static'], optional: 1, formats: [0] },
  append_hf: { module: 'textops', args: ['fmt'], formats: [0] },
  // siputils
  has_totag: { module: 'siputils', args: [] },
  // rr
  record_route: { module: 'rr', args: ['fmt'], optional: 1, routes: REQ },
  loose_route: { module: 'rr', args: [], routes: REQ },
  // path
  add_path: { module: 'path', args: ['fmt', 'fmt'], optional: 2, routes: REQ },
  add_path_received: { module: 'path', args: ['fmt', 'fmt'], optional: 2, routes: REQ },
  // outbound
  check_flow_token: { module: 'outbound', args: [], routes: REQ },
  // tm
  t_relay: { module: 'tm', args: [], routes: REQ },
  t_newtran: { module: 'tm', args: [], routes: REQ },
  t_check_trans: { module: 'tm', args: [], routes: ANY },
  t_on_failure: { module: 'tm', args: ['failure-route'], routes: REQ },
  t_on_branch_failure: { module: 'tm', args: ['branch-failure-route'], routes: REQ },
  t_branch_timeout: { module: 'tm', args: [], routes: ANY },
  t_branch_replied: { module: 'tm', args: [], routes: ANY },
  t_check_status: { module: 'tm', args: ['regex'], routes: ANY },
  t_load_contacts: { module: 'tm', args: [], routes: REQ },
  t_next_contacts: { module: 'tm', args: [], routes: REQ },
  t_next_contact_flow: { module: 'tm', args: [], routes: REQ },
  t_reply: { module: 'tm', args: ['int', 'fmt'], routes: REQ },
  // sl
  sl_send_reply: { module: 'sl', args: ['int', 'fmt'], routes: REQ },
  send_reply: { module: 'sl', args: ['int', 'fmt'], routes: REQ },
  sl_reply_error: { module: 'sl', args: [], routes: REQ },
  // registrar
  save: { module: 'registrar', args: ['table', 'int'], optional: 1, async: true, routes: REQ },
  lookup: {
    module: 'registrar',
    args: ['table', 'fmt'],
    optional: 1,
    async: true,
    routes: REQ,
    formats: [1],
  },
  unregister: {
    module: 'registrar',
    args: ['table', 'fmt', 'fmt'],
    optional: 1,
    async: true,
    routes: REQ,
    formats: [1, 2],
  },
  // xlog
  xlog: { module: 'xlog', args: ['level', 'fmt'], optional: 1, formats: [1] },
  xdbg: { module: 'xlog', args: ['fmt'], method: 'xlog', formats: [0] },
  xinfo: { module: 'xlog', args: ['fmt'], method: 'xlog', formats: [0] },
  xnotice: { module: 'xlog', args: ['fmt'], method: 'xlog', formats: [0] },
  xwarn: { module: 'xlog', args: ['fmt'], method: 'xlog', formats: [0] },
  xerr: { module: 'xlog', args: ['fmt'], method: 'xlog', formats: [0] },
  xbug: { module: 'xlog', args: ['fmt'], method: 'xlog', formats: [0] },
  xcrit: { module: 'xlog', args: ['fmt'], method: 'xlog', formats: [0] },
  xalert: { module: 'xlog', args: ['fmt'], method: 'xlog', formats: [0] },
  // auth
  www_challenge: { module: 'auth', args: ['fmt', 'int'], routes: REQ, formats: [0] },
  proxy_challenge: { module: 'auth', args: ['fmt', 'int'], routes: REQ, formats: [0] },
  auth_challenge: { module: 'auth', args: ['fmt', 'int'], routes: REQ, formats: [0] },
  consume_credentials: { module: 'auth', args: [], routes: REQ },
  has_credentials: { module: 'auth', args: ['fmt'], routes: REQ, formats: [0] },
  // auth_db
  www_authorize: {
    module: 'auth_db',
    args: ['fmt', 'static'],
    async: true,
    routes: REQ,
    formats: [0],
  },
  www_authenticate: {
    module: 'auth_db',
    args: ['fmt', 'static'],
    async: true,
    routes: REQ,
    formats: [0],
  },
  proxy_authorize: {
    module: 'auth_db',
    args: ['fmt', 'static'],
    async: true,
    routes: REQ,
    formats: [0],
  },
  proxy_authenticate: {
    module: 'auth_db',
    args: ['fmt', 'static'],
    async: true,
    routes: REQ,
    formats: [0],
  },
  auth_check: {
    module: 'auth_db',
    args: ['fmt', 'static', 'int'],
    async: true,
    routes: REQ,
    formats: [0],
  },
  // permissions
  allow_source_address: { module: 'permissions', args: ['int'], optional: 1 },
  // pike
  pike_check_req: { module: 'pike', args: [] },
  // domain
  is_domain_local: { module: 'domain', args: ['fmt'], formats: [0] },
  // nathelper
  nat_uac_test: { module: 'nathelper', args: ['int'], routes: REQ },
  fix_nated_contact: { module: 'nathelper', args: [], routes: REQ },
  fix_nated_register: { module: 'nathelper', args: [], routes: REQ },
  add_contact_alias: { module: 'nathelper', args: [], routes: REQ },
  handle_ruri_alias: { module: 'nathelper', args: [], routes: REQ },
  nat_keepalive: { module: 'nathelper', args: [], routes: REQ },
  // xhttp + websocket: only in event_route[xhttp:request], which flowgate's WebSocket transport replaces
  xhttp_reply: { module: 'xhttp', args: ['int', 'fmt', 'fmt', 'fmt'], routes: XHTTP },
  ws_handle_handshake: { module: 'websocket', args: [], routes: XHTTP },
};

/** The log level a `xinfo()`-style function logs at. */
export const XLOG_SHORTHANDS: Readonly<Record<string, string>> = {
  xdbg: 'L_DBG',
  xinfo: 'L_INFO',
  xnotice: 'L_NOTICE',
  xwarn: 'L_WARN',
  xerr: 'L_ERR',
  xbug: 'L_BUG',
  xcrit: 'L_CRIT',
  xalert: 'L_ALERT',
};

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

/** How a module maps onto flowgate. */
export interface CfgModule {
  /**
   * `flowgate`: a flowgate module with the same name and parameters; `builtin`: flowgate does this
   * itself (no run-time effect of loading it); `mapped`: its parameters map onto other settings.
   */
  readonly kind: 'flowgate' | 'builtin' | 'mapped';
  /** What loading it means in flowgate (for docs and notes). */
  readonly note: string;
}

/** Every Kamailio module a configuration may load. */
export const MODULES: Readonly<Record<string, CfgModule>> = {
  tm: { kind: 'flowgate', note: 'transactions (the proxy core)' },
  sl: { kind: 'builtin', note: 'stateless replies (the proxy core)' },
  rr: { kind: 'flowgate', note: 'Record-Route / loose routing' },
  outbound: { kind: 'flowgate', note: 'RFC 5626 flow tokens (modules.outbound)' },
  path: { kind: 'flowgate', note: 'Path headers (modules.path)' },
  maxfwd: { kind: 'builtin', note: 'Max-Forwards (max_limit applies to mf_process_maxfwd_header)' },
  sanity: { kind: 'flowgate', note: 'sanity checks (modules.sanity)' },
  textops: { kind: 'builtin', note: 'header functions' },
  siputils: { kind: 'builtin', note: 'has_totag' },
  registrar: { kind: 'flowgate', note: 'save / lookup / unregister (modules.registrar)' },
  usrloc: { kind: 'mapped', note: 'the location store (modules.usrloc)' },
  auth: { kind: 'flowgate', note: 'digest authentication (modules.auth)' },
  auth_db: { kind: 'mapped', note: 'the credentials store (modules.auth_db)' },
  db_text: { kind: 'builtin', note: 'only as the db_url of auth_db / usrloc' },
  db_sqlite: { kind: 'builtin', note: 'only as the db_url of auth_db / usrloc' },
  db_redis: { kind: 'builtin', note: 'only as the db_url of auth_db / usrloc' },
  permissions: { kind: 'flowgate', note: 'allow_source_address (modules.permissions)' },
  pike: { kind: 'flowgate', note: 'per-source rate limit (modules.pike)' },
  nathelper: { kind: 'flowgate', note: 'NAT helpers (modules.nathelper)' },
  websocket: {
    kind: 'flowgate',
    note: "WebSocket keep-alive (modules.websocket); the handshake is flowgate's WebSocket transport",
  },
  xhttp: { kind: 'builtin', note: "HTTP upgrade to WebSocket: flowgate's WebSocket transport" },
  stun: { kind: 'builtin', note: 'STUN on UDP listeners: always on in flowgate (RFC 5626 §8)' },
  pv: { kind: 'builtin', note: 'pseudo-variables' },
  xlog: { kind: 'builtin', note: "xlog, logged through flowgate's logger" },
  tmx: { kind: 'builtin', note: 'tm extensions ($T_reply_ruid)' },
  ctl: { kind: 'mapped', note: 'the management API (binrpc "tcp:host:port" → HTTP there)' },
  kex: { kind: 'builtin', note: 'core extensions' },
  corex: { kind: 'builtin', note: 'core extensions' },
  domain: { kind: 'builtin', note: 'is_domain_local over the alias= names and listen addresses' },
  tls: { kind: 'mapped', note: 'certificate and key of tls: listeners' },
  jsonrpcs: { kind: 'builtin', note: "RPC over HTTP: flowgate's management API answers instead" },
  mi_fifo: { kind: 'builtin', note: "RPC over a FIFO: flowgate's management API answers instead" },
};

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

const p = (to: readonly string[], value: ParamValue): CfgParam => ({ to, value });
const mod = (m: string, k: string, value: ParamValue): CfgParam => p(['modules', m, k], value);

/** Parameters of every module that has any, by module and Kamailio name. */
export const PARAMS: Readonly<Record<string, Readonly<Record<string, CfgParam>>>> = {
  tm: {
    failure_reply_mode: mod('tm', 'failure_reply_mode', 'int'),
    restart_fr_on_each_reply: mod('tm', 'restart_fr_on_each_reply', 'flag'),
    fr_timer: mod('tm', 'fr_timer', 'int'),
    fr_inv_timer: mod('tm', 'fr_inv_timer', 'int'),
    retr_timer1: mod('tm', 'retr_timer1', 'int'),
    retr_timer2: mod('tm', 'retr_timer2', 'int'),
    auto_inv_100: mod('tm', 'auto_inv_100', 'flag'),
    contacts_avp: mod('tm', 'contacts_avp', 'string'),
    contact_flows_avp: mod('tm', 'contact_flows_avp', 'string'),
  },
  rr: {
    append_fromtag: mod('rr', 'append_fromtag', 'flag'),
    enable_double_rr: mod('rr', 'enable_double_rr', 'int'),
  },
  outbound: {
    force_outbound_flag: mod('outbound', 'force_outbound_flag', 'int'),
    force_no_outbound_flag: mod('outbound', 'force_no_outbound_flag', 'int'),
    flow_token_secret: mod('outbound', 'flow_token_secret', 'string'),
    flow_token_secret_previous: mod('outbound', 'flow_token_secret_previous', 'string'),
    direction_match: mod('outbound', 'direction_match', 'string'),
  },
  websocket: {
    keepalive_timeout: mod('websocket', 'keepalive_timeout', 'int'),
    keepalive_interval: mod('websocket', 'keepalive_interval', 'int'),
  },
  sanity: {
    autodrop: mod('sanity', 'autodrop', 'flag'),
  },
  maxfwd: {
    max_limit: { special: 'maxfwd.max_limit' },
  },
  registrar: {
    default_expires: mod('registrar', 'default_expires', 'int'),
    min_expires: mod('registrar', 'min_expires', 'int'),
    min_expires_mode: mod('registrar', 'min_expires_mode', 'flag'),
    max_expires: mod('registrar', 'max_expires', 'int'),
    max_contacts: mod('registrar', 'max_contacts', 'int'),
    default_q: mod('registrar', 'default_q', 'int'),
    append_branches: mod('registrar', 'append_branches', 'flag'),
    case_sensitive: mod('registrar', 'case_sensitive', 'flag'),
    method_filtering: mod('registrar', 'method_filtering', 'flag'),
    contact_max_size: mod('registrar', 'contact_max_size', 'int'),
    retry_after: mod('registrar', 'retry_after', 'int'),
    use_path: mod('registrar', 'use_path', 'flag'),
    path_mode: mod('registrar', 'path_mode', 'int'),
    gruu_enabled: mod('registrar', 'gruu_enabled', 'flag'),
    outbound_mode: mod('registrar', 'outbound_mode', 'int'),
    regid_mode: mod('registrar', 'regid_mode', 'flag'),
    flow_timer: mod('registrar', 'flow_timer', 'int'),
    temp_gruu_max: mod('registrar', 'temp_gruu_max', 'int'),
  },
  usrloc: {
    db_mode: { special: 'usrloc.db_mode' },
    db_url: { special: 'usrloc.db_url' },
    timer_interval: mod('usrloc', 'timer_interval', 'int'),
    use_domain: mod('usrloc', 'use_domain', 'flag'),
    cseq_delay: mod('usrloc', 'cseq_delay', 'int'),
  },
  auth: {
    secret: mod('auth', 'secret', 'string'),
    nonce_expire: mod('auth', 'nonce_expire', 'int'),
    nonce_count: mod('auth', 'nonce_count', 'flag'),
    nc_array_size: mod('auth', 'nc_array_size', 'int'),
    qop: mod('auth', 'qop', 'string'),
    algorithm: { special: 'auth.algorithm' },
    realm: mod('auth', 'realm', 'string'),
    user_failures: mod('auth', 'user_failures', 'int'),
    user_failure_window: mod('auth', 'user_failure_window', 'int'),
    user_lockout: mod('auth', 'user_lockout', 'int'),
  },
  auth_db: {
    db_url: { special: 'auth_db.db_url' },
    use_domain: mod('auth_db', 'use_domain', 'flag'),
    calculate_ha1: {
      none: 'flowgate stores HA1 values only (flowgate user add computes them from the password)',
    },
    load_credentials: { special: 'auth_db.load_credentials' },
  },
  permissions: {
    trusted: { special: 'permissions.trusted' },
    edges: { special: 'permissions.edges' },
  },
  pike: {
    sampling_time_unit: mod('pike', 'sampling_time_unit', 'int'),
    reqs_density_per_unit: mod('pike', 'reqs_density_per_unit', 'int'),
    ban_time: mod('pike', 'ban_time', 'int'),
    auth_failures: mod('pike', 'auth_failures', 'int'),
    auth_failure_window: mod('pike', 'auth_failure_window', 'int'),
  },
  nathelper: {
    natping_interval: mod('nathelper', 'natping_interval', 'int'),
    keepalive_timeout: mod('nathelper', 'keepalive_timeout', 'int'),
    sipping_from: mod('nathelper', 'sipping_from', 'string'),
  },
  ctl: {
    binrpc: { special: 'ctl.binrpc' },
    mode: { none: 'the management API is HTTP with a bearer token, not a socket file' },
    user: { none: 'the management API is HTTP with a bearer token, not a socket file' },
    group: { none: 'the management API is HTTP with a bearer token, not a socket file' },
  },
  tls: {
    certificate: { special: 'tls.certificate' },
    private_key: { special: 'tls.private_key' },
    ca_list: { special: 'tls.ca_list' },
  },
};

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
