import { InvalidArgumentError } from '../../errors/index.js';
import type { Clock } from '../../util/clock.js';
import { RedisCallError, RedisConnection, redisScript as script } from '../../util/redis-conn.js';
import { clusterKeyPrefix, parseRedisUrl } from '../../util/redis-url.js';
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
  /**
   * `redis[s]://[[user][:password]@]host[:port][/db]`, `redis+sentinel://host:port[,…]/<master>[/db]`
   * or `redis+cluster://host:port[,…]`, with `?wait=<replicas>&wait_timeout=<ms>` for writes that
   * count only once replicas have them (see {@link parseRedisUrl}).
   */
  readonly url: string;
  /**
   * Prepended to every key; default `flowgate:loc:`. Stores sharing a prefix share bindings. In a
   * Redis Cluster the prefix is also the keys' hash tag (`{flowgate:loc:}…`), unless it has one.
   */
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
 * Redis and prefix see each other's writes at once (nothing is cached locally).
 *
 * Keys (all under `prefix`):
 * - `b:<ruid>`: the binding as JSON, expiring at its `expires` (`SET … PXAT`);
 * - `aor:<aor>`: sorted set of the AoR's ruids, scored by `expires`;
 * - `exp`: sorted set of `<ruid>\0<aor>` for every binding, scored by `expires` (count, purge);
 * - `aors`: sorted set of AoRs that have bindings (score 0, lexicographic: list()).
 *
 * `apply()`, `removeAor()` and the purge are Lua scripts, so each is atomic; reads are one script
 * or command. The URL picks one redis-server, a Sentinel-monitored master (node-redis follows a
 * failover) or a Redis Cluster (the keys of one store share a hash tag, so one slot: a store lives
 * on one shard). While no connection is usable every call rejects at once with
 * {@link LocationStoreError}, a hung server after `commandTimeoutMs`; node-redis reconnects on its
 * own and the store works again. With `?wait=N` a change is acknowledged only once N replicas
 * have it (WAIT), so it survives the master's loss.
 */
export class RedisLocationStore implements LocationStore {
  readonly name = 'redis';
  readonly #conn: RedisConnection;
  readonly #prefix: string;
  readonly #clock: Clock;
  readonly #sweeper: Sweeper;
  #open = false;

  constructor(options: RedisLocationStoreOptions) {
    const parsed = typeof options.url === 'string' ? parseRedisUrl(options.url) : undefined;
    if (parsed === undefined || !parsed.ok) {
      throw new InvalidArgumentError(
        `location (redis): ${parsed?.ok === false ? parsed.message : 'url must be a string'}`,
      );
    }
    const o = resolveStoreOptions(options);
    const prefix = options.prefix ?? DEFAULT_REDIS_PREFIX;
    this.#prefix = parsed.value.target.kind === 'cluster' ? clusterKeyPrefix(prefix) : prefix;
    this.#conn = new RedisConnection({
      url: options.url,
      name: 'location',
      commandTimeoutMs: options.commandTimeoutMs ?? 1000,
      connectTimeoutMs: options.connectTimeoutMs ?? 2000,
      maxReconnectDelayMs: options.maxReconnectDelayMs ?? 1000,
      logger: o.logger,
    });
    this.#clock = o.clock;
    this.#sweeper = new Sweeper(o, () => this.purgeExpired());
  }

  /** The key prefix in use (with its hash tag in a Redis Cluster). */
  get prefix(): string {
    return this.#prefix;
  }

  /** Key of a binding (for tests and tools). */
  bindingKey(ruid: string): string {
    return `${this.#prefix}b:${ruid}`;
  }

  async open(): Promise<void> {
    if (this.#open) return;
    try {
      await this.#conn.open();
    } catch (err) {
      throw new LocationStoreError(`location store (redis): ${errText(err)}`, { cause: err });
    }
    this.#open = true;
    this.#sweeper.start();
  }

  async close(): Promise<void> {
    this.#sweeper.stop();
    this.#open = false;
    await this.#conn.close();
  }

  async get(aor: string): Promise<Binding[]> {
    const lists = await this.#getMany([aor]);
    return lists[0] ?? [];
  }

  async getByRuid(ruid: string): Promise<Binding | undefined> {
    const key = this.bindingKey(ruid);
    const v = await this.#command('getByRuid', key, ['GET', key]);
    if (v === null || v === undefined) return undefined;
    const b = decode(v);
    return b.expires > this.#clock.wallNow() ? b : undefined;
  }

  async apply(aor: string, changes: AorChanges): Promise<void> {
    this.#assertOpen();
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
    const keys = [this.#aorKey(aor), this.#expKey(), this.#aorsKey()];
    await this.#eval('apply', APPLY, keys, args, true);
  }

  async removeAor(aor: string): Promise<number> {
    const keys = [this.#aorKey(aor), this.#expKey(), this.#aorsKey()];
    const n = await this.#eval(
      'removeAor',
      REMOVE_AOR,
      keys,
      [`${this.#prefix}b:`, aor, String(this.#clock.wallNow())],
      true,
    );
    return asNumber(n, 'removeAor');
  }

  async list(cursor: string | undefined, limit: number): Promise<BindingPage> {
    this.#assertOpen();
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
      const key = this.#aorsKey();
      const aors = asArray(
        await this.#command('list', key, [
          'ZRANGE',
          key,
          from,
          '+',
          'BYLEX',
          'LIMIT',
          '0',
          String(batch),
        ]),
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
    const key = this.#expKey();
    const n = await this.#command('count', key, ['ZCOUNT', key, `(${now}`, '+inf']);
    return asNumber(n, 'count');
  }

  async purgeExpired(): Promise<number> {
    let total = 0;
    for (;;) {
      const args = [`${this.#prefix}aor:`, String(this.#clock.wallNow()), String(PURGE_BATCH)];
      const n = asNumber(
        await this.#eval('purge', PURGE, [this.#expKey(), this.#aorsKey()], args, true),
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
        false,
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

  #assertOpen(): void {
    if (!this.#open) throw new LocationStoreError('location store (redis) is not open');
  }

  /** Maps a failed call to {@link LocationStoreError} (a ruid conflict to its own error). */
  #fail(err: unknown): never {
    const text = errText(err);
    const i = text.indexOf('RUID_CONFLICT ');
    if (i >= 0) throw ruidTaken(text.slice(i + 'RUID_CONFLICT '.length));
    throw new LocationStoreError(`location store (redis): ${text}`, { cause: err });
  }

  async #command(what: string, key: string, args: string[]): Promise<unknown> {
    this.#assertOpen();
    try {
      return await this.#conn.command(what, key, args, true);
    } catch (err) {
      return this.#fail(err);
    }
  }

  async #eval(
    what: string,
    s: Script,
    keys: readonly string[],
    args: readonly string[],
    write: boolean,
  ): Promise<unknown> {
    this.#assertOpen();
    try {
      return await this.#conn.script(what, s, keys, args, write);
    } catch (err) {
      return this.#fail(err);
    }
  }
}

type Script = ReturnType<typeof script>;

function errText(err: unknown): string {
  if (err instanceof RedisCallError) return err.message;
  if (err instanceof Error) return err.message === '' ? err.name : err.message;
  return String(err);
}
