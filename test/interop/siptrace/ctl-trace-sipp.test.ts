// Issue 13 §3: `flowgate ctl trace` with a real server (the built CLI's `flowgate start`, edge +
// registrar) and real clients (sipp). carol and alice register over UDP, bob over TCP, and alice
// calls bob, who answers on his registration's flow. Two traces run meanwhile: `--aor alice` in the
// terminal's text form and `--aor bob --json`. Each shows its user's messages, at both elements
// and in both directions, as sipp sent and received them, and nobody else's. `--call-id` then
// follows one registration and stops after `--count`. Skipped when sipp is not installed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, ensureBuilt, ROOT, Running } from '../../integration/cli/helpers.js';
import { WAIT_MS, waitFor } from '../../support/net.js';
import { type SippResult, sippSkip, startSipp } from '../peers.js';

const HERE = import.meta.dirname;
const TOKEN = 'trace-sipp-token-0123456789';
const CALL_ID = 'alice-calls-bob@sipp';

/** A running `flowgate ctl trace`: its output so far, and its exit. */
class Trace {
  stdout = '';
  stderr = '';
  code: number | null | undefined;
  readonly proc: ChildProcess;
  constructor(url: string, args: readonly string[]) {
    this.proc = spawn(
      process.execPath,
      [CLI, 'ctl', '--url', url, '--token', TOKEN, 'trace', ...args],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc.stdout?.on('data', (d: Buffer) => {
      this.stdout += d.toString();
    });
    this.proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    this.proc.on('exit', (code) => {
      this.code = code;
    });
  }
  ready(): Promise<void> {
    return waitFor(
      () => /^tracing /m.test(this.stderr) || this.code !== undefined,
      WAIT_MS * 2,
      'ctl trace to start',
    );
  }
  async exit(): Promise<number | null> {
    await waitFor(() => this.code !== undefined, WAIT_MS, 'ctl trace to exit');
    return this.code ?? null;
  }
  kill(): void {
    if (this.code === undefined) this.proc.kill('SIGKILL');
  }
}

interface Shown {
  readonly element: string;
  readonly dir: string;
  readonly proto: string;
  readonly src: string;
  readonly dst: string;
  readonly text: string;
  readonly firstLine: string;
  readonly callId: string;
}

/** The messages of the terminal form: a header line, then the message (LF line ends). */
function parseText(out: string): Shown[] {
  return out
    .split(/^(?=── )/m)
    .filter((b) => b.startsWith('── '))
    .map((b) => {
      const [head = '', ...rest] = b.split('\n');
      const h = /^── \S+ {2}(\S+) {2}(IN |OUT) (\S+) {2}(\S+) → (\S+) {2}\(\d+ bytes\)$/.exec(head);
      assert.ok(h !== null, `not a trace header: ${head}`);
      const text = rest.join('\n').replace(/\n+$/, '');
      return {
        element: h[1] ?? '',
        dir: (h[2] ?? '').trim().toLowerCase(),
        proto: (h[3] ?? '').toLowerCase(),
        src: h[4] ?? '',
        dst: h[5] ?? '',
        text,
        firstLine: text.split('\n')[0] ?? '',
        callId: /^(?:Call-ID|i): *(.+)$/im.exec(text)?.[1]?.trim() ?? '',
      };
    });
}

/** The messages of the JSON form. */
function parseJson(out: string): Shown[] {
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((m) => m['type'] === 'message')
    .map((m) => ({
      element: String(m['element']),
      dir: String(m['direction']),
      proto: String(m['transport']),
      src: String(m['src']),
      dst: String(m['dst']),
      text: String(m['message']).replace(/\r\n/g, '\n').replace(/\n+$/, ''),
      firstLine: String(m['first_line']),
      callId: String(m['call_id']),
    }));
}

/** A message sipp sent, as a trace shows it (LF line ends, no trailing empty lines). */
const asShown = (text: string): string => text.replace(/\r\n/g, '\n').replace(/\n+$/, '');

describe('flowgate ctl trace with sipp clients (issue 13 §3)', { skip: sippSkip() }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-trace-sipp-'));
  let fg: Running;
  const traces: Trace[] = [];
  let aliceTrace: Trace;
  let bobTrace: Trace;
  let carol: SippResult;
  let aliceReg: SippResult;
  let bob: SippResult;
  let call: SippResult;
  const ports = { edgeUdp: 0, edgeTcp: 0, regUdp: 0 };

  before(async () => {
    ensureBuilt();
    const cfg = join(dir, 'trace.yaml');
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
    fg = await Running.start(['-c', cfg, '--data-dir', join(dir, 'data')]);
    assert.equal(fg.exitCode, undefined, `flowgate exited early:\n${fg.stderr}`);
    ports.edgeUdp = fg.port('edge', 'udp');
    ports.edgeTcp = fg.port('edge', 'tcp');
    ports.regUdp = fg.port('registrar', 'udp');

    aliceTrace = new Trace(fg.managementUrl, ['--aor', 'alice']);
    bobTrace = new Trace(fg.managementUrl, ['--aor', 'bob@example.com', '--json']);
    traces.push(aliceTrace, bobTrace);
    await aliceTrace.ready();
    await bobTrace.ready();

    const edgeUdp = `127.0.0.1:${ports.edgeUdp}`;
    const reg = (user: string): Promise<SippResult> =>
      startSipp('uac-register-outbound-hold', {
        target: edgeUdp,
        keys: { user, instance: `0000-${user}`, expires: 600 },
        holdMs: 0,
        extraArgs: ['-cid_str', `${user}-reg@sipp`],
      }).then((p) => p.done);
    carol = await reg('carol');
    aliceReg = await reg('alice');
    // bob registers over TCP and waits on that flow for alice's call (same Call-ID: sipp ties the
    // INVITE to his scenario by it)
    const bobUa = await startSipp(join(HERE, 'ua-register-answer.xml'), {
      target: `127.0.0.1:${ports.edgeTcp}`,
      transport: 't1',
      keys: { user: 'bob', instance: '0000-bob' },
      extraArgs: ['-cid_str', CALL_ID],
    });
    await waitFor(
      () => parseJson(bobTrace.stdout).some((m) => /^SIP\/2\.0 200 /.test(m.firstLine)),
      WAIT_MS * 2,
      "bob's registration",
    );
    call = await (
      await startSipp(join(HERE, 'uac-call-aor.xml'), {
        target: edgeUdp,
        keys: { user: 'alice' },
        service: 'bob',
        extraArgs: ['-cid_str', CALL_ID],
      })
    ).done;
    bob = await bobUa.done;
  });

  after(async () => {
    for (const t of traces) t.kill();
    await fg?.stop().catch(() => fg.kill());
    fg?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the sipp clients registered and the call went through', () => {
    for (const r of [carol, aliceReg, bob, call]) assert.equal(r.stats?.successful, 1, r.summary());
  });

  test('--aor alice: her registration and her call at both elements, as sipp saw them; nobody else; Ctrl-C ends it', async () => {
    // the 200 to the BYE is the call's last message: at the registrar (out) and the edge (in, out)
    await waitFor(
      () =>
        parseText(aliceTrace.stdout).filter(
          (m) =>
            m.callId === CALL_ID && /^SIP\/2\.0 200 /.test(m.firstLine) && / BYE$/m.test(m.text),
        ).length >= 4,
      WAIT_MS,
      "the 200 to alice's BYE",
    );
    aliceTrace.proc.kill('SIGINT');
    assert.equal(await aliceTrace.exit(), 0, aliceTrace.stderr);
    const shown = parseText(aliceTrace.stdout);
    assert.deepEqual(
      [...new Set(shown.map((m) => m.callId))].sort(),
      ['alice-reg@sipp', CALL_ID].sort(),
      'alice only: not carol, and not bob before the call',
    );
    // her REGISTER: in and out at the edge and at the registrar, the 200 back the same way
    const reg = shown.filter((m) => m.callId === 'alice-reg@sipp');
    assert.deepEqual(
      reg.map((m) => [m.element, m.dir, m.proto, m.firstLine.split(' ')[0]]),
      [
        ['edge', 'in', 'udp', 'REGISTER'],
        ['edge', 'out', 'udp', 'REGISTER'],
        ['registrar', 'in', 'udp', 'REGISTER'],
        ['registrar', 'out', 'udp', 'SIP/2.0'],
        ['edge', 'in', 'udp', 'SIP/2.0'],
        ['edge', 'out', 'udp', 'SIP/2.0'],
      ],
    );
    // what sipp sent is what the edge shows it received, byte for byte (but for line ends)
    const aliceSent = aliceReg.messages.filter((m) => m.dir === 'sent').map((m) => m.text);
    assert.equal(aliceSent.length, 1);
    assert.equal(reg[0]?.text, asShown(aliceSent[0] ?? ''));
    const aliceGot = aliceReg.messages.filter((m) => m.dir === 'received' && /^SIP/.test(m.line));
    assert.equal(reg[5]?.text, asShown(aliceGot.at(-1)?.text ?? ''));

    // the call: every request and response, through both elements; bob's leg over TCP
    const c = shown.filter((m) => m.callId === CALL_ID);
    for (const [el, d, line] of [
      ['edge', 'in', /^INVITE sip:bob@example\.com /],
      ['edge', 'out', /^INVITE /],
      ['registrar', 'in', /^INVITE /],
      ['registrar', 'out', /^INVITE /],
      ['edge', 'out', /^SIP\/2\.0 180 /],
      ['edge', 'out', /^SIP\/2\.0 200 /],
      ['edge', 'in', /^ACK /],
      ['edge', 'in', /^BYE /],
      ['registrar', 'in', /^BYE /],
    ] as const)
      assert.ok(
        c.some((m) => m.element === el && m.dir === d && line.test(m.firstLine)),
        `${el} ${d} ${line}:\n${c.map((m) => `${m.element} ${m.dir} ${m.firstLine}`).join('\n')}`,
      );
    assert.ok(
      c.some((m) => m.proto === 'tcp' && m.dir === 'out' && /^INVITE /.test(m.firstLine)),
      "the INVITE on bob's TCP flow",
    );
    const invite = call.messages.find((m) => m.dir === 'sent' && /^INVITE /.test(m.line));
    assert.ok(invite !== undefined);
    assert.equal(
      c.find((m) => m.element === 'edge' && m.dir === 'in' && /^INVITE /.test(m.firstLine))?.text,
      asShown(invite.text),
    );
  });

  test('--aor bob --json: his registration over TCP and the call he took, nobody else', async () => {
    await waitFor(
      () =>
        parseJson(bobTrace.stdout).some(
          (m) => m.proto === 'tcp' && /^SIP\/2\.0 200 /.test(m.firstLine) && /BYE$/m.test(m.text),
        ),
      WAIT_MS,
      "bob's 200 to the BYE",
    );
    bobTrace.proc.kill('SIGINT');
    assert.equal(await bobTrace.exit(), 0, bobTrace.stderr);
    const shown = parseJson(bobTrace.stdout);
    assert.deepEqual([...new Set(shown.map((m) => m.callId))], [CALL_ID]);
    const tcp = `127.0.0.1:${ports.edgeTcp}`;
    const first = shown[0];
    assert.deepEqual(
      [first?.element, first?.dir, first?.proto, first?.dst, first?.firstLine],
      ['edge', 'in', 'tcp', tcp, 'REGISTER sip:example.com SIP/2.0'],
    );
    const bobSent = bob.messages.filter((m) => m.dir === 'sent');
    // what bob sent over his flow: REGISTER, 180, 200, 200 (to the BYE), each shown as received
    for (const s of bobSent)
      assert.ok(
        shown.some((m) => m.dir === 'in' && m.proto === 'tcp' && m.text === asShown(s.text)),
        `not in the trace as received:\n${s.text}`,
      );
    // what bob received over it, each shown as sent
    for (const r of bob.messages.filter((m) => m.dir === 'received'))
      assert.ok(
        shown.some((m) => m.dir === 'out' && m.proto === 'tcp' && m.text === asShown(r.text)),
        `not in the trace as sent:\n${r.text}`,
      );
  });

  test('--call-id carol-reg@sipp --count 6: nothing yet; a new registration of carol, then exit 0', async () => {
    const t = new Trace(fg.managementUrl, ['--call-id', 'carol-reg@sipp', '--count', '6']);
    traces.push(t);
    await t.ready();
    const again = await (
      await startSipp('uac-register-outbound-hold', {
        target: `127.0.0.1:${ports.edgeUdp}`,
        keys: { user: 'carol', instance: '0000-carol', expires: 600 },
        holdMs: 0,
        extraArgs: ['-cid_str', 'carol-reg@sipp'],
      })
    ).done;
    assert.equal(again.stats?.successful, 1, again.summary());
    assert.equal(await t.exit(), 0, t.stderr);
    const shown = parseText(t.stdout);
    assert.equal(shown.length, 6);
    assert.ok(shown.every((m) => m.callId === 'carol-reg@sipp'));
    assert.deepEqual(
      shown.map((m) => `${m.element} ${m.dir}`),
      ['edge in', 'edge out', 'registrar in', 'registrar out', 'edge in', 'edge out'],
    );
  });
});
