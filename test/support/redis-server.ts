// Starts a real redis-server (Debian package `redis-server`) on a free loopback port for tests, the
// way nats.js's NatsServer.start() runs a real peer. No persistence (`--save '' --appendonly no`).
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort as freeNetPort } from './net.js';

/** Path of the redis-server binary ($REDIS_SERVER, else the first on $PATH), or undefined. */
export function findRedisServer(): string | undefined {
  const candidates = [
    process.env['REDIS_SERVER'],
    ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'redis-server')),
  ];
  for (const c of candidates) {
    // (an empty PATH entry yields the bare relative name: skip it)
    if (c === undefined || c === '' || c === 'redis-server') continue;
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why redis tests are skipped on this machine, or false when redis-server is available. */
export function redisSkipReason(): string | false {
  return findRedisServer() === undefined
    ? 'redis-server not installed (apt-get install redis-server, or set REDIS_SERVER)'
    : false;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; the tiny race is handled by start() retrying). */
/** A free TCP port on 127.0.0.1 (see net.ts). */
export function freePort(): Promise<number> {
  return freeNetPort('tcp');
}

/** One PING; true when the server answered +PONG within `timeoutMs`. */
function ping(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.includes('\r\n')) done(buf.startsWith('+PONG'));
    });
    sock.once('error', () => done(false));
  });
}

/** A running redis-server child process on 127.0.0.1. */
export class RedisServer {
  readonly port: number;
  readonly #bin: string;
  readonly #dir: string;
  #proc: ChildProcess | undefined;
  #output = '';

  private constructor(bin: string, port: number, dir: string) {
    this.#bin = bin;
    this.port = port;
    this.#dir = dir;
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts redis-server on a free port and waits until it answers PING (at most ~5 s). */
  static async start(): Promise<RedisServer> {
    const bin = findRedisServer();
    if (bin === undefined) throw new Error('redis-server not found');
    const dir = mkdtempSync(join(tmpdir(), 'flowgate-redis-'));
    let lastErr: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const server = new RedisServer(bin, await freePort(), dir);
      try {
        await server.restart();
        return server;
      } catch (err) {
        lastErr = err;
        await server.stop();
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw lastErr;
  }

  /** Starts the server again on the same port (after {@link stop}); waits for PING. */
  async restart(): Promise<void> {
    if (this.#proc !== undefined) throw new Error('redis-server already running');
    this.#output = '';
    const proc = spawn(
      this.#bin,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.#dir,
        '--daemonize',
        'no',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#proc = proc;
    // Never outlive the test process, even when it dies without running after() hooks.
    const reap = (): void => {
      proc.kill('SIGKILL');
    };
    process.once('exit', reap);
    proc.once('exit', () => process.removeListener('exit', reap));
    const keep = (d: Buffer): void => {
      this.#output = (this.#output + d.toString()).slice(-4000);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (proc.exitCode !== null || proc.signalCode !== null) break;
      if (await ping(this.port, 500)) return;
      await sleep(25);
    }
    const out = this.#output;
    await this.stop();
    throw new Error(`redis-server on port ${this.port} did not answer PING: ${out}`);
  }

  /** Freezes the server (SIGSTOP): connections stay open but nothing is answered. */
  pause(): void {
    this.#proc?.kill('SIGSTOP');
  }

  /** Lets a paused server run again (SIGCONT). */
  resume(): void {
    this.#proc?.kill('SIGCONT');
  }

  /** Stops the server (SIGTERM, SIGKILL after 3 s) and waits until it has exited. */
  async stop(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGCONT'); // a paused server would hold SIGTERM until resumed
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server and removes its working directory. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
