// Issue 13 §1, "how it is proven", the browser part: SIP.js 0.21 in Debian's Chromium with its
// default options (a `Web.SimpleUser` given only its AoR: no outbound, no reg-id, no instance id, a
// Contact `sip:xxxx@yyyy.invalid;transport=ws`) registers to `flowgate start` (the default system:
// edge + registrar, no authentication) over WS and over WSS, is called, answers and hangs up. Then
// calls between an RFC 5626 outbound UA (JsSIP with its defaults: reg-id=1, +sip.instance) and a
// SIP.js one, both ways. flowgate runs with a resolver that records every DNS question and answers
// none (test/support/dns-hosts.mjs): it must never ask for the `.invalid` name, and never answer
// 478. Chromium gathers every interface, so the browser and flowgate run inside a network namespace
// that has only loopback.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { build } from 'esbuild';
import { CLI, ensureBuilt, ROOT } from '../integration/cli/helpers.js';
import { waitFor } from '../support/net.js';
import { hasOpenssl, makeTestPki } from '../support/tls.js';
import type { SipJsPageApi, UaEvent } from './sipjs/page.js';

const CHROMIUM = '/usr/bin/chromium';

function skipReason(): string | false {
  if (process.getuid?.() !== 0)
    return 'needs root to create a network namespace (ip netns): SIP.js/Chromium test skipped';
  if (
    spawnSync('sh', ['-c', `command -v ip && test -x ${CHROMIUM}`], { encoding: 'utf8' }).status !==
    0
  ) {
    return `Debian chromium (${CHROMIUM}) or iproute2 missing: SIP.js/Chromium test skipped (scripts/test-all.sh installs them)`;
  }
  if (!hasOpenssl()) return 'openssl missing (the WSS certificate): SIP.js/Chromium test skipped';
  return false;
}

const NS = `flowgate-sipjs-${process.pid}`;
const WS = 'ws://127.0.0.1:8080';
const WSS = 'wss://127.0.0.1:8443';
const procs: ChildProcess[] = [];

/** Starts a process in the namespace; its stderr (and stdout unless `keepStdout`) go to `log`. */
function inNs(
  cmd: string,
  args: string[],
  log: string,
  opts: { keepStdout?: boolean; env?: Record<string, string> } = {},
): ChildProcess {
  const p = spawn('ip', ['netns', 'exec', NS, cmd, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...opts.env },
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
  if (opts.keepStdout !== true) p.stdout?.on('data', keep);
  procs.push(p);
  return p;
}

/** The browser in the namespace (test/interop/jssip/driver.ts): one JSON line per command each way. */
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

  /** Calls a SipJsPageApi method in the page (bounded); rejects with the page's error. */
  async do<K extends keyof SipJsPageApi>(
    op: K | 'close',
    args: Parameters<SipJsPageApi[K]>[0] | undefined,
    timeoutMs: number,
  ): Promise<Awaited<ReturnType<SipJsPageApi[K]>>> {
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
    return r['result'] as Awaited<ReturnType<SipJsPageApi[K]>>;
  }
}

interface BindingRow {
  aor: string;
  contact: string;
  path: string[];
  reg_id: number;
  instance: string | null;
  user_agent: string | null;
}

/** One SIP message on a page's WebSocket (the driver's FLOWGATE_WS_TRACE), as the browser saw it. */
interface WsMessage {
  readonly dir: 'sent' | 'received';
  readonly url: string;
  readonly startLine: string;
  readonly text: string;
  header(name: string): string | undefined;
}

function wsTrace(log: string): WsMessage[] {
  const out: WsMessage[] = [];
  for (const m of readText(log).matchAll(
    /\[ws (sent|received) ([^\]]+)\]\n([\s\S]*?)\n\[\/ws\]/g,
  )) {
    const text = m[3] ?? '';
    if (!/^(?:[A-Z]+ \S+ SIP\/2\.0|SIP\/2\.0 \d{3})/.test(text)) continue; // keep-alive CRLFs
    const head = text.split(/\r?\n\r?\n/)[0]?.split(/\r?\n/) ?? [];
    out.push({
      dir: m[1] === 'sent' ? 'sent' : 'received',
      url: m[2] ?? '',
      startLine: head[0] ?? '',
      text,
      header: (name) =>
        head
          .find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
          ?.slice(name.length + 1)
          .trim(),
    });
  }
  return out;
}

