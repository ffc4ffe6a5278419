// Issue 10 §4, "a relay test": an unauthenticated client sends every kind of request that could make
// the edge or the registrar contact an address of the client's choosing (Route tricks, forged Vias,
// in-dialog requests without our Record-Route, stray responses, a contact registered at a third
// party and called without credentials), to the edge and to the registrar directly; a UDP and a TCP
// listener on another loopback address stand for that address, and nothing may reach them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, startInstance } from '../../../src/cli/instance.js';
import { parseConfig } from '../../../src/config/load.js';
import type { SipResponse } from '../../../src/message/message.js';
import { scanMessage } from '../../../src/message/scanner.js';
import { createCredentialStore, newSubscriber } from '../../../src/modules/auth/store/index.js';
import { noopLogger } from '../../../src/util/logger.js';
import { UdpClient, waitFor } from '../../support/net.js';
import { TestUa } from '../../support/ua.js';

const VICTIM_IP = '127.0.0.9';

function rnd(): string {
  return randomBytes(6).toString('hex');
}

describe('no open relay (issue 10 §4)', () => {
  let dir: string;
  let inst: Instance;
  let edgePort = 0;
  let regPort = 0;
  let victimUdp: UdpClient;
  let victimTcp: Server;
  let victimPort = 0;
  const victimConns: Socket[] = [];
  let attacker: UdpClient;
  const uas: TestUa[] = [];
  const outcomes: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-relay-'));
    const store = createCredentialStore({ backend: 'memory', use_domain: true });
    await store.open();
    victimUdp = await UdpClient.open(VICTIM_IP);
    victimPort = victimUdp.port;
    victimTcp = createServer((s) => {
      victimConns.push(s);
      s.on('error', () => {});
    });
    await new Promise<void>((r) => victimTcp.listen(victimPort, VICTIM_IP, r));
    attacker = await UdpClient.open('127.0.0.1');
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
    modules:
      pike: { reqs_density_per_unit: 1000 }
  registrar:
    listen: [udp:127.0.0.1:0]
    alias: [example.com]
    modules:
      auth: {}
      auth_db: { backend: memory }
      usrloc: { backend: memory }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    const edge = inst.elements.find((e) => e.config.name === 'edge');
    const reg = inst.elements.find((e) => e.config.name === 'registrar');
    edgePort = edge?.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
    regPort = reg?.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
    // alice exists, so requests for her reach the registrar's lookup when authenticated
    const creds = reg?.server.auth?.store;
    await creds?.put(
      newSubscriber(
        { username: 'alice', domain: 'example.com' },
        'example.com',
        'alice-secret-1234',
        Date.now(),
      ),
    );
  });

  after(async () => {
    for (const u of uas) u.close();
    for (const s of victimConns) s.destroy();
    await new Promise<void>((r) => victimTcp?.close(() => r()));
    await victimUdp?.close();
    await attacker?.close();
    await inst?.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  /** Sends `text` from the attacker to `port` and returns the final response, if any comes within 1 s. */
  async function attempt(
    label: string,
    port: number,
    text: string,
  ): Promise<SipResponse | undefined> {
    const a = attacker.socket.address();
    const raw = text
      .replace(/\r?\n/g, '\r\n')
      .replaceAll('@ME@', `${a.address}:${a.port}`)
      .replaceAll('@VICTIM@', `${VICTIM_IP}:${victimPort}`)
      .replaceAll('@EDGE@', `127.0.0.1:${edgePort}`)
      .replaceAll('@REG@', `127.0.0.1:${regPort}`);
    const callId = /Call-ID: (.*)\r\n/.exec(raw)?.[1];
    const from = attacker.received.length;
    attacker.send(raw, port);
    let res: SipResponse | undefined;
    try {
      await waitFor(
        () => {
          for (const b of attacker.received.slice(from)) {
            const r = scanMessage(b);
            if (
              r.ok &&
              !r.msg.isRequest &&
              r.msg.callId === callId &&
              (r.msg as SipResponse).status >= 200
            )
              res = r.msg as SipResponse;
          }
          return res !== undefined;
        },
        1000,
        label,
      );
    } catch {
      // no answer (a dropped ACK or response): fine, as long as nothing reached the victim
    }
    outcomes.push(`${label}: ${res === undefined ? 'no answer' : `${res.status} ${res.reason}`}`);
    return res;
  }

  function req(
    method: string,
    ruri: string,
    extra: string,
    opts: { toTag?: boolean; vias?: string } = {},
  ): string {
    return `${method} ${ruri} SIP/2.0
Via: SIP/2.0/UDP @ME@;branch=z9hG4bK${rnd()};rport
${opts.vias ?? ''}${extra}Max-Forwards: 70
From: <sip:attacker@example.com>;tag=${rnd()}
To: <sip:victim@${VICTIM_IP}>${opts.toTag ? `;tag=${rnd()}` : ''}
Call-ID: ${rnd()}@attacker
CSeq: 1 ${method}
Contact: <sip:attacker@@ME@>
Content-Length: 0

`;
  }

  const victimUri = 'sip:victim@@VICTIM@';

  test('requests to the edge and the registrar that name a third party: refused, nothing reaches it', async () => {
    for (const [name, port] of [
      ['edge', () => edgePort],
      ['registrar', () => regPort],
    ] as const) {
      const P = port();
      // forged Vias: two Via headers made the seed edge take the request for one from the registrar
      let r = await attempt(
        `${name}: INVITE with two Vias and a Route to the third party`,
        P,
        req('INVITE', victimUri, 'Route: <sip:@VICTIM@;lr>\n', {
          vias: 'Via: SIP/2.0/UDP @REG@;branch=z9hG4bKforged\n',
        }),
      );
      assert.ok(
        r !== undefined && r.status >= 400,
        `${name}: forged-Via INVITE answered ${r?.status}`,
      );
      r = await attempt(
        `${name}: in-dialog BYE with a Route to the third party`,
        P,
        req('BYE', victimUri, 'Route: <sip:@VICTIM@;lr>\n', { toTag: true }),
      );
      assert.ok(r !== undefined && r.status >= 400);
      r = await attempt(
        `${name}: OPTIONS routed through us, then the third party`,
        P,
        req(
          'OPTIONS',
          victimUri,
          `Route: <sip:${name === 'edge' ? '@EDGE@' : '@REG@'};lr>, <sip:@VICTIM@;lr>\n`,
        ),
      );
      assert.ok(r !== undefined && r.status >= 400);
      r = await attempt(
        `${name}: in-dialog BYE through us, then the third party`,
        P,
        req(
          'BYE',
          victimUri,
          `Route: <sip:${name === 'edge' ? '@EDGE@' : '@REG@'};lr>, <sip:@VICTIM@;lr>\n`,
          { toTag: true },
        ),
      );
      assert.ok(r !== undefined && r.status >= 400);
      r = await attempt(
        `${name}: in-dialog BYE through the edge and the registrar, then the third party`,
        P,
        req('BYE', victimUri, 'Route: <sip:@EDGE@;lr>, <sip:@REG@;lr>, <sip:@VICTIM@;lr>\n', {
          toTag: true,
        }),
      );
      assert.ok(r !== undefined && r.status >= 400);
      r = await attempt(
        `${name}: MESSAGE with the third party as Request-URI`,
        P,
        req('MESSAGE', victimUri, ''),
      );
      assert.ok(r !== undefined && r.status >= 400);
      r = await attempt(
        `${name}: INVITE to the third party's address`,
        P,
        req('INVITE', victimUri, ''),
      );
      assert.ok(r !== undefined && r.status >= 400);
      r = await attempt(
        `${name}: SUBSCRIBE with a Route to the third party`,
        P,
        req('SUBSCRIBE', victimUri, 'Route: <sip:@VICTIM@;lr>\nEvent: presence\n'),
      );
      assert.ok(r !== undefined && r.status >= 400);
      r = await attempt(
        `${name}: a flow token that is not ours`,
        P,
        req('INVITE', victimUri, 'Route: <sip:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA@@EDGE@;lr;ob>\n'),
      );
      assert.ok(r !== undefined && r.status >= 400);
      await attempt(
        `${name}: ACK with a Route to the third party`,
        P,
        req('ACK', victimUri, 'Route: <sip:@VICTIM@;lr>\n', { toTag: true }),
      );
      await attempt(
        `${name}: CANCEL with a Route to the third party`,
        P,
        req('CANCEL', victimUri, 'Route: <sip:@VICTIM@;lr>\n'),
      );
      // a response with our Via on top and the third party below: never relayed statelessly
      await attempt(
        `${name}: stray response with the third party's Via below ours`,
        P,
        `SIP/2.0 200 OK
Via: SIP/2.0/UDP ${name === 'edge' ? '@EDGE@' : '@REG@'};branch=z9hG4bKstray${rnd()}
Via: SIP/2.0/UDP @VICTIM@;branch=z9hG4bK${rnd()}
From: <sip:a@example.com>;tag=1
To: <sip:b@example.com>;tag=2
Call-ID: ${rnd()}@stray
CSeq: 1 INVITE
Content-Length: 0

`,
      );
    }
  });

  test('a contact registered at the third party is not called without credentials', async () => {
    const alice = await TestUa.connect('udp', '127.0.0.1', edgePort, { user: 'alice' });
    uas.push(alice);
    const r = await alice.register({
      contact: `<sip:alice@${VICTIM_IP}:${victimPort}>`,
      auth: { username: 'alice', password: 'alice-secret-1234' },
    });
    assert.equal(r.status, 200, 'alice may register a contact anywhere: she is accountable for it');
    const call = await attempt(
      'edge: INVITE alice (contact at the third party) without credentials',
      edgePort,
      req('INVITE', 'sip:alice@example.com', ''),
    );
    assert.equal(call?.status, 407);
    // and a Path of the client's own, which the edge removes before adding its own
    const p = await alice.register({
      contact: `<sip:alice@${VICTIM_IP}:${victimPort}>`,
      extra: `Path: <sip:${VICTIM_IP}:${victimPort};lr>\n`,
      auth: { username: 'alice', password: 'alice-secret-1234' },
    });
    assert.equal(p.status, 200);
    assert.ok(
      !p.getHeaders('Path').join(',').includes(VICTIM_IP),
      'the client-supplied Path was not stored',
    );
  });

  test('the third party received nothing', async (t) => {
    await new Promise((r) => setTimeout(r, 500));
    for (const o of outcomes) t.diagnostic(o);
    assert.equal(
      victimUdp.received.length,
      0,
      `UDP datagrams reached the third party:\n${victimUdp.received.map((b) => b.toString('latin1')).join('\n---\n')}`,
    );
    assert.equal(victimConns.length, 0, 'a TCP connection reached the third party');
  });
});

