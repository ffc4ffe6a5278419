// Issue 12 §4: a connection with a transaction in progress is not closed by
// tcp_connection_lifetime until that transaction ends. Before, a TCP request still waiting for its
// reply lost its connection when the lifetime ran out with the transaction timeout; the 408 then
// went to a new connection to the Via address, which was refused. Real loopback sockets, manual
// clock for the timers.
import assert from 'node:assert/strict';
import { createServer as netServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineScript } from '../../../src/script/api.js';
import { createServer } from '../../../src/server.js';
import type { FlowInfo } from '../../../src/transport/types.js';
import { ManualClock } from '../../../src/util/clock.js';
import { StreamClient, waitFor } from '../../support/net.js';

/** A next hop that accepts TCP connections and reads, but never answers. */
async function silentPeer(): Promise<{ server: Server; port: number; got: () => string }> {
  let got = '';
  const socks: Socket[] = [];
  const server = netServer((s) => {
    socks.push(s);
    s.on('data', (b: Buffer) => {
      got += b.toString('latin1');
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  if (a === null || typeof a === 'string') throw new Error('no port');
  server.on('close', () => {
    for (const s of socks) s.destroy();
  });
  return { server, port: a.port, got: () => got };
}

describe('tcp_connection_lifetime and transactions in progress (issue 12 §4)', () => {
  test('both connections of a waiting transaction outlive the lifetime; the 408 goes back on the same connection; then they close', async () => {
    const clock = new ManualClock();
    const peer = await silentPeer();
    const script = defineScript({
      request_route(ctx) {
        ctx.$du = `sip:127.0.0.1:${peer.port};transport=tcp`;
        if (!ctx.t_relay()) ctx.sl_reply_error();
      },
    });
    const server = createServer({
      name: 'edge',
      listen: [{ proto: 'tcp', address: '127.0.0.1', port: 0 }],
      script,
      clock,
      // the lifetime runs out (2 s) while the transaction waits (timer F: 3 s)
      transport: { tcpConnectionLifetime: 2 },
      timers: { frTimer: 3000 },
    });
    const [l] = await server.listen();
    const ua = await StreamClient.tcp(l?.port ?? 0);
    const closed: { id: string; reason: string; at: number }[] = [];
    server.core.flowCloseHooks.push((f, reason) =>
      closed.push({ id: f.id, reason, at: clock.now() }),
    );
    try {
      const { address, port } = ua.socket.address() as { address: string; port: number };
      ua.write(
        [
          'MESSAGE sip:bob@example.com SIP/2.0',
          `Via: SIP/2.0/TCP ${address}:${port};branch=z9hG4bK-busy1`,
          'Max-Forwards: 70',
          'From: <sip:alice@example.com>;tag=a1',
          'To: <sip:bob@example.com>',
          'Call-ID: busy1@ua',
          'CSeq: 1 MESSAGE',
          'Content-Length: 0',
          '',
          '',
        ].join('\r\n'),
      );
      await waitFor(() => peer.got().includes('MESSAGE sip:bob'), 5000, 'the relayed MESSAGE');
      const flows = (): FlowInfo[] =>
        (server.transport as { flows(): FlowInfo[] }).flows().filter((f) => f.proto === 'tcp');
      assert.equal(flows().length, 2, 'the UA connection and the one to the next hop');
      const [ours, theirs] = flows().sort((a, b) => Number(a.outgoing) - Number(b.outgoing));

      clock.advance(2500); // past the lifetime, before timer F
      await sleep(50);
      assert.deepEqual(closed, [], 'no connection closed while the transaction waits');
      assert.equal(ua.closed, false);
      assert.deepEqual(
        flows().map((f) => f.state),
        ['open', 'open'],
      );

      clock.advance(500); // timer F: 408 upstream
      const res = await ua.takeMessage(5000);
      assert.match(res, /^SIP\/2\.0 408 /);
      assert.match(res, /branch=z9hG4bK-busy1/);
      assert.equal(ua.closed, false, 'the 408 came on the connection the request came on');

      // the transactions ended: the lifetime applies again, from each connection's last traffic.
      // The one to the silent next hop has been idle for 3 s: it closes now; the UA's carried the
      // 408 just now: it closes 2 s later
      await waitFor(() => closed.length === 1, 5000, 'the next-hop connection to close');
      assert.deepEqual(closed, [{ id: theirs?.id, reason: 'lifetime', at: 3000 }]);
      clock.advance(1900);
      await sleep(50);
      assert.equal(closed.length, 1);
      assert.equal(ua.closed, false);
      clock.advance(200);
      await waitFor(() => closed.length === 2, 5000, 'the UA connection to close');
      assert.deepEqual(closed[1], { id: ours?.id, reason: 'lifetime', at: 5000 });
      await ua.waitClosed();
    } finally {
      ua.close();
      await server.close();
      await new Promise<void>((r) => peer.server.close(() => r()));
    }
  });
});
