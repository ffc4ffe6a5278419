import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TransportLayer } from '../../../src/transport/transport-layer.js';
import type { SendErrorCode } from '../../../src/transport/types.js';
import { ManualClock } from '../../../src/util/clock.js';
import { channels } from '../../../src/util/diagnostics.js';
import { messageLength, StreamClient, WAIT_MS, waitFor } from '../../support/net.js';
import {
  CapturingLogger,
  type RecordingUser,
  request,
  startLayer,
  statusLine,
  TcpPeer,
} from './helpers.js';

const OPTIONS_OK = /^SIP\/2\.0 200 OK\r\n/;

describe('TCP transport', () => {
  let layer: TransportLayer;
  let user: RecordingUser;
  let v4port = 0;
  let v6port = 0;

  before(async () => {
    ({ layer, user } = await startLayer(
      {
        listen: [
          { proto: 'tcp', address: '127.0.0.1', port: 0 },
          { proto: 'tcp', address: '::1', port: 0 },
        ],
      },
      { autoReply: true },
    ));
    v4port = layer.listeners[0]?.port ?? 0;
    v6port = layer.listeners[1]?.port ?? 0;
  });

  after(() => layer.close());

  for (const host of ['127.0.0.1', '::1']) {
    test(`IPv${host === '::1' ? 6 : 4}: request → onMessage with ReceiveInfo; reply by flowId on the same connection`, async () => {
      const c = await StreamClient.tcp(host === '::1' ? v6port : v4port, host);
      try {
        const n = user.messages.length;
        c.write(request({ via: 'TCP' }));
        const { msg, info } = await user.message(n + 1);
        assert.equal(msg.isRequest, true);
        assert.equal(info.proto, 'tcp');
        assert.deepEqual(info.remote, { address: host, port: c.socket.localPort });
        assert.equal(info.local.port, host === '::1' ? v6port : v4port);
        assert.match(info.flowId, /^w0\/c\d+$/);
        assert.equal(info.secure, false);
        assert.ok(
          user.opened.some((f) => f.id === info.flowId && f.state === 'open' && !f.outgoing),
        );
        assert.match(await c.takeMessage(), OPTIONS_OK);
        // the layer can send anything else on that flow
        const r = layer.send(Buffer.from(request({ method: 'NOTIFY', via: 'TCP' })), {
          flowId: info.flowId,
        });
        assert.ok(r.ok);
        assert.equal(r.flowId, info.flowId);
        assert.match(await c.takeMessage(), /^NOTIFY /);
      } finally {
        c.close();
      }
    });
  }

  test('send to a closed flow → SIP_ERR_FLOW_GONE, and no connection is opened', async () => {
    const c = await StreamClient.tcp(v4port);
    const n = user.messages.length;
    c.write(request({ via: 'TCP' }));
    const { info } = await user.message(n + 1);
    c.close();
    assert.equal(await user.closeOf(info.flowId), 'remote');
    const opened = layer.stats().connectionsOpened;
    const r = layer.send(Buffer.from(request()), { flowId: info.flowId });
    assert.deepEqual(r.ok ? undefined : r.code, 'SIP_ERR_FLOW_GONE');
    assert.equal(layer.stats().connectionsOpened, opened);
    assert.equal(layer.getFlow(info.flowId), undefined);
  });

  test('send to an address reuses the open incoming connection from it', async () => {
    const c = await StreamClient.tcp(v4port);
    try {
      const n = user.messages.length;
      c.write(request({ via: 'TCP' }));
      const { info } = await user.message(n + 1);
      await c.takeMessage();
      const opened = layer.stats().connectionsOpened;
      const r = layer.send(Buffer.from(request({ method: 'NOTIFY' })), {
        proto: 'tcp',
        address: '127.0.0.1',
        port: info.remote.port,
      });
      assert.ok(r.ok);
      assert.equal(r.flowId, info.flowId);
      assert.match(await c.takeMessage(), /^NOTIFY /);
      assert.equal(layer.stats().connectionsOpened, opened);
      assert.equal(layer.findConnection('tcp', info.remote)?.id, info.flowId);
    } finally {
      c.close();
    }
  });

  test('send to an address opens one connection and reuses it; replies come back on it', async () => {
    const peerData: string[] = [];
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => {
      sockets.push(s);
      s.on('data', (b) => {
        peerData.push(b.toString('latin1'));
        const all = peerData.join('');
        // answer each complete request once
        if (messageLength(all) > 0 && !all.includes('answered'))
          s.write(`${request({ method: 'MESSAGE', via: 'TCP' })}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const n = user.messages.length;
      const r1 = layer.send(Buffer.from(request({ via: 'TCP' })), {
        proto: 'tcp',
        address: '127.0.0.1',
        port,
      });
      const r2 = layer.send(Buffer.from(request({ via: 'TCP' })), {
        proto: 'tcp',
        address: '127.0.0.1',
        port,
      });
      assert.ok(r1.ok && r2.ok);
      assert.equal(r1.flowId, r2.flowId, 'the second send reuses the connecting flow');
      await waitFor(
        () => messageLength(peerData.join('')) > 0,
        WAIT_MS,
        'the peer to get the request',
      );
      const { info } = await user.message(n + 1);
      assert.equal(info.flowId, r1.flowId);
      assert.equal(sockets.length, 1);
      const flow = layer.getFlow(r1.flowId);
      assert.equal(flow?.outgoing, true);
      assert.equal(flow?.state, 'open');
      assert.notEqual(flow?.local.port, 0);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  test('a failed connect is reported through onError', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    await new Promise<void>((r) => server.close(() => r()));
    const errors: SendErrorCode[] = [];
    const r = layer.send(
      Buffer.from(request()),
      { proto: 'tcp', address: '127.0.0.1', port },
      (code) => errors.push(code),
    );
    assert.ok(r.ok, 'accepted at once; the connect fails later');
    await waitFor(() => errors.length === 1, WAIT_MS, 'onError');
    assert.deepEqual(errors, ['SIP_ERR_TRANSPORT_SEND']);
    assert.equal(layer.getFlow(r.flowId), undefined);
    assert.equal(
      user.opened.some((f) => f.id === r.flowId),
      false,
      'a flow that never connected is not announced',
    );
  });

  test('a malformed request gets 400 with the reason; the connection stays usable', async () => {
    const c = await StreamClient.tcp(v4port);
    try {
      c.write(
        request({ via: 'TCP' }).replace(
          'From: <sip:alice@example.com>',
          'From: sip:alice@example.com <<>>',
        ),
      );
      const reply = await c.takeMessage();
      assert.equal(statusLine(reply), 'SIP/2.0 400 Invalid From Header');
      c.write(request({ via: 'TCP' }));
      assert.match(await c.takeMessage(), OPTIONS_OK);
      assert.equal(c.closed, false);
    } finally {
      c.close();
    }
  });

  test('a request without Content-Length on a stream → 400, then the connection is closed (RFC 3261 §18.3)', async () => {
    const opened = user.opened.length;
    const c = await StreamClient.tcp(v4port);
    c.write(request({ via: 'TCP', contentLength: false }));
    const reply = await c.takeMessage();
    assert.equal(statusLine(reply), 'SIP/2.0 400 Missing Content-Length');
    await c.waitClosed();
    const flow = await user.openedFlow(opened + 1);
    assert.equal(await user.closeOf(flow.id), 'protocol-error');
  });

  test('item 70: \\r\\n\\r\\n → exactly \\r\\n on the same connection, which stays open', async () => {
    const seen: unknown[] = [];
    const onKeepalive = (m: unknown): void => {
      seen.push(m);
    };
    channels.keepalive.subscribe(onKeepalive);
    const c = await StreamClient.tcp(v4port);
    try {
      const before = layer.stats().keepalives.crlf;
      c.write('\r\n\r\n');
      assert.equal(await c.take(2), '\r\n');
      assert.equal(seen.length, 1);
      assert.deepEqual(Object.keys(seen[0] as object).sort(), ['flowId', 'kind', 'proto']);
      c.write(request({ via: 'TCP' }));
      // the next bytes are the reply: no second CRLF
      assert.match(await c.takeMessage(), OPTIONS_OK);
      assert.equal(layer.stats().keepalives.crlf, before + 1);
      assert.equal(c.closed, false);
    } finally {
      channels.keepalive.unsubscribe(onKeepalive);
      c.close();
    }
  });

  test('item 71: a single \\r\\n gets nothing back', async () => {
    const c = await StreamClient.tcp(v4port);
    try {
      c.write('\r\n');
      c.write(request({ via: 'TCP' }));
      const text = await c.until((s) => messageLength(s) > 0);
      assert.match(text, OPTIONS_OK, 'the first bytes back are the reply, not a pong');
    } finally {
      c.close();
    }
  });

  test('messages split across writes and several messages in one write are all delivered', async () => {
    const c = await StreamClient.tcp(v4port);
    try {
      const n = user.messages.length;
      const a = request({ via: 'TCP', method: 'MESSAGE', body: 'hello\r\n\r\nworld' });
      const b = request({ via: 'TCP' });
      const all = `${a}\r\n\r\n${b}`;
      for (let i = 0; i < all.length; i += 50) {
        c.write(all.slice(i, i + 50));
        await new Promise((r) => setImmediate(r));
      }
      const second = await user.message(n + 2);
      assert.equal((await user.message(n + 1)).msg.body.toString(), 'hello\r\n\r\nworld');
      assert.equal(second.info.flowId, user.messages[n]?.info.flowId);
    } finally {
      c.close();
    }
  });
});

describe('TCP flow management', () => {
  test('flows() lists connections; closeFlow(id) closes one with reason local; close() ends the rest', async () => {
    const { layer, user } = await startLayer({
      listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }],
    });
    const port = layer.listeners[0]?.port ?? 0;
    const a = await StreamClient.tcp(port);
    const b = await StreamClient.tcp(port);
    const fa = await user.openedFlow(1);
    const fb = await user.openedFlow(2);
    assert.deepEqual(
      layer
        .flows()
        .map((f) => f.id)
        .sort(),
      [fa.id, fb.id].sort(),
    );
    assert.equal(layer.closeFlow(fa.id), true);
    assert.equal(layer.closeFlow(fa.id), false, 'already gone');
    assert.equal(await user.closeOf(fa.id), 'local');
    await a.waitClosed();
    const closed = layer.close();
    assert.equal(layer.close(), closed, 'one shutdown');
    await closed;
    assert.equal(await user.closeOf(fb.id), 'local');
    await b.waitClosed();
    const r = layer.send(Buffer.from('x'), { flowId: fb.id });
    assert.equal(r.ok, false);
    assert.equal(layer.stats().openConnections, 0);
  });
});

describe('TCP connection lifetime', () => {
  test('item 72: idle past tcpConnectionLifetime (1 s) → closed with reason lifetime', async () => {
    const { layer, user } = await startLayer({
      listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }],
      tcpConnectionLifetime: 1,
    });
    try {
      const c = await StreamClient.tcp(layer.listeners[0]?.port ?? 0);
      c.write(request({ via: 'TCP' }));
      const { info } = await user.message(1);
      assert.equal(await user.closeOf(info.flowId, 5000), 'lifetime');
      await c.waitClosed();
      assert.equal(layer.stats().connectionsClosed.lifetime, 1);
    } finally {
      await layer.close();
    }
  });

  test('item 72: with CRLF pings more often than the lifetime the connection outlives 2× the lifetime', async () => {
    const clock = new ManualClock();
    const { layer, user } = await startLayer(
      { listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }], tcpConnectionLifetime: 2 },
      { deps: { clock } },
    );
    try {
      const c = await StreamClient.tcp(layer.listeners[0]?.port ?? 0);
      c.write(request({ via: 'TCP' }));
      const { info } = await user.message(1);
      for (let i = 0; i < 4; i++) {
        clock.advance(1500); // 4 × 1.5 s = 6 s = 3× the lifetime
        c.write('\r\n\r\n');
        assert.equal(await c.take(2), '\r\n');
      }
      assert.equal(user.closed.length, 0);
      assert.equal(layer.getFlow(info.flowId)?.state, 'open');
      assert.notEqual(layer.getFlow(info.flowId)?.lastKeepalive, undefined);
      clock.advance(2000);
      assert.equal(await user.closeOf(info.flowId), 'lifetime');
      await c.waitClosed();
    } finally {
      await layer.close();
    }
  });
});

describe('TCP protection', () => {
  test('caps on connections per IP and in total close offenders (counted, one log line per cap); others keep working; slots come back', async () => {
    const logger = new CapturingLogger();
    const { layer, user } = await startLayer(
      {
        listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }],
        maxConnections: 3,
        maxConnectionsPerIp: 2,
      },
      { autoReply: true, deps: { logger } },
    );
    const port = layer.listeners[0]?.port ?? 0;
    const clients: StreamClient[] = [];
    try {
      const c1 = await StreamClient.tcp(port);
      const c2 = await StreamClient.tcp(port);
      clients.push(c1, c2);
      await waitFor(() => layer.stats().openConnections === 2, WAIT_MS, 'two connections');
      // a third and a fourth from the same IP: closed at once
      for (let i = 0; i < 2; i++) {
        const c3 = await StreamClient.tcp(port, '127.0.0.1');
        clients.push(c3);
        await c3.waitClosed();
      }
      const c4 = await StreamClient.tcp(port, '127.0.0.1', '127.0.0.2');
      clients.push(c4);
      await waitFor(() => layer.stats().openConnections === 3, WAIT_MS, 'three connections');
      // the total cap, hit twice from two more IPs
      for (const from of ['127.0.0.3', '127.0.0.4']) {
        const c5 = await StreamClient.tcp(port, '127.0.0.1', from);
        clients.push(c5);
        await c5.waitClosed();
      }
      const s = layer.stats();
      assert.equal(s.connectionsRefused['limit-per-ip'], 2);
      assert.equal(s.connectionsRefused.limit, 2);
      // one line per cap, however often it is hit (RateLimitedLog)
      const refusals = logger.matching(/connection refused by cap/);
      assert.deepEqual(refusals.map((l) => [l.level, l.obj['cause']]).sort(), [
        ['warn', 'limit'],
        ['warn', 'limit-per-ip'],
      ]);
      // the others are served
      c1.write(request({ via: 'TCP' }));
      assert.match(await c1.takeMessage(), OPTIONS_OK);
      c4.write(request({ via: 'TCP' }));
      assert.match(await c4.takeMessage(), OPTIONS_OK);
      // a slot freed is a slot to use
      c4.close();
      await waitFor(
        () => layer.stats().openConnections === 2 && user.closed.length === 1,
        WAIT_MS,
        'c4 gone',
      );
      const c6 = await StreamClient.tcp(port, '127.0.0.1', '127.0.0.3');
      clients.push(c6);
      c6.write(request({ via: 'TCP' }));
      assert.match(await c6.takeMessage(), OPTIONS_OK);
    } finally {
      for (const c of clients) c.close();
      await layer.close();
    }
  });

  test('the per-IP cap defaults to 64: the 65th connection from one IP is closed, another IP is served', async () => {
    const logger = new CapturingLogger();
    const { layer } = await startLayer(
      { listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }] },
      { autoReply: true, deps: { logger } },
    );
    const port = layer.listeners[0]?.port ?? 0;
    const clients: StreamClient[] = [];
    try {
      for (let i = 0; i < 64; i++) clients.push(await StreamClient.tcp(port));
      await waitFor(() => layer.stats().openConnections === 64, WAIT_MS, '64 connections');
      for (let i = 0; i < 2; i++) {
        const over = await StreamClient.tcp(port);
        clients.push(over);
        await over.waitClosed();
      }
      const other = await StreamClient.tcp(port, '127.0.0.1', '127.0.0.2');
      clients.push(other);
      other.write(request({ via: 'TCP' }));
      assert.match(await other.takeMessage(), OPTIONS_OK);
      const s = layer.stats();
      assert.equal(s.connectionsRefused['limit-per-ip'], 2);
      assert.equal(s.connectionsRefused.limit, 0);
      assert.equal(s.openConnections, 65);
      const lines = logger.matching(/connection refused by cap/);
      assert.equal(lines.length, 1);
      assert.deepEqual(lines[0]?.obj, {
        layer: 'transport',
        remote: '127.0.0.1',
        cause: 'limit-per-ip',
      });
    } finally {
      for (const c of clients) c.close();
      await layer.close();
    }
  });

  test('outgoing connections have their own budget: the accept cap neither blocks them nor is used by them; over it → SIP_ERR_TRANSPORT_LIMIT, counted, one log line', async () => {
    const logger = new CapturingLogger();
    const { layer, user } = await startLayer(
      {
        listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }],
        maxConnections: 1,
        maxOutgoingConnections: 1,
      },
      { autoReply: true, deps: { logger } },
    );
    const port = layer.listeners[0]?.port ?? 0;
    const registrar = await TcpPeer.start();
    const other = await TcpPeer.start();
    const clients: StreamClient[] = [];
    const to = (peer: TcpPeer) =>
      ({ proto: 'tcp', address: '127.0.0.1', port: peer.port }) as const;
    try {
      // one outgoing connection: the whole outgoing budget
      const r1 = layer.send(Buffer.from(request({ via: 'TCP', callId: 'out-1' })), to(registrar));
      assert.ok(r1.ok);
      await waitFor(() => registrar.text.includes('out-1'), WAIT_MS, 'the registrar to get it');
      // ... which takes no accept slot: one client is still accepted and served
      const c1 = await StreamClient.tcp(port);
      clients.push(c1);
      c1.write(request({ via: 'TCP' }));
      assert.match(await c1.takeMessage(), OPTIONS_OK);
      // the accept budget is full now
      const c2 = await StreamClient.tcp(port, '127.0.0.1', '127.0.0.2');
      clients.push(c2);
      await c2.waitClosed();
      // the outgoing budget is spent: refused at once, twice, and nothing reaches the other peer
      for (let i = 0; i < 2; i++) {
        const r = layer.send(Buffer.from(request({ via: 'TCP' })), to(other));
        assert.equal(r.ok, false);
        assert.equal(r.ok ? undefined : r.code, 'SIP_ERR_TRANSPORT_LIMIT');
      }
      assert.equal(other.sockets.length, 0);
      const s = layer.stats();
      assert.equal(s.connectionsRefused['limit-outgoing'], 2);
      assert.equal(s.connectionsRefused.limit, 1);
      assert.equal(s.connectionsOpened, 1);
      const lines = logger.matching(/outgoing connection refused by cap/);
      assert.equal(lines.length, 1);
      assert.equal(lines[0]?.level, 'warn');
      assert.equal(lines[0]?.obj['cause'], 'limit-outgoing');
      // a freed outgoing slot is used again while the accept budget stays full
      assert.ok(layer.closeFlow(r1.flowId));
      await waitFor(() => registrar.sockets[0]?.readableEnded === true, WAIT_MS, 'the close');
      let r2 = layer.send(Buffer.from(request({ via: 'TCP', callId: 'out-2' })), to(other));
      // the slot comes back on the socket's 'close', a moment after the peer saw the FIN
      await waitFor(
        () => {
          if (!r2.ok)
            r2 = layer.send(Buffer.from(request({ via: 'TCP', callId: 'out-2' })), to(other));
          return r2.ok;
        },
        WAIT_MS,
        'a free outgoing slot',
      );
      await waitFor(() => other.text.includes('out-2'), WAIT_MS, 'the other peer to get it');
      assert.equal(user.closed.length, 1);
    } finally {
      for (const c of clients) c.close();
      await layer.close();
      await registrar.close();
      await other.close();
    }
  });

  test('CRLF pings from peers that do not read: closed (overflow) at maxBufferedBytes, counted, one log line; others keep working', async () => {
    const logger = new CapturingLogger();
    const { layer, user } = await startLayer(
      { listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }], maxBufferedBytes: 8192 },
      { autoReply: true, deps: { logger } },
    );
    const port = layer.listeners[0]?.port ?? 0;
    const good = await StreamClient.tcp(port);
    const pingers = [await StreamClient.tcp(port), await StreamClient.tcp(port)];
    // 1 MiB of pings a write; the kernel buffers a few MiB of pongs before ours fill up
    const burst = Buffer.from('\r\n\r\n'.repeat(256 * 1024), 'latin1');
    const maxBursts = 64;
    try {
      await user.openedFlow(3);
      for (const p of pingers) {
        const flow = user.opened.find((f) => f.remote.port === p.socket.localPort);
        assert.ok(flow);
        p.socket.pause(); // never reads: the pongs pile up
        let bursts = 0;
        while (!user.closed.some((c) => c.flow.id === flow.id)) {
          assert.ok(bursts++ < maxBursts, `no overflow after ${maxBursts} MiB of pings`);
          p.socket.write(burst);
          await waitFor(
            () => !p.socket.writableNeedDrain || p.closed || p.socket.destroyed,
            WAIT_MS,
            'the pings to be read',
          );
        }
        assert.equal(await user.closeOf(flow.id), 'overflow');
        // what the peer sees: some pongs, then the connection closed
        p.socket.resume();
        await p.waitClosed();
        assert.ok(p.data.length < (bursts * burst.length) / 2, 'not every ping got its pong');
      }
      const s = layer.stats();
      assert.equal(s.connectionsClosed.overflow, 2);
      assert.ok(s.keepalives.crlf > 0);
      const lines = logger.matching(/connection closed/);
      assert.equal(lines.length, 1, 'one line for both, not one per ping');
      assert.equal(lines[0]?.obj['reason'], 'overflow');
      assert.match(String(lines[0]?.obj['why']), /keep-alive answer over the send-buffer cap/);
      // a client that reads still gets its pong and its answers
      good.write('\r\n\r\n');
      assert.equal(await good.take(2), '\r\n');
      good.write(request({ via: 'TCP' }));
      assert.match(await good.takeMessage(), OPTIONS_OK);
    } finally {
      good.close();
      for (const p of pingers) p.close();
      await layer.close();
    }
  });

  test('more than maxBufferedBytes without a complete message → closed (overflow); another client keeps working', async () => {
    const { layer, user } = await startLayer(
      { listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }], maxBufferedBytes: 2048 },
      { autoReply: true },
    );
    const port = layer.listeners[0]?.port ?? 0;
    const good = await StreamClient.tcp(port);
    const bad = await StreamClient.tcp(port);
    try {
      await user.openedFlow(2);
      bad.write(`OPTIONS sip:a@b SIP/2.0\r\nX-Pad: ${'a'.repeat(3000)}\r\n`);
      await bad.waitClosed();
      await waitFor(() => user.closed.length === 1, WAIT_MS, 'overflow close');
      assert.equal(user.closed[0]?.reason, 'overflow');
      good.write(request({ via: 'TCP' }));
      assert.match(await good.takeMessage(), OPTIONS_OK);
    } finally {
      good.close();
      bad.close();
      await layer.close();
    }
  });

  test('a message over maxMessageSize → 513, then closed', async () => {
    const { layer } = await startLayer({
      listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }],
      limits: { maxMessageSize: 1000 },
    });
    const c = await StreamClient.tcp(layer.listeners[0]?.port ?? 0);
    try {
      c.write(request({ via: 'TCP', method: 'MESSAGE', body: 'x'.repeat(2000) }));
      assert.match(statusLine(await c.takeMessage()), /^SIP\/2\.0 513 /);
      await c.waitClosed();
    } finally {
      c.close();
      await layer.close();
    }
  });

  test('no complete message within firstMessageTimeout → closed; a client that sends one stays', async () => {
    const { layer, user } = await startLayer(
      { listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }], firstMessageTimeout: 300 },
      { autoReply: true },
    );
    const port = layer.listeners[0]?.port ?? 0;
    const silent = await StreamClient.tcp(port);
    const pinger = await StreamClient.tcp(port);
    const good = await StreamClient.tcp(port);
    try {
      good.write(request({ via: 'TCP' }));
      assert.match(await good.takeMessage(), OPTIONS_OK);
      pinger.write('\r\n\r\n');
      await silent.waitClosed();
      await pinger.waitClosed();
      await waitFor(() => user.closed.length === 2, WAIT_MS, 'two closes');
      assert.deepEqual(
        user.closed.map((c) => c.reason),
        ['first-message-timeout', 'first-message-timeout'],
      );
      good.write(request({ via: 'TCP' }));
      assert.match(await good.takeMessage(), OPTIONS_OK);
    } finally {
      silent.close();
      pinger.close();
      good.close();
      await layer.close();
    }
  });
});
