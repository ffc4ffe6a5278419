// Issue 10, "How it is proven", first bullet (baresip and sipp): real clients with passwords
// register and call each other through `flowgate start -c examples/public.yaml` (unchanged; data
// in a temporary directory; users added with `flowgate user add`), a wrong password is refused and
// leaves no binding, and a replayed Authorization is refused. Everything runs inside a network
// namespace that has only loopback. Each client that is meant to fail authentication has a
// loopback address of its own: the edge bans a source after 10 failed authentications a minute
// (pike), and a source that is banned must not be one the other clients use.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, ensureBuilt, ROOT } from '../integration/cli/helpers.js';
import { digestAuthorization, parseChallenge } from '../support/digest.js';
import { waitFor } from '../support/net.js';
import {
  headerValues,
  parseSippMessages,
  parseSippStats,
  SIPP_DIR,
  type SippMessage,
  type SippStats,
} from './peers.js';

/**
 * The configuration under test, used as it is. Its 401/407 offer MD5 only, on purpose: Debian 12's
 * clients answer nothing else. With SHA-256 offered first (RFC 8760 §2.4) sipp 3.6.1 reads the
 * first challenge and stops ("createAuthHeader: authentication must use MD5 or AKAv1-MD5") and
 * baresip 1.0.0 (libre 1.1.0) gives up on any challenge that is not MD5 ("Register: Function not
 * implemented"); with `[MD5, SHA-256]` sipp works and baresip still does not.
 */
const CONFIG = join(ROOT, 'examples', 'public.yaml');
const DOMAIN = 'example.com';
/** The edge of examples/public.yaml (UDP and TCP). */
const EDGE = { ip: '127.0.0.1', port: 5060 };

function skipReason(): string | false {
  if (process.getuid?.() !== 0)
    return 'needs root to create a network namespace (ip netns): authenticated clients test skipped';
  const r = spawnSync(
    'sh',
    ['-c', 'command -v ip && command -v setpriv && command -v baresip && command -v sipp'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0)
    return 'baresip (Debian baresip-core), sipp (sip-tester), iproute2 or setpriv (util-linux) missing: authenticated clients test skipped (scripts/test-all.sh installs them)';
  return false;
}

const NS = `flowgate-auth-${process.pid}-${randomBytes(3).toString('hex')}`;
const procs: ChildProcess[] = [];
let dir = '';
let dataDir = '';

// the last resort when after() did not run (the runner was interrupted): nothing is left behind
process.once('exit', () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  if (dir !== '') spawnSync('ip', ['netns', 'del', NS], { timeout: 5000 });
});

/** One password per user, fresh for each run. */
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank'] as const;
type User = (typeof USERS)[number];
const PASSWORDS = Object.fromEntries(
  USERS.map((u) => [u, `${u}-${randomBytes(6).toString('hex')}`]),
) as Record<User, string>;

// ---------------------------------------------------------------------------------- processes

/**
 * `ip netns exec` then `setpriv --pdeathsig KILL`: a process started here dies with this test
 * process even when after() never runs (the runner killed it).
 */
const IN_NS = (): string[] => ['netns', 'exec', NS, 'setpriv', '--pdeathsig', 'KILL', '--'];

/** Starts a command inside the namespace, its output appended to `log`; killed in after(). */
function inNs(cmd: string, args: readonly string[], log: string): ChildProcess {
  const p = spawn('ip', [...IN_NS(), cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString('latin1');
    try {
      writeFileSync(log, out);
    } catch {
      // the test directory is gone (cleanup): nothing left to record
    }
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  procs.push(p);
  return p;
}

function exited(p: ChildProcess): boolean {
  return p.exitCode !== null || p.signalCode !== null;
}

/** Stops a process (SIGKILL) and waits, bounded, until it has gone. */
async function stop(p: ChildProcess): Promise<void> {
  if (exited(p)) return;
  p.kill('SIGKILL');
  await waitFor(() => exited(p), 5000, `process ${p.pid} to exit`);
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'latin1');
  } catch {
    return '';
  }
}

