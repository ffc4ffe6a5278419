import { isAbsolute, resolve } from 'node:path';
import { parseCollectorUri } from '../modules/siptrace/collector.js';
import { parseAddressSpec } from '../util/address-set.js';
import { parseRedisUrl } from '../util/redis-url.js';
import { defined, type Mutable, orUndefined, type PathIssue } from './build-common.js';
import { MODULE_DEFAULTS, PROFILES } from './defaults.js';
import type { RawElement } from './schema.js';
import type {
  AuthConfig,
  AuthDbConfig,
  BuiltinScript,
  ModulesConfig,
  NathelperConfig,
  OutboundConfig,
  PermissionsConfig,
  PikeConfig,
  RegistrarConfig,
  ScriptRef,
  SiptraceConfig,
  UsrlocConfig,
} from './types.js';

/**
 * One element's module configuration: Kamailio's defaults, then the script's profile, then the
 * file; plus the cross-checks the schema cannot express (issues at their config paths).
 */
export function buildModules(
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

/** Why a usrloc / auth_db Redis URL is refused, or undefined when it is one the stores accept. */
function redisUrlProblem(url: string): string | undefined {
  if (!/^rediss?(\+(sentinel|cluster))?:\/\//i.test(url))
    return `expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL, got "${url}"`;
  const p = parseRedisUrl(url);
  return p.ok ? undefined : p.message;
}
