// One connection of a Redis store to one server, a Sentinel-monitored master or a Redis Cluster,
// through node-redis's own clients (`createClient`, `createSentinel`, `createCluster`). The stores
// (location, credentials) keep their keys and Lua; this keeps the connection: bounded calls,
// EVALSHA with EVAL fallback, WAIT after writes when the URL asks for it, and one log line per
// availability change.
import { createHash } from 'node:crypto';
import type { Logger } from './logger.js';
import { RateLimitedLog } from './logger.js';
import {
  parseRedisUrl,
  type RedisTarget,
  type RedisUrl,
  type RedisWait,
  redactRedisUrl,
} from './redis-url.js';

/** A Lua script and its SHA1 (EVALSHA). */
export interface RedisScript {
  readonly src: string;
  readonly sha: string;
}

/** A Lua script ready for {@link RedisConnection.script}. */
export function redisScript(src: string): RedisScript {
  return { src, sha: createHash('sha1').update(src).digest('hex') };
}

/** A Redis call that failed: no connection, no reply in time, an error reply, too few replicas. */
export class RedisCallError extends Error {
  override name = 'RedisCallError';
}

/** Options of {@link RedisConnection}. */
export interface RedisConnectionOptions {
  /** A URL {@link parseRedisUrl} accepts. */
  readonly url: string;
  /** What the connection serves, for log lines: `location`, `auth_db`. */
  readonly name: string;
  /** A command with no reply after this long fails (WAIT adds its own timeout to it). */
  readonly commandTimeoutMs: number;
  /** Connect timeout of one attempt. */
  readonly connectTimeoutMs: number;
  /** Longest pause between reconnect attempts after the connection was lost. */
  readonly maxReconnectDelayMs: number;
  readonly logger: Logger;
}

/** No reply from redis within the command timeout. */
class ReplyTimeout extends Error {
  override name = 'ReplyTimeout';
  constructor(ms: number) {
    super(`no reply within ${ms} ms`);
  }
}

/** The part of a node-redis pipeline (`multi()`) used here. */
interface Pipeline {
  sendCommand(
    args: readonly string[],
    options?: { firstKey?: string; isReadonly?: boolean },
  ): Pipeline;
  execAsPipeline(): Promise<unknown[]>;
}

/** A node-redis `createClient` client, as used here. */
interface ServerClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  sendCommand(args: readonly string[], options?: { abortSignal?: AbortSignal }): Promise<unknown>;
  multi(): Pipeline;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** A node-redis `createSentinel` client, as used here. */
