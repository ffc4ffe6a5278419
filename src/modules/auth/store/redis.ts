import { InvalidArgumentError } from '../../../errors/index.js';
import { type Logger, noopLogger } from '../../../util/logger.js';
import {
  RedisCallError,
  RedisConnection,
  type RedisScript,
  redisScript as script,
} from '../../../util/redis-conn.js';
import { clusterKeyPrefix, parseRedisUrl } from '../../../util/redis-url.js';
import type { CredentialStore, Subscriber, SubscriberPage } from '../credentials.js';
import { CredentialStoreError } from './errors.js';
import {
  type CredentialStoreOptions,
  compareSubscribers,
  listQuery,
  normalizeSubscriber,
  readStoredSubscriber,
  toPage,
} from './subscriber.js';

/** Options of {@link RedisCredentialStore}. */
export interface RedisCredentialStoreOptions extends CredentialStoreOptions {
  /**
   * `redis[s]://[[user][:password]@]host[:port][/db]`, `redis+sentinel://host:port[,…]/<master>[/db]`
   * or `redis+cluster://host:port[,…]`, with `?wait=<replicas>&wait_timeout=<ms>` (see
   * {@link parseRedisUrl}).
   */
  readonly url: string;
  /**
   * Prepended to every key; default `flowgate:auth:`. Stores sharing a prefix share users. In a
   * Redis Cluster the prefix is also the keys' hash tag (`{flowgate:auth:}…`), unless it has one.
   */
  readonly prefix?: string | undefined;
  /** A command with no reply after this long rejects; default 1000 ms. */
  readonly commandTimeoutMs?: number | undefined;
  /** Connect timeout of one attempt; default 2000 ms. `open()` fails after the first failed attempt. */
  readonly connectTimeoutMs?: number | undefined;
  /** Where connection trouble is logged (rate-limited); default: nowhere. */
  readonly logger?: Logger | undefined;
}

/** The default key prefix of {@link RedisCredentialStore}. */
export const DEFAULT_CREDENTIALS_PREFIX = 'flowgate:auth:';

const FIELDS = [
  'username',
  'domain',
  'realm',
  'ha1',
  'ha1b',
  'ha1_sha256',
  'ha1b_sha256',
  'created',
  'updated',
] as const;

/**
 * put(): KEYS hash, listing index, the user's domain set; ARGV hash-key prefix, use_domain (1/0),
 * then the FIELDS values. A replaced row keeps its `created`; without use_domain the user's rows in
 * other domains go. Returns 1 when a row existed.
 */
const PUT = script(`
local hpre, use_domain, user, dom = ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4]
local created = nil
local function seen(c)
  if c and (created == nil or tonumber(c) < tonumber(created)) then created = c end
end
if use_domain then
  seen(redis.call('HGET', KEYS[1], 'created'))
else
  for _, d in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    local k = hpre .. d .. ':' .. user
    seen(redis.call('HGET', k, 'created'))
    if d ~= dom then
      redis.call('DEL', k)
      redis.call('ZREM', KEYS[2], d .. '\\0' .. user)
      redis.call('SREM', KEYS[3], d)
    end
  end
end
local existed = created ~= nil
redis.call('HSET', KEYS[1], 'username', user, 'domain', dom, 'realm', ARGV[5], 'ha1', ARGV[6],
  'ha1b', ARGV[7], 'ha1_sha256', ARGV[8], 'ha1b_sha256', ARGV[9], 'created', created or ARGV[10],
  'updated', ARGV[11])
redis.call('ZADD', KEYS[2], 0, dom .. '\\0' .. user)
redis.call('SADD', KEYS[3], dom)
if existed then return 1 else return 0 end
`);

/**
 * remove(): KEYS listing index, the user's domain set; ARGV hash-key prefix, use_domain, user,
 * domain. Returns how many rows went.
 */
const REMOVE = script(`
local hpre, use_domain, user, dom = ARGV[1], ARGV[2] == '1', ARGV[3], ARGV[4]
local doms = use_domain and { dom } or redis.call('SMEMBERS', KEYS[2])
local n = 0
for _, d in ipairs(doms) do
  n = n + redis.call('DEL', hpre .. d .. ':' .. user)
  redis.call('ZREM', KEYS[1], d .. '\\0' .. user)
  redis.call('SREM', KEYS[2], d)
end
return n
`);

