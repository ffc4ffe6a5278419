import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  decodeErrorCode,
  decodeMappedAddress,
  decodeStun,
  decodeXorMappedAddress,
  encodeStun,
  StunAttr,
} from '../../../src/transport/stun.js';
import type { TransportLayer } from '../../../src/transport/transport-layer.js';
import { UdpClient } from '../../support/net.js';
import { type RecordingUser, request, startLayer, statusLine } from './helpers.js';

const TID = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), Buffer.from('abcdefghijkl')]);

function stunAttr(buf: Buffer, type: number): Buffer {
  const r = decodeStun(buf);
  assert.ok(r.ok);
  const a = r.msg.attributes.find((x) => x.type === type);
  assert.ok(a !== undefined, `attribute 0x${type.toString(16)}`);
  return a.value;
}

describe('UDP transport', () => {
  let layer: TransportLayer;
  let user: RecordingUser;
  let v4port = 0;
  let v6port = 0;

  before(async () => {
    ({ layer, user } = await startLayer(
      {
        listen: [
          { proto: 'udp', address: '127.0.0.1', port: 0 },
          { proto: 'udp', address: '::1', port: 0 },
        ],
        stunSoftware: 'flowgate test',
      },
      { autoReply: true },
    ));
    const [a, b] = layer.listeners;
    v4port = a?.port ?? 0;
    v6port = b?.port ?? 0;
  });

  after(() => layer.close());

  test('IPv4: a request reaches onMessage with its ReceiveInfo; the reply by flowId comes back', async () => {
    const c = await UdpClient.open('127.0.0.1');
    try {
      const n = user.messages.length;
      c.send(request({ method: 'OPTIONS' }), v4port);
      const { msg, info } = await user.message(n + 1);
      assert.equal(msg.isRequest, true);
      assert.equal(info.proto, 'udp');
      assert.deepEqual(info.remote, { address: '127.0.0.1', port: c.port });
      assert.deepEqual(info.local, { address: '127.0.0.1', port: v4port });
      assert.equal(info.flowId, `w0/u1/127.0.0.1:${c.port}`);
      assert.equal(info.listener.id, 1);
      assert.equal(info.secure, false);
      const reply = (await c.next()).toString('latin1');
      assert.equal(statusLine(reply), 'SIP/2.0 200 OK');
      assert.equal(layer.getFlow(info.flowId)?.proto, 'udp');
    } finally {
      await c.close();
    }
  });

  test('IPv6: a request over ::1 gets a flow id with the address in brackets', async () => {
    const c = await UdpClient.open('::1');
    try {
      const n = user.messages.length;
      c.send(request(), v6port, '::1');
      const { info } = await user.message(n + 1);
      assert.deepEqual(info.remote, { address: '::1', port: c.port });
      assert.equal(info.flowId, `w0/u2/[::1]:${c.port}`);
      assert.equal(info.listener.family, 6);
      assert.equal(statusLine((await c.next()).toString('latin1')), 'SIP/2.0 200 OK');
    } finally {
      await c.close();
    }
  });

  test('send to an address goes out from the listener of that family', async () => {
    const c = await UdpClient.open('127.0.0.1');
    try {
      const r = layer.send(Buffer.from(request()), {
        proto: 'udp',
        address: '127.0.0.1',
        port: c.port,
      });
      assert.ok(r.ok);
      assert.equal(r.flowId, `w0/u1/127.0.0.1:${c.port}`);
      const got = await c.next();
      assert.match(got.toString('latin1'), /^OPTIONS /);
      const noListener = layer.send(Buffer.from('x'), {
        proto: 'tcp',
        address: '127.0.0.1',
        port: c.port,
      });
      assert.deepEqual(
        noListener.ok ? undefined : noListener.code,
        'SIP_ERR_TRANSPORT_UNSUPPORTED',
      );
    } finally {
      await c.close();
    }
  });

  test('a malformed request gets 400 with the reason, sent to the packet source (rport)', async () => {
    const c = await UdpClient.open('127.0.0.1');
    try {
      const n = user.messages.length;
      const bad = request().replace(/^CSeq: (\d+) OPTIONS/m, 'CSeq: $1 INVITE');
      c.send(bad, v4port);
      const reply = (await c.next()).toString('latin1');
      assert.equal(statusLine(reply), 'SIP/2.0 400 Bad CSeq Header');
      assert.match(reply, new RegExp(`;rport=${c.port}`));
      assert.match(reply, /;received=127\.0\.0\.1/);
      assert.equal(user.messages.length, n, 'not passed up');
    } finally {
      await c.close();
    }
  });

  test('a request with an unsupported SIP version gets 505', async () => {
    const c = await UdpClient.open('127.0.0.1');
    try {
      c.send(request().replace(' SIP/2.0\r\n', ' SIP/3.0\r\n'), v4port);
      assert.match(statusLine((await c.next()).toString('latin1')), /^SIP\/2\.0 505 /);
    } finally {
      await c.close();
    }
  });

  test('an unreadable request and a malformed response are dropped without reply', async () => {
    const c = await UdpClient.open('127.0.0.1');
    try {
      const before = layer.stats();
      c.send('GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE GARBAGE\r\n\r\n', v4port);
      c.send('SIP/2.0 200 OK\r\nVia: nonsense\r\nContent-Length: 0\r\n\r\n', v4port);
      // a probe afterwards: its reply must be the first datagram back
      c.send(request(), v4port);
      assert.equal(statusLine((await c.next()).toString('latin1')), 'SIP/2.0 200 OK');
      const s = layer.stats();
      assert.equal(s.drops['bad-response'] - before.drops['bad-response'], 1);
      assert.ok(
        s.drops['bad-request'] + s.drops.garbage >
          before.drops['bad-request'] + before.drops.garbage,
      );
    } finally {
      await c.close();
    }
  });

  test('item 69: UDP \\r\\n\\r\\n gets no reply (RFC 5626 forbids CRLF keep-alive on UDP)', async () => {
    const c = await UdpClient.open('127.0.0.1');
    try {
      const before = layer.stats().drops.crlf;
      c.send('\r\n\r\n', v4port);
      c.send(request(), v4port);
      assert.equal(
        statusLine((await c.next()).toString('latin1')),
        'SIP/2.0 200 OK',
        'the probe reply comes first',
      );
      assert.equal(layer.stats().drops.crlf, before + 1);
    } finally {
      await c.close();
    }
  });

  test('items 63/64: STUN Binding over real UDP, RFC 5389 and RFC 3489, IPv4 and IPv6', async () => {
    for (const host of ['127.0.0.1', '::1']) {
      const c = await UdpClient.open(host);
      try {
        const port = host === '::1' ? v6port : v4port;
        c.send(encodeStun(0x0001, TID, []), port, host);
        const res = await c.next();
        assert.equal(res.readUInt16BE(0), 0x0101);
        assert.deepEqual(decodeXorMappedAddress(stunAttr(res, StunAttr.XorMappedAddress), TID), {
          address: host,
          port: c.port,
        });
        assert.equal(stunAttr(res, StunAttr.Software).toString(), 'flowgate test');
        const old = Buffer.from('0123456789abcdef');
        c.send(encodeStun(0x0001, old, []), port, host);
        const res2 = await c.next();
        assert.equal(res2.readUInt16BE(0), 0x0101);
        assert.deepEqual(decodeMappedAddress(stunAttr(res2, StunAttr.MappedAddress)), {
          address: host,
          port: c.port,
        });
        const flow = layer.getFlow(
          host === '::1' ? `w0/u2/[::1]:${c.port}` : `w0/u1/127.0.0.1:${c.port}`,
        );
        assert.notEqual(
          flow?.lastKeepalive,
          undefined,
          'STUN refreshes the UDP flow keep-alive time',
        );
      } finally {
        await c.close();
      }
    }
  });

  test('items 65–67: STUN errors over real UDP (400 length, 600 type, 420 unknown attribute)', async () => {
    const c = await UdpClient.open('127.0.0.1');
    try {
      const wrongLen = encodeStun(0x0001, TID, []);
      wrongLen.writeUInt16BE(4, 2);
      c.send(wrongLen, v4port);
      c.send(encodeStun(0x0002, TID, []), v4port);
      c.send(encodeStun(0x0001, TID, [{ type: 0x0023, value: Buffer.alloc(4) }]), v4port);
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await c.next();
        assert.equal(r.readUInt16BE(0), 0x0111);
        codes.push(decodeErrorCode(stunAttr(r, StunAttr.ErrorCode)).code);
      }
      assert.deepEqual(codes.sort(), [400, 420, 600]);
    } finally {
      await c.close();
    }
  });

  test('item 68: a 19-byte datagram starting with 0x00 is ignored, no SIP error', async () => {
    const c = await UdpClient.open('127.0.0.1');
    try {
      const before = layer.stats();
      c.send(Buffer.alloc(19), v4port);
      c.send(request(), v4port);
      assert.equal(statusLine((await c.next()).toString('latin1')), 'SIP/2.0 200 OK');
      const s = layer.stats();
      assert.equal(s.drops['stun-ignored'], before.drops['stun-ignored'] + 1);
      assert.equal(s.errorReplies, before.errorReplies);
    } finally {
      await c.close();
    }
  });

  test('flow ids of a closed listener or another worker are gone', () => {
    const r1 = layer.send(Buffer.from('x'), { flowId: 'w0/u9/127.0.0.1:5060' });
    assert.equal(r1.ok ? '' : r1.code, 'SIP_ERR_FLOW_GONE');
    const r2 = layer.send(Buffer.from('x'), { flowId: 'w7/u1/127.0.0.1:5060' });
    assert.equal(r2.ok ? '' : r2.code, 'SIP_ERR_FLOW_GONE');
    assert.equal(
      layer.closeFlow('w0/u1/127.0.0.1:5060'),
      false,
      'UDP flows have no connection to close',
    );
  });
});
