import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../../errors/index.js';
import type { Clock } from '../../util/clock.js';
import { type Logger, RateLimitedLog } from '../../util/logger.js';
import type { AorChanges, Binding, BindingPage, LocationStore } from './binding.js';
import { LocationStoreError } from './errors.js';
import { type LocationStoreOptions, resolveStoreOptions } from './options.js';
import {
  assertListLimit,
  compareBindings,
  compareListOrder,
  decodeCursor,
  toPage,
} from './order.js';
import { Sweeper } from './sweeper.js';
import { assertValidChanges, normalizeBinding, readStoredBinding, ruidTaken } from './validate.js';

/** Options of {@link RedisLocationStore}. */
export interface RedisLocationStoreOptions extends LocationStoreOptions {
  /** `redis[s]://[[user][:password]@]host[:port][/db]`. */
  readonly url: string;
  /** Prepended to every key; default `flowgate:loc:`. Stores sharing a prefix share bindings. */
  readonly prefix?: string;
  /**
   * A command with no reply after this long rejects (the server hangs or the network is gone);
   * default 1000 ms. Commands issued while disconnected reject at once.
   */
  readonly commandTimeoutMs?: number;
  /** Connect timeout of one attempt; default 2000 ms. `open()` fails after the first failed attempt. */
  readonly connectTimeoutMs?: number;
  /** Longest pause between reconnect attempts after the connection was lost; default 1000 ms. */
  readonly maxReconnectDelayMs?: number;
}

/** The default key prefix of {@link RedisLocationStore}. */
export const DEFAULT_REDIS_PREFIX = 'flowgate:loc:';

type CreateClient = typeof import('redis').createClient;

/** No reply from redis within the command timeout. */
class ReplyTimeout extends Error {
  override name = 'ReplyTimeout';
  constructor(ms: number) {
    super(`no reply within ${ms} ms`);
  }
}

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

// Shared Lua: the AoR a stored binding belongs to and its expiry, or nil when no key.
const OWNER = `
local function owner(bkey)
  local v = redis.call('GET', bkey)
  if not v then return nil end
  local ok, b = pcall(cjson.decode, v)
  if ok and type(b) == 'table' and type(b.aor) == 'string' then return b.aor, tonumber(b.expires) end
  return false
end
`;

/**
 * apply(): KEYS aor zset, expiry zset, AoR index; ARGV binding-key prefix, aor, now, n, then n
 * triples (ruid, expires, json), then the ruids to remove. Checks first, writes after, so an error
 * reply means nothing was written.
 */
const APPLY = script(`${OWNER}
local bpre, aor, now, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 0, n - 1 do
  local ruid = ARGV[5 + 3 * i]
  local o, e = owner(bpre .. ruid)
  if o and o ~= aor and e and e > now then return redis.error_reply('RUID_CONFLICT ' .. ruid) end
end
local function remove(ruid)
  if redis.call('ZREM', KEYS[1], ruid) == 1 then redis.call('ZREM', KEYS[2], ruid .. '\\0' .. aor) end
  if owner(bpre .. ruid) == aor then redis.call('DEL', bpre .. ruid) end
end
for i = 5 + 3 * n, #ARGV do remove(ARGV[i]) end
for i = 0, n - 1 do
  local ruid, exp, json = ARGV[5 + 3 * i], ARGV[6 + 3 * i], ARGV[7 + 3 * i]
  if tonumber(exp) <= now then
    remove(ruid)
  else
    redis.call('SET', bpre .. ruid, json, 'PXAT', exp)
    redis.call('ZADD', KEYS[1], exp, ruid)
    redis.call('ZADD', KEYS[2], exp, ruid .. '\\0' .. aor)
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('ZADD', KEYS[3], 0, aor) else redis.call('ZREM', KEYS[3], aor) end
return 1
`);

