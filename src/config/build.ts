import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { parseSipUriStrict } from '../message/parse/uri.js';
import { parseCollectorUri } from '../modules/siptrace/collector.js';
import type { ListenConfig } from '../transport/types.js';
import { parseAddressSpec } from '../util/address-set.js';
import { parseRedisUrl } from '../util/redis-url.js';
import {
  BUILTIN_SCRIPTS,
  EDGE_DEFAULTS,
  ELEMENT_DEFAULTS,
  MODULE_DEFAULTS,
  PROFILES,
  ROOT_DEFAULTS,
} from './defaults.js';
import {
  checkListenAddress,
  formatListen,
  isLoopback,
  type ListenEntry,
  parseHostPort,
  parseListen,
} from './listen.js';
import type { RawConfig, RawElement } from './schema.js';
import { closest } from './suggest.js';
import type {
  AuthConfig,
  AuthDbConfig,
  BuiltinScript,
  Config,
  EdgeConfig,
  ElementConfig,
  ModulesConfig,
  NathelperConfig,
  OutboundConfig,
  PermissionsConfig,
  PikeConfig,
  RegistrarConfig,
  ScriptRef,
  SiptraceConfig,
  TlsFiles,
  UsrlocConfig,
} from './types.js';

/** A problem found while applying defaults and cross-checking, at a config path. */
export interface PathIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** Point at the key of `path` rather than its value. */
  readonly atKey?: boolean;
}

/** Where the file is and what the command line overrides. */
export interface BuildContext {
  /** Absolute path of the file; undefined for the embedded default. */
  readonly file: string | undefined;
  /** Directory relative paths resolve against. */
  readonly dir: string;
  /** `--data-dir` (resolved against the working directory by the caller). */
  readonly dataDir?: string | undefined;
  readonly logLevel?: Config['log']['level'] | undefined;
  readonly pretty?: boolean | undefined;
}

/** The default elements when the file has no `elements` key: the seed's whole system. */
export const DEFAULT_ELEMENTS: Readonly<Record<string, RawElement>> = Object.freeze({
  edge: {},
  registrar: {},
});

