import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../../errors/index.js';
import { type Logger, noopLogger, RateLimitedLog } from '../../../util/logger.js';
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
  /** `redis[s]://[[user][:password]@]host[:port][/db]`. */
  readonly url: string;
  /** Prepended to every key; default `flowgate:auth:`. Stores sharing a prefix share users. */
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

type CreateClient = typeof import('redis').createClient;

/** The part of a node-redis client this store uses. */
interface RedisConn {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  sendCommand(args: readonly string[]): Promise<unknown>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
}

interface Script {
  readonly src: string;
  readonly sha: string;
}

function script(src: string): Script {
  return { src, sha: createHash('sha1').update(src).digest('hex') };
}

/** No reply from redis within the command timeout. */
class ReplyTimeout extends Error {
  override name = 'ReplyTimeout';
  constructor(ms: number) {
    super(`no reply within ${ms} ms`);
  }
}

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
 * on its own. Keys are built inside the scripts: one redis-server, not Redis Cluster.
 */
export class RedisCredentialStore implements CredentialStore {
  readonly name = 'redis';
  readonly #url: string;
  readonly #prefix: string;
  readonly #useDomain: boolean;
  readonly #commandTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #logger: Logger;
  readonly #errorLog = new RateLimitedLog(10_000);
  #client: RedisConn | undefined;
  #createClient: CreateClient | undefined;
  /** Set once the first connect succeeded: from then on node-redis reconnects for ever. */
  #connected = false;