/** Bindings of several AoRs: KEYS their zsets; ARGV binding-key prefix, now. */
const GET_MANY = script(`
local out = {}
for k = 1, #KEYS do
  local vals = {}
  for _, r in ipairs(redis.call('ZRANGEBYSCORE', KEYS[k], '(' .. ARGV[2], '+inf')) do
    local v = redis.call('GET', ARGV[1] .. r)
    if v then vals[#vals + 1] = v end
  end
  out[k] = vals
end
return out
`);

/** removeAor(): KEYS aor zset, expiry zset, AoR index; ARGV binding-key prefix, aor, now. */
const REMOVE_AOR = script(`${OWNER}
local bpre, aor, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local n = 0
for _, ruid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local o, e = owner(bpre .. ruid)
  if o == aor then
    redis.call('DEL', bpre .. ruid)
    if e and e > now then n = n + 1 end
  end
  redis.call('ZREM', KEYS[2], ruid .. '\\0' .. aor)
end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[3], aor)
return n
`);

/**
 * purgeExpired(): KEYS expiry zset, AoR index; ARGV aor-key prefix, now, batch size. The binding
 * keys are already gone (their TTL); this drops their index entries.
 */
const PURGE = script(`
local apre, now = ARGV[1], tonumber(ARGV[2])
local m = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
for _, x in ipairs(m) do
  redis.call('ZREM', KEYS[1], x)
  local i = string.find(x, '\\0', 1, true)
  if i then
    local ruid, aor = string.sub(x, 1, i - 1), string.sub(x, i + 1)
    local akey = apre .. aor
    local s = redis.call('ZSCORE', akey, ruid)
    if s and tonumber(s) <= now then redis.call('ZREM', akey, ruid) end
    if redis.call('EXISTS', akey) == 0 then redis.call('ZREM', KEYS[2], aor) end
  end
end
return #m
`);

const PURGE_BATCH = 500;

function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v))
    throw new LocationStoreError(`location store (redis): unexpected reply to ${what}`);
  return v;
}

function asNumber(v: unknown, what: string): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new LocationStoreError(`location store (redis): unexpected reply to ${what}`);
  }
  return n;
}

function decode(v: unknown): Binding {
  let parsed: unknown;
  try {
    parsed = typeof v === 'string' ? JSON.parse(v) : undefined;
  } catch {
    parsed = undefined;
  }
  const b = readStoredBinding(parsed);
  if (b === undefined)
    throw new LocationStoreError('location store (redis): unreadable binding value');
  return b;
}

/**
 * Location store in Redis through node-redis (`redis@6`); several flowgate processes sharing one
 * redis-server and prefix see each other's writes at once (nothing is cached locally).
 *
 * Keys (all under `prefix`):
 * - `b:<ruid>`: the binding as JSON, expiring at its `expires` (`SET … PXAT`);
 * - `aor:<aor>`: sorted set of the AoR's ruids, scored by `expires`;
 * - `exp`: sorted set of `<ruid>\0<aor>` for every binding, scored by `expires` (count, purge);
 * - `aors`: sorted set of AoRs that have bindings (score 0, lexicographic: list()).
 *
 * `apply()`, `removeAor()` and the purge are Lua scripts, so each is atomic; reads are one script
 * or command. While disconnected every call rejects at once with {@link LocationStoreError}
 * (`disableOfflineQueue`), a hung server after `commandTimeoutMs`; node-redis reconnects on its
 * own and the store works again. Keys are built inside the scripts, so this store needs a single
 * redis-server (not Redis Cluster).
 */
export class RedisLocationStore implements LocationStore {
  readonly name = 'redis';
  readonly #url: string;
  readonly #prefix: string;
  readonly #commandTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  readonly #maxReconnectDelayMs: number;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #errorLog = new RateLimitedLog(10_000);
  readonly #sweeper: Sweeper;
  #client: RedisConn | undefined;
  #createClient: CreateClient | undefined;
  /** Set once the first connect succeeded: from then on, node-redis reconnects for ever. */
  #connected = false;

