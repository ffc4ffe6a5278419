import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { TransportLayer } from '../../../src/transport/transport-layer.js';
import { StreamClient, WAIT_MS, WsClient, waitFor } from '../../support/net.js';
import { hasOpenssl, makeTestPki, type TestPki } from '../../support/tls.js';
import { CapturingLogger, type RecordingUser, request, startLayer, statusLine } from './helpers.js';

describe('WebSocket transport (RFC 7118)', () => {
  let layer: TransportLayer;
  let user: RecordingUser;
  let v4port = 0;
  let v6port = 0;

  before(async () => {
    ({ layer, user } = await startLayer(
      {
        listen: [
          { proto: 'ws', address: '127.0.0.1', port: 0 },
          { proto: 'ws', address: '::1', port: 0 },
        ],
      },
      { autoReply: true },
    ));
    v4port = layer.listeners[0]?.port ?? 0;
    v6port = layer.listeners[1]?.port ?? 0;
  });

  after(() => layer.close());

  for (const host of ['127.0.0.1', '::1']) {
    test(`IPv${host === '::1' ? 6 : 4}: a text frame request → onMessage; the reply is a text frame on the same connection`, async () => {
      const url = host === '::1' ? `ws://[::1]:${v6port}/` : `ws://127.0.0.1:${v4port}/`;
      const c = await WsClient.open(url);
      try {
        assert.equal(c.ws.protocol, 'sip');
        const n = user.messages.length;
        c.send(request({ via: 'WS', host: 'df7jal23ls0d.invalid' }));
        const { info } = await user.message(n + 1);
        assert.equal(info.proto, 'ws');
        assert.equal(info.secure, false);
        assert.equal(info.remote.address, host);
        assert.match(info.flowId, /^w0\/c\d+$/);
        assert.ok(user.opened.some((f) => f.id === info.flowId && f.proto === 'ws'));
        const f = await c.next();
        assert.equal(f.binary, false);
        assert.equal(statusLine(f.data.toString('latin1')), 'SIP/2.0 200 OK');
      } finally {
        c.close();
      }
    });
  }

  test('a binary frame gets a binary reply; a request without Content-Length is fine (frames delimit)', async () => {
    const c = await WsClient.open(`ws://127.0.0.1:${v4port}/`);
    try {
      c.send(request({ via: 'WS', contentLength: false }), true);
      const f = await c.next();
      assert.equal(f.binary, true);
      assert.equal(statusLine(f.data.toString('latin1')), 'SIP/2.0 200 OK');
    } finally {
      c.close();
    }
  });

  test('item 74: a \\r\\n\\r\\n text frame → a \\r\\n text frame, not parsed; \\r\\n binary → \\r\\n binary', async () => {
    const c = await WsClient.open(`ws://127.0.0.1:${v4port}/`);
    try {
      const n = user.messages.length;
      const before = layer.stats().keepalives['ws-crlf'];
      c.send('\r\n\r\n');
      const f1 = await c.next();
      assert.deepEqual(f1, { data: Buffer.from('\r\n'), binary: false });
      c.send('\r\n', true);
      const f2 = await c.next();
      assert.deepEqual(f2, { data: Buffer.from('\r\n'), binary: true });
      assert.equal(user.messages.length, n);
      assert.equal(layer.stats().keepalives['ws-crlf'], before + 2);
    } finally {
      c.close();
    }
  });

  test('item 74: a WebSocket Ping → Pong with the same payload', async () => {
    const c = await WsClient.open(`ws://127.0.0.1:${v4port}/`);
    try {
      c.ws.ping(Buffer.from('are you there'));
      await waitFor(() => c.pongs.length === 1, WAIT_MS, 'pong');
      assert.equal(c.pongs[0]?.toString(), 'are you there');
      await waitFor(() => layer.stats().keepalives['ws-ping'] >= 1, WAIT_MS, 'ping counted');
    } finally {
      c.close();
    }
  });

  test('a malformed request gets 400 in a frame; one without Call-ID is dropped; the connection stays', async () => {
    const c = await WsClient.open(`ws://127.0.0.1:${v4port}/`);
    try {
      c.send(request({ via: 'WS' }).replace('Max-Forwards: 70', 'Max-Forwards: many'));
      assert.equal(
        statusLine((await c.next()).data.toString('latin1')),
        'SIP/2.0 400 Bad Max-Forwards',
      );
      // without Call-ID no reply can be built that the client would accept: dropped
      c.send(request({ via: 'WS' }).replace(/^Call-ID: .*\r\n/m, ''));
      c.send(request({ via: 'WS' }));
      assert.equal(statusLine((await c.next()).data.toString('latin1')), 'SIP/2.0 200 OK');
    } finally {
      c.close();
    }
  });

  test('a handshake without the sip subprotocol is refused (RFC 7118 §4)', async () => {
    await assert.rejects(WsClient.open(`ws://127.0.0.1:${v4port}/`, { protocols: [] }), /HTTP 400/);
    await assert.rejects(
      WsClient.open(`ws://127.0.0.1:${v4port}/`, { protocols: ['xmpp', 'mqtt'] }),
      /HTTP 400/,
    );
    assert.ok(layer.stats().connectionsRefused['ws-subprotocol'] >= 2);
    const c = await WsClient.open(`ws://127.0.0.1:${v4port}/`, { protocols: ['xmpp', 'sip'] });
    assert.equal(c.ws.protocol, 'sip');
    c.close();
  });

  test('a plain HTTP request gets 426', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: v4port, path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 426);
  });

  test('send to a WS address: reuses the open connection from it, else SIP_ERR_TRANSPORT_UNSUPPORTED; closed flow → FLOW_GONE', async () => {
    const c = await WsClient.open(`ws://127.0.0.1:${v4port}/`);
    const n = user.messages.length;
    c.send(request({ via: 'WS' }));
    const { info } = await user.message(n + 1);
    await c.next();
    const r = layer.send(Buffer.from(request({ method: 'NOTIFY', via: 'WS' })), {
      proto: 'ws',
      ...info.remote,
    });
    assert.ok(r.ok);
    assert.equal(r.flowId, info.flowId);
    assert.match((await c.next()).data.toString('latin1'), /^NOTIFY /);
    const none = layer.send(Buffer.from('x'), { proto: 'ws', address: '127.0.0.1', port: 9 });
    assert.equal(none.ok ? '' : none.code, 'SIP_ERR_TRANSPORT_UNSUPPORTED');
    c.ws.close();
    assert.equal(await user.closeOf(info.flowId), 'remote');
    const gone = layer.send(Buffer.from('x'), { flowId: info.flowId });
    assert.equal(gone.ok ? '' : gone.code, 'SIP_ERR_FLOW_GONE');
  });
});