/** True when a UDP socket of the process `pid` (in its own namespace) is bound to ip:port. */
function udpBound(pid: number, ip: string, port: number): boolean {
  const hex = `${ip
    .split('.')
    .reverse()
    .map((b) => Number(b).toString(16).padStart(2, '0'))
    .join('')
    .toUpperCase()}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readText(`/proc/${pid}/net/udp`)
    .split('\n')
    .some((l) => l.trim().split(/\s+/)[1] === hex);
}

// ---------------------------------------------------------------------------------- flowgate

/** `flowgate ctl bindings --json` inside the namespace: the bindings of one user. */
function bindingsOf(user: string): Binding[] {
  const out = execFileSync(
    'ip',
    [
      ...['netns', 'exec', NS, process.execPath, CLI, 'ctl', '-c', CONFIG],
      ...['--data-dir', dataDir, 'bindings', '--json'],
    ],
    { encoding: 'utf8', timeout: 10_000 },
  );
  return (JSON.parse(out) as { bindings: Binding[] }).bindings
    .filter((b) => b.aor === user)
    .map(({ aor, ruid, contact, expires, reg_id, instance, path, call_id, cseq }) => ({
      ...{ aor, ruid, contact, expires, reg_id, instance, path, call_id, cseq },
    }));
}

/**
 * One sample of the server's Prometheus `/metrics` (fetched inside the namespace with the
 * management token flowgate start generated): the value of `name` whose labels include `labels`.
 */
function metric(name: string, labels: Readonly<Record<string, string>>): number {
  const js =
    "fetch('http://127.0.0.1:8081/metrics', { headers: { authorization: 'Bearer ' + process.env.FG_TOKEN } }).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); });";
  const text = execFileSync('ip', ['netns', 'exec', NS, process.execPath, '-e', js], {
    encoding: 'utf8',
    timeout: 10_000,
    env: {
      ...process.env,
      FG_TOKEN: readFileSync(join(dataDir, 'management.token'), 'utf8').trim(),
    },
  });
  let sum = 0;
  for (const m of text.matchAll(/^(\w+)\{([^}]*)\} (\S+)$/gm)) {
    if (m[1] !== name) continue;
    const have = new Map(
      [...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1] ?? '', x[2] ?? '']),
    );
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[3]);
  }
  return sum;
}

/** How often the registrar's auth module ended with `result` (ok, invalid_password, replay, …). */
const authResults = (result: string): number =>
  metric('flowgate_auth_results_total', { element: 'registrar', result });

/** The fields of a binding that do not change by themselves (not `expires_in`). */
interface Binding {
  readonly aor: string;
  readonly ruid: string;
  readonly contact: string;
  readonly expires: string;
  readonly reg_id: number;
  readonly instance: string | null;
  readonly path: readonly string[];
  readonly call_id: string;
  readonly cseq: number;
}

// ---------------------------------------------------------------------------------- baresip

let toneN = 0;
/** A `secs` long 8 kHz tone: baresip plays it as the call's audio and hangs up at its end. */
function writeTone(secs: number): string {
  const path = join(dir, `tone-${toneN++}.wav`);
  const n = 8000 * secs;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++)
    b.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), 44 + i * 2);
  writeFileSync(path, b);
  return path;
}

/**
 * A baresip profile (the softphone test's, with credentials): outbound via the edge over
 * `transport` (`sipnat=outbound`: reg-id + +sip.instance), `auth_user` / `auth_pass` in the account
 * line, auto answer, bound to `ip`. Over TCP baresip does not bind its connections to `ip`: they
 * come from the address the kernel picks (127.0.0.1 here). A client that must be seen from its own
 * address (pike counts per source IP) registers over UDP, from its `sip_listen` socket.
 */
function baresipProfile(
  user: User,
  password: string,
  ip: string,
  tone: string,
  transport: 'tcp' | 'udp' = 'tcp',
): string {
  const d = join(dir, `baresip-${user}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(
    join(d, 'config'),
    [
      'poll_method epoll',
      `sip_listen ${ip}:0`,
      `audio_player aufile,${join(dir, `${user}-heard.wav`)}`,
      `audio_source aufile,${tone}`,
      'audio_alert aufile,/dev/null',
      'module_path /usr/lib/baresip/modules',
      'module uuid.so',
      'module g711.so',
      'module aufile.so',
      'module_app account.so',
      'module_app contact.so',
      'module_app menu.so',
      `net_interface ${ip}`,
      'rtp_ports 10000-10200',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(d, 'accounts'),
    `<sip:${user}@${DOMAIN};transport=${transport}>;auth_user=${user};auth_pass=${password};outbound="sip:${EDGE.ip}:${EDGE.port};transport=${transport}";sipnat=outbound;regint=300;answermode=auto\n`,
  );
  return d;
}

/** baresip's own account of a failed registration ("reg: …"), for assertion messages. */
function regErrors(log: string): string {
  const lines = readText(log)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: baresip colours its errors
    .replace(/\x1b\[[0-9;]*m/g, '')
    .split('\n')
    .filter((l) => /reg: |Register: |401 Unauthorized|403 Forbidden/.test(l));
  return lines.length === 0 ? '(nothing)' : lines.slice(0, 6).join('\n');
}

/** SIP requests baresip logged with `-s`: [start line, header block]. */
function tracedRequests(log: string, method: string): string[] {
  const text = readText(log).replace(/\r/g, '');
  const out: string[] = [];
  const re = new RegExp(`^${method} sip:[^\\n]* SIP/2\\.0\\n(?:[^\\n]+\\n)*`, 'gm');
  for (const m of text.matchAll(re)) out.push(m[0]);
  return out;
}

// ---------------------------------------------------------------------------------- sipp

interface NsSippResult {
  readonly exitCode: number | null;
  readonly timedOut: boolean;
  readonly stats: SippStats | undefined;
  readonly messages: readonly SippMessage[];
  readonly logs: readonly string[];
  readonly errors: string;
  summary(): string;
}

interface NsSipp {
  readonly pid: number;
  readonly done: Promise<NsSippResult>;
}

interface NsSippOptions {
  /** `ip:port` to send to (a UAC); absent for a UAS. */
  readonly target?: string;
  readonly ip: string;
  readonly port: number;
  readonly keys?: Readonly<Record<string, string | number>>;
  /** `-s`: the Request-URI user (`[service]`). */
  readonly service?: string;
  /** `-au` / `-ap` for `[authentication]`. */
  readonly auth?: { readonly user: string; readonly password: string };
  readonly timeoutMs?: number;
}

let sippN = 0;
/** sipp over UDP inside the namespace, one call, bounded (`-timeout`, then SIGKILL). */
async function sippNs(scenario: string, o: NsSippOptions): Promise<NsSipp> {
  const n = sippN++;
  const d = join(dir, `sipp-${n}-${basename(scenario, '.xml')}`);
  mkdirSync(d, { recursive: true });
  const f = (x: string): string => join(d, x);
  const timeoutMs = o.timeoutMs ?? 15_000;
  const args: string[] = [];
  if (o.target !== undefined) args.push(o.target);
  args.push('-sf', join(SIPP_DIR, scenario), '-t', 'u1', '-i', o.ip, '-p', String(o.port));
  args.push('-bind_local', '-m', '1', '-nostdin', '-timeout', `${Math.ceil(timeoutMs / 1000)}s`);
  // media and control ports of its own (the namespace is ours: fixed ports are free)
  args.push('-mp', String(30_000 + n * 10), '-cp', String(31_000 + n));
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push('-key', k, String(v));
  if (o.service !== undefined) args.push('-s', o.service);
  if (o.auth !== undefined) args.push('-au', o.auth.user, '-ap', o.auth.password);
  args.push('-trace_msg', '-message_file', f('messages.log'));
  args.push('-trace_stat', '-stf', f('stats.csv'), '-fd', '1');
  args.push('-trace_err', '-error_file', f('errors.log'));
  args.push('-trace_logs', '-log_file', f('logs.log'));
  const p = inNs('sipp', args, f('output.log'));
  let timedOut = false;
  const killer = setTimeout(() => {
    timedOut = true;
    p.kill('SIGKILL');
  }, timeoutMs + 3000);
  const done = new Promise<NsSippResult>((resolve) => {
    p.once('exit', (code) => {
      clearTimeout(killer);
      const stats = parseSippStats(readText(f('stats.csv')));
      const { messages } = parseSippMessages(readText(f('messages.log')));
      const logs = readText(f('logs.log'))
        .split('\n')
        .filter((l) => l.trim() !== '');
      const errors = readText(f('errors.log'));
      resolve({
        exitCode: code,
        timedOut,
        stats,
        messages,
        logs,
        errors,
        summary: () =>
          `sipp ${scenario} (${o.ip}:${o.port}): exit=${code}${timedOut ? ' (killed at the time bound)' : ''} ${
            stats === undefined
              ? 'no statistics'
              : `successful=${stats.successful} failed=${stats.failed}`
          }\n messages:\n${messages.map((m) => `  ${m.dir === 'sent' ? '>>' : '<<'} ${m.line}`).join('\n')}\n errors:\n${errors.trim().split('\n').slice(-12).join('\n')}\n output:\n${readText(f('output.log')).slice(-1500)}`,
      });
    });
  });
  const pid = p.pid ?? -1;
  if (o.target === undefined) {
    // a UAS: ready once its socket is bound in the namespace (or it died)
    await waitFor(
      () => exited(p) || udpBound(pid, o.ip, o.port),
      10_000,
      `sipp ${scenario} on ${o.ip}:${o.port}`,
    );
    if (exited(p)) throw new Error(`sipp ${scenario} exited at start:\n${(await done).summary()}`);
  }
  return { pid, done };
}

/**
 * `r` succeeded; if not, the message also says what `context` tells of the server (for a client
 * that got no answer at all: bans, refusals, the server's warnings).
 */
function assertPassed(r: NsSippResult, context?: () => string): void {
  const ok = r.exitCode === 0 && r.stats?.successful === 1 && r.stats?.failed === 0;
  const why = ok || context === undefined ? r.summary() : `${r.summary()}\n${context()}`;
  assert.equal(r.exitCode, 0, why);
  assert.equal(r.stats?.successful, 1, why);
  assert.equal(r.stats?.failed, 0, why);
}

/** The edge's bans and limit refusals, and flowgate's warnings and errors (for failure messages). */
function edgeState(): string {
  const lines: string[] = [];
  try {
    for (const cause of ['rate', 'auth'])
      lines.push(
        `edge bans active (${cause}): ${metric('flowgate_bans_active', { element: 'edge', kind: cause })}`,
      );
    for (const limit of ['pike', 'auth_source', 'banned_dropped'])
      lines.push(
        `edge refusals (${limit}): ${metric('flowgate_limit_refusals_total', { element: 'edge', limit })}`,
      );
  } catch (e) {
    lines.push(`metrics unavailable: ${String(e)}`);
  }
  try {
    const log = readFileSync(join(dir, 'flowgate.log'), 'utf8');
    const warn = log.split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    lines.push(`flowgate warnings/errors (${warn.length}):`, ...warn.slice(-20));
  } catch (e) {
    lines.push(`flowgate log unavailable: ${String(e)}`);
  }
  return lines.join('\n');
}

const statusOf = (m: SippMessage): number => Number(/^SIP\/2\.0 (\d{3})/.exec(m.line)?.[1] ?? 0);
const cseqOf = (m: SippMessage): string => headerValues(m.text, 'CSeq')[0] ?? '';
/** The final status codes sipp received, in order ("401 REGISTER", …). */
const received = (r: NsSippResult): string[] =>
  r.messages
    .filter((m) => m.dir === 'received' && statusOf(m) >= 200)
    .map((m) => `${statusOf(m)} ${cseqOf(m).split(/\s+/)[1] ?? ''}`);

// ---------------------------------------------------------------------------------- raw UDP

/**
 * A UDP socket inside the namespace, bridged over stdio to this process (a few lines of node run
 * with `ip netns exec`): the test writes SIP messages by hand and reads the answers.
 */
class NsUdp {
  readonly ip: string;
  readonly #p: ChildProcess;
  readonly #inbox: string[] = [];
  port = 0;

  private constructor(ip: string, p: ChildProcess) {
    this.ip = ip;
    this.#p = p;
    let buf = '';
    p.stdout?.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = JSON.parse(buf.slice(0, i)) as { port?: number; msg?: string };
        buf = buf.slice(i + 1);
        if (line.port !== undefined) this.port = line.port;
        if (line.msg !== undefined) this.#inbox.push(line.msg);
      }
    });
  }

  static async open(ip: string): Promise<NsUdp> {
    const js = [
      "const s = require('node:dgram').createSocket('udp4');",
      "s.bind(0, process.argv[1], () => process.stdout.write(JSON.stringify({ port: s.address().port }) + '\\n'));",
      "s.on('message', (m) => process.stdout.write(JSON.stringify({ msg: m.toString('latin1') }) + '\\n'));",
      "const rl = require('node:readline').createInterface({ input: process.stdin });",
      "rl.on('line', (l) => { const j = JSON.parse(l); s.send(Buffer.from(j.msg, 'latin1'), j.port, j.host); });",
      "rl.on('close', () => { s.close(); process.exit(0); });",
    ].join('\n');
    const p = spawn('ip', [...IN_NS(), process.execPath, '-e', js, ip], {
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    procs.push(p);
    const u = new NsUdp(ip, p);
    await waitFor(() => u.port !== 0 || exited(p), 10_000, `a UDP socket on ${ip}`);
    if (u.port === 0) throw new Error(`the UDP client on ${ip} did not start`);
    return u;
  }

  /** Sends a message to the edge. */
  send(msg: string): void {
    this.#p.stdin?.write(`${JSON.stringify({ msg, host: EDGE.ip, port: EDGE.port })}\n`);
  }

  /** The next final response to `cseq` (provisional ones are skipped), bounded. */
  async final(cseq: string, timeoutMs = 5000): Promise<string> {
    let found: string | undefined;
    await waitFor(
      () => {
        const i = this.#inbox.findIndex((m) => {
          const code = Number(/^SIP\/2\.0 (\d{3})/.exec(m)?.[1] ?? 0);
          return code >= 200 && new RegExp(`^CSeq:\\s*${cseq}\\s*$`, 'mi').test(m);
        });
        if (i < 0) return false;
        found = this.#inbox.splice(i, 1)[0];
        return true;
      },
      timeoutMs,
      `a final response to CSeq ${cseq} on ${this.ip}:${this.port}`,
    );
    return found as string;
  }

  async close(): Promise<void> {
    this.#p.stdin?.end();
    await waitFor(() => exited(this.#p), 5000, 'the UDP client to exit').catch(() => stop(this.#p));
  }
}

/** A REGISTER written by hand (one call leg: Call-ID, tag, CSeq, branch). */
function register(o: {
  readonly from: NsUdp;
  readonly user: string;
  readonly contact: string;
  readonly callId: string;
  readonly tag: string;
  readonly cseq: number;
  readonly authorization?: string;
}): string {
  return [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP ${o.from.ip}:${o.from.port};branch=z9hG4bK${randomBytes(8).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <sip:${o.user}@${DOMAIN}>;tag=${o.tag}`,
    `To: <sip:${o.user}@${DOMAIN}>`,
    `Call-ID: ${o.callId}`,
    `CSeq: ${o.cseq} REGISTER`,
    `Contact: <${o.contact}>`,
    'Supported: path',
    'Expires: 600',
    ...(o.authorization === undefined ? [] : [`Authorization: ${o.authorization}`]),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const statusLine = (m: string): string => m.split('\r\n', 1)[0] ?? '';
const headersOf = (m: string, name: string): string[] =>
  m
    .split('\r\n')
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim());

/**
 * Sends `authorization` again in a new REGISTER (new Call-ID, tag, CSeq and branch, another
 * Contact) from another address; returns the answer.
 */
async function replay(user: User, authorization: string): Promise<string> {
  const mallory = await NsUdp.open('127.0.0.66');
  try {
    mallory.send(
      register({
        from: mallory,
        user,
        contact: `sip:${user}@${mallory.ip}:${mallory.port}`,
        callId: `${randomBytes(8).toString('hex')}@${mallory.ip}`,
        tag: randomBytes(4).toString('hex'),
        cseq: 7,
        authorization,
      }),
    );
    return await mallory.final('7 REGISTER');
  } finally {
    await mallory.close();
  }
}

// ---------------------------------------------------------------------------------- the tests

describe('real clients with passwords (baresip, sipp) through `flowgate start -c examples/public.yaml` (issue 10)', {
  skip: skipReason(),
  timeout: 90_000,
}, () => {
  let fgLog = '';

  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-auth-clients-'));
    dataDir = join(dir, 'data');
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
    for (const u of USERS)
      execFileSync(
        process.execPath,
        [
          ...[CLI, 'user', 'add', `${u}@${DOMAIN}`, '-c', CONFIG],
          ...['--data-dir', dataDir, '--password-stdin'],
        ],
        { input: `${PASSWORDS[u]}\n`, encoding: 'utf8', timeout: 15_000, stdio: 'pipe' },
      );
    fgLog = join(dir, 'flowgate.log');
    const fg = inNs(process.execPath, [CLI, 'start', '-c', CONFIG, '--data-dir', dataDir], fgLog);
    await waitFor(
      () => /^management: http/m.test(readText(fgLog)) || exited(fg),
      20_000,
      'flowgate to start',
    );
    assert.ok(!exited(fg), `flowgate start exited:\n${readText(fgLog)}`);
  });

  after(async () => {
    for (const p of procs) {
      p.stdout?.removeAllListeners('data');
      p.stderr?.removeAllListeners('data');
      if (!exited(p)) p.kill('SIGKILL');
    }
    await Promise.all(
      procs.map((p) => waitFor(() => exited(p), 5000, `process ${p.pid} to exit`).catch(() => {})),
    );
    spawnSync('ip', ['netns', 'del', NS], { timeout: 10_000 });
    // FLOWGATE_AUTH_KEEP=1 keeps the logs (flowgate, baresip, sipp) for a post-mortem
    if (dir !== '' && process.env['FLOWGATE_AUTH_KEEP'] !== '1')
      rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  // bob stays up for the sipp test, which calls him too
  let bobLog = '';

  test('baresip: alice and bob register with auth_user/auth_pass (outbound over TCP); alice calls bob through a 407; the call is answered and hung up', async (t) => {
    bobLog = join(dir, 'bob.log');
    inNs(
      'baresip',
      ['-f', baresipProfile('bob', PASSWORDS.bob, '127.0.0.1', writeTone(3)), '-t', '80'],
      bobLog,
    );
    await waitFor(
      () => /bob@example\.com: \{\d+\/TCP\/v4\} 200 OK/.test(readText(bobLog)),
      10_000,
      'bob to register',
    ).catch((e: Error) => {
      throw new Error(`${e.message}; baresip said:\n${regErrors(bobLog)}`);
    });

    const aliceLog = join(dir, 'alice.log');
    inNs(
      'baresip',
      [
        ...['-f', baresipProfile('alice', PASSWORDS.alice, '127.0.0.1', writeTone(30))],
        ...['-s', '-t', '40', '-e', `/dial sip:bob@${DOMAIN}`],
      ],
      aliceLog,
    );
    await waitFor(
      () => /alice@example\.com: \{\d+\/TCP\/v4\} 200 OK/.test(readText(aliceLog)),
      10_000,
      'alice to register',
    ).catch((e: Error) => {
      throw new Error(`${e.message}; baresip said:\n${regErrors(aliceLog)}`);
    });
    await waitFor(
      () => /Call established/.test(readText(aliceLog)),
      15_000,
      'the call to be established',
    );

    // both are bound through the edge with RFC 5626 outbound, after authenticating
    for (const u of ['alice', 'bob'] as const) {
      const bs = bindingsOf(u);
      assert.equal(bs.length, 1, `${u}: ${JSON.stringify(bs)}`);
      const b = bs[0] as Binding;
      assert.equal(b.reg_id, 1);
      assert.match(b.instance ?? '', /^<urn:uuid:/);
      assert.match(b.path[0] ?? '', /;lr;ob>$/, 'registered through the edge, with a flow token');
    }
    // alice's REGISTER and INVITE were challenged (401, 407) and answered with her credentials
    const regs = tracedRequests(aliceLog, 'REGISTER');
    assert.ok(
      regs.some((r) => /^Authorization: Digest username="alice"/m.test(r)),
      `alice's REGISTERs:\n${regs.join('\n')}`,
    );
    assert.match(readText(aliceLog), /^SIP\/2\.0 407 Proxy Authentication Required/m);
    const invites = tracedRequests(aliceLog, 'INVITE');
    assert.equal(invites.length, 2, `an INVITE, and the same with credentials:\n${invites}`);
    assert.doesNotMatch(invites[0] ?? '', /^Proxy-Authorization:/m);
    assert.match(invites[1] ?? '', /^Proxy-Authorization: Digest username="alice"/m);

    // bob answers; his 3 s of audio end and he hangs up: the BYE crosses flowgate to alice
    await waitFor(
      () => /terminated/.test(readText(aliceLog)) && /terminated/.test(readText(bobLog)),
      15_000,
      'the hang-up',
    );
    assert.match(readText(bobLog), /answering call .* from sip:alice@example\.com/);
    const ended = /Call with sip:bob@example\.com\S* terminated \(duration: (\d+) secs\)/.exec(
      readText(aliceLog),
    );
    assert.ok(ended, readText(aliceLog).slice(-2000));
    assert.ok(
      tracedRequests(aliceLog, 'BYE').some((r) => r.startsWith('BYE sip:alice')),
      'bob hung up: alice received his BYE',
    );
    t.diagnostic(
      `baresip: alice and bob registered (1 binding each, reg-id 1, outbound over TCP, ${regs.length} REGISTERs by alice); call alice -> bob: 407 then answered, hung up by bob after ${ended[1]} s`,
    );
  });

  test('baresip with a wrong auth_pass: every REGISTER with credentials gets 401, and dave has no binding', async (t) => {
    // its own address, over UDP: baresip retries at once with each new nonce, and the edge bans
    // the source after 10 failures a minute. Over TCP baresip's connections came from 127.0.0.1,
    // and when dave tried more than 10 times, carol's sipp on 127.0.0.1 (next test) was banned too
    const daveLog = join(dir, 'dave.log');
    const invalid0 = authResults('invalid_password');
    const dave = inNs(
      'baresip',
      ['-f', baresipProfile('dave', 'not-daves-password', '127.0.0.9', writeTone(3), 'udp'), '-s'],
      daveLog,
    );
    const withCredentials = (): number =>
      tracedRequests(daveLog, 'REGISTER').filter((r) => /^Authorization: Digest /m.test(r)).length;
    await waitFor(
      () =>
        withCredentials() >= 2 && (readText(daveLog).match(/^SIP\/2\.0 401 /gm) ?? []).length >= 2,
      10_000,
      'dave to send his credentials and have them refused',
    ).catch((e: Error) => {
      throw new Error(`${e.message}; baresip said:\n${regErrors(daveLog)}`);
    });
    await stop(dave);
    const log = readText(daveLog);
    assert.doesNotMatch(log, /^SIP\/2\.0 200 /m, 'no REGISTER of dave was accepted');
    assert.doesNotMatch(log, /dave@example\.com: \{\d+\/UDP\/v4\} 200 OK/);
    // the edge saw dave at his own address (received=, RFC 3261 §18.2.1 / RFC 3581, names the source)
    const sources = new Set([...log.matchAll(/received=([0-9.]+)/g)].map((m) => m[1]));
    assert.ok(
      [...sources].every((a) => a === '127.0.0.9'),
      `dave's requests came from ${[...sources].join(', ')}`,
    );
    assert.match(log, /^Via: SIP\/2\.0\/UDP 127\.0\.0\.9:/m);
    assert.deepEqual(bindingsOf('dave'), []);
    const invalid = authResults('invalid_password') - invalid0;
    assert.ok(invalid >= 2, `the registrar found the password wrong (${invalid} times)`);
    t.diagnostic(
      `baresip dave (wrong password): ${withCredentials()} REGISTERs with credentials, ${(log.match(/^SIP\/2\.0 401 /gm) ?? []).length} answers 401, 0 with 200; registrar results invalid_password +${invalid}; bindings of dave: 0`,
    );
  });

  test('sipp: carol registers a sipp UAS with [authentication]; sipp calls carol and bob (baresip) through a 407; 200s; her Authorization replayed is refused', async (t) => {
    // carol registers from the port she answers on, as a phone does: her Contact names no reg-id,
    // so the edge reaches her at the address her REGISTER came from (nathelper, decision Q-E1),
    // not at the Contact; the UAS takes that port once the registering sipp has ended
    const reg = await (
      await sippNs('uac-register-auth.xml', {
        target: `${EDGE.ip}:${EDGE.port}`,
        ip: '127.0.0.1',
        port: 5090,
        keys: { user: 'carol', expires: 600, contact_ip: '127.0.0.1', contact_port: 5090 },
        auth: { user: 'carol', password: PASSWORDS.carol },
      })
    ).done;
    assertPassed(reg, edgeState);
    assert.deepEqual(received(reg), ['401 REGISTER', '200 REGISTER'], reg.summary());
    const carol = bindingsOf('carol');
    assert.equal(carol.length, 1, JSON.stringify(carol));
    assert.equal((carol[0] as Binding).contact, 'sip:carol@127.0.0.1:5090;transport=UDP');
    const uas = await sippNs('uas-answer.xml', { ip: '127.0.0.1', port: 5090, timeoutMs: 25_000 });

    // alice (sipp) calls carol (the sipp UAS): INVITE, 407, ACK, INVITE with credentials, 200, ACK, BYE, 200
    const call = await (
      await sippNs('uac-invite-auth.xml', {
        target: `${EDGE.ip}:${EDGE.port}`,
        ip: '127.0.0.1',
        port: 5092,
        keys: { user: 'alice', domain: DOMAIN },
        service: 'carol',
        auth: { user: 'alice', password: PASSWORDS.alice },
      })
    ).done;
    assertPassed(call);
    assert.deepEqual(received(call), ['407 INVITE', '200 INVITE', '200 BYE'], call.summary());
    const proxyAuth = call.messages.filter(
      (m) => m.dir === 'sent' && headerValues(m.text, 'Proxy-Authorization').length > 0,
    );
    assert.equal(proxyAuth.length, 1, 'one INVITE carried credentials');
    const uasRun = await uas.done;
    assertPassed(uasRun);
    assert.match(
      uasRun.messages.find((m) => m.dir === 'received' && m.line.startsWith('INVITE'))?.text ?? '',
      /^From: <sip:alice@example\.com>/m,
    );

    // alice (sipp) calls bob (baresip, still registered from the first test)
    const toBob = await (
      await sippNs('uac-invite-auth.xml', {
        target: `${EDGE.ip}:${EDGE.port}`,
        ip: '127.0.0.1',
        port: 5093,
        keys: { user: 'alice', domain: DOMAIN },
        service: 'bob',
        auth: { user: 'alice', password: PASSWORDS.alice },
      })
    ).done;
    assertPassed(toBob);
    assert.deepEqual(received(toBob), ['407 INVITE', '200 INVITE', '200 BYE'], toBob.summary());
    await waitFor(
      () =>
        (readText(bobLog).match(/answering call .* from sip:alice@example\.com/g) ?? []).length >=
        2,
      5000,
      'bob to log the second call',
    );

    // the Authorization of carol's REGISTER, as sipp sent it, in a new REGISTER from elsewhere
    const sentAuth = reg.messages
      .filter((m) => m.dir === 'sent')
      .flatMap((m) => headerValues(m.text, 'Authorization'));
    assert.equal(sentAuth.length, 1, reg.summary());
    const replays0 = authResults('replay');
    const answer = await replay('carol', sentAuth[0] as string);
    assert.equal(statusLine(answer), 'SIP/2.0 401 Unauthorized', answer);
    assert.equal(authResults('replay') - replays0, 1, 'refused as a replay (nonce count reused)');
    assert.deepEqual(bindingsOf('carol'), carol, 'carol binding unchanged');
    t.diagnostic(
      `sipp: carol registered (401, 200; 1 binding); alice -> carol (sipp UAS) and alice -> bob (baresip): 407, 200, 200 to BYE each; carol's ${/algorithm=([\w-]+)/.exec(sentAuth[0] as string)?.[1] ?? 'MD5'} Authorization replayed: ${statusLine(answer)}`,
    );
  });

  test('sipp with a wrong password: the credentials are refused (401 or 403) and frank has no binding', async (t) => {
    const invalid0 = authResults('invalid_password');
    const r = await (
      await sippNs('uac-register-auth-refused.xml', {
        target: `${EDGE.ip}:${EDGE.port}`,
        ip: '127.0.0.7',
        port: 5094,
        keys: { user: 'frank', expires: 600, contact_ip: '127.0.0.7', contact_port: 5094 },
        auth: { user: 'frank', password: 'not-franks-password' },
      })
    ).done;
    assertPassed(r);
    const codes = received(r);
    assert.equal(codes[0], '401 REGISTER', r.summary());
    assert.match(codes[1] ?? '', /^(401|403) REGISTER$/, r.summary());
    assert.equal(codes.length, 2, r.summary());
    assert.deepEqual(bindingsOf('frank'), []);
    assert.equal(authResults('invalid_password') - invalid0, 1, 'the registrar found it wrong');
    t.diagnostic(`sipp frank (wrong password): ${codes.join(', ')}; bindings of frank: 0`);
  });

  test('a replayed Authorization (the first algorithm offered: SHA-256 in examples/public.yaml) in a new REGISTER is refused with 401; the binding is unchanged', async (t) => {
    const erin = await NsUdp.open('127.0.0.5');
    try {
      const callId = `${randomBytes(8).toString('hex')}@${erin.ip}`;
      const tag = randomBytes(4).toString('hex');
      const contact = `sip:erin@${erin.ip}:${erin.port}`;
      erin.send(register({ from: erin, user: 'erin', contact, callId, tag, cseq: 1 }));
      const challenge = await erin.final('1 REGISTER');
      assert.equal(statusLine(challenge), 'SIP/2.0 401 Unauthorized', challenge);
      // RFC 8760 §2.5: a client answers the first challenge whose algorithm it supports (all here)
      const offers = headersOf(challenge, 'WWW-Authenticate');
      const algorithms = offers.map((h) => parseChallenge(h).get('algorithm') ?? 'MD5');
      const first = offers[0];
      assert.ok(first, challenge);
      const authorization = digestAuthorization(
        first,
        { method: 'REGISTER', uri: `sip:${DOMAIN}` },
        { username: 'erin', password: PASSWORDS.erin },
      );
      erin.send(
        register({ from: erin, user: 'erin', contact, callId, tag, cseq: 2, authorization }),
      );
      const ok = await erin.final('2 REGISTER');
      assert.equal(statusLine(ok), 'SIP/2.0 200 OK', ok);
      const before = bindingsOf('erin');
      assert.equal(before.length, 1, JSON.stringify(before));
      assert.equal((before[0] as Binding).contact, contact);

      const replays0 = authResults('replay');
      const answer = await replay('erin', authorization);
      assert.equal(statusLine(answer), 'SIP/2.0 401 Unauthorized', answer);
      assert.equal(authResults('replay') - replays0, 1, 'refused as a replay (nonce count reused)');
      assert.ok(headersOf(answer, 'WWW-Authenticate').length > 0, 'a new challenge');
      assert.deepEqual(bindingsOf('erin'), before, 'erin binding unchanged');
      t.diagnostic(
        `raw UDP client erin: challenge offered ${algorithms.join(', ')}; REGISTER answering the ${algorithms[0]} one: 200 (1 binding); the same Authorization in a new REGISTER from 127.0.0.66: ${statusLine(answer)}; bindings of erin unchanged`,
      );
    } finally {
      await erin.close();
    }
  });
});