const SCRIPT_FILE = /\.(?:m?js|cjs|m?ts|cts|cfg)$/;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Drops `undefined` values so that a spread does not overwrite defaults with them. */
function defined<T extends object>(
  o: T | undefined,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  const out: { [K in keyof T]?: Exclude<T[K], undefined> } = {};
  if (o === undefined) return out;
  for (const [k, v] of Object.entries(o))
    if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

/** `null` in the file means "none" for optional strings. */
function orUndefined<T>(v: T | null | undefined): T | undefined {
  return v === null ? undefined : v;
}

function uriHost(address: string): string {
  const a = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return a.includes(':') ? `[${a}]` : a;
}

/** Applies every default and checks what the schema cannot: the result, or the problems with their paths. */
export function buildConfig(
  raw: RawConfig,
  ctx: BuildContext,
): { ok: true; config: Omit<Config, 'where'> } | { ok: false; issues: PathIssue[] } {
  const issues: PathIssue[] = [];
  const rel = (p: string): string => (isAbsolute(p) ? p : resolve(ctx.dir, p));
  const dataDir = ctx.dataDir ?? rel(raw.data_dir ?? ROOT_DEFAULTS.data_dir);

  // ---- log
  const log = {
    level: ctx.logLevel ?? raw.log?.level ?? ROOT_DEFAULTS.log.level,
    pretty: ctx.pretty ?? raw.log?.pretty ?? ROOT_DEFAULTS.log.pretty,
    file: raw.log?.file === undefined || raw.log.file === null ? undefined : rel(raw.log.file),
  };

  // ---- management
  const token = orUndefined(raw.management?.token);
  let mgmtListen: { host: string; port: number } | undefined;
  const ml = raw.management?.listen;
  if (ml === undefined || typeof ml === 'string') {
    const r = parseHostPort(ml ?? ROOT_DEFAULTS.management.listen);
    if (!r.ok) issues.push({ path: ['management', 'listen'], message: r.message });
    else {
      mgmtListen = r.value;
      if (!isLoopback(r.value.host) && token === undefined) {
        issues.push({
          path: ['management', 'listen'],
          message: `${ml} is not a loopback address, so the API needs a token: set management.token (at least 16 characters, e.g. from openssl rand -hex 16), or listen on 127.0.0.1`,
        });
      }
    }
  }

  // ---- elements
  const rawElements = raw.elements ?? DEFAULT_ELEMENTS;
  const names = Object.keys(rawElements);
  if (names.length === 0)
    issues.push({
      path: ['elements'],
      message: 'expected at least one element, e.g. elements: { edge: {}, registrar: {} }',
    });

  const scripts = new Map<string, ScriptRef>();
  for (const name of names) {
    const re = rawElements[name] ?? {};
    const s = re.script ?? (name === 'edge' || name === 'registrar' ? name : undefined);
    if (s === undefined) {
      issues.push({
        path: ['elements', name],
        message: `script is required: edge, registrar, static, or a path to a .js/.mjs/.ts script (only elements named edge or registrar get a default)`,
      });
      continue;
    }
    if ((BUILTIN_SCRIPTS as readonly string[]).includes(s)) {
      scripts.set(name, { kind: 'builtin', name: s as BuiltinScript });
    } else if (SCRIPT_FILE.test(s) || s.includes('/') || s.includes('\\')) {
      scripts.set(name, { kind: 'file', path: rel(s), source: s });
    } else {
      const near = closest(s, BUILTIN_SCRIPTS);
      issues.push({
        path: ['elements', name, 'script'],
        message: `unknown built-in script '${s}'${near === undefined ? '' : ` (did you mean '${near}'?)`}: expected edge, registrar, static, or a path to a .js/.mjs/.ts file`,
      });
    }
  }

  // listeners first: the edge's registrar URI may come from the registrar element's listeners
  const listens = new Map<string, ListenConfig[]>();
  const tlsOf = new Map<string, TlsFiles | undefined>();
  for (const name of names) {
    const re = rawElements[name] ?? {};
    const ref = scripts.get(name);
    if (ref === undefined) continue; // its script is in error: no default listeners to clash with
    const profile = PROFILES[ref.kind === 'builtin' ? ref.name : 'custom'];
    const tls: TlsFiles | undefined =
      re.tls === undefined
        ? undefined
        : {
            cert: rel(re.tls.cert),
            key: rel(re.tls.key),
            ca: re.tls.ca === undefined || re.tls.ca === null ? undefined : rel(re.tls.ca),
          };
    tlsOf.set(name, tls);
    const given =
      re.listen === undefined ? undefined : Array.isArray(re.listen) ? re.listen : [re.listen];
    const explicit = given !== undefined;
    const entries: ListenEntry[] = [];
    if (given === undefined) {
      for (const s of tls === undefined
        ? profile.listen
        : [...profile.listen, ...profile.listenTls]) {
        const r = parseListen(s);
        if (r.ok) entries.push(r.value);
      }
    } else entries.push(...(given as ListenEntry[]));
    if (explicit && entries.length === 0)
      issues.push({
        path: ['elements', name, 'listen'],
        message: 'expected at least one listener, e.g. [udp:127.0.0.1:5060]',
      });
    const out: ListenConfig[] = [];
    entries.forEach((e, i) => {
      const at = explicit
        ? ['elements', name, 'listen', ...(Array.isArray(re.listen) ? [i] : [])]
        : ['elements', name];
      const badAddr = checkListenAddress(e.address);
      if (badAddr !== undefined) {
        issues.push({ path: [...at, 'address'], message: badAddr });
        return;
      }
      if ((e.proto === 'tls' || e.proto === 'wss') && tls === undefined) {
        issues.push({
          path: at,
          message: `a ${e.proto} listener needs a certificate: add tls: { cert: server.pem, key: server.key } to elements.${name}`,
        });
      }
      const adv = e.advertise ?? re.advertise;
      let advertise: ListenConfig['advertise'];
      if (adv !== undefined) {
        const port = adv.port ?? e.port;
        if (port === 0)
          issues.push({ path: at, message: 'advertise needs a port when the listener port is 0' });
        advertise = { host: adv.host, port };
      }
      out.push({ proto: e.proto, address: e.address, port: e.port, advertise });
    });
    listens.set(name, out);
  }

  const elements: Record<string, ElementConfig> = {};
  for (const name of names) {
    const re = rawElements[name] ?? {};
    const ref = scripts.get(name);
    if (ref === undefined) continue;
    const profileName = ref.kind === 'builtin' ? ref.name : 'custom';
    const profile = PROFILES[profileName];
    const at = (...p: (string | number)[]): (string | number)[] => ['elements', name, ...p];

    const tcpLifetime =
      re.tcp_connection_lifetime ??
      profile.element.tcp_connection_lifetime ??
      ELEMENT_DEFAULTS.tcp_connection_lifetime;

    // ---- edge script values
    let edge: EdgeConfig | undefined;
    if (re.edge !== undefined && profileName !== 'edge') {
      issues.push({
        path: at('edge'),
        atKey: true,
        message: `edge applies to script: edge only (this element runs ${ref.kind === 'builtin' ? ref.name : ref.source})`,
      });
    }
    if (profileName === 'edge') {
      const given = re.edge?.registrar;
      // one URI or a registrar set (a list, in priority order)
      let registrars: string[] =
        given === undefined ? [] : typeof given === 'string' ? [given] : [...given];
      let registrarElement: string | undefined;
      if (given !== undefined) {
        const seen = new Set<string>();
        registrars.forEach((r, i) => {
          const path =
            typeof given === 'string' ? at('edge', 'registrar') : at('edge', 'registrar', i);
          const u = parseSipUriStrict(r);
          if (!u.ok)
            issues.push({
              path,
              message: `expected a SIP URI like sip:127.0.0.1:5070 (${u.error.detail})`,
            });
          else if (seen.has(r.toLowerCase()))
            issues.push({ path, message: `${r} is in the list twice` });
          seen.add(r.toLowerCase());
        });
      } else {
        const regName = names.find(
          (n) =>
            n !== name &&
            scripts.get(n)?.kind === 'builtin' &&
            (scripts.get(n) as { name: string }).name === 'registrar',
        );
        const l =
          regName === undefined ? undefined : pickRegistrarListener(listens.get(regName) ?? []);
        if (regName === undefined || l === undefined) {
          issues.push({
            path: re.edge === undefined ? at() : at('edge'),
            message:
              'edge.registrar is required: no element in this file runs script: registrar (e.g. edge: { registrar: "sip:10.0.0.2:5060" })',
          });
        } else {
          registrarElement = regName;
          registrars = [
            `sip:${uriHost(l.address)}:${l.port}${l.proto === 'udp' ? '' : `;transport=${l.proto}`}`,
          ];
        }
      }
      const flowTimer = re.edge?.flow_timer ?? EDGE_DEFAULTS.flow_timer;
      if (tcpLifetime <= flowTimer && (listens.get(name) ?? []).some((l) => l.proto !== 'udp')) {
        issues.push({
          path:
            re.tcp_connection_lifetime === undefined
              ? at('edge', 'flow_timer')
              : at('tcp_connection_lifetime'),
          message: `tcp_connection_lifetime (${tcpLifetime} s) must be larger than edge.flow_timer (${flowTimer} s), or connections close before the UA's keep-alive (the outbound manual: FLOW_TIMER + 10)`,
        });
      }
      edge = {
        registrar: registrars[0] ?? '',
        registrars,
        registrar_element: registrarElement,
        registrar_select: re.edge?.registrar_select ?? EDGE_DEFAULTS.registrar_select,
        registrar_probe_interval:
          re.edge?.registrar_probe_interval ?? EDGE_DEFAULTS.registrar_probe_interval,
        registrar_probe_threshold:
          re.edge?.registrar_probe_threshold ?? EDGE_DEFAULTS.registrar_probe_threshold,
        registrar_timeout: re.edge?.registrar_timeout ?? EDGE_DEFAULTS.registrar_timeout,
        flow_timer: flowTimer,
        seed_strict: re.edge?.seed_strict ?? EDGE_DEFAULTS.seed_strict,
      };
    }

    const modules = buildModules(re, profileName, ref, at, dataDir, issues);
    const serverHeader =
      re.server_header === undefined
        ? ELEMENT_DEFAULTS.server_header
        : orUndefined(re.server_header)?.replace(/^Server:\s*/i, '');
    elements[name] = {
      name,
      script: ref,
      listen: listens.get(name) ?? [],
      tls: tlsOf.get(name),
      alias: re.alias === undefined ? [] : Array.isArray(re.alias) ? re.alias : [re.alias],
      force_rport: re.force_rport ?? profile.element.force_rport ?? ELEMENT_DEFAULTS.force_rport,
      tcp_connection_lifetime: tcpLifetime,
      tcp_connect_timeout: re.tcp_connect_timeout ?? ELEMENT_DEFAULTS.tcp_connect_timeout,
      children: re.children ?? ELEMENT_DEFAULTS.children,
      server_header: serverHeader,
      allow_unauthenticated: re.allow_unauthenticated ?? false,
      edge,
      modules,
    };
  }

  defaultEdges(elements);
  checkPublic(rawElements, elements, issues);
  checkPorts(rawElements, listens, mgmtListen, issues);

  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: {
      file: ctx.file,
      dir: ctx.dir,
      data_dir: dataDir,
      log,
      management: { listen: mgmtListen, token, hosts: raw.management?.hosts ?? [] },
      elements,
    },
  };
}