describe('WebSocket keep-alive (outbound.md §1.11.3)', () => {
  let layer: TransportLayer;
  let user: RecordingUser;
  let port = 0;

  before(async () => {
    ({ layer, user } = await startLayer({
      listen: [{ proto: 'ws', address: '127.0.0.1', port: 0 }],
      wsKeepaliveTimeout: 1,
      wsKeepaliveInterval: 0.5,
      firstMessageTimeout: 400,
    }));
    port = layer.listeners[0]?.port ?? 0;
  });

  after(() => layer.close());

  test('item 75: idle → server Ping; no Pong by the next check → closed with keepalive-timeout', async () => {
    const opened = user.opened.length;
    const c = await WsClient.open(`ws://127.0.0.1:${port}/`, { autoPong: false });
    c.send(request({ via: 'WS' }));
    const flow = await user.openedFlow(opened + 1);
    assert.equal(await user.closeOf(flow.id), 'keepalive-timeout');
    assert.ok(c.pings.length >= 1, 'the server pinged first');
    await c.waitClosed();
  });

  test('no SIP message within firstMessageTimeout (upgraded or not) → closed', async () => {
    const opened = user.opened.length;
    const before = layer.stats().connectionsClosed['first-message-timeout'];
    const silent = await WsClient.open(`ws://127.0.0.1:${port}/`);
    const flow = await user.openedFlow(opened + 1);
    const raw = await StreamClient.tcp(port);
    assert.equal(await user.closeOf(flow.id), 'first-message-timeout');
    await silent.waitClosed();
    await raw.waitClosed();
    assert.equal(layer.stats().connectionsClosed['first-message-timeout'], before + 2);
  });

  test('a client that answers the Pings stays open across several checks', async () => {
    const opened = user.opened.length;
    const c = await WsClient.open(`ws://127.0.0.1:${port}/`);
    try {
      c.send(request({ via: 'WS' }));
      const flow = await user.openedFlow(opened + 1);
      await waitFor(() => c.pings.length >= 2, WAIT_MS, 'two server pings');
      assert.equal(
        user.closed.some((x) => x.flow.id === flow.id),
        false,
      );
      assert.equal(layer.getFlow(flow.id)?.state, 'open');
    } finally {
      c.close();
    }
  });
});

