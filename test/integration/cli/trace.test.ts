// Issue 13 §3: `flowgate ctl trace` against a started instance (the built CLI, edge + registrar):
// live SIP messages in the terminal as they flow, filtered by --aor (alice's registration and her
// call, nobody else's) and by --call-id (one registration, at one element, --count then exit).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WAIT_MS, waitFor } from '../../support/net.js';
import { TestUa } from '../../support/ua.js';
import { bye, callFrom } from '../../support/ua-call.js';
import { CLI, ensureBuilt, ROOT, Running, run } from './helpers.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-trace-'));
const TOKEN = 'trace-test-token-0123456789';

/** A `flowgate ctl trace` process: its output so far, and its exit. */
class TraceProc {
  stdout = '';
  stderr = '';
  code: number | null | undefined;
  readonly proc;
  constructor(url: string, args: readonly string[]) {
    this.proc = spawn(
      process.execPath,
      [CLI, 'ctl', '--url', url, '--token', TOKEN, 'trace', ...args],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc.stdout.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    this.proc.stderr.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.proc.on('exit', (code) => {
      this.code = code;
    });
  }
  /** Waits until it is tracing (it printed what it traces). */
  ready(): Promise<void> {
    return waitFor(
      () => /^tracing /m.test(this.stderr) || this.code !== undefined,
      WAIT_MS * 2,
      'ctl trace to start',
    );
  }
  /** The bound covers a node process's start as well (a CI run under load took over 5 s for it). */
  async exit(timeoutMs = WAIT_MS * 3): Promise<number | null> {
    await waitFor(() => this.code !== undefined, timeoutMs, 'ctl trace to exit');
    return this.code ?? null;
  }
  kill(): void {
    if (this.code === undefined) this.proc.kill('SIGKILL');
  }
}

/** The messages of the terminal output: each a header line and the message text. */
function shown(out: string): { head: string; text: string; callId: string }[] {
  return out
    .split(/^(?=── )/m)
    .filter((b) => b.startsWith('── '))
    .map((b) => {
      const [head = '', ...rest] = b.split('\n');
      const text = rest.join('\n');
      return { head, text, callId: /^(?:Call-ID|i): *(.+)$/im.exec(text)?.[1]?.trim() ?? '' };
    });
}

describe('flowgate ctl trace (issue 13 §3)', () => {
  let fg: Running;
  const uas: TestUa[] = [];
  const traces: TraceProc[] = [];

  before(async () => {
    ensureBuilt();
    const cfg = join(DIR, 'trace.yaml');
    writeFileSync(
      cfg,
      [
        'log: { level: warn }',
        `management: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
        'elements:',
        '  edge:',
        '    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]',
        '  registrar:',
        '    listen: [udp:127.0.0.1:0]',
        '    alias: [example.com]',
        '',
      ].join('\n'),
    );
    fg = await Running.start(['-c', cfg, '--data-dir', join(DIR, 'data')]);
    assert.equal(fg.exitCode, undefined, `flowgate exited early:\n${fg.stderr}`);
  });

  after(async () => {
    for (const t of traces) t.kill();
    for (const u of uas) u.close();
    await fg?.stop().catch(() => fg.kill());
    fg?.kill();
    rmSync(DIR, { recursive: true, force: true });
  });

  const phone = async (user: string, t: 'udp' | 'tcp'): Promise<TestUa> => {
    const u = await TestUa.connect(t, '127.0.0.1', fg.port('edge', t), { user });
    uas.push(u);
    return u;
  };

  test('--aor alice: her REGISTER and her call at both elements, as they flow; nobody else; Ctrl-C ends it (exit 0)', async () => {
    const trace = new TraceProc(fg.managementUrl, ['--aor', 'alice']);
    traces.push(trace);
    await trace.ready();
    assert.match(trace.stderr, /^tracing edge, registrar \(aor alice\); Ctrl-C to stop$/m);

    const carol = await phone('carol', 'udp');
    const bob = await phone('bob', 'tcp');
    const alice = await phone('alice', 'udp');
    assert.equal((await carol.register({ callId: 'carol-reg@test' })).status, 200);
    assert.equal((await bob.register({ callId: 'bob-reg@test' })).status, 200);
    assert.equal((await alice.register({ callId: 'alice-reg@test' })).status, 200);
    const call = await callFrom(alice, 'sip:bob@example.com');
    assert.equal(call.status, 200);
    assert.ok(call.dialog !== undefined);
    assert.equal((await bye(alice, call.dialog)).status, 200);
    const callId = call.dialog.callId;

    // the REGISTER (in and out at each element) and the call (INVITE, 100s, 180, 200, ACK,
    // BYE, 200 through both elements) arrive while the trace runs
    await waitFor(
      () => shown(trace.stdout).filter((m) => /^BYE /m.test(m.text)).length >= 4,
      WAIT_MS,
      'the BYE at both elements',
    );
    await waitFor(
      () =>
        shown(trace.stdout).filter((m) => m.callId === callId && /^SIP\/2\.0 200 /.test(m.text))
          .length >= 12,
      WAIT_MS,
      'the 200 to the BYE',
    );
    trace.proc.kill('SIGINT');
    assert.equal(await trace.exit(), 0, trace.stderr);

    const msgs = shown(trace.stdout);
    assert.deepEqual(
      [...new Set(msgs.map((m) => m.callId))].sort(),
      ['alice-reg@test', callId].sort(),
      'only alice: not carol, not bob',
    );
    const reg = msgs.filter((m) => m.callId === 'alice-reg@test');
    // in and out at the edge, at the registrar, and the 200 back through the edge
    assert.equal(reg.length, 6, reg.map((m) => m.head).join('\n'));
    const edgeUdp = fg.port('edge', 'udp');
    const regUdp = fg.port('registrar', 'udp');
    const a = `127.0.0.1:${alice.local.port}`;
    const heads = reg.map((m) => m.head.replace(/^── \S+ {2}/, ''));
    assert.match(
      heads[0] ?? '',
      new RegExp(`^edge {2}IN {2}UDP {2}${a} → 127\\.0\\.0\\.1:${edgeUdp} {2}\\(\\d+ bytes\\)$`),
    );
    assert.match(
      heads[1] ?? '',
      new RegExp(`^edge {2}OUT UDP {2}127\\.0\\.0\\.1:${edgeUdp} → 127\\.0\\.0\\.1:${regUdp} `),
    );
    assert.match(
      heads[2] ?? '',
      new RegExp(
        `^registrar {2}IN {2}UDP {2}127\\.0\\.0\\.1:${edgeUdp} → 127\\.0\\.0\\.1:${regUdp} `,
      ),
    );
    assert.match(
      heads[3] ?? '',
      new RegExp(
        `^registrar {2}OUT UDP {2}127\\.0\\.0\\.1:${regUdp} → 127\\.0\\.0\\.1:${edgeUdp} `,
      ),
    );
    assert.match(reg[0]?.text ?? '', /^REGISTER sip:example\.com SIP\/2\.0\nVia: SIP\/2\.0\/UDP /);
    assert.match(
      heads[4] ?? '',
      new RegExp(`^edge {2}IN {2}UDP {2}127\\.0\\.0\\.1:${regUdp} → 127\\.0\\.0\\.1:${edgeUdp} `),
    );
    assert.match(
      heads[5] ?? '',
      new RegExp(`^edge {2}OUT UDP {2}127\\.0\\.0\\.1:${edgeUdp} → ${a} `),
    );
    assert.match(reg[3]?.text ?? '', /^SIP\/2\.0 200 OK\n/);
    assert.match(reg[5]?.text ?? '', /^SIP\/2\.0 200 OK\n/);
    // bob's leg of the call is over TCP, and it is shown (the call matched alice)
    assert.ok(
      msgs.some((m) => / OUT TCP .* → 127\.0\.0\.1:\d+ /.test(m.head) && /^INVITE /.test(m.text)),
    );
    // the time is ISO with microseconds
    assert.match(msgs[0]?.head ?? '', /^── \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z {2}/);
  });

  test('--call-id X --element registrar --json --count 2: that REGISTER at the registrar, then exit 0', async () => {
    const dave = await phone('dave', 'udp');
    const trace = new TraceProc(fg.managementUrl, [
      '--call-id',
      'dave-reg@test',
      '--element',
      'registrar',
      '--json',
      '--count',
      '2',
    ]);
    traces.push(trace);
    await trace.ready();
    assert.equal((await dave.register({ callId: 'other@test' })).status, 200);
    assert.equal((await dave.register({ callId: 'dave-reg@test' })).status, 200);
    assert.equal(await trace.exit(), 0, trace.stderr);
    const lines = trace.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines[0]?.['type'], 'start');
    assert.deepEqual(lines[0]?.['elements'], ['registrar']);
    const msgs = lines.slice(1);
    assert.deepEqual(
      msgs.map((m) => [m['type'], m['element'], m['direction'], m['transport'], m['call_id']]),
      [
        ['message', 'registrar', 'in', 'udp', 'dave-reg@test'],
        ['message', 'registrar', 'out', 'udp', 'dave-reg@test'],
      ],
    );
    assert.match(String(msgs[0]?.['first_line']), /^REGISTER sip:example\.com SIP\/2\.0$/);
    assert.match(String(msgs[1]?.['message']), /^SIP\/2\.0 200 OK\r\n/);
    assert.equal(msgs[0]?.['bytes'], Buffer.byteLength(String(msgs[0]?.['message'])));
  });

  test('an unknown element: exit 1 naming the elements', async () => {
    const trace = new TraceProc(fg.managementUrl, ['--element', 'nope']);
    traces.push(trace);
    assert.equal(await trace.exit(), 1);
    assert.equal(trace.stderr, "flowgate ctl: no element 'nope' (there are: edge, registrar)\n");
  });

  test('ctl capture: a table per element; on without modules.siptrace is refused (exit 1)', async () => {
    const r = await run(['ctl', '--url', fg.managementUrl, '--token', TOKEN, 'capture']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ELEMENT +CAPTURE +COLLECTOR +ID +SENT +DROPPED +CONNECTED$/m);
    assert.match(r.stdout, /^edge +not loaded /m);
    assert.match(r.stdout, /^registrar +not loaded /m);
    const on = await run(['ctl', '--url', fg.managementUrl, '--token', TOKEN, 'capture', 'on']);
    assert.equal(on.code, 1);
    assert.equal(
      on.stderr,
      'flowgate ctl: no element loads siptrace: add modules.siptrace with duplicate_uri (the HEP collector) to an element\n',
    );
  });
});
