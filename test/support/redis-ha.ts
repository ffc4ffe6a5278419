// Redis high-availability set-ups for tests, with real Debian processes on loopback: a master, its
// replicas and three sentinels (`redis-sentinel`, or `redis-server --sentinel`), or a small Redis
// Cluster of three masters. Every process is killed when the test process exits, even without
// after() hooks; stop() waits until each has exited. No persistence.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { findRedisServer, freePort } from './redis-server.js';

/** Path of an executable ($ENV, else the first on $PATH), or undefined. */
function findBin(name: string, env: string): string | undefined {
  const candidates = [
    process.env[env],
    ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, name)),
  ];
  for (const c of candidates) {
    if (c === undefined || c === '' || c === name) continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The sentinel command: Debian's `redis-sentinel`, else `redis-server --sentinel`. */
function sentinelCommand(): { bin: string; extra: string[] } | undefined {
  const s = findBin('redis-sentinel', 'REDIS_SENTINEL');
  if (s !== undefined) return { bin: s, extra: [] };
  const r = findRedisServer();
  return r === undefined ? undefined : { bin: r, extra: ['--sentinel'] };
}

/** Why the Sentinel tests are skipped here, or false. */
export function sentinelSkipReason(): string | false {
  if (findRedisServer() === undefined)
    return 'redis-server not installed (apt-get install redis-server redis-sentinel)';
  return sentinelCommand() === undefined
    ? 'redis-sentinel not installed (apt-get install redis-sentinel)'
    : false;
}

/** Why the Cluster tests are skipped here, or false. */
export function clusterSkipReason(): string | false {
  if (findRedisServer() === undefined)
    return 'redis-server not installed (apt-get install redis-server)';
  return findBin('redis-cli', 'REDIS_CLI') === undefined
    ? 'redis-cli not installed (apt-get install redis-tools)'
    : false;
}

/** One redis process (server or sentinel) on 127.0.0.1. */
class RedisProcess {
  readonly port: number;
  readonly #proc: ChildProcess;
  #output = '';
  readonly #exited: Promise<void>;

  constructor(bin: string, args: string[], port: number) {
    this.port = port;
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    this.#exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    // never outlive the test process, even when it dies without running after() hooks
    const reap = (): void => {
      proc.kill('SIGKILL');
    };
    process.once('exit', reap);
    proc.once('exit', () => process.removeListener('exit', reap));
    const keep = (d: Buffer): void => {
      this.#output = (this.#output + d.toString()).slice(-16_000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
  }

  get running(): boolean {
    return this.#proc.exitCode === null && this.#proc.signalCode === null;
  }

  get output(): string {
    return this.#output;
  }

  /** Waits until it answers PING (at most `ms`). */
  async ready(ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      if (!this.running) break;
      try {
        await command(this.port, ['PING'], 500);
        return;
      } catch {
        await sleep(25);
      }
    }
    throw new Error(`redis on port ${this.port} did not answer PING: ${this.#output}`);
  }

  /** kill -9, and wait until it is gone. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.#proc.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, SIGKILL after 3 s; waits until it has exited. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.#proc.kill('SIGCONT');
    this.#proc.kill('SIGTERM');
    const timer = setTimeout(() => this.#proc.kill('SIGKILL'), 3000);
    await this.#exited;
    clearTimeout(timer);
  }
}

/** One command to 127.0.0.1:port on a fresh connection, bounded by `timeoutMs`. */
export async function command(port: number, args: string[], timeoutMs = 2000): Promise<unknown> {
  const c = createClient({
    socket: { host: '127.0.0.1', port, connectTimeout: timeoutMs, reconnectStrategy: false },
  });
  c.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      (async () => {
        await c.connect();
        return await c.sendCommand(args);
      })(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no reply from ${port}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    c.destroy();
  }
}

/** A field/value reply (SENTINEL MASTER: a flat array, a map or an object) as an object. */
function pairs(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v))
    for (let i = 0; i + 1 < v.length; i += 2) out[String(v[i])] = String(v[i + 1]);
  else if (v instanceof Map) for (const [k, x] of v) out[String(k)] = String(x);
  else if (typeof v === 'object' && v !== null)
    for (const [k, x] of Object.entries(v)) out[k] = String(x);
  return out;
}