/** get() without use_domain: KEYS the user's domain set; ARGV hash-key prefix, user. */
const GET_ANY_DOMAIN = script(`
local doms = redis.call('SMEMBERS', KEYS[1])
if #doms ~= 1 then return {} end
return redis.call('HGETALL', ARGV[1] .. doms[1] .. ':' .. ARGV[2])
`);

/** list(): KEYS listing index; ARGV hash-key prefix, BYLEX min, max, count. */
const LIST = script(`
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[2], ARGV[3], 'BYLEX', 'LIMIT', 0, tonumber(ARGV[4]))) do
  local z = string.find(m, '\\0', 1, true)
  if z then
    out[#out + 1] = redis.call('HGETALL', ARGV[1] .. string.sub(m, 1, z - 1) .. ':' .. string.sub(m, z + 1))
  end
end
return out
`);

/** A HGETALL reply (RESP2 flat array or RESP3 map) as an object; undefined when empty. */
function hashOf(v: unknown): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  if (Array.isArray(v)) {
    for (let i = 0; i + 1 < v.length; i += 2) out[String(v[i])] = v[i + 1];
  } else if (v instanceof Map) {
    for (const [k, x] of v) out[String(k)] = x;
  } else if (typeof v === 'object' && v !== null) Object.assign(out, v);
  return Object.keys(out).length === 0 ? undefined : out;
}

function decode(v: unknown): Subscriber | undefined {
  const h = hashOf(v);
  if (h === undefined) return undefined;
  const s = readStoredSubscriber(h);
  if (s === undefined)
    throw new CredentialStoreError('credentials store (redis): unreadable subscriber hash');
  return s;
}

/**
 * Credentials in Redis through node-redis (`redis@6`), for several registrars sharing one user
 * base. Keys (all under `prefix`):
 * - `subscriber:<domain>:<username>`: a hash with the {@link Subscriber} fields (the domain is a
 *   host name or an IPv6 literal, so the key is unambiguous);
 * - `subscribers`: sorted set of `<domain>\0<username>` (score 0, lexicographic: `list()`);
 * - `subscriber-domains:<username>`: set of the user's domains (lookups without use_domain).
 *
 * `put()` and `remove()` are Lua scripts, so each is atomic; `get()` is one command or script and
 * returns a promise. Nothing is cached: a user added by `flowgate user add` counts at once. While
 * disconnected every call rejects at once with {@link CredentialStoreError}; node-redis reconnects
 * on its own. The URL picks one redis-server, a Sentinel-monitored master or a Redis Cluster (all
 * keys of a store share one hash tag there, so one slot); with `?wait=N` a change counts only once
 * N replicas have it.
 */
export class RedisCredentialStore implements CredentialStore {
  readonly name = 'redis';
  readonly #conn: RedisConnection;
  readonly #prefix: string;
  readonly #useDomain: boolean;
  #open = false;

