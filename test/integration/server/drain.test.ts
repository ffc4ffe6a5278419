import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { defineScript } from '../../../src/script/api.js';
import { createServer, type FlowgateServer } from '../../../src/server.js';
import { StreamClient, UdpClient } from '../../support/net.js';

const script = defineScript({
  request_route(ctx) {
    ctx.sl_send_reply(200, 'OK');
  },
});

function req(method: string, port: number, toTag = ''): string {
  return `${method} sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${method}${toTag};rport\r\nMax-Forwards: 70\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:x@x>${toTag}\r\nCall-ID: drain-${method}${toTag}\r\nCSeq: 1 ${method}\r\nContent-Length: 0\r\n\r\n`;
}

describe('graceful drain (SIGTERM step 1)', () => {
  let s: FlowgateServer;
  after(() => s?.close());

  test('no new connections, new requests get 503 with Retry-After, in-dialog requests still pass, open connections keep working', async () => {
    s = createServer({
      listen: [
        { proto: 'udp', address: '127.0.0.1', port: 0 },
        { proto: 'tcp', address: '127.0.0.1', port: 0 },
      ],
      script,
    });
    const ls = await s.listen();
    const udp = ls.find((l) => l.proto === 'udp')?.port ?? 0;
    const tcp = ls.find((l) => l.proto === 'tcp')?.port ?? 0;
    const open = await StreamClient.tcp(tcp);
    const c = await UdpClient.open();
    try {
      s.drain();
      c.send(req('INVITE', c.port), udp);
      assert.match(
        (await c.next()).toString('latin1'),
        /^SIP\/2\.0 503 Service Unavailable\r\n[\s\S]*Retry-After: 5\r\n/,
      );
      c.send(req('BYE', c.port, ';tag=t'), udp);
      assert.match((await c.next()).toString('latin1'), /^SIP\/2\.0 200 OK\r\n/);
      await assert.rejects(StreamClient.tcp(tcp), /ECONNREFUSED/);
      open.write(req('OPTIONS', 9, ';tag=u').replace('SIP/2.0/UDP', 'SIP/2.0/TCP'));
      assert.match(await open.takeMessage(), /^SIP\/2\.0 200 OK\r\n/);
      assert.equal(s.core.stats.refusedDraining, 1);
    } finally {
      open.close();
      await c.close();
    }
  });
});
