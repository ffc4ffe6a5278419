// Issue 13 §1: UAs that do not use RFC 5626 are still reachable through the edge. Over real TCP and
// UDP on loopback: a UA whose Contact cannot be reached (SIP.js's `xxxx.invalid`, a private NAT
// address) registers without reg-id; calls reach it over the flow it registered on; the edge pings
// a UDP one; when its connection closes, or it stops answering the pings, a call fails at once
// (480 after the edge's 430), with no DNS lookup of its Contact.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, startInstance } from '../../../src/cli/instance.js';
import { parseConfig } from '../../../src/config/load.js';
import { noopLogger } from '../../../src/util/logger.js';
import { TestCaller, TestUa, waitFor } from '../../support/ua.js';

describe('UAs without outbound behind NAT (issue 13 §1)', () => {
  let dir: string;
  let inst: Instance;
  let edgeUdp = 0;
  let edgeTcp = 0;
  let regPort = 0;
  const closers: (() => unknown)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-nat-'));
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
    modules:
      nathelper: { natping_interval: 1, keepalive_timeout: 3 }
  registrar:
    listen: [udp:127.0.0.1:0]
    modules: { usrloc: { backend: memory } }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    const edge = inst.elements.find((e) => e.config.name === 'edge');
    edgeUdp = edge?.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
    edgeTcp = edge?.listeners.find((l) => l.proto === 'tcp')?.port ?? 0;
    regPort = inst.elements.find((e) => e.config.name === 'registrar')?.listeners[0]?.port ?? 0;
  });

  after(async () => {
    for (const c of closers) await c();
    await inst?.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  const edgeServer = () => inst.elements.find((e) => e.config.name === 'edge')?.server;

  test('TCP, Contact xxxx.invalid (SIP.js style): called over its connection; connection gone -> 480 at once', async () => {
    const ua = await TestUa.connect('tcp', '127.0.0.1', edgeTcp, { user: 'sipjs' });
    closers.push(() => ua.close());
    const r = await ua.register({ contact: '<sip:k3j2h1@df7jal23ls0d.invalid;transport=tcp>' });
    assert.equal(r.status, 200, r.toString());
    assert.match(
      r.getHeader('Path') ?? '',
      /^<sip:[^@]+@127\.0\.0\.1:\d+;lr;ob>$/,
      'a flow token in the Path',
    );
    assert.equal(r.getHeader('Require'), undefined, 'not an outbound registration');
    const caller = await TestCaller.open();
    closers.push(() => caller.close());
    const t0 = Date.now();
    const call = await caller.call('sip:sipjs@example.com', '127.0.0.1', regPort);
    assert.equal(call.status, 200);
    const inv = await ua.nextRequest('INVITE');
    assert.equal(inv.uri, 'sip:k3j2h1@df7jal23ls0d.invalid;transport=tcp');
    ua.close();
    await waitFor(() => ua.closed, 2000, 'the UA connection closed');
    // and the edge has seen it close (its only TCP connection): the next INVITE finds no flow
    await waitFor(
      () => !(edgeServer()?.transport.flows?.() ?? []).some((f) => String(f.proto) === 'tcp'),
      2000,
      'the edge to see the connection close',
    );
    const again = await caller.call('sip:sipjs@example.com', '127.0.0.1', regPort);
    assert.equal(again.status, 480, 'the flow is gone: 430 at the edge, 480 to the caller');
    assert.ok(Date.now() - t0 < 5000, 'at once, not after fr_timer');
  });

  test('UDP behind NAT (private Contact): pinged by the edge, called at its NAT address; silent -> 480 at once', async () => {
    const ua = await TestUa.connect('udp', '127.0.0.1', edgeUdp, { user: 'natted' });
    closers.push(() => ua.close());
    const r = await ua.register({ contact: '<sip:natted@10.1.2.3:5060>', expires: 600 });
    assert.equal(r.status, 200);
    // the edge pings it (OPTIONS every natping_interval); TestUa answers OPTIONS with 200
    await ua.nextRequest('OPTIONS', 4000);
    assert.ok((edgeServer()?.nathelper?.pingedCount ?? 0) >= 1);
    const caller = await TestCaller.open();
    closers.push(() => caller.close());
    const call = await caller.call('sip:natted@example.com', '127.0.0.1', regPort);
    assert.equal(call.status, 200, 'reached at its source address, not 10.1.2.3');
    // it goes silent: no answers to pings (nor to calls); after keepalive_timeout the edge knows
    ua.answer = 'silent';
    const seen = ua.requests.length;
    await new Promise((res) => setTimeout(res, 4500));
    assert.ok(ua.requests.length > seen, 'pings kept coming');
    const t0 = Date.now();
    const gone = await caller.call('sip:natted@example.com', '127.0.0.1', regPort);
    assert.equal(gone.status, 480);
    assert.ok(
      Date.now() - t0 < 2000,
      `430 at once from the edge, not after fr_timer (${Date.now() - t0} ms)`,
    );
  });

  test('a UA on the edge host itself (Contact = its source): no token, routed by its Contact', async () => {
    const ua = await TestUa.connect('udp', '127.0.0.1', edgeUdp, { user: 'direct' });
    closers.push(() => ua.close());
    const l = ua.local;
    const r = await ua.register({ contact: `<sip:direct@${l.address}:${l.port}>` });
    assert.equal(r.status, 200);
    assert.match(r.getHeader('Path') ?? '', /^<sip:127\.0\.0\.1:\d+;lr>$/, 'no token, no ;ob');
    const caller = await TestCaller.open();
    closers.push(() => caller.close());
    assert.equal((await caller.call('sip:direct@example.com', '127.0.0.1', regPort)).status, 200);
  });
});
