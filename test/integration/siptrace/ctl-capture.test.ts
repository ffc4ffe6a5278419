// Issue 13 §3: capture switched at run time from the command line. A real `flowgate start` (the
// built CLI) whose edge and registrar capture to a test HEP collector; `flowgate ctl capture`
// shows both, `off --element edge` stops the edge's packets while the registrar's go on, `on`
// brings them back, and what arrives is a registration's messages, decoded.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startUdpCollector, type TestCollector } from '../../support/hep-collector.js';
import { WAIT_MS, waitFor } from '../../support/net.js';
import { TestUa } from '../../support/ua.js';
import { ensureBuilt, Running, run } from '../cli/helpers.js';

const TOKEN = 'ctl-capture-token-0123456789';

describe('flowgate ctl capture (issue 13 §3)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fg-ctl-capture-'));
  let fg: Running;
  let col: TestCollector;
  const uas: TestUa[] = [];
  const ctl = (...args: string[]) =>
    run(['ctl', '--url', fg.managementUrl, '--token', TOKEN, 'capture', ...args]);
  // by Call-ID: the edge's OPTIONS probes of the registrar are captured too, whenever they run
  const count = (id: number, callId: string): number =>
    col.packets.filter((p) => p.captureId === id && p.correlationId === callId).length;

  before(async () => {
    ensureBuilt();
    col = await startUdpCollector();
    const cfg = join(dir, 'capture.yaml');
    writeFileSync(
      cfg,
      [
        'log: { level: warn }',
        `management: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
        'elements:',
        '  edge:',
        '    listen: [udp:127.0.0.1:0]',
        '    modules:',
        `      siptrace: { duplicate_uri: ${col.uri}, hep_capture_id: 11 }`,
        '  registrar:',
        '    listen: [udp:127.0.0.1:0]',
        '    alias: [example.com]',
        '    modules:',
        `      siptrace: { duplicate_uri: ${col.uri}, hep_capture_id: 22, trace_on: 0 }`,
        '',
      ].join('\n'),
    );
    fg = await Running.start(['-c', cfg, '--data-dir', join(dir, 'data')]);
    assert.equal(fg.exitCode, undefined, `flowgate exited early:\n${fg.stderr}`);
  });

  after(async () => {
    for (const u of uas) u.close();
    await fg?.stop().catch(() => fg.kill());
    fg?.kill();
    await col?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const register = async (callId: string): Promise<void> => {
    const ua =
      uas[0] ??
      (await TestUa.connect('udp', '127.0.0.1', fg.port('edge', 'udp'), { user: 'alice' }));
    if (uas.length === 0) uas.push(ua);
    assert.equal((await ua.register({ callId })).status, 200);
  };

  test('the table: the edge on (trace_on default), the registrar off (trace_on: 0)', async () => {
    const r = await ctl();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ELEMENT +CAPTURE +COLLECTOR +ID +SENT +DROPPED +CONNECTED$/m);
    assert.match(r.stdout, new RegExp(`^edge +on +${col.uri} +11 +\\d+ +0 +yes$`, 'm'));
    assert.match(r.stdout, new RegExp(`^registrar +off +${col.uri} +22 +0 +0 +`, 'm'));
  });

  test('on, off --element edge, on: what reaches the collector follows', async () => {
    const on = await ctl('on');
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /^registrar +on /m);
    await register('both-on@test');
    // REGISTER in/out and 200 in/out at the edge; REGISTER in and 200 out at the registrar
    const both = 'both-on@test';
    await waitFor(
      () => count(11, both) === 4 && count(22, both) === 2,
      WAIT_MS,
      'both elements capture, each message once',
    );
    assert.deepEqual(col.errors, []);

    const off = await ctl('off', '--element', 'edge');
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /^edge +off /m);
    await register('edge-off@test');
    await waitFor(() => count(22, 'edge-off@test') === 2, WAIT_MS, 'the registrar still captures');
    assert.equal(count(11, 'edge-off@test'), 0, 'nothing from the edge while it is off');

    const back = await ctl('on', '--element', 'edge');
    assert.equal(back.code, 0, back.stderr);
    await register('edge-on@test');
    await waitFor(
      () => count(11, 'edge-on@test') === 4 && count(22, 'edge-on@test') === 2,
      WAIT_MS,
      'the edge captures again',
    );
    assert.equal(count(11, 'edge-off@test'), 0);
    const st = await ctl();
    const sent = col.packets.filter((p) => p.captureId === 11).length;
    assert.match(st.stdout, new RegExp(`^edge +on +${col.uri} +11 +${sent} +0 +yes$`, 'm'));
  });

  test('bad use: an unknown element and a third word are refused (exit 1 or 2)', async () => {
    const nope = await ctl('off', '--element', 'nope');
    assert.equal(nope.code, 1);
    assert.match(nope.stderr, /no element 'nope'/);
    const bad = await ctl('maybe');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /usage: flowgate ctl capture \[on\|off\]/);
  });
});
