// Issue 10 "How it is proven", real clients with passwords: JsSIP (the browser SIP library) in
// Debian's Chromium, over WebSocket, against `flowgate start -c examples/public.yaml` with digest
// authentication on. alice and bob register and call each other; carol's wrong password gets
// 401/403 and leaves no binding. Chromium gathers every interface for WebRTC, so it runs, with
// flowgate and the page's HTTP server, inside a network namespace that has only loopback
// (test/interop/jssip/driver.ts, driven over its stdin/stdout).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { CLI, ensureBuilt, ROOT } from '../integration/cli/helpers.js';
import { waitFor } from '../support/net.js';
import type { PageApi, UaEvent } from './jssip/page.js';

const CHROMIUM = '/usr/bin/chromium';

function skipReason(): string | false {
  if (process.getuid?.() !== 0)
    return 'needs root to create a network namespace (ip netns): JsSIP/Chromium test skipped';
  if (
    spawnSync('sh', ['-c', `command -v ip && test -x ${CHROMIUM}`], { encoding: 'utf8' }).status !==
    0
  ) {
    return `Debian chromium (${CHROMIUM}) or iproute2 missing: JsSIP/Chromium test skipped (scripts/test-all.sh installs them)`;
  }
  return false;
}

const NS = `flowgate-jssip-${process.pid}`;
const CONFIG = join(ROOT, 'examples', 'public.yaml');
const WS = 'ws://127.0.0.1:8080';
const PASSWORDS = { alice: 'alice-Secret-1', bob: 'bob-Secret-2', carol: 'carol-Secret-3' };
const procs: ChildProcess[] = [];

/** Starts a process in the namespace; its stderr (and stdout unless `keepStdout`) go to `log`. */
function inNs(cmd: string, args: string[], log: string, keepStdout = false): ChildProcess {
  const p = spawn('ip', ['netns', 'exec', NS, cmd, ...args], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    try {
      writeFileSync(log, out);
    } catch {
      // the test directory is gone (cleanup): nothing left to record
    }
  };
  p.stderr?.on('data', keep);
  if (!keepStdout) p.stdout?.on('data', keep);
  procs.push(p);
  return p;
}

/** The browser in the namespace: one JSON command per line in, one JSON answer per line out. */
class Driver {
  readonly proc: ChildProcess;
  readonly log: string;
  readonly #lines: Record<string, unknown>[] = [];
  #buf = '';
  #id = 0;

  constructor(proc: ChildProcess, log: string) {
    this.proc = proc;
    this.log = log;
    proc.stdout?.on('data', (d: Buffer) => {
      this.#buf += d.toString();
      let nl = this.#buf.indexOf('\n');
      while (nl >= 0) {
        const line = this.#buf.slice(0, nl).trim();
        this.#buf = this.#buf.slice(nl + 1);
        if (line !== '') this.#lines.push(JSON.parse(line) as Record<string, unknown>);
        nl = this.#buf.indexOf('\n');
      }
    });
  }

  async ready(timeoutMs: number): Promise<Record<string, unknown>> {
    await waitFor(
      () => this.#lines.some((l) => l['ready'] === true) || this.proc.exitCode !== null,
      timeoutMs,
      'Chromium and the test page to be ready',
    );
    const r = this.#lines.find((l) => l['ready'] === true);
    if (r === undefined)
      throw new Error(
        `the driver exited (${this.proc.exitCode}):\n${readText(this.log).slice(-4000)}`,
      );
    return r;
  }

  /** Calls a PageApi method in the page (bounded); rejects with the page's error. */
  async do<K extends keyof PageApi>(
    op: K | 'close',
    args: Parameters<PageApi[K]>[0] | undefined,
    timeoutMs: number,
  ): Promise<Awaited<ReturnType<PageApi[K]>>> {
    const id = ++this.#id;
    this.proc.stdin?.write(`${JSON.stringify({ id, op, args })}\n`);
    await waitFor(
      () => this.#lines.some((l) => l['id'] === id) || this.proc.exitCode !== null,
      timeoutMs,
      `the page to answer ${op}`,
    );
    const r = this.#lines.find((l) => l['id'] === id);
    if (r === undefined)
      throw new Error(
        `the driver exited (${this.proc.exitCode}) during ${op}:\n${readText(this.log).slice(-4000)}`,
      );
    if (r['ok'] !== true) throw new Error(`${op}: ${String(r['error'])}`);
    return r['result'] as Awaited<ReturnType<PageApi[K]>>;
  }
}

interface BindingRow {
  aor: string;
  contact: string;
  path: string[];
  socket: string | null;
  user_agent: string | null;
}

