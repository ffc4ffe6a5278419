// Issue 13 §3: capture of messages on a connection an element opens itself. The edge reaches the
// registrar over TCP (edge.registrar with ;transport=tcp), so its first REGISTER leaves on a
// connection that is still connecting. Both elements capture to one collector: every packet has
// real ports on both sides (never 0, never the listener's port for the edge's own connection), and
// each message of the edge-registrar leg is seen alike by the sender and the receiver.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, type RunningElement, startInstance } from '../../../src/cli/instance.js';
import { parseConfig } from '../../../src/config/load.js';
import type { DecodedHep } from '../../../src/modules/siptrace/index.js';
import { noopLogger } from '../../../src/util/logger.js';
import { startUdpCollector, type TestCollector } from '../../support/hep-collector.js';
import { freePort, WAIT_MS } from '../../support/net.js';
import { TestUa, waitFor } from '../../support/ua.js';
import { bye, callFrom } from '../../support/ua-call.js';

const ep = (a: { address: string; port: number }): string => `${a.address}:${a.port}`;

describe('siptrace: an outgoing TCP connection between the elements (issue 13 §3)', () => {
  let dir: string;
  let inst: Instance;
  let col: TestCollector;
  let edge: RunningElement;
  let registrar: RunningElement;
  let regPort = 0;
  const uas: TestUa[] = [];

  const total = (e: RunningElement): number => {
    const s = e.server.transport.stats?.();
    let n = 0;
    for (const v of Object.values(s?.messagesIn ?? {})) n += v;
    for (const v of Object.values(s?.messagesOut ?? {})) n += v;
    return n;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-siptrace-tcp-'));
    col = await startUdpCollector();
    // on an address of its own: with a TCP registrar URI the edge knows the registrar by address
    // alone, and the phones are on 127.0.0.1
    regPort = await freePort('tcp', '127.0.0.2');
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
    edge: { registrar: "sip:127.0.0.2:${regPort};transport=tcp", registrar_probe_interval: 0 }
    modules:
      siptrace: { duplicate_uri: ${col.uri}, hep_capture_id: 1 }
  registrar:
    listen: [tcp:127.0.0.2:${regPort}, udp:127.0.0.2:0]
    alias: [example.com]
    modules:
      usrloc: { backend: memory }
      siptrace: { duplicate_uri: ${col.uri}, hep_capture_id: 2 }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    edge = inst.elements.find((e) => e.config.name === 'edge') as RunningElement;
    registrar = inst.elements.find((e) => e.config.name === 'registrar') as RunningElement;
    const port = (p: 'udp' | 'tcp'): number => edge.listeners.find((l) => l.proto === p)?.port ?? 0;
    const alice = await TestUa.connect('udp', '127.0.0.1', port('udp'), { user: 'alice' });
    const bob = await TestUa.connect('tcp', '127.0.0.1', port('tcp'), { user: 'bob' });
    uas.push(alice, bob);
    assert.equal((await alice.register()).status, 200);
    assert.equal((await bob.register()).status, 200);
    const call = await callFrom(alice, 'sip:bob@example.com');
    assert.equal(call.status, 200, call.response.toString());
    assert.ok(call.dialog !== undefined);
    await bob.nextRequest('ACK');
    assert.equal((await bye(alice, call.dialog)).status, 200);
    await waitFor(
      () => col.packets.length === total(edge) + total(registrar),
      WAIT_MS,
      'the collector has every message of both elements',
    );
  });

  after(async () => {
    for (const u of uas) u.close();
    await inst?.stop(0);
    await col?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every packet has real ports; the leg is captured alike by sender and receiver', () => {
    assert.deepEqual(col.errors, []);
    for (const p of col.packets) {
      assert.notEqual(p.src.port, 0, `${ep(p.src)} -> ${ep(p.dst)}`);
      assert.notEqual(p.dst.port, 0, `${ep(p.src)} -> ${ep(p.dst)}`);
    }
    const reg = `127.0.0.2:${regPort}`;
    const edgeSide = col.packets.filter((p) => p.captureId === 1);
    const regSide = col.packets.filter((p) => p.captureId === 2);
    const toReg = edgeSide.filter((p) => ep(p.dst) === reg);
    const fromReg = edgeSide.filter((p) => ep(p.src) === reg);
    assert.ok(toReg.length >= 4, `${toReg.length} messages from the edge to the registrar`);
    assert.ok(toReg.every((p) => p.ipProto === 6));
    // the edge's own connection: one ephemeral port, not its listener's
    const edgePorts = new Set(toReg.map((p) => p.src.port));
    assert.equal(edgePorts.size, 1, [...edgePorts].join(' '));
    assert.ok(!edge.listeners.some((l) => edgePorts.has(l.port)));
    assert.ok(
      fromReg.every((p) => edgePorts.has(p.dst.port)),
      'replies go to that port',
    );
    const same = (a: DecodedHep, b: DecodedHep): boolean =>
      ep(a.src) === ep(b.src) && ep(a.dst) === ep(b.dst) && a.payload.equals(b.payload);
    // every message between the elements (the registrar answers calls over UDP to the edge's
    // Path) is seen alike by both: same ports, same bytes
    const leg = edgeSide.filter(
      (p) => p.src.address === '127.0.0.2' || p.dst.address === '127.0.0.2',
    );
    assert.equal(leg.length, regSide.length);
    for (const s of leg)
      assert.ok(
        regSide.some((r) => same(r, s)),
        `the registrar did not capture alike:\n${ep(s.src)} -> ${ep(s.dst)}\n${s.payload}`,
      );
  });
});