  constructor(options: RedisCredentialStoreOptions) {
    const parsed = typeof options.url === 'string' ? parseRedisUrl(options.url) : undefined;
    if (parsed === undefined || !parsed.ok) {
      throw new InvalidArgumentError(
        `auth_db (redis): ${parsed?.ok === false ? parsed.message : 'url must be a string'}`,
      );
    }
    const prefix = options.prefix ?? DEFAULT_CREDENTIALS_PREFIX;
    this.#prefix = parsed.value.target.kind === 'cluster' ? clusterKeyPrefix(prefix) : prefix;
    this.#useDomain = options.useDomain ?? true;
    this.#conn = new RedisConnection({
      url: options.url,
      name: 'auth_db',
      commandTimeoutMs: options.commandTimeoutMs ?? 1000,
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      maxReconnectDelayMs: 1000,
      logger: options.logger ?? noopLogger,
    });
  }

  /** The key prefix in use (with its hash tag in a Redis Cluster). */
  get prefix(): string {
    return this.#prefix;
  }

  /** Key of a subscriber's hash (for tests and tools); `domain` lower-case. */
  subscriberKey(username: string, domain: string): string {
    return `${this.#prefix}subscriber:${domain}:${username}`;
  }

  async open(): Promise<void> {
    if (this.#open) return;
    try {
      await this.#conn.open();
    } catch (err) {
      throw new CredentialStoreError(`credentials store (redis): ${errText(err)}`, {
        cause: err,
      });
    }
    this.#open = true;
  }

  async close(): Promise<void> {
    this.#open = false;
    await this.#conn.close();
  }

  async get(username: string, domain: string): Promise<Subscriber | undefined> {
    if (this.#useDomain) {
      const key = this.subscriberKey(username, domain.toLowerCase());
      return decode(await this.#call('get', key, ['HGETALL', key]));
    }
    return decode(
      await this.#eval(
        'get',
        GET_ANY_DOMAIN,
        [this.#domainsKey(username)],
        [this.#hashPrefix(), username],
        false,
      ),
    );
  }

  async put(s: Subscriber): Promise<'created' | 'updated'> {
    this.#assertOpen();
    const n = normalizeSubscriber(s);
    const r = await this.#eval(
      'put',
      PUT,
      [this.subscriberKey(n.username, n.domain), this.#indexKey(), this.#domainsKey(n.username)],
      [this.#hashPrefix(), this.#useDomain ? '1' : '0', ...FIELDS.map((f) => String(n[f]))],
      true,
    );
    return Number(r) === 1 ? 'updated' : 'created';
  }

  async remove(username: string, domain: string): Promise<boolean> {
    const r = await this.#eval(
      'remove',
      REMOVE,
      [this.#indexKey(), this.#domainsKey(username)],
      [this.#hashPrefix(), this.#useDomain ? '1' : '0', username, domain.toLowerCase()],
      true,
    );
    return Number(r) > 0;
  }

  async list(
    opts: {
      readonly domain?: string | undefined;
      readonly limit?: number | undefined;
      readonly cursor?: string | undefined;
    } = {},
  ): Promise<SubscriberPage> {
    this.#assertOpen();
    const q = listQuery(opts);
    const a = q.after;
    let min = a === undefined ? '-' : `(${a.domain}\0${a.username}`;
    let max = '+';
    if (q.domain !== undefined) {
      // every member of the domain starts with "<domain>\0"; "\x01" sorts right after it
      max = `(${q.domain}\x01`;
      if (a === undefined || compareSubscribers(a, { domain: q.domain, username: '' }) < 0)
        min = `[${q.domain}\0`;
    }
    const reply = await this.#eval(
      'list',
      LIST,
      [this.#indexKey()],
      [this.#hashPrefix(), min, max, String(q.limit + 1)],
      false,
    );
    if (!Array.isArray(reply))
      throw new CredentialStoreError('credentials store (redis): unexpected reply to list');
    const rows = reply.map(decode).filter((s): s is Subscriber => s !== undefined);
    return toPage(rows, q.limit);
  }

  #hashPrefix(): string {
    return `${this.#prefix}subscriber:`;
  }
  #indexKey(): string {
    return `${this.#prefix}subscribers`;
  }
  #domainsKey(username: string): string {
    return `${this.#prefix}subscriber-domains:${username}`;
  }

  #assertOpen(): void {
    if (!this.#open) throw new CredentialStoreError('credentials store (redis) is not open');
  }

  async #call(what: string, key: string, args: string[]): Promise<unknown> {
    this.#assertOpen();
    try {
      return await this.#conn.command(what, key, args, true);
    } catch (err) {
      throw new CredentialStoreError(`credentials store (redis): ${errText(err)}`, { cause: err });
    }
  }

  async #eval(
    what: string,
    s: RedisScript,
    keys: readonly string[],
    args: readonly string[],
    write: boolean,
  ): Promise<unknown> {
    this.#assertOpen();
    try {
      return await this.#conn.script(what, s, keys, args, write);
    } catch (err) {
      throw new CredentialStoreError(`credentials store (redis): ${errText(err)}`, { cause: err });
    }
  }
}

function errText(err: unknown): string {
  if (err instanceof RedisCallError) return err.message;
  if (err instanceof Error) return err.message === '' ? err.name : err.message;
  return String(err);
}