function pickRegistrarListener(ls: readonly ListenConfig[]): ListenConfig | undefined {
  return (
    ls.find((l) => l.proto === 'udp') ??
    ls.find((l) => l.proto === 'tcp') ??
    ls.find((l) => l.proto === 'tls')
  );
}

function buildModules(
  re: RawElement,
  profileName: BuiltinScript | 'custom',
  ref: ScriptRef,
  at: (...p: (string | number)[]) => (string | number)[],
  dataDir: string,
  issues: PathIssue[],
): ModulesConfig {
  const profile = PROFILES[profileName];
  const rm = re.modules ?? {};
  const pm = profile.modules;

  const tm = { ...MODULE_DEFAULTS.tm, ...defined(pm.tm), ...defined(rm.tm) } as Mutable<
    ModulesConfig['tm']
  >;
  if (rm.tm?.contacts_avp === null) tm.contacts_avp = undefined;
  if (rm.tm?.contact_flows_avp === null) tm.contact_flows_avp = undefined;
  for (const k of ['fr_timer', 'fr_inv_timer'] as const) {
    const v = tm[k];
    if (v < 1000) {
      issues.push({
        path: at('modules', 'tm', k),
        message: `${k} is in milliseconds (as in Kamailio): ${v} ms is shorter than a second; did you mean ${v * 1000}?`,
      });
    }
  }
  if (tm.retr_timer1 >= tm.retr_timer2) {
    issues.push({
      path: at('modules', 'tm', rm.tm?.retr_timer2 !== undefined ? 'retr_timer2' : 'retr_timer1'),
      message: `retr_timer2 (T2, ${tm.retr_timer2} ms) must be larger than retr_timer1 (T1, ${tm.retr_timer1} ms)`,
    });
  }

  const rr = { ...MODULE_DEFAULTS.rr, ...defined(pm.rr), ...defined(rm.rr) };
  const websocket = {
    ...MODULE_DEFAULTS.websocket,
    ...defined(pm.websocket),
    ...defined(rm.websocket),
  };
  const sanity = { ...MODULE_DEFAULTS.sanity, ...defined(pm.sanity), ...defined(rm.sanity) };
  const limits = { ...MODULE_DEFAULTS.limits, ...defined(rm.limits) };

  // ---- outbound / path: a key loads a module, false unloads it, absent follows the script
  let outbound: OutboundConfig | undefined;
  if (rm.outbound === false || (rm.outbound === undefined && !profile.load.outbound))
    outbound = undefined;
  else {
    const o = rm.outbound ?? undefined;
    outbound = {
      ...MODULE_DEFAULTS.outbound,
      ...defined(pm.outbound),
      ...defined(
        o === undefined
          ? undefined
          : {
              ...o,
              flow_token_secret: orUndefined(o.flow_token_secret),
              flow_token_secret_previous: undefined,
            },
      ),
      flow_token_secret_previous: orUndefined(o?.flow_token_secret_previous),
    };
    if (
      outbound.flow_token_secret_previous !== undefined &&
      outbound.flow_token_secret_previous === outbound.flow_token_secret
    )
      issues.push({
        path: at('modules', 'outbound', 'flow_token_secret_previous'),
        message:
          'flow_token_secret_previous is the same as flow_token_secret: to rotate, set flow_token_secret to a new secret (openssl rand -hex 32) and keep the old one here',
      });
  }
  const path = rm.path === undefined ? outbound !== undefined : rm.path !== false;

  // ---- registrar + usrloc
  let registrar: RegistrarConfig | undefined;
  const scriptName = ref.kind === 'builtin' ? `script: ${ref.name}` : `script ${ref.source}`;
  if (
    rm.registrar !== undefined &&
    rm.registrar !== false &&
    (profileName === 'edge' || profileName === 'static')
  ) {
    issues.push({
      path: at('modules', 'registrar'),
      atKey: true,
      message: `the ${profileName} script does not call save()/lookup(): remove modules.registrar, or use script: registrar or your own script`,
    });
  } else if (rm.registrar === false && profileName === 'registrar') {
    issues.push({
      path: at('modules', 'registrar'),
      message: 'script: registrar needs the registrar module (remove registrar: false)',
    });
  } else if (rm.registrar === false || (rm.registrar === undefined && !profile.load.registrar))
    registrar = undefined;
  else {
    const given = rm.registrar ?? undefined;
    registrar = {
      ...MODULE_DEFAULTS.registrar,
      ...defined(pm.registrar),
      ...defined(given),
      default_q: given?.default_q ?? pm.registrar?.default_q ?? MODULE_DEFAULTS.registrar.default_q,
    };
    if (registrar.max_expires > 0 && registrar.max_expires < registrar.min_expires) {
      issues.push({
        path: at(
          'modules',
          'registrar',
          given?.max_expires !== undefined ? 'max_expires' : 'min_expires',
        ),
        message: `max_expires (${registrar.max_expires} s) is below min_expires (${registrar.min_expires} s)`,
      });
    }
  }

  let usrloc: UsrlocConfig | undefined;
  const ru = rm.usrloc;
  if (registrar === undefined) {
    if (ru !== undefined)
      issues.push({
        path: at('modules', 'usrloc'),
        atKey: true,
        message: `usrloc is the registrar's location store, and ${scriptName} does not load the registrar module`,
      });
  } else {
    const backend = ru?.backend ?? MODULE_DEFAULTS.usrloc.backend;
    const common = {
      timer_interval: ru?.timer_interval ?? MODULE_DEFAULTS.usrloc.timer_interval,
      use_domain: ru?.use_domain ?? MODULE_DEFAULTS.usrloc.use_domain,
      cseq_delay: ru?.cseq_delay ?? MODULE_DEFAULTS.usrloc.cseq_delay,
    };
    const only = (
      keys: readonly ('path' | 'synchronous' | 'url' | 'prefix')[],
      b: string,
    ): void => {
      for (const k of keys)
        if (ru?.[k] !== undefined)
          issues.push({
            path: at('modules', 'usrloc', k),
            atKey: true,
            message: `${k} does not apply to backend ${backend} (only to ${b})`,
          });
    };
    if (backend === 'memory') {
      only(['path', 'synchronous', 'url', 'prefix'], 'sqlite/redis');
      usrloc = { backend, ...common };
    } else if (backend === 'sqlite') {
      only(['url', 'prefix'], 'redis');
      const p = ru?.path ?? MODULE_DEFAULTS.usrloc.path;
      usrloc = {
        backend,
        path: isAbsolute(p) || p === ':memory:' ? p : resolve(dataDir, p),
        synchronous: ru?.synchronous ?? MODULE_DEFAULTS.usrloc.synchronous,
        ...common,
      };
    } else {
      only(['path', 'synchronous'], 'sqlite');
      if (ru?.url === undefined)
        issues.push({
          path: at('modules', 'usrloc'),
          message: 'backend redis needs url: redis://host:6379',
        });
      else {
        const problem = redisUrlProblem(ru.url);
        if (problem !== undefined)
          issues.push({ path: at('modules', 'usrloc', 'url'), message: problem });
      }
      usrloc = { backend, url: ru?.url ?? '', prefix: ru?.prefix, ...common };
    }
  }

  // ---- auth / auth_db / permissions / pike
  let auth: AuthConfig | undefined;
  if (rm.auth !== undefined && rm.auth !== false) {
    const a = rm.auth ?? undefined;
    auth = {
      ...MODULE_DEFAULTS.auth,
      ...defined(
        a === undefined
          ? undefined
          : { ...a, realm: orUndefined(a.realm), secret: orUndefined(a.secret) },
      ),
    };
    const n = auth.nc_array_size;
    if ((n & (n - 1)) !== 0)
      issues.push({
        path: at('modules', 'auth', 'nc_array_size'),
        message: `nc_array_size must be a power of two (${n} is not; e.g. ${2 ** Math.floor(Math.log2(n))})`,
      });
  }
  let authDb: AuthDbConfig | undefined;
  const rdb = rm.auth_db;
  if (auth !== undefined || rdb !== undefined) {
    const backend = rdb?.backend ?? MODULE_DEFAULTS.auth_db.backend;
    const use_domain = rdb?.use_domain ?? MODULE_DEFAULTS.auth_db.use_domain;
    const onlyFor = (keys: readonly ('path' | 'url' | 'prefix')[], b: string): void => {
      for (const k of keys)
        if (rdb?.[k] !== undefined)
          issues.push({
            path: at('modules', 'auth_db', k),
            atKey: true,
            message: `${k} does not apply to backend ${backend} (only to ${b})`,
          });
    };
    if (backend === 'memory') {
      onlyFor(['path', 'url', 'prefix'], 'sqlite/redis');
      authDb = { backend, use_domain };
    } else if (backend === 'sqlite') {
      onlyFor(['url', 'prefix'], 'redis');
      const p = rdb?.path ?? MODULE_DEFAULTS.auth_db.path;
      authDb = {
        backend,
        use_domain,
        path: isAbsolute(p) || p === ':memory:' ? p : resolve(dataDir, p),
      };
    } else {
      onlyFor(['path'], 'sqlite');
      if (rdb?.url === undefined)
        issues.push({
          path: at('modules', 'auth_db'),
          message: 'backend redis needs url: redis://host:6379',
        });
      else {
        const problem = redisUrlProblem(rdb.url);
        if (problem !== undefined)
          issues.push({ path: at('modules', 'auth_db', 'url'), message: problem });
      }
      authDb = { backend, use_domain, url: rdb?.url ?? '', prefix: rdb?.prefix };
    }
  }
  const addrList = (key: 'trusted' | 'edges'): string[] => {
    const list = rm.permissions?.[key] ?? [];
    list.forEach((t, i) => {
      const r = parseAddressSpec(t);
      if (!r.ok) issues.push({ path: at('modules', 'permissions', key, i), message: r.message });
    });
    return [...list];
  };
  const permissions: PermissionsConfig = { trusted: addrList('trusted'), edges: addrList('edges') };
  let nathelper: NathelperConfig | undefined;
  if (rm.nathelper === false || (rm.nathelper === undefined && profile.load.nathelper !== true))
    nathelper = undefined;
  else
    nathelper = {
      ...MODULE_DEFAULTS.nathelper,
      ...defined(pm.nathelper),
      ...defined(rm.nathelper ?? undefined),
    };
  let pike: PikeConfig | undefined;
  if (rm.pike !== undefined && rm.pike !== false)
    pike = { ...MODULE_DEFAULTS.pike, ...defined(rm.pike ?? undefined) };
  let siptrace: SiptraceConfig | undefined;
  if (rm.siptrace !== undefined && rm.siptrace !== false) {
    const st = rm.siptrace ?? undefined;
    const uri = st?.duplicate_uri;
    if (uri === undefined)
      issues.push({
        path: at('modules', 'siptrace'),
        message: 'siptrace needs duplicate_uri: the HEP collector, e.g. udp:127.0.0.1:9060',
      });
    else {
      const c = parseCollectorUri(uri);
      if (!c.ok)
        issues.push({ path: at('modules', 'siptrace', 'duplicate_uri'), message: c.message });
    }
    siptrace = {
      ...MODULE_DEFAULTS.siptrace,
      ...defined(st === undefined ? undefined : { ...st, auth_key: orUndefined(st.auth_key) }),
      duplicate_uri: uri ?? '',
    };
  }

  return {
    tm,
    rr,
    outbound,
    path,
    websocket,
    sanity,
    limits,
    registrar,
    usrloc,
    auth,
    auth_db: authDb,
    permissions,
    pike,
    nathelper,
    siptrace,
  };
}