const serverArgs = (port: number, dir: string): string[] => [
  '--port',
  String(port),
  '--bind',
  '127.0.0.1',
  '--save',
  '',
  '--appendonly',
  'no',
  '--dir',
  dir,
  '--daemonize',
  'no',
  '--loglevel',
  'warning',
  // replicas sync at once (the default waits 5 s to batch diskless syncs)
  '--repl-diskless-sync-delay',
  '0',
];

/** Polls `check` every 100 ms until it is true, for at most `ms`. */
async function until(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** Settings of {@link RedisSentinelSet.start}. */
export interface SentinelSetOptions {
  /** Replicas of the master; default 1. */
  readonly replicas?: number;
  /** `sentinel down-after-milliseconds`; default 1000. */
  readonly downAfterMs?: number;
  /** `sentinel failover-timeout`; default 5000. */
  readonly failoverTimeoutMs?: number;
}

/** A master, its replicas and three sentinels (quorum 2) monitoring it as `mymaster`. */
export class RedisSentinelSet {
  readonly name = 'mymaster';
  readonly #dir: string;
  readonly #servers: RedisProcess[] = [];
  readonly #sentinels: RedisProcess[] = [];

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** The data nodes, master first at start. */
  get servers(): readonly { port: number; running: boolean }[] {
    return this.#servers;
  }

  /** `redis+sentinel://127.0.0.1:p1,…/mymaster` plus `query` (e.g. `?wait=1`). */
  url(query = ''): string {
    return `redis+sentinel://${this.#sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${this.name}${query}`;
  }

  /** Starts everything and waits until every sentinel knows the replicas and the other sentinels. */
  static async start(opts: SentinelSetOptions = {}): Promise<RedisSentinelSet> {
    const server = findRedisServer();
    const sentinel = sentinelCommand();
    if (server === undefined || sentinel === undefined) throw new Error('redis not installed');
    const set = new RedisSentinelSet(mkdtempSync(join(tmpdir(), 'flowgate-sentinel-')));
    try {
      await set.#start(server, sentinel, opts);
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  async #start(
    server: string,
    sentinel: { bin: string; extra: string[] },
    opts: SentinelSetOptions,
  ): Promise<void> {
    const replicas = opts.replicas ?? 1;
    const masterPort = await freePort();
    this.#servers.push(new RedisProcess(server, serverArgs(masterPort, this.#dir), masterPort));
    for (let i = 0; i < replicas; i++) {
      const port = await freePort();
      const dir = join(this.#dir, `replica-${i}`);
      mkdirSync(dir);
      this.#servers.push(
        new RedisProcess(
          server,
          [...serverArgs(port, dir), '--replicaof', '127.0.0.1', String(masterPort)],
          port,
        ),
      );
    }
    for (const s of this.#servers) await s.ready();
    await until('the replicas to sync', 10_000, async () => {
      const info = String(await command(masterPort, ['INFO', 'replication']));
      const online = info.match(/state=online/g)?.length ?? 0;
      return online === replicas;
    });
    for (let i = 0; i < 3; i++) {
      const port = await freePort();
      const conf = join(this.#dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'daemonize no',
          `dir ${this.#dir}`,
          'loglevel notice',
          `sentinel monitor ${this.name} 127.0.0.1 ${masterPort} 2`,
          `sentinel down-after-milliseconds ${this.name} ${opts.downAfterMs ?? 1000}`,
          `sentinel failover-timeout ${this.name} ${opts.failoverTimeoutMs ?? 5000}`,
          `sentinel parallel-syncs ${this.name} 1`,
          '',
        ].join('\n'),
      );
      this.#sentinels.push(new RedisProcess(sentinel.bin, [conf, ...sentinel.extra], port));
    }
    for (const s of this.#sentinels) await s.ready();
    // sentinels find each other through hello messages on the master (every 2 s)
    await until('the sentinels to know the replicas and each other', 20_000, async () => {
      for (const s of this.#sentinels) {
        const m = pairs(await command(s.port, ['SENTINEL', 'MASTER', this.name]));
        if (m['num-other-sentinels'] !== '2' || m['num-slaves'] !== String(replicas)) return false;
      }
      return true;
    });
  }

  /** The port of the master the sentinels name now. */
  async masterPort(): Promise<number> {
    for (const s of this.#sentinels) {
      try {
        const r = await command(s.port, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.name]);
        if (Array.isArray(r) && r.length === 2) return Number(r[1]);
      } catch {
        // try the next sentinel
      }
    }
    throw new Error('no sentinel answered');
  }

  /** kill -9 of the data node on `port`. */
  async kill(port: number): Promise<void> {
    const p = this.#servers.find((s) => s.port === port);
    if (p === undefined) throw new Error(`no redis on ${port}`);
    await p.kill();
  }

  /** Waits until the sentinels name a master other than `oldPort` that answers as a master. */
  async waitForFailover(oldPort: number, ms = 20_000): Promise<number> {
    let port = oldPort;
    await until('the sentinels to promote a replica', ms, async () => {
      port = await this.masterPort();
      if (port === oldPort) return false;
      const role = await command(port, ['ROLE'], 500);
      return Array.isArray(role) && role[0] === 'master';
    });
    return port;
  }

  /**
   * The failover events the sentinels logged (`+sdown`, `+odown`, `+try-failover`,
   * `+elected-leader`, `-failover-abort-…`, `+switch-master`, …), each with its wall-clock time
   * in ms, in order: what Sentinel itself spent of a failover, beside what the clients did.
   */
  events(): { readonly sentinel: number; readonly at: number; readonly event: string }[] {
    const out: { sentinel: number; at: number; event: string }[] = [];
    this.#sentinels.forEach((s, i) => {
      // "12345:X 06 Dec 2026 14:50:01.123 # +switch-master mymaster 127.0.0.1 1 127.0.0.1 2"
      const re = /^\d+:X (\d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3}) [#*.-] ([-+][\w-]+)(.*)$/gm;
      for (const m of s.output.matchAll(re)) {
        // the log's local time, as Date.parse reads it
        const at = Date.parse(m[1] ?? '');
        out.push({
          sentinel: i,
          at,
          event: `${m[2]}${(m[3] ?? '').split(' ').slice(0, 3).join(' ')}`,
        });
      }
    });
    return out.sort((a, b) => a.at - b.at);
  }

  /** Stops every process and removes the working directory. */
  async stop(): Promise<void> {
    await Promise.all([...this.#sentinels, ...this.#servers].map((p) => p.stop()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}

/** A Redis Cluster of three masters (no replicas), made with `redis-cli --cluster create`. */
export class RedisClusterSet {
  readonly #dir: string;
  readonly #nodes: RedisProcess[] = [];

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /** The nodes' ports. */
  get ports(): number[] {
    return this.#nodes.map((n) => n.port);
  }

  /** `redis+cluster://127.0.0.1:p1,…` plus `query`. */
  url(query = ''): string {
    return `redis+cluster://${this.#nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}${query}`;
  }

  static async start(masters = 3): Promise<RedisClusterSet> {
    const server = findRedisServer();
    const cli = findBin('redis-cli', 'REDIS_CLI');
    if (server === undefined || cli === undefined) throw new Error('redis not installed');
    const set = new RedisClusterSet(mkdtempSync(join(tmpdir(), 'flowgate-cluster-')));
    try {
      await set.#start(server, cli, masters);
      return set;
    } catch (err) {
      await set.stop();
      throw err;
    }
  }

  async #start(server: string, cli: string, masters: number): Promise<void> {
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const dir = join(this.#dir, `node-${i}`);
      mkdirSync(dir);
      this.#nodes.push(
        new RedisProcess(
          server,
          [
            ...serverArgs(port, dir),
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            join(dir, 'nodes.conf'),
            '--cluster-node-timeout',
            '2000',
          ],
          port,
        ),
      );
    }
    for (const n of this.#nodes) await n.ready();
    const r = spawnSync(
      cli,
      ['--cluster', 'create', ...this.#nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-yes'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (r.status !== 0)
      throw new Error(`redis-cli --cluster create failed: ${r.stdout}${r.stderr}`);
    await until('the cluster to be ok on every node', 20_000, async () => {
      for (const n of this.#nodes) {
        const info = String(await command(n.port, ['CLUSTER', 'INFO']));
        if (!info.includes('cluster_state:ok')) return false;
      }
      return true;
    });
  }

  /** Stops every node and removes the working directory. */
  async stop(): Promise<void> {
    await Promise.all(this.#nodes.map((n) => n.stop()));
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