describe('SIP.js 0.21 with its default options in Chromium: registers over WS and WSS, is called, hangs up (issue 13 §1)', {
  skip: skipReason(),
  timeout: 120_000,
}, () => {
  let dir: string;
  let data: string;
  let driver: Driver;
  let fgLog: string;
  let dnsLog: string;

  function ctlBindings(): BindingRow[] {
    const out = execFileSync(
      'ip',
      ['netns', 'exec', NS, process.execPath, CLI, 'ctl', 'bindings', '--json', '--data-dir', data],
      { encoding: 'utf8', timeout: 10_000 },
    );
    return (JSON.parse(out) as { bindings: BindingRow[] }).bindings;
  }

  /** The SIP messages one user agent (by its From/To user for requests it sent) saw on its socket. */
  function sent(method: string, user: string): WsMessage[] {
    return wsTrace(driver.log).filter(
      (m) =>
        m.dir === 'sent' &&
        m.startLine.startsWith(`${method} `) &&
        (m.header('from') ?? '').includes(`sip:${user}@`),
    );
  }

  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-sipjs-'));
    data = join(dir, 'data');
    fgLog = join(dir, 'flowgate.log');
    dnsLog = join(dir, 'dns.log');
    writeFileSync(dnsLog, '');
    // the page: SIP.js (and JsSIP, the outbound peer) bundled for the browser with page.ts
    await build({
      entryPoints: [join(ROOT, 'test', 'interop', 'sipjs', 'page.ts')],
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'chrome120',
      outfile: join(dir, 'page.js'),
      logLevel: 'silent',
    });
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><meta charset="utf-8"><title>flowgate SIP.js interop</title><script src="/page.js"></script>\n',
    );
    // a WSS certificate for 127.0.0.1 from a throw-away CA (Chromium is told to accept it)
    const pki = makeTestPki();
    writeFileSync(join(dir, 'server.pem'), pki.cert);
    writeFileSync(join(dir, 'server.key'), pki.key);
    pki.cleanup();
    // the default system (edge + registrar, no authentication), with WS and WSS on the edge
    writeFileSync(
      join(dir, 'flowgate.yaml'),
      [
        `data_dir: ${data}`,
        'log: { level: info }',
        'management: { listen: 127.0.0.1:8081 }',
        'elements:',
        '  edge:',
        '    listen: [udp:127.0.0.1:5060, tcp:127.0.0.1:5060, ws:127.0.0.1:8080, wss:127.0.0.1:8443]',
        '    tls: { cert: server.pem, key: server.key }',
        '  registrar: {}',
        '',
      ].join('\n'),
    );
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);

    // flowgate with the test's resolver: every DNS question is written to dns.log and fails at once
    const fg = inNs(
      process.execPath,
      [
        '--import',
        join(ROOT, 'test', 'support', 'dns-hosts.mjs'),
        CLI,
        'start',
        '-c',
        join(dir, 'flowgate.yaml'),
      ],
      fgLog,
      { env: { FLOWGATE_TEST_HOSTS: '{}', FLOWGATE_TEST_DNS_LOG: dnsLog } },
    );
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
        [
          '--import',
          'tsx',
          join(ROOT, 'test', 'interop', 'jssip', 'driver.ts'),
          dir,
          '--ignore-certificate-errors',
        ],
        browserLog,
        { keepStdout: true, env: { FLOWGATE_WS_TRACE: '1' } },
      ),
      browserLog,
    );
    await driver.ready(30_000);
  });

  after(async () => {
    if (driver !== undefined && driver.proc.exitCode === null) {
      await driver.do('stopAll', { timeoutMs: 3000 }, 5000).catch(() => undefined);
      await driver.do('close', undefined, 5000).catch(() => undefined);
    }
    for (const p of procs) {
      p.stdout?.removeAllListeners('data');
      p.stderr?.removeAllListeners('data');
      p.kill('SIGKILL');
    }
    // whatever is left in the namespace (Chromium's own processes), by pid, then the namespace
    const pids = spawnSync('ip', ['netns', 'pids', NS], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split('\n').filter((x) => /^\d+$/.test(x))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir !== undefined && process.env['FLOWGATE_KEEP_TEST_DIR'] !== '1')
      rmSync(dir, { recursive: true, force: true });
  });

  test('alice and bob (SIP.js, WS) and carol (SIP.js, WSS) register with default options: 200; bound with a .invalid Contact, no reg-id, a flow token in the Path', async (t) => {
    // the package's version (its bundled `version` constant says 0.21.1 in 0.21.2)
    const pkg = JSON.parse(readText(join(ROOT, 'node_modules', 'sip.js', 'package.json'))) as {
      version: string;
    };
    const version = `${pkg.version} (bundle says ${await driver.do('version', undefined, 5000)})`;
    assert.match(version, /^0\.21\./, 'SIP.js 0.21');
    for (const [name, server] of [
      ['alice', WS],
      ['bob', WS],
      ['carol', WSS],
    ] as const) {
      const e = await driver.do(
        'registerSipJs',
        { name, aor: `sip:${name}@example.com`, server, timeoutMs: 10_000 },
        15_000,
      );
      const reg = sent('REGISTER', name)[0];
      t.diagnostic(
        `${name} (SIP.js ${version}, ${server}): ${e.event}${e.status === undefined ? '' : ` ${e.status}`}${e.detail === undefined ? '' : ` ${e.detail}`}; REGISTER Contact: ${reg?.header('contact')}; Supported: ${reg?.header('supported')}`,
      );
      assert.equal(e.event, 'registered', `${name}: ${JSON.stringify(e)}`);
      assert.ok(reg, `${name}'s REGISTER is in the WebSocket trace`);
      const contact = reg.header('contact') ?? '';
      assert.match(contact, /@[a-z0-9]+\.invalid;transport=ws>/, 'SIP.js default Contact');
      assert.doesNotMatch(contact, /reg-id|\+sip\.instance/, 'no RFC 5626 outbound');
      // what came back: 200 with a Path that carries the edge's flow token, and no Require: outbound
      const ok = wsTrace(driver.log).find(
        (m) =>
          m.dir === 'received' &&
          m.startLine.startsWith('SIP/2.0 200') &&
          (m.header('cseq') ?? '').endsWith('REGISTER') &&
          (m.header('call-id') ?? '') === reg.header('call-id'),
      );
      assert.ok(ok, `${name}: 200 to the REGISTER`);
      assert.equal(ok.header('require'), undefined, 'not an outbound registration');
      t.diagnostic(`${name}: 200 OK Path: ${ok.header('path')}`);
    }
    const rows = ctlBindings();
    for (const aor of ['alice', 'bob', 'carol']) {
      const b = rows.find((x) => x.aor === aor);
      assert.ok(b, `${aor} is bound: ${JSON.stringify(rows)}`);
      assert.match(b.contact, /\.invalid;transport=ws>?$/i);
      assert.equal(b.reg_id, 0, 'no reg-id');
      assert.match(
        b.path[0] ?? '',
        /^<sip:[^@;]+@127\.0\.0\.1;lr;ob>$/,
        'the edge pinned the flow with a token',
      );
      t.diagnostic(`binding ${aor}: ${b.contact} path ${b.path.join(',')} ua ${b.user_agent}`);
    }
  });

  for (const [callee, over] of [
    ['bob', 'WS'],
    ['carol', 'WSS'],
  ] as const) {
    test(`alice (SIP.js) calls ${callee} (SIP.js over ${over}): the INVITE reaches ${callee} over its flow, established; ${callee} hangs up: ended on both`, async (t) => {
      const setup = await driver.do(
        'call',
        { from: 'alice', to: callee, uri: `sip:${callee}@example.com`, timeoutMs: 15_000 },
        20_000,
      );
      t.diagnostic(`call set-up: ${summary(setup)}`);
      for (const n of ['alice', callee])
        assert.ok(
          setup.some((e) => e.ua === n && e.event === 'established'),
          `${n}: established (${summary(setup)})`,
        );
      const inv = wsTrace(driver.log).find(
        (m) =>
          m.dir === 'received' &&
          m.startLine.startsWith('INVITE ') &&
          m.url.startsWith(over === 'WS' ? WS : WSS) &&
          (m.header('to') ?? '').includes(`sip:${callee}@`),
      );
      assert.ok(inv, `the INVITE reached ${callee}'s WebSocket (${over})`);
      assert.match(inv.startLine, /^INVITE sip:[^@]+@[a-z0-9]+\.invalid;transport=ws SIP\/2\.0$/);
      t.diagnostic(`${callee} received: ${inv.startLine}`);
      const end = await driver.do(
        'hangup',
        { name: callee, other: 'alice', timeoutMs: 10_000 },
        15_000,
      );
      t.diagnostic(`hang-up: ${summary(end)}`);
      const bye = sent('BYE', callee).at(-1);
      assert.ok(bye, `${callee} sent BYE`);
      for (const n of ['alice', callee])
        assert.ok(
          end.some((e) => e.ua === n && e.event === 'ended'),
          `${n}: ended`,
        );
      // the BYE was answered 200 by alice (it crossed the edge and the registrar and came back)
      // (SIP.js ends the session when it sends the BYE, so the answer may come a little later)
      const answerToBye = (): WsMessage | undefined =>
        wsTrace(driver.log).find(
          (m) =>
            m.dir === 'received' &&
            m.startLine.startsWith('SIP/2.0 ') &&
            m.header('call-id') === bye.header('call-id') &&
            (m.header('cseq') ?? '').endsWith('BYE'),
        );
      await waitFor(() => answerToBye() !== undefined, 5000, `the answer to ${callee}'s BYE`);
      const byeOk = answerToBye();
      t.diagnostic(`${callee}'s ${bye.startLine} -> ${byeOk?.startLine}`);
      assert.match(byeOk?.startLine ?? '', /^SIP\/2\.0 200/, `${callee}'s BYE got 200`);
    });
  }

  test('outbound and non-outbound: dave (JsSIP, reg-id=1 +sip.instance over WS) calls carol (SIP.js, WSS), and bob (SIP.js, WS) calls dave; each established and hung up', async (t) => {
    const r = await driver.do(
      'registerJsSip',
      { name: 'dave', aor: 'sip:dave@example.com', server: WS, timeoutMs: 10_000 },
      15_000,
    );
    assert.equal(r.event, 'registered', JSON.stringify(r));
    const dave = ctlBindings().find((x) => x.aor === 'dave');
    assert.ok(dave);
    assert.equal(dave.reg_id, 1, 'dave registered with RFC 5626 outbound');
    assert.match(dave.instance ?? '', /urn:uuid:/);
    t.diagnostic(
      `dave (JsSIP): reg-id ${dave.reg_id}, instance ${dave.instance}, path ${dave.path.join(',')}`,
    );
    for (const [from, to, hangs] of [
      ['dave', 'carol', 'dave'],
      ['bob', 'dave', 'dave'],
    ] as const) {
      const setup = await driver.do(
        'call',
        { from, to, uri: `sip:${to}@example.com`, timeoutMs: 15_000 },
        20_000,
      );
      t.diagnostic(`${from} -> ${to}: ${summary(setup)}`);
      for (const n of [from, to])
        assert.ok(
          setup.some((e) => e.ua === n && e.event === 'established'),
          `${n}: established (${summary(setup)})`,
        );
      const other = hangs === from ? to : from;
      const end = await driver.do('hangup', { name: hangs, other, timeoutMs: 10_000 }, 15_000);
      t.diagnostic(`${hangs} hangs up: ${summary(end)}`);
      for (const n of [from, to])
        assert.ok(
          end.some((e) => e.ua === n && e.event === 'ended'),
          `${n}: ended`,
        );
    }
  });

  test('flowgate never looked up a .invalid name, and never answered 478', (t) => {
    const questions = readText(dnsLog).split('\n').filter(Boolean);
    t.diagnostic(
      `DNS questions flowgate asked: ${questions.length === 0 ? 'none' : questions.join('; ')}`,
    );
    assert.deepEqual(
      questions.filter((q) => /\.invalid\.?$/i.test(q)),
      [],
      'no question for a .invalid name',
    );
    const replies = wsTrace(driver.log).filter(
      (m) => m.dir === 'received' && /^SIP\/2\.0 4\d\d/.test(m.startLine),
    );
    t.diagnostic(
      `4xx the browsers received: ${replies.length === 0 ? 'none' : replies.map((m) => `${m.startLine} (${m.header('cseq')})`).join('; ')}`,
    );
    assert.ok(!replies.some((m) => /^SIP\/2\.0 478/.test(m.startLine)), 'no 478');
    assert.doesNotMatch(readText(fgLog), /\b478\b/);
  });
});

function summary(events: readonly UaEvent[]): string {
  return events
    .map(
      (e) =>
        `${e.ua}:${e.event}${e.status === undefined ? '' : `(${e.status})`}${e.detail === undefined ? '' : `[${e.detail}]`}`,
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
