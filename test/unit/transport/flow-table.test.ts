import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FlowTable, parseUdpFlowId, udpFlowId } from '../../../src/transport/flow-table.js';
import { ConnectionLimiter, resolveSettings } from '../../../src/transport/internal.js';
import {
  bytesToIPv6,
  canonicalIp,
  hostPort,
  ipv6ToBytes,
  unmapIPv4,
} from '../../../src/transport/ip.js';
import type { ListenerInfo } from '../../../src/transport/types.js';
import { classifyDatagram } from '../../../src/transport/udp.js';

const udpListener: ListenerInfo = {
  id: 1,
  proto: 'udp',
  address: '127.0.0.1',
  port: 5060,
  family: 4,
  advertise: undefined,
};

describe('flow ids', () => {
  test('UDP flow ids name worker, listener and peer; IPv6 in brackets', () => {
    assert.equal(udpFlowId(0, 1, '192.0.2.1', 5070), 'w0/u1/192.0.2.1:5070');
    assert.equal(udpFlowId(3, 2, '2001:db8::1', 5060), 'w3/u2/[2001:db8::1]:5060');
    assert.deepEqual(parseUdpFlowId('w3/u2/[2001:db8::1]:5060'), {
      workerId: 3,
      listenerId: 2,
      address: '2001:db8::1',
      port: 5060,
    });
    assert.deepEqual(parseUdpFlowId('w0/u1/192.0.2.1:5070'), {
      workerId: 0,
      listenerId: 1,
      address: '192.0.2.1',
      port: 5070,
    });
    for (const bad of [
      'w0/c1',
      'w0/u1/192.0.2.1',
      'w0/u1/192.0.2.1:0',
      'w0/u1/host.example:5060',
      'w0/u1/[::1]:70000',
    ]) {
      assert.equal(parseUdpFlowId(bad), undefined, bad);
    }
  });
});

describe('FlowTable', () => {
  test('UDP entries are created once per peer and touched afterwards', () => {
    const t = new FlowTable();
    const a = t.touchUdp('w0/u1/1.2.3.4:5', udpListener, '1.2.3.4', 5, 10);
    const b = t.touchUdp('w0/u1/1.2.3.4:5', udpListener, '1.2.3.4', 5, 20);
    assert.equal(a, b);
    assert.equal(b.lastActivity, 20);
    assert.equal(b.openedAt, 10);
    assert.equal(t.udpCount, 1);
    assert.equal(a.receiveInfo.flowId, 'w0/u1/1.2.3.4:5');
    assert.deepEqual(a.receiveInfo.local, { address: '127.0.0.1', port: 5060 });
    t.dropUdpListener(1);
    assert.equal(t.udpCount, 0);
  });

  test('idle UDP entries are forgotten when new peers arrive', () => {
    const t = new FlowTable();
    t.touchUdp('w0/u1/1.1.1.1:1', udpListener, '1.1.1.1', 1, 0);
    t.touchUdp('w0/u1/1.1.1.2:1', udpListener, '1.1.1.2', 1, 3_600_001);
    assert.equal(t.getUdp('w0/u1/1.1.1.1:1'), undefined);
    assert.ok(t.getUdp('w0/u1/1.1.1.2:1'));
  });
});

describe('ip helpers', () => {
  test('IPv6 text ⇄ bytes, RFC 5952 canonical form', () => {
    assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalIp('2001:DB8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(
      canonicalIp('::ffff:c000:201'),
      '::ffff:192.0.2.1',
      'IPv4-mapped: dotted, as Node reports it',
    );
    assert.equal(bytesToIPv6(ipv6ToBytes('fe80::1%lo')), 'fe80::1');
    assert.equal(canonicalIp('192.0.2.1'), '192.0.2.1');
    assert.equal(unmapIPv4('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(unmapIPv4('::1'), undefined);
    assert.equal(hostPort('::1', 5060), '[::1]:5060');
  });
});

describe('datagram demultiplexing (RFC 7983 §7, outbound.md §1.11.1)', () => {
  test('first byte 0..3 is STUN; blank / short datagrams are not SIP', () => {
    assert.equal(classifyDatagram(Buffer.from([0, 1, 0, 0])), 'stun');
    assert.equal(classifyDatagram(Buffer.from([3])), 'stun');
    assert.equal(classifyDatagram(Buffer.from('\r\n\r\n')), 'blank');
    assert.equal(classifyDatagram(Buffer.from(`${' '.repeat(40)}\r\n`)), 'blank');
    assert.equal(classifyDatagram(Buffer.from('hello')), 'runt');
    assert.equal(classifyDatagram(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n')), 'sip');
  });
});

describe('settings and caps', () => {
  test('defaults are Kamailio-like and times become milliseconds', () => {
    const s = resolveSettings({ listen: [] });
    assert.equal(s.lifetimeMs, 120_000);
    assert.equal(s.wsKeepaliveTimeoutMs, 180_000);
    assert.equal(s.wsKeepaliveIntervalMs, 1000);
    assert.equal(s.limits.maxMessageSize, 65_535);
    assert.throws(
      () => resolveSettings({ listen: [], tcpConnectionLifetime: 0 }),
      /tcpConnectionLifetime/,
    );
    assert.throws(() => resolveSettings({ listen: [], workerId: -1 }), /workerId/);
  });

  test('caps default to the config defaults: 2048 accepted, 64 per IP, 1024 outgoing', () => {
    const s = resolveSettings({ listen: [] });
    assert.equal(s.maxConnections, 2048);
    assert.equal(s.maxConnectionsPerIp, 64);
    assert.equal(s.maxOutgoingConnections, 1024);
    assert.equal(
      resolveSettings({ listen: [], maxOutgoingConnections: 5 }).maxOutgoingConnections,
      5,
    );
    assert.throws(
      () => resolveSettings({ listen: [], maxOutgoingConnections: 0 }),
      /maxOutgoingConnections/,
    );
  });

  test('ConnectionLimiter counts accepted sockets in total and per IP', () => {
    const l = new ConnectionLimiter(3, 2, 5);
    assert.equal(l.acquire('a'), undefined);
    assert.equal(l.acquire('a'), undefined);
    assert.equal(l.acquire('a'), 'limit-per-ip');
    assert.equal(l.acquire('b'), undefined);
    assert.equal(l.acquire('c'), 'limit');
    l.release('a');
    assert.equal(l.acquire('c'), undefined);
    assert.equal(l.incoming, 3);
  });

  test('ConnectionLimiter: outgoing sockets have a budget of their own', () => {
    const l = new ConnectionLimiter(2, 2, 2);
    // the accept budget full does not stop outgoing connections ...
    assert.equal(l.acquire('a'), undefined);
    assert.equal(l.acquire('b'), undefined);
    assert.equal(l.acquire('c'), 'limit');
    assert.equal(l.acquireOutgoing(), undefined);
    assert.equal(l.acquireOutgoing(), undefined);
    assert.equal(l.acquireOutgoing(), 'limit-outgoing');
    // ... and outgoing ones take no accept slot: releasing one accepted socket frees exactly one
    l.release('a');
    assert.equal(l.acquire('c'), undefined);
    assert.equal(l.acquire('d'), 'limit');
    l.release(undefined);
    assert.equal(l.acquireOutgoing(), undefined);
    assert.deepEqual([l.incoming, l.outgoing], [2, 2]);
  });
});
