// Issue 5 §3: the flowgate edge (seed Example 1.1) in front of the REAL Kamailio registrar (seed
// Example 1.2, Debian 5.6.3 via ../shared/kamailio/kamailio.sh), then the same suite with the
// flowgate registrar (the full flowgate chain). UAs register over UDP, TCP, TLS, WS and WSS; a
// caller calls them through the registrar; the call must reach the UA over the very connection it
// registered on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MemoryLocationStore } from '../../src/modules/location/memory.js';
import { decodeFlowToken } from '../../src/modules/outbound/flow-token.js';
import { registrarModule } from '../../src/modules/registrar/index.js';
import { edgeProxyScript } from '../../src/script/edge-proxy.js';
import { registrarScript } from '../../src/script/registrar.js';
import type { ListenConfig } from '../../src/transport/types.js';
import { UdpClient, waitFor } from '../support/net.js';
import { hasOpenssl, makeTestPki, type TestPki } from '../support/tls.js';
import { TestCaller, TestUa, type UaTransport } from '../support/ua.js';
import {
  type FlowgatePeer,
  freePort,
  kamailioSkip,
  startFlowgate,
  startKamailio,
  stopAllPeers,
} from './peers.js';

interface RegistrarPeer {
  readonly ip: string;
  readonly port: number;
}

/** The seed registrar: real Kamailio. */
async function kamailioRegistrar(): Promise<RegistrarPeer> {
  const k = await startKamailio('registrar', { regIp: '127.0.57.2' });
  return k.registrar;
}

/** The same seed registrar in flowgate (Example 1.2 as the built-in script, in-memory location). */
async function flowgateRegistrar(): Promise<RegistrarPeer> {
  const ip = '127.0.57.3';
  const port = await freePort(ip);
  const store = new MemoryLocationStore();
  await store.open();
  await startFlowgate({
    name: 'registrar',
    listen: [
      { proto: 'udp', address: ip, port },
      { proto: 'tcp', address: ip, port },
    ],
    script: registrarScript(),
    registrar: registrarModule({ use_path: 1, gruu_enabled: 1, outbound_mode: 1 }, store),
    location: store,
    tm: { restartFrOnEachReply: false },
    aliases: ['example.com'],
  });
  return { ip, port };
}

const EDGE_IP = '127.0.58.1';
const tlsSkip = hasOpenssl() ? false : 'openssl missing: TLS interop skipped';

