import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TransportLayer } from '../../../src/transport/transport-layer.js';
import type { SendErrorCode } from '../../../src/transport/types.js';
import { StreamClient, WAIT_MS, waitFor } from '../../support/net.js';
import { hasOpenssl, makeTestPki, type TestPki } from '../../support/tls.js';
import { type RecordingUser, request, startLayer } from './helpers.js';

const OPTIONS_OK = /^SIP\/2\.0 200 OK\r\n/;

describe('TLS transport', { skip: hasOpenssl() ? false : 'openssl CLI not installed' }, () => {
  let pki: TestPki;
  let otherPki: TestPki;
  let layer: TransportLayer;
  let user: RecordingUser;
  let v4port = 0;
  let v6port = 0;

  before(async () => {
    pki = makeTestPki();
    otherPki = makeTestPki();
    ({ layer, user } = await startLayer(
      {
        listen: [
          { proto: 'tls', address: '127.0.0.1', port: 0 },
          { proto: 'tls', address: '::1', port: 0 },
        ],
        tls: { cert: pki.cert, key: pki.key, ca: pki.ca },
        firstMessageTimeout: 1000,
      },
      { autoReply: true },
    ));
    v4port = layer.listeners[0]?.port ?? 0;
    v6port = layer.listeners[1]?.port ?? 0;
  });

  after(async () => {
    await layer.close();
    pki.cleanup();
    otherPki.cleanup();
  });

  for (const host of ['127.0.0.1', '::1']) {
    test(`IPv${host === '::1' ? 6 : 4}: request over TLS → onMessage (secure); reply on the same connection; CRLF ping`, async () => {
      const c = await StreamClient.tls(host === '::1' ? v6port : v4port, host, { ca: pki.ca });
      try {
        const n = user.messages.length;
        c.write(request({ via: 'TLS' }));
        const { info } = await user.message(n + 1);
        assert.equal(info.proto, 'tls');
        assert.equal(info.secure, true);
        assert.deepEqual(info.remote, { address: host, port: c.socket.localPort });
        assert.match(await c.takeMessage(), OPTIONS_OK);
        c.write('\r\n\r\n');
        assert.equal(await c.take(2), '\r\n');
        const flow = layer.getFlow(info.flowId);
        assert.equal(flow?.secure, true);
        assert.equal(flow?.state, 'open');
      } finally {
        c.close();
      }
    });
  }

  test('layer to layer: send to a TLS address opens a verified connection; the answer comes back on it', async () => {
    const { layer: b, user: bUser } = await startLayer({
      listen: [{ proto: 'tls', address: '127.0.0.1', port: 0 }],
      tls: { cert: pki.cert, key: pki.key, ca: pki.ca },
    });
    try {
      const n = user.messages.length;
      const r = b.send(Buffer.from(request({ via: 'TLS' })), {
        proto: 'tls',
        address: '127.0.0.1',
        port: v4port,
      });
      assert.ok(r.ok);
      const { info } = await user.message(n + 1);
      assert.equal(info.proto, 'tls');
      const back = await bUser.message(1);
      assert.equal(back.msg.isRequest, false);
      assert.equal(back.info.flowId, r.flowId);
      assert.equal(back.info.proto, 'tls');
      const flow = await bUser.openedFlow(1);
      assert.equal(flow.outgoing, true);
      assert.equal(flow.id, r.flowId);
    } finally {
      await b.close();
    }
  });

  test('a server certificate from an unknown CA fails the connect, reported through onError', async () => {
    const { layer: b, user: bUser } = await startLayer({
      listen: [{ proto: 'tls', address: '127.0.0.1', port: 0 }],
      tls: { cert: otherPki.cert, key: otherPki.key, ca: otherPki.ca },
    });
    try {
      const errors: SendErrorCode[] = [];
      const r = b.send(
        Buffer.from(request({ via: 'TLS' })),
        { proto: 'tls', address: '127.0.0.1', port: v4port },
        (code) => errors.push(code),
      );
      assert.ok(r.ok);
      await waitFor(() => errors.length > 0, WAIT_MS, 'onError');
      assert.equal(errors[0], 'SIP_ERR_TRANSPORT_SEND');
      assert.equal(bUser.opened.length, 0);
    } finally {
      await b.close();
    }
  });

  test('a TCP connection that never completes the TLS handshake is closed by the first-message deadline', async () => {
    const before = layer.stats().connectionsClosed['first-message-timeout'];
    const raw = await StreamClient.tcp(v4port);
    await raw.waitClosed();
    assert.equal(layer.stats().connectionsClosed['first-message-timeout'], before + 1);
    // still serving
    const c = await StreamClient.tls(v4port, '127.0.0.1', { ca: pki.ca });
    try {
      c.write(request({ via: 'TLS' }));
      assert.match(await c.takeMessage(), OPTIONS_OK);
    } finally {
      c.close();
    }
  });

  test('a TLS listener without tls config is refused at listen()', async () => {
    await assert.rejects(
      startLayer({ listen: [{ proto: 'tls', address: '127.0.0.1', port: 0 }] }),
      /tls/i,
    );
  });
});