describe('WebSocket keep-alive answers within the send-buffer cap', () => {
  test('a peer that pings and never reads: Pongs stop at maxBufferedBytes (counted, one log line) and the flow stays; a CRLF frame then closes it (overflow, one log line)', async () => {
    const logger = new CapturingLogger();
    const { layer, user } = await startLayer(
      { listen: [{ proto: 'ws', address: '127.0.0.1', port: 0 }], maxBufferedBytes: 16_384 },
      { autoReply: true, deps: { logger } },
    );
    const url = `ws://127.0.0.1:${layer.listeners[0]?.port ?? 0}/`;
    const clients: WsClient[] = [];
    try {
      const c = await WsClient.open(url);
      clients.push(c);
      const flow = await user.openedFlow(1);
      const good = await WsClient.open(url);
      clients.push(good);
      await user.openedFlow(2);
      const seen = (): number => {
        const s = layer.stats();
        return s.keepalives['ws-ping'] + s.drops['keepalive-over-cap'];
      };
      // largest control payload: 127-byte Pongs; the kernel takes a few MB of them first
      const payload = Buffer.alloc(125, 0x70);
      c.ws.pause(); // never reads: the Pongs pile up
      let sent = 0;
      const pings = async (n: number): Promise<void> => {
        for (let i = 0; i < n; i++) c.ws.ping(payload);
        sent += n;
        await waitFor(() => seen() === sent, WAIT_MS, 'the Pings to be read');
      };
      while (layer.stats().drops['keepalive-over-cap'] === 0) {
        assert.ok(sent < 400_000, 'every Ping answered after 50 MB of them');
        await pings(4096);
      }
      // more Pings at the cap: left unanswered, the flow stays open, still one log line
      await pings(1000);
      const s1 = layer.stats();
      assert.ok(s1.drops['keepalive-over-cap'] >= 1000);
      assert.ok(s1.keepalives['ws-ping'] > 0);
      assert.equal(layer.getFlow(flow.id)?.state, 'open');
      const skipped = logger.matching(/keep-alive not answered/);
      assert.equal(skipped.length, 1, 'one line, not one per Ping');
      assert.equal(skipped[0]?.level, 'warn');
      assert.equal(skipped[0]?.obj['kind'], 'ws-ping');
      assert.equal(skipped[0]?.obj['reason'], 'keepalive-over-cap');
      // a CRLF keep-alive frame must be answered: over the cap it closes the flow
      for (let i = 0; i < 64; i++) c.send('\r\n\r\n');
      assert.equal(await user.closeOf(flow.id), 'overflow');
      // what the peer sees: some Pongs, then the connection closed
      c.ws.resume();
      await c.waitClosed();
      assert.ok(c.pongs.length < sent, 'not every Ping got its Pong');
      const s2 = layer.stats();
      assert.equal(s2.connectionsClosed.overflow, 1);
      const closes = logger.matching(/connection closed/);
      assert.equal(closes.length, 1);
      assert.equal(closes[0]?.obj['reason'], 'overflow');
      assert.match(
        String(closes[0]?.obj['why']),
        /CRLF keep-alive answer over the send-buffer cap/,
      );
      // a peer that reads is answered as before
      good.ws.ping(Buffer.from('still there'));
      await waitFor(() => good.pongs.length === 1, WAIT_MS, 'the Pong');
      assert.equal(good.pongs[0]?.toString(), 'still there');
      good.send('\r\n\r\n');
      assert.deepEqual(await good.next(), { data: Buffer.from('\r\n'), binary: false });
    } finally {
      for (const c of clients) c.close();
      await layer.close();
    }
  });
});

describe('WSS transport', { skip: hasOpenssl() ? false : 'openssl CLI not installed' }, () => {
  let pki: TestPki;
  let layer: TransportLayer;
  let user: RecordingUser;

  before(async () => {
    pki = makeTestPki();
    ({ layer, user } = await startLayer(
      {
        listen: [
          { proto: 'wss', address: '127.0.0.1', port: 0 },
          { proto: 'wss', address: '::1', port: 0 },
        ],
        tls: { cert: pki.cert, key: pki.key },
      },
      { autoReply: true },
    ));
  });

  after(async () => {
    await layer.close();
    pki.cleanup();
  });

  for (const [i, host] of ['127.0.0.1', '::1'].entries()) {
    test(`IPv${host === '::1' ? 6 : 4}: request over WSS → onMessage (secure), reply and CRLF keep-alive on the same connection`, async () => {
      const port = layer.listeners[i]?.port ?? 0;
      const c = await WsClient.open(
        host === '::1' ? `wss://[::1]:${port}/` : `wss://127.0.0.1:${port}/`,
        { ca: pki.ca },
      );
      try {
        const n = user.messages.length;
        c.send(request({ via: 'WSS' }));
        const { info } = await user.message(n + 1);
        assert.equal(info.proto, 'wss');
        assert.equal(info.secure, true);
        assert.equal(info.remote.address, host);
        assert.equal(statusLine((await c.next()).data.toString('latin1')), 'SIP/2.0 200 OK');
        c.send('\r\n\r\n');
        assert.equal((await c.next()).data.toString(), '\r\n');
      } finally {
        c.close();
      }
    });
  }
});
