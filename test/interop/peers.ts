// Real peers for the interop tests: SIPp (Debian `sip-tester`, 3.6.1), flowgate in-process on real
// sockets, and Debian Kamailio through ../shared/kamailio/kamailio.sh. Every process started here
// is bounded in time, registered, and stopped by stopAllPeers() (call it in after()) or, as a last
// resort, killed when the test process exits. Traffic stays on 127.0.0.0/8.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, type FlowgateServer, type ServerOptions } from '../../src/server.js';
import type { ListenerInfo, Proto } from '../../src/transport/types.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The SIPp scenarios of the interop tests. */
export const SIPP_DIR = join(HERE, 'sipp');

/** The shared folder (read-only): `FLOWGATE_SHARED_DIR`, or `../shared` beside the repository. */
export const SHARED_DIR = process.env['FLOWGATE_SHARED_DIR'] ?? resolve(HERE, '../../../shared');

/** Default bound of one sipp run (ms). */
export const SIPP_TIMEOUT_MS = 30_000;

/** A peer binary is missing and cannot be installed: the test should skip with this message. */
export class PeerUnavailableError extends Error {
  override name = 'PeerUnavailableError';
}

// ---------------------------------------------------------------------------------- process registry

const live = new Set<ChildProcess>();
const closers = new Set<() => Promise<unknown>>();
const exitKills = new Set<() => void>();
/**
 * kamailio.sh runs in flight. They are not in `live`: stopAllPeers() must not kill a start half way
 * (the Kamailio it already forked would run on with no PID file); a stop waits for its start.
 */
const helpers = new Set<ChildProcess>();

process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
  // a start still running could fork Kamailio after the stops below: end it first
  for (const p of helpers) p.kill('SIGKILL');
  for (const k of exitKills) k();
});

/** Stops every peer this process started that is still running (call it in `after()`). */
export async function stopAllPeers(): Promise<void> {
  // the processes running before the closers start (kamailio.sh runs are not among them: a stop
  // waits for its start, and killing a start half way would orphan the Kamailio it forked)
  const running = [...live];
  const pending = [...closers].map((c) => c().catch(() => undefined));
  for (const p of running) p.kill('SIGKILL');
  await Promise.all(pending);
}

// ---------------------------------------------------------------------------------- ports

const handedOut = new Set<string>();

function tryBind(proto: 'udp' | 'tcp', ip: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    if (proto === 'udp') {
      const s = createSocket('udp4');
      s.once('error', () => {
        s.close();
        done(false);
      });
      s.bind(port, ip, () => s.close(() => done(true)));
      return;
    }
    const srv = createTcpServer();
    srv.once('error', () => done(false));
    srv.listen(port, ip, () => srv.close(() => done(true)));
  });
}

/**
 * A port free for both UDP and TCP on `ip`, picked at random below the kernel's ephemeral range
 * (so sockets bound to port 0 elsewhere do not take it between this check and the peer's bind).
 */
export async function freePort(ip = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const key = `${ip}:${port}`;
    if (handedOut.has(key)) continue;
    if ((await tryBind('udp', ip, port)) && (await tryBind('tcp', ip, port))) {
      handedOut.add(key);
      return port;
    }
  }
  throw new Error(`no free port on ${ip}`);
}