for (const [name, startRegistrar, skip] of [
  ['real Kamailio registrar', kamailioRegistrar, kamailioSkip() || tlsSkip],
  ['flowgate registrar (full flowgate chain)', flowgateRegistrar, tlsSkip],
] as const) {
  describe(`flowgate edge + ${name} (issue 5 §3)`, { skip, timeout: 120_000 }, () => {
    let kam: { registrar: RegistrarPeer };
    let edge: FlowgatePeer;
    let pki: TestPki;
    const ports: Record<string, number> = {};

    before(async () => {
      pki = makeTestPki([EDGE_IP]);
      kam = { registrar: await startRegistrar() };
      ports['sip'] = await freePort(EDGE_IP);
      ports['tls'] = await freePort(EDGE_IP);
      ports['ws'] = await freePort(EDGE_IP);
      ports['wss'] = await freePort(EDGE_IP);
      const listen: ListenConfig[] = [
        { proto: 'udp', address: EDGE_IP, port: ports['sip'] as number },
        { proto: 'tcp', address: EDGE_IP, port: ports['sip'] as number },
        { proto: 'tls', address: EDGE_IP, port: ports['tls'] as number },
        { proto: 'ws', address: EDGE_IP, port: ports['ws'] as number },
        { proto: 'wss', address: EDGE_IP, port: ports['wss'] as number },
      ];
      edge = await startFlowgate({
        name: 'edge',
        listen,
        tls: { cert: pki.cert, key: pki.key },
        script: edgeProxyScript({
          registrar: `sip:${kam.registrar.ip}:${kam.registrar.port}`,
          flowTimer: 20,
        }),
        outbound: {
          force_outbound_flag: -1,
          force_no_outbound_flag: -1,
          flow_token_secret: 'interop-secret',
        },
        forceRport: true,
        aliases: ['example.com'],
        transport: { tcpConnectionLifetime: 30, wsKeepaliveTimeout: 25 },
        // 127.0.58.40 stands in for the registrar in the tampered-token test: the edge knows its
        // registrar by source address (issue 10), so that peer is listed as a trusted one
        permissions: { trusted: ['127.0.58.40'] },
      });
    });

    after(async () => {
      await stopAllPeers();
      pki?.cleanup();
    });

    const portOf = (t: UaTransport): number =>
      (t === 'udp' || t === 'tcp' ? ports['sip'] : ports[t]) as number;

    for (const [i, t] of (['udp', 'tcp', 'tls', 'ws', 'wss'] as const).entries()) {
      test(`${t}: outbound REGISTER -> 200 with Require: outbound and Flow-Timer: 20; a call reaches the UA over its own flow`, async () => {
        const user = `ob${t}`;
        const ua = await TestUa.connect(t, EDGE_IP, portOf(t), {
          user,
          localAddress: `127.0.58.${21 + i}`,
          ca: pki.ca,
        });
        try {
          const r1 = await ua.register({ regId: 1 });
          assert.equal(r1.status, 200, r1.toString());
          assert.equal(r1.getHeader('Require'), 'outbound');
          assert.equal(r1.getHeader('Flow-Timer'), '20');
          // the Path the registrar stored (echoed in the 200) carries our token and ;ob
          const path = r1.getHeader('Path') ?? '';
          const m = /^<sip:([^@]+)@127\.0\.58\.1(?::(\d+))?(;transport=\w+)?;lr;ob>$/.exec(path);
          assert.ok(m, `Path echo: ${path}`);
          const key = edge.server.outbound?.key as Buffer;
          const d = decodeFlowToken(key, m[1]);
          assert.ok(d.ok);
          assert.equal(d.token.proto, t);
          assert.equal(d.token.remote.address, ua.local.address);
          assert.equal(d.token.remote.port, ua.local.port);
          // Kamailio's seed registrar answers 500 to a user with a single contact (quirk Q-R7): register a second flow
          // (flowgate routes a single contact: decision Q-R7; the second flow does no harm there)
          const r2 = await ua.register({ regId: 2 });
          assert.equal(r2.status, 200);
          const caller = await TestCaller.open('127.0.58.90');
          try {
            const res = await caller.call(
              `sip:${user}@example.com`,
              kam.registrar.ip,
              kam.registrar.port,
              10_000,
            );
            assert.equal(res.status, 200);
            const inv = await ua.nextRequest('INVITE');
            // delivered over the flow it registered on: same connection, and the Record-Route names it
            const rr = inv.getHeaders('Record-Route');
            assert.ok(
              rr.some((v) => v.includes(`${m[1]}@`)),
              `Record-Route carries the Path token: ${rr.join(' | ')}`,
            );
            await ua.nextRequest('BYE');
          } finally {
            await caller.close();
          }
        } finally {
          ua.close();
        }
      });
    }

    test('a tampered flow token in a Route -> 403 from the edge', async () => {
      const peer = await UdpClient.open('127.0.58.40');
      try {
        const ua = await TestUa.connect('udp', EDGE_IP, portOf('udp'), {
          user: 'tamper',
          localAddress: '127.0.58.41',
        });
        const r = await ua.register({ regId: 1 });
        ua.close();
        const tok = /<sip:([^@]+)@/.exec(r.getHeader('Path') ?? '')?.[1] ?? '';
        const bad = `${tok.slice(0, 4)}${tok[4] === 'A' ? 'B' : 'A'}${tok.slice(5)}`;
        peer.send(
          `INVITE sip:tamper@127.0.58.41 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.58.40:${peer.port};branch=z9hG4bK-t1\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK-t0\r\nRoute: <sip:${bad}@${EDGE_IP}:${portOf('udp')};lr;ob>\r\nMax-Forwards: 69\r\nFrom: <sip:x@example.com>;tag=1\r\nTo: <sip:tamper@example.com>\r\nCall-ID: tamper-1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
          portOf('udp'),
          EDGE_IP,
        );
        const reply = (await peer.next()).toString('latin1');
        assert.match(reply, /^SIP\/2\.0 403 Forbidden\r\n/);
      } finally {
        await peer.close();
      }
    });

    test('a closed TCP flow -> 430 at once from the edge; the caller gets what the registrar makes of it (480), without waiting for fr_timer', async () => {
      const ua = await TestUa.connect('tcp', EDGE_IP, portOf('tcp'), {
        user: 'gone',
        localAddress: '127.0.58.50',
      });
      assert.equal((await ua.register({ regId: 1 })).status, 200);
      assert.equal((await ua.register({ regId: 2 })).status, 200);
      const local = ua.local;
      ua.close();
      await waitFor(
        () => edge.server.transport.findConnection('tcp', local) === undefined,
        5000,
        'the edge to see the close',
      );
      const before430 = edge.server.core.stats.flowFailed430;
      const caller = await TestCaller.open('127.0.58.91');
      try {
        const t0 = Date.now();
        const res = await caller.call(
          'sip:gone@example.com',
          kam.registrar.ip,
          kam.registrar.port,
          10_000,
        );
        assert.equal(res.status, 480, 'Kamailio turns the 430s into 480 (seed failure route)');
        assert.ok(Date.now() - t0 < 5000, 'no fr_timer wait');
        assert.equal(edge.server.core.stats.flowFailed430 - before430, 2, 'one 430 per flow');
      } finally {
        await caller.close();
      }
    });

    test('keep-alives: CRLF ping over TCP gets a pong; STUN Binding over UDP gets XOR-MAPPED-ADDRESS', async () => {
      const ua = await TestUa.connect('tcp', EDGE_IP, portOf('tcp'), {
        user: 'ka',
        localAddress: '127.0.58.60',
      });
      try {
        await ua.ping();
        await ua.ping();
        assert.equal(ua.closed, false);
      } finally {
        ua.close();
      }
      const c = await UdpClient.open('127.0.58.61');
      try {
        const tid = Buffer.from('0102030405060708090a0b0c', 'hex');
        const req = Buffer.concat([
          Buffer.from([0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]),
          tid,
        ]);
        c.send(req, portOf('udp'), EDGE_IP);
        const res = await c.next();
        assert.equal(res.readUInt16BE(0), 0x0101);
        assert.deepEqual(res.subarray(8, 20), tid);
        // XOR-MAPPED-ADDRESS is the client's own address
        const at = res.indexOf(Buffer.from([0x00, 0x20]), 20);
        assert.ok(at >= 20);
        assert.equal(res.readUInt16BE(at + 6) ^ 0x2112, c.port);
      } finally {
        await c.close();
      }
    });
  });
}