  constructor(options: RedisLocationStoreOptions) {
    if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url)) {
      throw new InvalidArgumentError(
        'location (redis): url must be redis://host:port or rediss://…',
      );
    }
    const o = resolveStoreOptions(options);
    this.#url = options.url;
    this.#prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 1000;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.#maxReconnectDelayMs = options.maxReconnectDelayMs ?? 1000;
    this.#clock = o.clock;
    this.#logger = o.logger;
    this.#sweeper = new Sweeper(o, () => this.purgeExpired());
  }

  /** The key prefix in use. */
  get prefix(): string {
    return this.#prefix;
  }

  /** Key of a binding (for tests and tools). */
  bindingKey(ruid: string): string {
    return `${this.#prefix}b:${ruid}`;
  }

  async open(): Promise<void> {
    if (this.#client !== undefined) return;
    let createClient: CreateClient;
    try {
      ({ createClient } = await import('redis'));
    } catch (err) {
      throw new LocationStoreError('location store (redis) needs the redis@6 package', {
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
      throw new LocationStoreError(
        `location store (redis): cannot connect to ${redact(this.#url)}: ${errText(err)}`,
        {
          cause: err,
        },
      );
    }
    this.#connected = true;
    this.#client = client;
    this.#sweeper.start();
  }

  async close(): Promise<void> {
    this.#sweeper.stop();
    const client = this.#client;
    this.#client = undefined;
    this.#connected = false;
    if (client === undefined) return;
    if (client.isReady) {
      // close() lets pending commands finish; a hung server gets commandTimeoutMs, then destroy().
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

  #newClient(createClient: CreateClient): RedisConn {
    const client: RedisConn = createClient({
      url: this.#url,
      // Commands issued while (re)connecting reject at once instead of waiting in a queue.
      disableOfflineQueue: true,
      // A command still unsent after this long is dropped unsent (node-redis times out queued
      // commands only; replies are bounded by #call's own timer).
      commandOptions: { timeout: this.#commandTimeoutMs },
      socket: {
        connectTimeout: this.#connectTimeoutMs,
        // The first connect fails open(); after that, retry for ever with capped backoff.
        reconnectStrategy: (retries: number, cause: Error) =>
          this.#connected ? Math.min(50 * 2 ** retries, this.#maxReconnectDelayMs) : cause,
      },
    });
    // node-redis emits 'error' on every failed (re)connect: without a listener that would crash.
    client.on('error', (err) => {
      this.#errorLog.log(
        this.#logger,
        'warn',
        'conn',
        { err, url: redact(this.#url) },
        'location: redis connection error',
      );
    });
    return client;
  }

  /**
   * Replaces a connection whose server stopped answering (a hung server keeps the TCP connection
   * open, so node-redis would wait for ever): the old client is destroyed, rejecting what it still
   * waits for, and a new one connects in the background. Calls fail fast until it is ready.
   */
  #recycle(stale: RedisConn): void {
    const createClient = this.#createClient;
    if (this.#client !== stale || createClient === undefined) return;
    this.#errorLog.log(
      this.#logger,
      'warn',
      'recycle',
      { url: redact(this.#url) },
      'location: redis not answering, reconnecting',
    );
    const fresh = this.#newClient(createClient);
    this.#client = fresh;
    stale.destroy();
    fresh.connect().catch((err: unknown) => {
      // Only when the store was closed meanwhile (the strategy retries for ever otherwise).
      this.#errorLog.log(
        this.#logger,
        'warn',
        'conn',
        { err },
        'location: redis reconnect stopped',
      );
    });
  }

  async get(aor: string): Promise<Binding[]> {
    const lists = await this.#getMany([aor]);
    return lists[0] ?? [];
  }

  async getByRuid(ruid: string): Promise<Binding | undefined> {
    const v = await this.#call('getByRuid', (c) => c.sendCommand(['GET', this.bindingKey(ruid)]));
    if (v === null || v === undefined) return undefined;
    const b = decode(v);
    return b.expires > this.#clock.wallNow() ? b : undefined;
  }

  async apply(aor: string, changes: AorChanges): Promise<void> {
    this.#conn();
    assertValidChanges(aor, changes);
    const args = [
      `${this.#prefix}b:`,
      aor,
      String(this.#clock.wallNow()),
      String(changes.upsert.length),
    ];
    for (const b of changes.upsert)
      args.push(b.ruid, String(b.expires), JSON.stringify(normalizeBinding(b)));
    for (const ruid of changes.remove) args.push(ruid);
    await this.#eval('apply', APPLY, [this.#aorKey(aor), this.#expKey(), this.#aorsKey()], args);
  }

  async removeAor(aor: string): Promise<number> {
    const keys = [this.#aorKey(aor), this.#expKey(), this.#aorsKey()];
    const n = await this.#eval('removeAor', REMOVE_AOR, keys, [
      `${this.#prefix}b:`,
      aor,
      String(this.#clock.wallNow()),
    ]);
    return asNumber(n, 'removeAor');
  }

  async list(cursor: string | undefined, limit: number): Promise<BindingPage> {
    this.#conn();
    assertListLimit(limit);
    const after = decodeCursor(cursor);
    const rows: Binding[] = [];
    const take = (list: Binding[]): void => {
      list.sort(compareListOrder);
      for (const b of list) {
        if (rows.length > limit) return;
        if (after === undefined || compareListOrder(b, after) > 0) rows.push(b);
      }
    };
    if (after !== undefined) take((await this.#getMany([after.aor]))[0] ?? []);
    const batch = Math.min(Math.max(limit + 1, 16), 1000);
    let from = after === undefined ? '-' : `(${after.aor}`;
    while (rows.length <= limit) {
      const aors = asArray(
        await this.#call('list', (c) =>
          c.sendCommand([
            'ZRANGE',
            this.#aorsKey(),
            from,
            '+',
            'BYLEX',
            'LIMIT',
            '0',
            String(batch),
          ]),
        ),
        'list',
      ).filter((a): a is string => typeof a === 'string');
      if (aors.length === 0) break;
      for (const list of await this.#getMany(aors)) take(list);
      from = `(${aors[aors.length - 1]}`;
      if (aors.length < batch) break;
    }
    return toPage(rows, limit);
  }

  async count(): Promise<number> {
    const now = this.#clock.wallNow();
    const n = await this.#call('count', (c) =>
      c.sendCommand(['ZCOUNT', this.#expKey(), `(${now}`, '+inf']),
    );
    return asNumber(n, 'count');
  }

  async purgeExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const args = [`${this.#prefix}aor:`, String(this.#clock.wallNow()), String(PURGE_BATCH)];
      const n = asNumber(
        await this.#eval('purge', PURGE, [this.#expKey(), this.#aorsKey()], args),
        'purge',
      );
      total += n;
      if (n < PURGE_BATCH) return total;
    }
  }

  #aorKey(aor: string): string {
    return `${this.#prefix}aor:${aor}`;
  }
  #expKey(): string {
    return `${this.#prefix}exp`;
  }
  #aorsKey(): string {
    return `${this.#prefix}aors`;
  }

  /** Bindings of each AoR, ordered as `get()` promises. */
  async #getMany(aors: readonly string[]): Promise<Binding[][]> {
    const now = this.#clock.wallNow();
    const reply = asArray(
      await this.#eval(
        'get',
        GET_MANY,
        aors.map((a) => this.#aorKey(a)),
        [`${this.#prefix}b:`, String(now)],
      ),
      'get',
    );
    return aors.map((aor, i) => {
      const list = asArray(reply[i] ?? [], 'get')
        .map(decode)
        .filter((b) => b.aor === aor && b.expires > now);
      return list.sort(compareBindings);
    });
  }

  #conn(): RedisConn {
    if (this.#client === undefined)
      throw new LocationStoreError('location store (redis) is not open');
    return this.#client;
  }

  /**
   * Runs commands on the client, bounded by `commandTimeoutMs` (on timeout the connection is
   * recycled); failures become {@link LocationStoreError}.
   */
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
      const text = errText(err);
      if (text.startsWith('RUID_CONFLICT ')) {
        throw ruidTaken(text.slice('RUID_CONFLICT '.length));
      }
      throw new LocationStoreError(`location store (redis): ${what} failed: ${text}`, {
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