/** A registrar without `permissions.edges` trusts the addresses of this file's edge elements as its edges. */
function defaultEdges(elements: Record<string, ElementConfig>): void {
  const edgeAddrs = new Set<string>();
  for (const el of Object.values(elements))
    if (el.edge !== undefined)
      for (const l of el.listen) {
        const a = l.address === '0.0.0.0' ? '127.0.0.1' : l.address === '::' ? '::1' : l.address;
        edgeAddrs.add(a);
      }
  if (edgeAddrs.size === 0) return;
  for (const [name, el] of Object.entries(elements)) {
    if (el.edge !== undefined || el.modules.permissions.edges.length > 0) continue;
    elements[name] = {
      ...el,
      modules: { ...el.modules, permissions: { ...el.modules.permissions, edges: [...edgeAddrs] } },
    };
  }
}

/**
 * Issue 10 §6: a SIP listener on a non-loopback address needs something that authenticates users:
 * the element loads auth, or it is an edge whose registrar element (in this file) does, or the file
 * says `allow_unauthenticated: true` (authentication happens in another process).
 */
function checkPublic(
  rawElements: Readonly<Record<string, RawElement>>,
  elements: Readonly<Record<string, ElementConfig>>,
  issues: PathIssue[],
): void {
  for (const [name, el] of Object.entries(elements)) {
    if (el.allow_unauthenticated || el.modules.auth !== undefined) continue;
    const reg = el.edge?.registrar_element;
    if (reg !== undefined && elements[reg]?.modules.auth !== undefined) continue;
    const i = el.listen.findIndex((l) => !isLoopback(l.address));
    if (i < 0) continue;
    const l = el.listen[i] as ListenConfig;
    const re = rawElements[name];
    const path =
      re?.listen === undefined
        ? ['elements', name]
        : ['elements', name, 'listen', ...(Array.isArray(re.listen) ? [i] : [])];
    const fix =
      el.edge !== undefined
        ? `load authentication on its registrar (elements.${reg ?? '<registrar>'}.modules.auth: {}), or set elements.${name}.allow_unauthenticated: true when the registrar authenticates in another process`
        : `set elements.${name}.modules.auth: {} (and add users with flowgate user add), or elements.${name}.allow_unauthenticated: true to expose it without authentication`;
    issues.push({
      path,
      message: `${formatListen(l)} is not a loopback address and nothing authenticates the users of ${name}: ${fix}`,
    });
  }
}