  constructor(options: RedisCredentialStoreOptions) {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw new InvalidArgumentError(
        'auth_db (redis): url must be redis://host:port or rediss://…',
      );
    }
    this.#url = options.url;
    this.#prefix = options.prefix ?? DEFAULT_CREDENTIALS_PREFIX;
    this.#useDomain = options.useDomain ?? true;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 1000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.#logger = options.logger ?? noopLogger;
  }

  /** The key prefix in use. */
  get prefix(): string {
    return this.#prefix;
  }

  /** Key of a subscriber's hash (for tests and tools); `domain` lower-case. */
  subscriberKey(username: string, domain: string): string {
    return `${this.#prefix}subscriber:${domain}:${username}`;
  }

  async open(): Promise<void> {
    if (this.#client !== undefined) return;
    let createClient: CreateClient;
    try {
      ({ createClient } = await import('redis'));
    } catch (err) {
      throw new CredentialStoreError('credentials store (redis) needs the redis@6 package', {
        cause: err,
      });
    }
    this.#createClient = createClient;
    this.#connected = false;
    const client = this.#newClient(createClient);
    try {
      await client.connect();
    } catch (err) {
      client.destroy();
      throw new CredentialStoreError(
        `credentials store (redis): cannot connect to ${redact(this.#url)}: ${errText(err)}`,
        { cause: err },
      );
    }
    this.#connected = true;
    this.#client = client;
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    if (client === undefined) return;
    if (client.isReady) {
      // close() lets pending commands finish; a hung server gets commandTimeoutMs, then destroy()
      let timer: NodeJS.Timeout | undefined;
      const closed = await Promise.race([
        client.close().then(
          () => true,
          () => false,
        ),
        new Promise<false>((resolve) => {
          timer = setTimeout(() => resolve(false), this.#commandTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (closed) return;
    }
    client.destroy();
  }

  async get(username: string, domain: string): Promise<Subscriber | undefined> {
    if (this.#useDomain) {
      const key = this.subscriberKey(username, domain.toLowerCase());
      return decode(await this.#call('get', (c) => c.sendCommand(['HGETALL', key])));
    }
    return decode(
      await this.#eval(
        'get',
        GET_ANY_DOMAIN,
        [this.#domainsKey(username)],
        [this.#hashPrefix(), username],
      ),
    );
  }

  async put(s: Subscriber): Promise<'created' | 'updated'> {
    this.#conn();
    const n = normalizeSubscriber(s);
    const r = await this.#eval(
      'put',
      PUT,
      [this.subscriberKey(n.username, n.domain), this.#indexKey(), this.#domainsKey(n.username)],
      [this.#hashPrefix(), this.#useDomain ? '1' : '0', ...FIELDS.map((f) => String(n[f]))],
    );
    return Number(r) === 1 ? 'updated' : 'created';
  }

  async remove(username: string, domain: string): Promise<boolean> {
    const r = await this.#eval(
      'remove',
      REMOVE,
      [this.#indexKey(), this.#domainsKey(username)],
      [this.#hashPrefix(), this.#useDomain ? '1' : '0', username, domain.toLowerCase()],
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
    this.#conn();
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

  #newClient(createClient: CreateClient): RedisConn {
    const client: RedisConn = createClient({
      url: this.#url,
      // commands issued while (re)connecting reject at once instead of waiting in a queue
      disableOfflineQueue: true,
      commandOptions: { timeout: this.#commandTimeoutMs },
      socket: {
        connectTimeout: this.#connectTimeoutMs,
        // the first connect fails open(); after that, retry for ever with capped backoff
        reconnectStrategy: (retries: number, cause: Error) =>
          this.#connected ? Math.min(50 * 2 ** retries, 1000) : cause,
      },
    });
    // node-redis emits 'error' on every failed (re)connect: without a listener that would crash
    client.on('error', (err) => {
      this.#errorLog.log(
        this.#logger,
        'warn',
        'conn',
        { err, url: redact(this.#url) },
        'auth_db: redis connection error',
      );
    });
    return client;
  }

  /**
   * Replaces a connection whose server stopped answering (a hung server keeps the TCP connection
   * open, so node-redis would wait for ever); calls fail fast until the new one is ready.
   */
  #recycle(stale: RedisConn): void {
    const createClient = this.#createClient;
    if (this.#client !== stale || createClient === undefined) return;
    this.#errorLog.log(
      this.#logger,
      'warn',
      'recycle',
      { url: redact(this.#url) },
      'auth_db: redis not answering, reconnecting',
    );
    const fresh = this.#newClient(createClient);
    this.#client = fresh;
    stale.destroy();
    fresh.connect().catch(() => {
      // only when the store was closed meanwhile (the strategy retries for ever otherwise)
    });
  }

  #conn(): RedisConn {
    if (this.#client === undefined)
      throw new CredentialStoreError('credentials store (redis) is not open');
    return this.#client;
  }

  /** Runs a command bounded by `commandTimeoutMs`; failures become {@link CredentialStoreError}. */
  async #call<T>(what: string, fn: (c: RedisConn) => Promise<T>): Promise<T> {
    const c = this.#conn();
    let timer: NodeJS.Timeout | undefined;
    const op = fn(c);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new ReplyTimeout(this.#commandTimeoutMs)),
        this.#commandTimeoutMs,
      );
    });
    try {
      return await Promise.race([op, timeout]);
    } catch (err) {
      if (err instanceof ReplyTimeout) {
        op.catch(() => {}); // rejected by the destroy below; nobody waits for it any more
        this.#recycle(c);
      }
      throw new CredentialStoreError(`credentials store (redis): ${what} failed: ${errText(err)}`, {
        cause: err,
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** EVALSHA, falling back to EVAL when the server does not have the script (first use, restart). */
  #eval(
    what: string,
    s: Script,
    keys: readonly string[],
    args: readonly string[],
  ): Promise<unknown> {
    return this.#call(what, async (c) => {
      const tail = [String(keys.length), ...keys, ...args];
      try {
        return await c.sendCommand(['EVALSHA', s.sha, ...tail]);
      } catch (err) {
        if (!errText(err).startsWith('NOSCRIPT')) throw err;
        return await c.sendCommand(['EVAL', s.src, ...tail]);
      }
    });
  }
}

function errText(err: unknown): string {
  if (err instanceof Error) return err.message === '' ? err.name : err.message;
  return String(err);
}

/** The URL without its password, for logs and messages. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
