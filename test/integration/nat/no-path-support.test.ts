// Issue 13 §1: phones without RFC 5626 often do not list `path` in Supported (baresip without
// outbound sends no Supported at all; linphone sends `replaces, outbound, gruu`). The registrar
// (path_mode 2, RFC 3327 §5.3) refuses a Path the UA did not say it supports with 420, and the edge
// always adds one, so such a phone could not register at all through the default system. The edge
// now adds `Supported: path` for a client REGISTER without reg-id that lacks it (it owns the Path it
// adds). Over real UDP and TCP on loopback, with a private Contact (a phone behind NAT).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, startInstance } from '../../../src/cli/instance.js';
import { parseConfig } from '../../../src/config/load.js';
import { noopLogger } from '../../../src/util/logger.js';
import { TestCaller, TestUa } from '../../support/ua.js';

describe('UAs without outbound that do not list path in Supported (issue 13 §1)', () => {
  let dir: string;
  let inst: Instance;
  let edgeUdp = 0;
  let edgeTcp = 0;
  let regPort = 0;
  const closers: (() => unknown)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-nopath-'));
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
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

  for (const [proto, supported, like] of [
    ['udp', '', 'baresip without outbound: no option tags'],
    ['tcp', 'replaces, outbound, gruu', 'linphone: no path'],
  ] as const) {
    test(`${proto}, Supported "${supported}" (${like}), private Contact: 200 with the edge's flow token in the Path; a call reaches it`, async () => {
      const user = `nopath-${proto}`;
      const ua = await TestUa.connect(proto, '127.0.0.1', proto === 'udp' ? edgeUdp : edgeTcp, {
        user,
      });
      closers.push(() => ua.close());
      const r = await ua.register({
        contact: `<sip:${user}@10.0.0.2:5060${proto === 'tcp' ? ';transport=tcp' : ''}>`,
        supported,
      });
      assert.equal(r.status, 200, r.toString());
      assert.match(r.getHeader('Path') ?? '', /^<sip:[^@]+@127\.0\.0\.1:\d+;lr;ob>$/);
      const caller = await TestCaller.open();
      closers.push(() => caller.close());
      const call = await caller.call(`sip:${user}@example.com`, '127.0.0.1', regPort);
      assert.equal(call.status, 200);
      const inv = await ua.nextRequest('INVITE');
      assert.match(inv.uri, /@10\.0\.0\.2:5060/, 'its Contact, reached over its flow');
    });
  }

  test('an outbound REGISTER (reg-id) without path in Supported is left as it is: 420', async () => {
    const ua = await TestUa.connect('tcp', '127.0.0.1', edgeTcp, { user: 'ob-nopath' });
    closers.push(() => ua.close());
    const r = await ua.register({ supported: 'outbound' });
    assert.equal(r.status, 420, r.toString());
    assert.equal(r.getHeader('Unsupported'), 'path');
  });
});