describe('the relay test can fail: the seed edge (seed_strict) relays a forged-Via INVITE', () => {
  test('with seed_strict the INVITE with two Vias reaches the third party (as Kamailio with Example 1.1 does)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-relay-seed-'));
    const victim = await UdpClient.open(VICTIM_IP);
    const attacker = await UdpClient.open('127.0.0.1');
    let inst: Instance | undefined;
    try {
      const config = parseConfig(
        `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0]
    edge: { seed_strict: true }
  registrar:
    listen: [udp:127.0.0.1:0]
    modules: { usrloc: { backend: memory } }
`,
        join(dir, 'flowgate.yaml'),
      );
      inst = await startInstance(config, { logger: noopLogger, version: 'test' });
      const edgePort =
        inst.elements
          .find((e) => e.config.name === 'edge')
          ?.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
      const a = attacker.socket.address();
      attacker.send(
        `INVITE sip:victim@${VICTIM_IP}:${victim.port} SIP/2.0\r\nVia: SIP/2.0/UDP ${a.address}:${a.port};branch=z9hG4bK${rnd()};rport\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKforged\r\nRoute: <sip:${VICTIM_IP}:${victim.port};lr>\r\nMax-Forwards: 70\r\nFrom: <sip:attacker@example.com>;tag=${rnd()}\r\nTo: <sip:victim@${VICTIM_IP}>\r\nCall-ID: ${rnd()}@attacker\r\nCSeq: 1 INVITE\r\nContact: <sip:attacker@${a.address}:${a.port}>\r\nContent-Length: 0\r\n\r\n`,
        edgePort,
      );
      const got = await victim.next(3000);
      assert.match(got.toString('latin1'), /^INVITE sip:victim@/);
    } finally {
      await inst?.stop(0);
      await victim.close();
      await attacker.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
