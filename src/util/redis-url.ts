// The Redis URL forms flowgate's Redis stores accept: one server, a Sentinel-monitored master, or a
// Redis Cluster, plus the durability option (WAIT). Parsed here, below config and the stores, so
// `flowgate check` and the stores read a URL the same way.

/** A `host:port` of a sentinel or a cluster node. */
export interface RedisNodeAddress {
  readonly host: string;
  readonly port: number;
}

/** Where a Redis store connects. */
export type RedisTarget =
  | {
      /** One redis-server; `url` is handed to node-redis's `createClient` as it is (query removed). */
      readonly kind: 'server';
      readonly url: string;
    }
  | {
      /** The master that Redis Sentinel names `name` (node-redis `createSentinel`). */
      readonly kind: 'sentinel';
      readonly name: string;
      readonly sentinels: readonly RedisNodeAddress[];
      readonly username: string | undefined;
      readonly password: string | undefined;
      readonly database: number | undefined;
      readonly sentinelUsername: string | undefined;
      readonly sentinelPassword: string | undefined;
    }
  | {
      /** A Redis Cluster, found through any of `nodes` (node-redis `createCluster`). */
      readonly kind: 'cluster';
      readonly nodes: readonly RedisNodeAddress[];
      readonly username: string | undefined;
      readonly password: string | undefined;
    };

/** `WAIT <replicas> <timeoutMs>` after every write: the write counts only once replicas have it. */
export interface RedisWait {
  readonly replicas: number;
  readonly timeoutMs: number;
}

/** A parsed Redis URL. */
export interface RedisUrl {
  readonly target: RedisTarget;
  /** undefined: writes are acknowledged by the master alone (no WAIT). */
  readonly wait: RedisWait | undefined;
}

/** `wait_timeout` when the URL sets `wait` alone (ms). */
export const DEFAULT_WAIT_TIMEOUT_MS = 100;

/** The URL forms, for messages and docs. */
export const REDIS_URL_FORMS =
  'redis://[[user]:password@]host[:port][/db], rediss://… (TLS), ' +
  'redis+sentinel://[[user]:password@]host:port[,host:port…]/master-name[/db] or ' +
  'redis+cluster://[[user]:password@]host:port[,host:port…]; ' +
  'query: ?wait=<replicas>&wait_timeout=<ms> (sentinel also sentinel_username, sentinel_password)';

const URL_RE = /^(rediss?)(?:\+(sentinel|cluster))?:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/i;

type Parsed = { ok: true; value: RedisUrl } | { ok: false; message: string };

function decode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function parseHosts(list: string, defaultPort: number): RedisNodeAddress[] | string {
  const out: RedisNodeAddress[] = [];
  for (const item of list.split(',')) {
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(item);
    if (m === null) return `"${item}" is not host:port`;
    const port = m[3] === undefined ? defaultPort : Number(m[3]);
    if (port < 1 || port > 65535) return `port ${m[3]} is out of range`;
    out.push({ host: m[1] ?? m[2] ?? '', port });
  }
  return out;
}