function hexAddr(ip: string, port: number): string {
  const b = ip.split('.').map(Number);
  const h = ((b[3] ?? 0) << 24) | ((b[2] ?? 0) << 16) | ((b[1] ?? 0) << 8) | (b[0] ?? 0);
  return `${(h >>> 0).toString(16).toUpperCase().padStart(8, '0')}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** True when a socket is bound (UDP) or listening (TCP) on ip:port, from /proc/net (IPv4). */
export function isListening(proto: 'udp' | 'tcp', ip: string, port: number): boolean {
  let text: string;
  try {
    text = readFileSync(`/proc/net/${proto}`, 'utf8');
  } catch {
    return false;
  }
  const want = hexAddr(ip, port);
  const any = hexAddr('0.0.0.0', port);
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const local = f[1];
    if (local !== want && local !== any) continue;
    if (proto === 'udp' || f[3] === '0A') return true;
  }
  return false;
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---------------------------------------------------------------------------------- SIPp

/**
 * sipp `-t`: UDP one socket, TCP one connection, TCP one connection per call, TLS one connection
 * (for l1 pass sipp's `-tls_cert` / `-tls_key` in `extraArgs`).
 */
export type SippTransport = 'u1' | 't1' | 'tn' | 'l1';

let sippVersion: string | null | undefined;

/** True when a `sipp` binary runs here (`sipp -v` prints its version). */
export function sippAvailable(): boolean {
  if (sippVersion === undefined) {
    const r = spawnSync('sipp', ['-v'], { encoding: 'utf8', timeout: 5000 });
    const m = /SIPp v[^\s]+/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    sippVersion = r.error === undefined && m !== null ? m[0] : null;
  }
  return sippVersion !== null;
}

/** For `describe(name, { skip: sippSkip() })`: a message when sipp is missing, else false. */
export function sippSkip(): string | false {
  return sippAvailable()
    ? false
    : 'sipp is not installed (Debian package sip-tester; scripts/test-all.sh installs it): interop test skipped';
}

export interface SippOptions {
  /** `host:port` to send to (a UAC); absent for a UAS (server mode). */
  readonly target?: string | undefined;
  readonly transport?: SippTransport | undefined;
  /** Local address (bound with -bind_local); default 127.0.0.1. */
  readonly localIp?: string | undefined;
  /** Local port; default: a free one. */
  readonly port?: number | undefined;
  /** `-m`: stop after this many calls (default 1). */
  readonly calls?: number | undefined;
  /** `-r`: calls per second (per `ratePeriodMs`, default 1000). */
  readonly rate?: number | undefined;
  readonly ratePeriodMs?: number | undefined;
  /** `-l`: simultaneous calls. */
  readonly limit?: number | undefined;
  /** Bound of the whole run: sipp's `-timeout`, and a SIGKILL 3 s later. Default 30 s. */
  readonly timeoutMs?: number | undefined;
  /** `-s`: user part of the Request-URI (`[service]`). */
  readonly service?: string | undefined;
  /** `-lost`: percentage of messages to lose (scenario `lost="…"` attributes override it). */
  readonly lost?: number | undefined;
  /** `-d`: length of a `<pause/>` (ms). */
  readonly holdMs?: number | undefined;
  /** `-key name value` for `[name]` in the scenario. */
  readonly keys?: Readonly<Record<string, string | number>> | undefined;
  readonly extraArgs?: readonly string[] | undefined;
}

/** One message sipp logged (`-trace_msg`). */
export interface SippMessage {
  readonly dir: 'sent' | 'received';
  readonly proto: string;
  /** The start line. */
  readonly line: string;
  /** The whole message as logged. */
  readonly text: string;
  /** A received message that sipp then dropped (`-lost`). */
  readonly lost?: boolean;
}

export interface SippStats {
  readonly created: number;
  readonly successful: number;
  readonly failed: number;
  readonly retransmissions: number;
  /** Every column of the last `-trace_stat` line, by its header name. */
  readonly raw: Readonly<Record<string, string>>;
}

export interface SippResult {
  readonly scenario: string;
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Killed by us when the bound passed. */
  readonly timedOut: boolean;
  readonly stats: SippStats | undefined;
  readonly messages: readonly SippMessage[];
  /** Messages sipp dropped on purpose (`-lost`): sends it skipped, receptions it ignored. */
  readonly lost: { readonly sent: number; readonly received: number };
  /** Lines written by `<log>` actions. */
  readonly logs: readonly string[];
  /** sipp's error log (unexpected messages, …). */
  readonly errors: string;
  /** stdout + stderr (tail). */
  readonly output: string;
  /** A short text for assertion messages: exit code, counts, error log, last messages. */
  summary(): string;
}

export interface SippProcess {
  readonly pid: number;
  readonly scenario: string;
  readonly localIp: string;
  readonly port: number;
  readonly transport: SippTransport;
  /** `ip:port`. */
  readonly hostport: string;
  /** A SIP URI for this peer (`;transport=tcp` / `tls` unless UDP). */
  uri(user?: string): string;
  /** Settles when sipp exits (never rejects). */
  readonly done: Promise<SippResult>;
  /** Ends sipp (SIGTERM, then SIGKILL) and returns what it recorded. */
  stop(): Promise<SippResult>;
}

function scenarioPath(s: string): string {
  if (isAbsolute(s)) return s;
  return join(SIPP_DIR, s.endsWith('.xml') ? s : `${s}.xml`);
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return '';
  }
}

/**
 * Parses sipp's `-message_file`. With `-lost`, sipp appends "UDP message lost (recv)." to the block
 * of a received message it then drops (marked `lost`), and "UDP message voluntary lost (while
 * sending)." for a send it skips (not logged otherwise; counted in `lostSends`).
 */
export function parseSippMessages(text: string): { messages: SippMessage[]; lostSends: number } {
  const out: SippMessage[] = [];
  let lostSends = 0;
  for (const block of text.split(/-{10,} \d{4}-\d\d-\d\d[^\n]*\n/)) {
    const m = /^(\w+) message (sent|received)[^\n]*\n\n?/.exec(block);
    let body = m === null ? block : block.slice(m[0].length);
    let lost = false;
    const markers =
      /(?:\w+ message (?:voluntary lost \(while sending\)|lost \(recv\))\.)+\s*$/.exec(body);
    if (markers !== null) {
      lostSends += (markers[0].match(/while sending/g) ?? []).length;
      lost = /lost \(recv\)/.test(markers[0]);
      body = body.slice(0, markers.index);
    }
    if (m === null) continue;
    body = body.replace(/\s+$/, '');
    out.push({
      dir: m[2] === 'sent' ? 'sent' : 'received',
      proto: m[1] ?? '',
      line: body.split(/\r?\n/, 1)[0] ?? '',
      text: body,
      ...(lost && m[2] === 'received' ? { lost: true } : {}),
    });
  }
  return { messages: out, lostSends };
}

/** Parses the last line of a `-trace_stat` csv. */
export function parseSippStats(text: string): SippStats | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines[0]?.split(';');
  const last = lines.length > 1 ? lines[lines.length - 1]?.split(';') : undefined;
  if (head === undefined || last === undefined) return undefined;
  const raw: Record<string, string> = {};
  head.forEach((h, i) => {
    raw[h] = last[i] ?? '';
  });
  const n = (k: string): number => Number(raw[k] ?? 0) || 0;
  return {
    created: n('TotalCallCreated'),
    successful: n('SuccessfulCall(C)'),
    failed: n('FailedCall(C)'),
    retransmissions: n('Retransmissions(C)'),
    raw,
  };
}

/** The values of every `name:` header line of a logged message (case-insensitive, no compact forms). */
export function headerValues(text: string, name: string): string[] {
  const out: string[] = [];
  const want = `${name.toLowerCase()}:`;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') break;
    if (line.toLowerCase().startsWith(want)) out.push(line.slice(want.length).trim());
  }
  return out;
}

/** Starts sipp; resolves once it is running (a UAS: once its socket is bound). */
export async function startSipp(scenario: string, opts: SippOptions = {}): Promise<SippProcess> {
  if (!sippAvailable()) throw new PeerUnavailableError(String(sippSkip()));
  const sf = scenarioPath(scenario);
  if (!existsSync(sf)) throw new Error(`no such sipp scenario: ${sf}`);
  const transport = opts.transport ?? 'u1';
  const localIp = opts.localIp ?? '127.0.0.1';
  if (!localIp.startsWith('127.')) throw new Error(`interop traffic stays on loopback: ${localIp}`);
  if (opts.target !== undefined && !opts.target.startsWith('127.'))
    throw new Error(`interop traffic stays on loopback: ${opts.target}`);
  const port = opts.port ?? (await freePort(localIp));
  const timeoutMs = opts.timeoutMs ?? SIPP_TIMEOUT_MS;
  const dir = mkdtempSync(join(tmpdir(), `sipp-${basename(sf, '.xml')}-`));
  const f = (n: string): string => join(dir, n);
  const args: string[] = [];
  if (opts.target !== undefined) args.push(opts.target);
  args.push('-sf', sf, '-t', transport, '-i', localIp, '-p', String(port), '-bind_local');
  args.push(
    '-m',
    String(opts.calls ?? 1),
    '-nostdin',
    '-timeout',
    `${Math.ceil(timeoutMs / 1000)}s`,
  );
  if (opts.rate !== undefined)
    args.push('-r', String(opts.rate), '-rp', String(opts.ratePeriodMs ?? 1000));
  if (opts.limit !== undefined) args.push('-l', String(opts.limit));
  if (opts.service !== undefined) args.push('-s', opts.service);
  if (opts.lost !== undefined) args.push('-lost', String(opts.lost));
  if (opts.holdMs !== undefined) args.push('-d', String(opts.holdMs));
  for (const [k, v] of Object.entries(opts.keys ?? {})) args.push('-key', k, String(v));
  // a media port of our own, so parallel sipps never fight over the default 6000/6002
  args.push('-mp', String(await freePort(localIp)));
  // and a control port of our own (sipp binds it on every interface, from 8888 up, 10 tries)
  args.push('-cp', String(await freePort('0.0.0.0')));
  args.push('-trace_msg', '-message_file', f('messages.log'));
  args.push('-trace_stat', '-stf', f('stats.csv'), '-fd', '1');
  args.push('-trace_err', '-error_file', f('errors.log'));
  args.push('-trace_logs', '-log_file', f('logs.log'));
  args.push(...(opts.extraArgs ?? []));

  const child = spawn('sipp', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (b: Buffer): void => {
    output = (output + b.toString('latin1')).slice(-32_768);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs + 3000);
  const done = new Promise<SippResult>((resolveDone) => {
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(killer);
      live.delete(child);
      const stats = parseSippStats(readText(f('stats.csv')));
      const { messages, lostSends } = parseSippMessages(readText(f('messages.log')));
      const logs = readText(f('logs.log'))
        .split('\n')
        .filter((l) => l.trim() !== '');
      const errors = readText(f('errors.log'));
      // FLOWGATE_SIPP_KEEP=1 keeps sipp's files (messages, statistics, errors) for a post-mortem
      const kept = process.env['FLOWGATE_SIPP_KEEP'] === '1';
      if (!kept) rmSync(dir, { recursive: true, force: true });
      const name = basename(sf);
      resolveDone({
        scenario: name,
        args,
        exitCode,
        signal,
        timedOut,
        stats,
        messages,
        lost: { sent: lostSends, received: messages.filter((m) => m.lost === true).length },
        logs,
        errors,
        output,
        summary() {
          const s =
            stats === undefined
              ? 'no statistics'
              : `successful=${stats.successful} failed=${stats.failed} retransmissions=${stats.retransmissions} lost=${lostSends}/${messages.filter((m) => m.lost === true).length} (sent/received)`;
          const tail = messages
            .slice(-12)
            .map((m) => `  ${m.dir === 'sent' ? '>>' : '<<'} ${m.line}`)
            .join('\n');
          const err = errors.trim().split('\n').slice(-20).join('\n');
          return `sipp ${name} (${transport} ${localIp}:${port}${kept ? `, files in ${dir}` : ''}): exit=${exitCode ?? signal}${timedOut ? ' (killed at the time bound)' : ''} ${s}\n last messages:\n${tail}${err ? `\n errors:\n${err}` : ''}${stats === undefined ? `\n output:\n${output.slice(-2000)}` : ''}`;
        },
      });
    };
    child.once('error', (e) => {
      output += `\nspawn error: ${e.message}`;
      finish(null, null);
    });
    child.once('exit', (code, signal) => finish(code, signal));
  });
  const stop = async (): Promise<SippResult> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await done;
      clearTimeout(t);
    }
    return done;
  };
  closers.add(stop);
  void done.then(() => closers.delete(stop));
  const proto = transport === 'u1' ? 'udp' : transport === 'l1' ? 'tls' : 'tcp';
  if (opts.target === undefined) {
    // a UAS: ready once its socket is bound (or it died)
    let exited = false;
    void done.then(() => {
      exited = true;
    });
    await until(
      () => exited || isListening(proto === 'udp' ? 'udp' : 'tcp', localIp, port),
      10_000,
      `sipp ${basename(sf)} on ${proto} ${localIp}:${port}`,
    );
    if (exited) {
      const r = await done;
      throw new Error(`sipp ${basename(sf)} exited at start:\n${r.summary()}`);
    }
  }
  const hostport = `${localIp}:${port}`;
  return {
    pid: child.pid ?? -1,
    scenario: basename(sf),
    localIp,
    port,
    transport,
    hostport,
    uri: (user?: string) =>
      `sip:${user === undefined ? '' : `${user}@`}${hostport}${proto === 'udp' ? '' : `;transport=${proto}`}`,
    done,
    stop,
  };
}

/** Starts sipp and waits for it to exit. */
export async function runSipp(scenario: string, opts: SippOptions = {}): Promise<SippResult> {
  return (await startSipp(scenario, opts)).done;
}

// ---------------------------------------------------------------------------------- flowgate

export interface FlowgatePeerOptions extends Omit<ServerOptions, 'listen'> {
  /** Default: UDP and TCP on 127.0.0.1, port 0 (the kernel picks). */
  readonly listen?: ServerOptions['listen'] | undefined;
}

export interface FlowgatePeer {
  readonly server: FlowgateServer;
  readonly listeners: readonly ListenerInfo[];
  /** The first listener of a transport. */
  listener(proto: Proto): ListenerInfo;
  /** `ip:port` of the first listener of a transport (a sipp target). */
  hostport(proto: Proto): string;
  close(): Promise<void>;
}

/** flowgate in this process on real sockets (createServer + listen); closed by stopAllPeers(). */
export async function startFlowgate(opts: FlowgatePeerOptions = {}): Promise<FlowgatePeer> {
  const listen = opts.listen ?? [
    { proto: 'udp', address: '127.0.0.1', port: 0 },
    { proto: 'tcp', address: '127.0.0.1', port: 0 },
  ];
  const server = createServer({ ...opts, listen });
  const listeners = await server.listen();
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= server.close().finally(() => closers.delete(close));
    return closed;
  };
  closers.add(close);
  const listener = (proto: Proto): ListenerInfo => {
    const l = listeners.find((x) => x.proto === proto);
    if (l === undefined) throw new Error(`flowgate has no ${proto} listener`);
    return l;
  };
  return {
    server,
    listeners,
    listener,
    hostport: (proto) => {
      const l = listener(proto);
      return `${l.address}:${l.port}`;
    },
    close,
  };
}

// ---------------------------------------------------------------------------------- Kamailio

/** The shared helper that installs and runs Debian Kamailio with the seed configs. */
export const KAMAILIO_SH = join(SHARED_DIR, 'kamailio', 'kamailio.sh');

export type KamailioRole = 'edge' | 'registrar' | 'both';

export interface KamailioEnv {
  readonly edgeIp?: string | undefined;
  readonly edgePort?: number | undefined;
  readonly wsPort?: number | undefined;
  /** Where the registrar listens, and where the edge relays REGISTERs to. */
  readonly regIp?: string | undefined;
  readonly regPort?: number | undefined;
  readonly shmMb?: number | undefined;
  /**
   * The registrar challenges REGISTER (`KAM_AUTH=1`, auth_db over db_text, MD5 HA1 only):
   * `users` is KAM_USERS ("alice:pw bob:pw" or a file of "user;password" lines), `realm` KAM_REALM.
   */
  readonly auth?: { readonly users: string; readonly realm?: string | undefined } | undefined;
  /** Bound of start (which may apt-get install Kamailio). Default 180 s. */
  readonly startTimeoutMs?: number | undefined;
}

export interface KamailioPeer {
  readonly role: KamailioRole;
  readonly stateDir: string;
  readonly edge: { readonly ip: string; readonly port: number; readonly wsPort: number };
  readonly registrar: { readonly ip: string; readonly port: number };
  /** The log of a role (`$STATE_DIR/<role>.log`). */
  log(role: 'edge' | 'registrar'): string;
  stop(): Promise<void>;
}

/** For `describe(…, { skip: kamailioSkip() })`: a message when neither Kamailio nor its helper is here. */
export function kamailioSkip(): string | false {
  if (!existsSync(KAMAILIO_SH))
    return `Kamailio helper ${KAMAILIO_SH} not found: Kamailio interop test skipped`;
  const r = spawnSync('sh', ['-c', 'command -v kamailio || command -v apt-get'], {
    encoding: 'utf8',
  });
  return r.status === 0
    ? false
    : 'kamailio is not installed and apt-get is not available: Kamailio interop test skipped';
}

function runHelper(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('bash', [KAMAILIO_SH, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    helpers.add(child);
    let output = '';
    child.stdout?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      output += b.toString();
    });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(t);
      helpers.delete(child);
      done({ code, output });
    });
    child.once('error', (e) => {
      clearTimeout(t);
      helpers.delete(child);
      done({ code: null, output: e.message });
    });
  });
}

/** The Kamailio processes whose command line names `dir` (ours: `-f <dir>/edge.cfg`). */
export function kamailioProcessesIn(dir: string): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'latin1').split('\0');
      if (cmd[0]?.endsWith('kamailio') === true && cmd.some((a) => a.startsWith(`${dir}/`)))
        out.push(Number(e));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Kills (by PID) any Kamailio still running from a state directory of ours. */
function killStrays(dir: string): void {
  for (const pid of kamailioProcessesIn(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * Starts real Kamailio (the seed's edge and/or registrar config) through kamailio.sh, with its
 * state in a temporary directory. Addresses not given are 127.0.57.1 (edge) / 127.0.57.2
 * (registrar) on free ports. Throws {@link PeerUnavailableError} when Kamailio cannot be installed.
 */
export async function startKamailio(
  role: KamailioRole,
  env: KamailioEnv = {},
): Promise<KamailioPeer> {
  const skip = kamailioSkip();
  if (skip !== false) throw new PeerUnavailableError(skip);
  const edgeIp = env.edgeIp ?? '127.0.57.1';
  const regIp = env.regIp ?? '127.0.57.2';
  const edgePort = env.edgePort ?? (await freePort(edgeIp));
  const wsPort = env.wsPort ?? (await freePort(edgeIp));
  const regPort = env.regPort ?? (await freePort(regIp));
  for (const ip of [edgeIp, regIp])
    if (!ip.startsWith('127.')) throw new Error(`interop traffic stays on loopback: ${ip}`);
  const stateDir = mkdtempSync(join(tmpdir(), 'flowgate-kamailio-'));
  const penv: NodeJS.ProcessEnv = {
    ...process.env,
    STATE_DIR: stateDir,
    EDGE_IP: edgeIp,
    EDGE_PORT: String(edgePort),
    WS_PORT: String(wsPort),
    REG_IP: regIp,
    REG_PORT: String(regPort),
    KAM_SHM_MB: String(env.shmMb ?? 64),
    KAM_AUTH: env.auth === undefined ? '0' : '1',
    ...(env.auth === undefined
      ? {}
      : { KAM_USERS: env.auth.users, KAM_REALM: env.auth.realm ?? 'example.com' }),
  };
  let stopped: Promise<void> | undefined;
  // the start in flight: a stop never overtakes it (it would find nothing to stop, and what the
  // start then forks would outlive the test)
  let starting: Promise<unknown> = Promise.resolve();
  const kill = (): void => {
    spawnSync('bash', [KAMAILIO_SH, 'stop', role], { env: penv, timeout: 10_000 });
    killStrays(stateDir);
  };
  const stop = (): Promise<void> => {
    stopped ??= starting
      .catch(() => undefined)
      .then(() => runHelper(['stop', role], penv, 15_000))
      .then(() => {
        // whatever still runs from this instance's state directory (kamailio.sh stop stops it too)
        killStrays(stateDir);
        exitKills.delete(kill);
        closers.delete(stop);
        rmSync(stateDir, { recursive: true, force: true });
      });
    return stopped;
  };
  exitKills.add(kill);
  closers.add(stop);
  const startRun = runHelper(['start', role], penv, env.startTimeoutMs ?? 180_000);
  starting = startRun;
  const r = await startRun;
  if (r.code !== 0) {
    const logs = ['edge', 'registrar']
      .map((x) => readText(join(stateDir, `${x}.log`)).slice(-3000))
      .join('\n');
    await stop();
    if (/cannot install/.test(r.output))
      throw new PeerUnavailableError(
        `kamailio could not be installed: interop test skipped\n${r.output}`,
      );
    throw new Error(`kamailio.sh start ${role} failed (exit ${r.code}):\n${r.output}\n${logs}`);
  }
  return {
    role,
    stateDir,
    edge: { ip: edgeIp, port: edgePort, wsPort },
    registrar: { ip: regIp, port: regPort },
    log: (x) => readText(join(stateDir, `${x}.log`)),
    stop,
  };
}