describe('JsSIP in Chromium over WebSocket registers and calls through examples/public.yaml (issue 10)', {
  skip: skipReason(),
  timeout: 90_000,
}, () => {
  let dir: string;
  let data: string;
  let driver: Driver;

  function ctlBindings(): BindingRow[] {
    const out = execFileSync(
      'ip',
      ['netns', 'exec', NS, process.execPath, CLI, 'ctl', 'bindings', '--json', '--data-dir', data],
      { encoding: 'utf8', timeout: 10_000 },
    );
    return (JSON.parse(out) as { bindings: BindingRow[] }).bindings;
  }

  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-jssip-'));
    data = join(dir, 'data');
    // the page: JsSIP and test/interop/jssip/page.ts bundled for the browser (the npm package
    // ships CommonJS only, no browser bundle)
    await build({
      entryPoints: [join(ROOT, 'test', 'interop', 'jssip', 'page.ts')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'chrome120',
      outfile: join(dir, 'page.js'),
      logLevel: 'silent',
    });
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>flowgate JsSIP interop</title><script src="/page.js"></script>\n',
    );
    for (const [user, password] of Object.entries(PASSWORDS)) {
      execFileSync(
        process.execPath,
        [
          CLI,
          'user',
          'add',
          `${user}@example.com`,
          '-c',
          CONFIG,
          '--data-dir',
          data,
          '--password-stdin',
        ],
        {
          input: `${password}\n`,
          encoding: 'utf8',
          timeout: 15_000,
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
    }
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);

    const fgLog = join(dir, 'flowgate.log');
    const fg = inNs(process.execPath, [CLI, 'start', '-c', CONFIG, '--data-dir', data], fgLog);
    await waitFor(
      () => /management: http/.test(readText(fgLog)) || fg.exitCode !== null,
      20_000,
      'flowgate to start',
    );
    assert.equal(fg.exitCode, null, `flowgate exited:\n${readText(fgLog)}`);

    const browserLog = join(dir, 'browser.log');
    driver = new Driver(
      inNs(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'test', 'interop', 'jssip', 'driver.ts'), dir],
        browserLog,
        true,
      ),
      browserLog,
    );
    await driver.ready(30_000);
  });

  after(async () => {
    // close Chromium through playwright when it still answers, then kill whatever is left in
    // the namespace (flowgate, the driver, Chromium's processes) by pid, and the namespace
    if (driver !== undefined && driver.proc.exitCode === null)
      await driver.do('close', undefined, 5_000).catch(() => undefined);
    for (const p of procs) {
      p.stdout?.removeAllListeners('data');
      p.stderr?.removeAllListeners('data');
      p.kill('SIGKILL');
    }
    const pids = spawnSync('ip', ['netns', 'pids', NS], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split('\n').filter((x) => /^\d+$/.test(x))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('alice and bob register over WebSocket with their passwords (401 challenge answered); both are bound over ws', async (t) => {
    for (const name of ['alice', 'bob'] as const) {
      const e = await driver.do(
        'register',
        { name, user: `${name}@example.com`, password: PASSWORDS[name], ws: WS, timeoutMs: 10_000 },
        15_000,
      );
      assert.deepEqual([e.event, e.status], ['registered', 200], `${name}: ${JSON.stringify(e)}`);
      // the client's view of the wire (JsSIP's trace): challenged first, then authorized
      const reg = jssipTrace(driver.log).filter((m) => m.from === name && m.cseq === 'REGISTER');
      const challenge = reg.find((m) => m.dir === 'received' && m.status === 401);
      assert.ok(challenge, `${name}'s first REGISTER is challenged with 401`);
      assert.deepEqual(
        algorithms(challenge.headers('www-authenticate')),
        ['MD5'],
        'examples/public.yaml offers MD5 (the one algorithm JsSIP does)',
      );
      const answer = reg.find((m) => m.dir === 'sent' && m.headers('authorization').length > 0);
      const creds = answer?.headers('authorization')[0] ?? '';
      assert.match(creds, new RegExp(`username="${name}"`), `${name} answers the challenge`);
      t.diagnostic(
        `${name}: registered (200) after ${e.t} ms; 401 offered ${algorithms(challenge.headers('www-authenticate')).join(', ')}; JsSIP answered with ${/algorithm=([\w-]+)/.exec(creds)?.[1]}`,
      );
    }
    const rows = ctlBindings();
    for (const aor of ['alice', 'bob']) {
      const b = rows.find((x) => x.aor === aor);
      assert.ok(b, `${aor} is bound: ${JSON.stringify(rows)}`);
      assert.match(b.contact, /;transport=ws\b/i, `${aor}'s contact is a WebSocket one`);
      assert.match(b.user_agent ?? '', /^JsSIP /);
      assert.match(b.path[0] ?? '', /;lr;ob>$/, 'registered through the edge, with a flow token');
      t.diagnostic(`binding ${aor}: ${b.contact} path ${b.path.join(',')}`);
    }
  });

  test('alice calls bob (audio only), bob answers: confirmed on both sides; alice hangs up: ended on both', async (t) => {
    const setup = await driver.do(
      'call',
      { from: 'alice', to: 'bob', uri: 'sip:bob@example.com', timeoutMs: 15_000 },
      20_000,
    );
    t.diagnostic(`call set-up: ${summary(setup)}`);
    assert.ok(
      setup.some((e) => e.ua === 'bob' && e.event === 'incoming'),
      'bob is called',
    );
    for (const name of ['alice', 'bob'])
      assert.ok(
        setup.some((e) => e.ua === name && e.event === 'session:confirmed'),
        `${name}'s session is confirmed: ${summary(setup)}`,
      );
    assert.ok(!setup.some((e) => e.event === 'session:failed'), summary(setup));
    // the INVITE was challenged (407) and sent again with alice's credentials
    const invite = jssipTrace(driver.log).filter((m) => m.from === 'alice' && m.cseq === 'INVITE');
    const challenge = invite.find((m) => m.dir === 'received' && m.status === 407);
    assert.ok(challenge, "alice's INVITE is challenged with 407");
    assert.deepEqual(algorithms(challenge.headers('proxy-authenticate')), ['MD5']);
    assert.ok(
      invite.some(
        (m) =>
          m.dir === 'sent' &&
          m.method === 'INVITE' &&
          /username="alice"/.test(m.headers('proxy-authorization')[0] ?? ''),
      ),
      'alice sends the INVITE again with Proxy-Authorization',
    );

    // the audio itself does not cross flowgate; whether it flowed is shown, not asserted
    await new Promise((r) => setTimeout(r, 1500));
    const media = await driver.do('media', { names: ['alice', 'bob'] }, 5_000);
    t.diagnostic(`audio bytes (WebRTC getStats): ${JSON.stringify(media)}`);

    const end = await driver.do('hangup', { name: 'alice', timeoutMs: 10_000 }, 15_000);
    t.diagnostic(`hang-up: ${summary(end)}`);
    for (const name of ['alice', 'bob'])
      assert.ok(
        end.some((e) => e.ua === name && e.event === 'session:ended'),
        `${name}'s session ended: ${summary(end)}`,
      );
    // the BYE crossed flowgate and was answered: bob's session ended because alice hung up
    assert.ok(
      end.some((e) => e.ua === 'bob' && e.event === 'session:ended' && e.cause === 'Terminated'),
    );
  });

  test('carol with a wrong password: registrationFailed with 401 or 403, and no binding for carol', async (t) => {
    const e = await driver.do(
      'register',
      {
        name: 'carol',
        user: 'carol@example.com',
        password: 'not-her-password',
        ws: WS,
        timeoutMs: 10_000,
      },
      15_000,
    );
    t.diagnostic(`carol: ${JSON.stringify(e)}`);
    assert.equal(e.event, 'registrationFailed');
    assert.ok(e.status === 401 || e.status === 403, `status ${e.status}`);
    await driver.do('stop', { name: 'carol', timeoutMs: 5_000 }, 10_000);
    const rows = ctlBindings();
    assert.equal(rows.filter((x) => x.aor === 'carol').length, 0, JSON.stringify(rows));
    assert.deepEqual(
      rows.map((x) => x.aor).sort(),
      ['alice', 'bob'],
      'alice and bob stay bound, nothing else',
    );
  });
});

/** One SIP message from JsSIP's trace (its `JsSIP:Transport` debug output in the console). */
interface TracedMessage {
  readonly dir: 'sent' | 'received';
  /** The request's method, or undefined for a response. */
  readonly method: string | undefined;
  /** The response's status, or undefined for a request. */
  readonly status: number | undefined;
  /** The From URI's user part. */
  readonly from: string | undefined;
  /** The CSeq method. */
  readonly cseq: string | undefined;
  headers(name: string): string[];
}

/** The SIP messages JsSIP sent and received, as the browser saw them (read from the driver's log). */
function jssipTrace(log: string): TracedMessage[] {
  const text = readText(log).replace(/\r\n/g, '\n');
  const out: TracedMessage[] = [];
  for (const m of text.matchAll(
    /JsSIP:Transport %c(sending message|received text message):\n\n([\s\S]*?)\n\n%c/g,
  )) {
    const lines = (m[2] ?? '').split('\n');
    const head = lines.slice(0, Math.max(0, lines.indexOf('')) || lines.length);
    const headers = (name: string): string[] =>
      head
        .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
        .map((l) => l.slice(name.length + 1).trim());
    const start = head[0] ?? '';
    const status = /^SIP\/2\.0 (\d{3})/.exec(start)?.[1];
    out.push({
      dir: m[1] === 'sending message' ? 'sent' : 'received',
      method: status === undefined ? start.split(' ')[0] : undefined,
      status: status === undefined ? undefined : Number(status),
      from: /<sip:([^@>]+)@/.exec(headers('from')[0] ?? '')?.[1],
      cseq: (headers('cseq')[0] ?? '').split(/\s+/)[1],
      headers,
    });
  }
  return out;
}

/** The `algorithm` of each Digest challenge, in order. */
function algorithms(challenges: readonly string[]): string[] {
  return challenges.map((c) => /algorithm=([\w-]+)/i.exec(c)?.[1] ?? 'MD5');
}

function summary(events: readonly UaEvent[]): string {
  return events
    .map(
      (e) =>
        `${e.ua}:${e.event}${e.status === undefined ? '' : `(${e.status})`}${e.cause === undefined ? '' : `[${e.cause}]`}`,
    )
    .join(' ');
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