function positiveInt(v: string, max: number): number | undefined {
  if (!/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return n >= 1 && n <= max ? n : undefined;
}

/**
 * Reads a Redis store URL:
 * - `redis://[[user]:password@]host[:port][/db]` and `rediss://…`: one server (node-redis parses it);
 * - `redis+sentinel://[[user]:password@]host:port[,host:port…]/<master-name>[/<db>]`: the master a
 *   set of sentinels names (default port 26379; the user and password are the data nodes');
 * - `redis+cluster://[[user]:password@]host:port[,host:port…]`: a Redis Cluster (default port 6379).
 *
 * Query options: `wait=<replicas>` and `wait_timeout=<ms>` (default {@link DEFAULT_WAIT_TIMEOUT_MS})
 * make every write wait for that many replicas; `sentinel_username` / `sentinel_password` for
 * sentinels that require a password. Anything else in the query is refused.
 */
export function parseRedisUrl(url: string): Parsed {
  const m = URL_RE.exec(url);
  if (m === null) return { ok: false, message: `expected ${REDIS_URL_FORMS}` };
  const scheme = (m[1] ?? '').toLowerCase();
  const mode = (m[2] ?? '').toLowerCase();
  const authority = m[3] ?? '';
  const path = m[4] ?? '';
  const at = authority.lastIndexOf('@');
  const userinfo = at < 0 ? undefined : authority.slice(0, at);
  const hostPart = at < 0 ? authority : authority.slice(at + 1);
  if (hostPart === '') return { ok: false, message: `no host in ${redactRedisUrl(url)}` };
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const u = decode(colon < 0 ? userinfo : userinfo.slice(0, colon));
    const p = colon < 0 ? undefined : decode(userinfo.slice(colon + 1));
    if (u === undefined || (colon >= 0 && p === undefined))
      return { ok: false, message: 'bad percent-encoding in the user or password' };
    username = u === '' ? undefined : u;
    password = p === '' ? undefined : p;
  }

  const query = new URLSearchParams(m[5] ?? '');
  const known = new Set(['wait', 'wait_timeout']);
  if (mode === 'sentinel') {
    known.add('sentinel_username');
    known.add('sentinel_password');
  }
  for (const k of query.keys())
    if (!known.has(k))
      return {
        ok: false,
        message: `unknown URL option "${k}" (known: ${[...known].join(', ')})`,
      };
  let wait: RedisWait | undefined;
  const w = query.get('wait');
  const wt = query.get('wait_timeout');
  if (w !== null) {
    const replicas = positiveInt(w, 100);
    if (replicas === undefined)
      return { ok: false, message: `wait must be a number of replicas 1..100, got "${w}"` };
    let timeoutMs = DEFAULT_WAIT_TIMEOUT_MS;
    if (wt !== null) {
      const t = positiveInt(wt, 60_000);
      if (t === undefined)
        return { ok: false, message: `wait_timeout must be 1..60000 ms, got "${wt}"` };
      timeoutMs = t;
    }
    wait = { replicas, timeoutMs };
  } else if (wt !== null) return { ok: false, message: 'wait_timeout needs wait=<replicas>' };

  if (mode === '') {
    if (hostPart.includes(','))
      return {
        ok: false,
        message: 'several hosts need redis+sentinel:// or redis+cluster://',
      };
    return {
      ok: true,
      value: { target: { kind: 'server', url: `${m[1]}://${authority}${path}` }, wait },
    };
  }
  if (scheme === 'rediss')
    return {
      ok: false,
      message: `TLS is not supported with ${mode} yet: use redis+${mode}:// on a trusted network`,
    };
  const hosts = parseHosts(hostPart, mode === 'sentinel' ? 26379 : 6379);
  if (typeof hosts === 'string') return { ok: false, message: hosts };
  const segs = path.split('/').filter((s) => s !== '');
  if (mode === 'cluster') {
    if (segs.length > 0)
      return {
        ok: false,
        message: 'a cluster URL has no path (Redis Cluster has database 0 only)',
      };
    return {
      ok: true,
      value: { target: { kind: 'cluster', nodes: hosts, username, password }, wait },
    };
  }
  const name = segs[0] === undefined ? undefined : decode(segs[0]);
  if (name === undefined || name === '' || segs.length > 2)
    return {
      ok: false,
      message:
        'a sentinel URL names the master: redis+sentinel://host:26379,…/<master-name>[/<db>]',
    };
  let database: number | undefined;
  if (segs[1] !== undefined) {
    if (!/^\d+$/.test(segs[1]) || Number(segs[1]) > 65535)
      return { ok: false, message: `database must be a number, got "${segs[1]}"` };
    database = Number(segs[1]);
  }
  return {
    ok: true,
    value: {
      target: {
        kind: 'sentinel',
        name,
        sentinels: hosts,
        username,
        password,
        database,
        sentinelUsername: query.get('sentinel_username') ?? undefined,
        sentinelPassword: query.get('sentinel_password') ?? undefined,
      },
      wait,
    },
  };
}

/**
 * The key prefix of a store in a Redis Cluster: a store's Lua scripts touch several keys, which must
 * hash to one slot, so a prefix without a hash tag becomes one (`flowgate:loc:` →
 * `{flowgate:loc:}`). A prefix that has a tag (`{loc}:`) is kept.
 */
export function clusterKeyPrefix(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

/** The URL without its passwords, for logs and messages. */
export function redactRedisUrl(url: string): string {
  return url
    .replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')
    .replace(/([?&]sentinel_password=)[^&#]*/, '$1***');
}