interface SentinelClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): Promise<void>;
  sendCommand(
    isReadonly: boolean,
    args: readonly string[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
  multi(): Pipeline;
  getMasterNode(): { host: string; port: number } | undefined;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** A node-redis `createCluster` client, as used here. */
interface ClusterClient {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  close(): Promise<void>;
  destroy(): void;
  sendCommand(
    firstKey: string,
    isReadonly: boolean,
    args: readonly string[],
    options?: { abortSignal?: AbortSignal },
  ): Promise<unknown>;
  multi(routing?: string): Pipeline;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}

/** What differs between the three kinds of client. */
interface Driver {
  connect(): Promise<unknown>;
  /** Graceful close; false when it did not finish. */
  close(): Promise<void>;
  destroy(): void;
  /** false: fail at once without sending (the client knows it has no master). */
  canSend(): boolean;
  send(firstKey: string, readonly: boolean, args: string[], signal: AbortSignal): Promise<unknown>;
  /** Commands written together on one connection (to the node of `firstKey`). */
  pipeline(firstKey: string, commands: readonly string[][]): Promise<unknown[]>;
  /** Where commands go now, for log lines. */
  where(): string;
}

type RedisModule = typeof import('redis');

function errText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return errText(err.errors[0]);
  if (err instanceof Error) return err.message === '' ? err.name : err.message;
  return String(err);
}

/**
 * A store's connection to Redis. Calls are bounded: while the client has no usable connection
 * (reconnecting, a Sentinel failover in progress) they fail at once, and a call with no reply
 * after `commandTimeoutMs` fails (a command not yet sent by then is never sent). node-redis
 * reconnects, follows the Sentinel's master and the Cluster's slots on its own; the connection
 * logs one line when Redis becomes unavailable and one when it is back.
 *
 * With `?wait=N` in the URL every {@link script} call marked as a write is followed by
 * `WAIT N timeout` on the same connection (one pipeline), and fails unless N replicas confirmed:
 * a write that succeeds is on N replicas, so a failover that promotes one of them keeps it.
 */
export class RedisConnection {
  readonly #opts: RedisConnectionOptions;
  readonly #parsed: RedisUrl;
  readonly #errorLog = new RateLimitedLog(10_000);
  #mod: RedisModule | undefined;
  #driver: Driver | undefined;
  /** Set once the first connect succeeded: from then on, node-redis reconnects for ever. */
  #connected = false;
  #closing = false;
  /** Availability as last logged: undefined before open(). */
  #up: boolean | undefined;
  #downSince = 0;
  /** A call let through while the client has no master, so that it looks for one. */
  #probe = false;

  /** @throws RedisCallError when the URL is not one {@link parseRedisUrl} accepts. */
  constructor(opts: RedisConnectionOptions) {
    const p = parseRedisUrl(opts.url);
    if (!p.ok) throw new RedisCallError(`${opts.name} (redis): ${p.message}`);
    this.#opts = opts;
    this.#parsed = p.value;
  }

  /** Server, sentinel or cluster. */
  get kind(): RedisTarget['kind'] {
    return this.#parsed.target.kind;
  }

  /** The WAIT the URL asks for, if any. */
  get wait(): RedisWait | undefined {
    return this.#parsed.wait;
  }

  /** The URL without passwords. */
  get description(): string {
    return redactRedisUrl(this.#opts.url);
  }

  /** Connects; rejects with {@link RedisCallError} when the first attempt fails. */
  async open(): Promise<void> {
    if (this.#driver !== undefined) return;
    try {
      this.#mod ??= await import('redis');
    } catch (err) {
      throw new RedisCallError(`${this.#opts.name} (redis) needs the redis@6 package`, {
        cause: err,
      });
    }
    this.#connected = false;
    this.#closing = false;
    const driver = this.#newDriver(this.#mod);
    try {
      await driver.connect();
    } catch (err) {
      driver.destroy();
      throw new RedisCallError(`cannot connect to ${this.description}: ${errText(err)}`, {
        cause: err,
      });
    }
    this.#connected = true;
    this.#driver = driver;
    this.#up = true;
  }

  /** Closes; a server that does not answer gets `commandTimeoutMs`, then the socket is destroyed. */
  async close(): Promise<void> {
    const driver = this.#driver;
    this.#driver = undefined;
    this.#connected = false;
    this.#closing = true;
    this.#up = undefined;
    if (driver === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const closed = await Promise.race([
      driver.close().then(
        () => true,
        () => false,
      ),
      new Promise<false>((resolve) => {
        timer = setTimeout(() => resolve(false), this.#opts.commandTimeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (!closed) driver.destroy();
  }

  /** One command; `firstKey` routes it in a Cluster. */
  command(what: string, firstKey: string, args: string[], readonly: boolean): Promise<unknown> {
    return this.#call(what, this.#opts.commandTimeoutMs, (d, signal) =>
      d.send(firstKey, readonly, args, signal),
    );
  }

  /**
   * A Lua script (EVALSHA, then EVAL when the server does not know it: first use, a restart, a
   * newly promoted master). `keys` must be non-empty and hash to one slot in a Cluster. A `write`
   * is followed by WAIT when the URL asks for it.
   */
  script(
    what: string,
    s: RedisScript,
    keys: readonly string[],
    args: readonly string[],
    write: boolean,
  ): Promise<unknown> {
    const firstKey = keys[0];
    if (firstKey === undefined) throw new RedisCallError(`${what}: a script needs a key`);
    const tail = [String(keys.length), ...keys, ...args];
    const wait = write ? this.#parsed.wait : undefined;
    if (wait === undefined) {
      return this.#call(what, this.#opts.commandTimeoutMs, async (d, signal) => {
        try {
          return await d.send(firstKey, !write, ['EVALSHA', s.sha, ...tail], signal);
        } catch (err) {
          if (!errText(err).startsWith('NOSCRIPT')) throw err;
          return await d.send(firstKey, !write, ['EVAL', s.src, ...tail], signal);
        }
      });
    }
    // The write and its WAIT go out together on one connection, so WAIT counts this write (WAIT
    // covers the writes its own connection made before it).
    const waitArgs = ['WAIT', String(wait.replicas), String(wait.timeoutMs)];
    return this.#call(what, this.#opts.commandTimeoutMs + wait.timeoutMs, async (d) => {
      let replies: unknown[];
      try {
        replies = await d.pipeline(firstKey, [['EVALSHA', s.sha, ...tail], waitArgs]);
      } catch (err) {
        if (!errText(err).startsWith('NOSCRIPT')) throw err;
        replies = await d.pipeline(firstKey, [['EVAL', s.src, ...tail], waitArgs]);
      }
      const acked = Number(replies[1]);
      if (!(acked >= wait.replicas)) {
        throw new RedisCallError(
          `only ${Number.isFinite(acked) ? acked : 0} of ${wait.replicas} replicas confirmed the write within ${wait.timeoutMs} ms`,
        );
      }
      return replies[0];
    });
  }

  /** Runs `fn` bounded by `timeoutMs`; failures become {@link RedisCallError}. */
  async #call<T>(
    what: string,
    timeoutMs: number,
    fn: (d: Driver, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const d = this.#driver;
    if (d === undefined) throw new RedisCallError(`${what}: not open`);
    let probing = false;
    if (!d.canSend()) {
      // Sentinel without a master: fail at once, but let one call through at a time so that
      // node-redis looks up the master again (it does that when a call finds no connection).
      if (this.#probe)
        throw new RedisCallError(`${what} failed: no connection to the master (failover?)`);
      this.#probe = probing = true;
    }
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const op = fn(d, abort.signal);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // a command still waiting to be sent (reconnecting, failover) is dropped unsent
        abort.abort();
        reject(new ReplyTimeout(timeoutMs));
      }, timeoutMs);
    });
    try {
      const v = await Promise.race([op, timeout]);
      if (this.#up === false && this.#driver === d) this.#markUp();
      return v;
    } catch (err) {
      if (err instanceof ReplyTimeout) {
        op.catch(() => {}); // nobody waits for it any more
        if (this.kind === 'server') this.#recycle(d);
      }
      if (err instanceof RedisCallError) throw err;
      throw new RedisCallError(`${what} failed: ${errText(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      if (probing) this.#probe = false;
    }
  }

  #markDown(reason: unknown, msg: string): void {
    if (this.#up !== true || this.#closing) return;
    this.#up = false;
    this.#downSince = Date.now();
    this.#opts.logger.warn(
      { err: reason, redis: this.description },
      `${this.#opts.name}: redis unavailable (${msg}); calls fail until it is back`,
    );
  }

  #markUp(): void {
    if (this.#up !== false || this.#closing) return;
    this.#up = true;
    this.#opts.logger.info(
      {
        redis: this.description,
        at: this.#driver?.where(),
        downMs: Date.now() - this.#downSince,
      },
      `${this.#opts.name}: redis available again`,
    );
  }

  /** Connection errors: the first one of an outage is in the "unavailable" line, the rest debug. */
  #connError(err: unknown, msg: string): void {
    if (this.#up === true) this.#markDown(err, msg);
    else
      this.#errorLog.log(
        this.#opts.logger,
        'debug',
        'conn',
        { err, redis: this.description },
        `${this.#opts.name}: redis connection error`,
      );
  }

  /** Reconnect delays: capped exponential backoff once connected; the first connect fails open(). */
  #reconnect = (retries: number, cause: Error): number | Error =>
    this.#connected ? Math.min(50 * 2 ** retries, this.#opts.maxReconnectDelayMs) : cause;

  #newDriver(mod: RedisModule): Driver {
    const t = this.#parsed.target;
    switch (t.kind) {
      case 'server':
        return this.#serverDriver(mod, t.url);
      case 'sentinel':
        return this.#sentinelDriver(mod, t);
      case 'cluster':
        return this.#clusterDriver(mod, t);
    }
  }

  #serverDriver(mod: RedisModule, url: string): Driver {
    const client = mod.createClient({
      url,
      // calls issued while (re)connecting fail at once instead of waiting in a queue
      disableOfflineQueue: true,
      commandOptions: { timeout: this.#opts.commandTimeoutMs },
      socket: {
        connectTimeout: this.#opts.connectTimeoutMs,
        reconnectStrategy: this.#reconnect,
      },
    }) as unknown as ServerClient;
    // node-redis emits 'error' on every failed (re)connect: without a listener that would crash
    client.on('error', (err) => this.#connError(err, 'connection lost'));
    client.on('ready', () => this.#markUp());
    return {
      connect: () => client.connect(),
      close: () => client.close(),
      destroy: () => client.destroy(),
      canSend: () => true,
      send: (_k, _ro, args, signal) => client.sendCommand(args, { abortSignal: signal }),
      pipeline: (_k, cmds) => {
        if (!client.isReady) return Promise.reject(new Error('the client is offline'));
        const p = client.multi();
        for (const c of cmds) p.sendCommand(c);
        return p.execAsPipeline();
      },
      where: () => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@'),
    };
  }

  #sentinelDriver(mod: RedisModule, t: Extract<RedisTarget, { kind: 'sentinel' }>): Driver {
    const socket = {
      connectTimeout: this.#opts.connectTimeoutMs,
      reconnectStrategy: this.#reconnect,
    };
    const sentinel = mod.createSentinel({
      name: t.name,
      sentinelRootNodes: t.sentinels.map((n) => ({ host: n.host, port: n.port })),
      // one master connection: a write and its WAIT always share it
      masterPoolSize: 1,
      // how often the topology is read again when nothing announced a change: each second, so a
      // missed +switch-master (a busy sentinel, a dropped pub/sub connection) costs at most that
      // (at 5 s, two CI runs under load took 14.5 s to follow a failover); one SENTINEL query/s
      scanInterval: 1000,
      // retries of one topology look-up (1 s apart) before it is given up until the next event
      maxCommandRediscovers: 3,
      commandOptions: { timeout: this.#opts.commandTimeoutMs },
      nodeClientOptions: {
        disableOfflineQueue: true,
        socket,
        ...(t.username === undefined ? {} : { username: t.username }),
        ...(t.password === undefined ? {} : { password: t.password }),
        ...(t.database === undefined ? {} : { database: t.database }),
      },
      sentinelClientOptions: {
        socket: { connectTimeout: this.#opts.connectTimeoutMs },
        ...(t.sentinelUsername === undefined ? {} : { username: t.sentinelUsername }),
        ...(t.sentinelPassword === undefined ? {} : { password: t.sentinelPassword }),
      },
    }) as unknown as SentinelClient;
    const master = (): string => {
      const m = sentinel.getMasterNode();
      return m === undefined ? `sentinel ${t.name}: no master` : `${m.host}:${m.port}`;
    };
    sentinel.on('error', (err) => this.#connError(err, 'sentinel error'));
    sentinel.on('client-error', (ev) => {
      const e = ev as { type?: string; error?: unknown };
      if (e.type === 'MASTER') this.#connError(e.error, 'master connection lost');
    });
    sentinel.on('reconnecting', () => this.#markDown(undefined, 'master changing'));
    sentinel.on('ready', () => this.#markUp());
    return {
      connect: () => sentinel.connect(),
      close: () => sentinel.close(),
      destroy: () => {
        sentinel.destroy().catch(() => {});
      },
      canSend: () => sentinel.isReady && sentinel.getMasterNode() !== undefined,
      send: (_k, ro, args, signal) => sentinel.sendCommand(ro, args, { abortSignal: signal }),
      pipeline: (_k, cmds) => {
        const p = sentinel.multi();
        for (const c of cmds) p.sendCommand(c, { isReadonly: false });
        return p.execAsPipeline();
      },
      where: master,
    };
  }

  #clusterDriver(mod: RedisModule, t: Extract<RedisTarget, { kind: 'cluster' }>): Driver {
    const cluster = mod.createCluster({
      rootNodes: t.nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
      defaults: {
        disableOfflineQueue: true,
        socket: {
          connectTimeout: this.#opts.connectTimeoutMs,
          reconnectStrategy: this.#reconnect,
        },
        ...(t.username === undefined ? {} : { username: t.username }),
        ...(t.password === undefined ? {} : { password: t.password }),
      },
      commandOptions: { timeout: this.#opts.commandTimeoutMs },
    }) as unknown as ClusterClient;
    cluster.on('error', (err) => this.#connError(err, 'cluster error'));
    cluster.on('node-error', (err) => this.#connError(err, 'cluster node connection lost'));
    return {
      connect: () => cluster.connect(),
      close: () => cluster.close(),
      destroy: () => cluster.destroy(),
      canSend: () => true,
      send: (k, ro, args, signal) => cluster.sendCommand(k, ro, args, { abortSignal: signal }),
      pipeline: (k, cmds) => {
        const p = cluster.multi(k);
        for (const c of cmds) p.sendCommand(c, { firstKey: k, isReadonly: false });
        return p.execAsPipeline();
      },
      where: () => `cluster via ${t.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    };
  }

  /**
   * Replaces a single-server connection whose server stopped answering (a hung server keeps the
   * TCP connection open, so node-redis would wait for ever): the old client is destroyed,
   * rejecting what it still waits for, and a new one connects in the background.
   */
  #recycle(stale: Driver): void {
    const mod = this.#mod;
    if (this.#driver !== stale || mod === undefined) return;
    this.#markDown(undefined, 'not answering; reconnecting');
    const fresh = this.#newDriver(mod);
    this.#driver = fresh;
    stale.destroy();
    fresh.connect().catch((err: unknown) => {
      // only when the connection was closed meanwhile (the strategy retries for ever otherwise)
      this.#errorLog.log(
        this.#opts.logger,
        'debug',
        'conn',
        { err },
        `${this.#opts.name}: redis reconnect stopped`,
      );
    });
  }
}