/** Two listeners on one port: an error at the second, naming the first. */
function checkPorts(
  rawElements: Readonly<Record<string, RawElement>>,
  listens: ReadonlyMap<string, readonly ListenConfig[]>,
  mgmt: { host: string; port: number } | undefined,
  issues: PathIssue[],
): void {
  interface Used {
    space: 'udp' | 'tcp';
    address: string;
    port: number;
    what: string;
    text: string;
  }
  const used: Used[] = [];
  const overlaps = (a: string, b: string): boolean => {
    if (a === b) return true;
    const fa = isIP(a);
    const fb = isIP(b);
    if (fa !== fb) return false;
    const any = fa === 6 ? '::' : '0.0.0.0';
    return a === any || b === any;
  };
  const take = (u: Used, path: readonly (string | number)[]): void => {
    if (u.port === 0) return;
    const clash = used.find(
      (o) => o.space === u.space && o.port === u.port && overlaps(o.address, u.address),
    );
    if (clash !== undefined) {
      issues.push({
        path,
        message: `${u.text} uses ${u.space === 'udp' ? 'UDP' : 'TCP'} port ${u.port}, already used by ${clash.what} (${clash.text})`,
      });
      return;
    }
    used.push(u);
  };
  for (const [name, ls] of listens) {
    const re = rawElements[name];
    const explicit = re?.listen !== undefined;
    ls.forEach((l, i) => {
      const path = explicit
        ? ['elements', name, 'listen', ...(Array.isArray(re?.listen) ? [i] : [])]
        : ['elements', name];
      take(
        {
          space: l.proto === 'udp' ? 'udp' : 'tcp',
          address: l.address,
          port: l.port,
          what: explicit
            ? `elements.${name}.listen[${i}]`
            : `elements.${name} (a default listener of its script)`,
          text: formatListen(l),
        },
        path,
      );
    });
  }
  if (mgmt !== undefined) {
    const addr = mgmt.host === 'localhost' ? '127.0.0.1' : mgmt.host;
    take(
      {
        space: 'tcp',
        address: addr,
        port: mgmt.port,
        what: 'management.listen',
        text: `management ${mgmt.host}:${mgmt.port}`,
      },
      ['management', 'listen'],
    );
  }
}

/** Why a usrloc / auth_db Redis URL is refused, or undefined when it is one the stores accept. */
function redisUrlProblem(url: string): string | undefined {
  if (!/^rediss?(\+(sentinel|cluster))?:\/\//i.test(url))
    return `expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL, got "${url}"`;
  const p = parseRedisUrl(url);
  return p.ok ? undefined : p.message;
}
