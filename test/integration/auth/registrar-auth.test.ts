// Issue 10 §1-§3: the built-in registrar with authentication, behind the built-in edge, over real
// UDP/TCP on loopback: 401 challenges with SHA-256 and MD5, the user must own the To AoR, wrong and
// replayed credentials are refused and store nothing, unknown and known users are answered alike.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, startInstance } from '../../../src/cli/instance.js';
import { parseConfig } from '../../../src/config/load.js';
import type { SipResponse } from '../../../src/message/message.js';
import { createCredentialStore, newSubscriber } from '../../../src/modules/auth/store/index.js';
import { noopLogger } from '../../../src/util/logger.js';
import { digestAuthorization, parseChallenge } from '../../support/digest.js';
import { TestUa, waitFor } from '../../support/ua.js';

const PASSWORD = 'alice-secret-1234';

describe('registrar authentication behind the edge (issue 10)', () => {
  let dir: string;
  let inst: Instance;
  let edgePort: number;
  const uas: TestUa[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-auth-'));
    const store = createCredentialStore({
      backend: 'sqlite',
      path: join(dir, 'subscriber.db'),
      use_domain: true,
    });
    await store.open();
    const now = Date.now();
    for (const u of ['alice', 'bob'])
      await store.put(
        newSubscriber(
          { username: u, domain: 'example.com' },
          'example.com',
          `${u === 'alice' ? PASSWORD : 'bob-secret-1234'}`,
          now,
        ),
      );
    await store.close();
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
  registrar:
    listen: [udp:127.0.0.1:0]
    alias: [example.com]
    modules:
      auth: { algorithms: [SHA-256, MD5] }
      usrloc: { backend: memory }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    const edge = inst.elements.find((e) => e.config.name === 'edge');
    edgePort = edge?.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
  });

  after(async () => {
    for (const u of uas) u.close();
    await inst?.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  async function ua(user: string, transport: 'udp' | 'tcp' = 'udp'): Promise<TestUa> {
    const edge = inst.elements.find((e) => e.config.name === 'edge');
    const port = edge?.listeners.find((l) => l.proto === transport)?.port ?? 0;
    const u = await TestUa.connect(transport, '127.0.0.1', port, { user });
    uas.push(u);
    return u;
  }

  function bindings(aor: string): Promise<unknown[]> {
    const reg = inst.elements.find((e) => e.config.name === 'registrar');
    return reg?.location?.get(aor) as Promise<unknown[]>;
  }

  test('REGISTER without credentials: 401 offering SHA-256 then MD5 (as configured) with one nonce, qop=auth (RFC 8760)', async () => {
    const a = await ua('alice');
    const r = await a.register();
    assert.equal(r.status, 401);
    const ch = r.getHeaders('WWW-Authenticate');
    assert.equal(ch.length, 2);
    const [sha, md5] = ch.map(parseChallenge);
    assert.equal(sha?.get('algorithm'), 'SHA-256');
    assert.equal(md5?.get('algorithm'), 'MD5');
    assert.equal(sha?.get('realm'), 'example.com');
    assert.equal(sha?.get('qop'), 'auth');
    assert.equal(sha?.get('nonce'), md5?.get('nonce'));
    assert.equal((await bindings('alice')).length, 0);
  });

  for (const algorithm of ['SHA-256', 'MD5'] as const) {
    test(`REGISTER with ${algorithm} credentials is saved`, async () => {
      const a = await ua('alice');
      const r = await a.register({ auth: { username: 'alice', password: PASSWORD, algorithm } });
      assert.equal(r.status, 200, r.toString());
      assert.ok((await bindings('alice')).length >= 1);
    });
  }

  test('a wrong password gets a new 401 and stores nothing; an unknown user is answered alike', async () => {
    const b = await ua('bob');
    const wrong = await b.register({ auth: { username: 'bob', password: 'not-the-password' } });
    assert.equal(wrong.status, 401);
    assert.equal((await bindings('bob')).length, 0);
    const m = await ua('mallory');
    const unknown = await m.register({ auth: { username: 'mallory', password: 'whatever-1234' } });
    assert.equal(unknown.status, 401);
    assert.deepEqual(
      wrong.getHeaders('WWW-Authenticate').map((h) => h.replace(/nonce="[^"]+"/, '')),
      unknown.getHeaders('WWW-Authenticate').map((h) => h.replace(/nonce="[^"]+"/, '')),
    );
    assert.equal(wrong.reason, unknown.reason);
  });

  test("alice's credentials do not register bob's AoR: 403", async () => {
    const a = await ua('alice');
    // a REGISTER for bob answered with alice's credentials
    const first = await a.register({ extra: '' });
    assert.equal(first.status, 401);
    const ch = first.getHeaders('WWW-Authenticate')[0] ?? '';
    const authz = digestAuthorization(
      ch,
      { method: 'REGISTER', uri: 'sip:example.com' },
      {
        username: 'alice',
        password: PASSWORD,
      },
    );
    const bobUa = await ua('bob');
    const r = await bobUa.register({ extra: `Authorization: ${authz}\n` });
    assert.equal(r.status, 403);
    assert.equal((await bindings('bob')).length, 0);
  });

  test('a replayed Authorization (same nonce and nc) is refused', async () => {
    const a = await ua('alice');
    const ok = await a.register({ auth: { username: 'alice', password: PASSWORD } });
    assert.equal(ok.status, 200);
    const replay = await a.register({
      extra: `Authorization: ${a.lastAuthorization}\n`,
      expires: 0,
    });
    assert.equal(replay.status, 401);
    assert.ok((await bindings('alice')).length >= 1, 'the replayed un-REGISTER removed nothing');
  });

  test('a REGISTER for a domain that is not ours: 403 before any challenge', async () => {
    const u = await TestUa.connect('udp', '127.0.0.1', edgePort, {
      user: 'alice',
      domain: 'evil.example',
    });
    uas.push(u);
    const r = await u.register();
    assert.equal(r.status, 403);
  });
});

describe('calls through the authenticating registrar (issue 10 §3)', () => {
  let dir: string;
  let inst: Instance;
  let edgePort = 0;
  let regPort = 0;
  const closers: (() => unknown)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-auth-call-'));
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0]
  registrar:
    listen: [udp:127.0.0.1:0]
    alias: [example.com]
    modules:
      auth: {}
      auth_db: { backend: memory }
      usrloc: { backend: memory }
      permissions: { trusted: [127.0.0.44] }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    const port = (n: string): number =>
      inst.elements.find((e) => e.config.name === n)?.listeners[0]?.port ?? 0;
    edgePort = port('edge');
    regPort = port('registrar');
    const store = inst.elements.find((e) => e.config.name === 'registrar')?.server.auth?.store;
    for (const u of ['alice', 'bob'])
      await store?.put(
        newSubscriber({ username: u, domain: 'example.com' }, 'example.com', `${u}-secret-1234`, 0),
      );
  });

  after(async () => {
    for (const c of closers) await c();
    await inst?.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  /** A raw UDP caller that answers 407 with credentials and ACKs / BYEs like a UA. */
  async function call(o: {
    from: string;
    authUser?: string;
    password?: string;
    local?: string;
    to?: string;
    port?: number;
  }) {
    const { UdpClient } = await import('../../support/net.js');
    const { scanMessage } = await import('../../../src/message/scanner.js');
    const udp = await UdpClient.open(o.local ?? '127.0.0.1');
    closers.push(() => udp.close());
    const a = udp.socket.address();
    const callId = `${Math.random().toString(36).slice(2)}@caller`;
    const to = o.to ?? 'bob';
    const port = o.port ?? edgePort;
    let cseq = 1;
    const responses: SipResponse[] = [];
    let taken = 0;
    const invite = (extra: string) => {
      const branch = `z9hG4bK${Math.random().toString(36).slice(2)}`;
      udp.send(
        `INVITE sip:${to}@example.com SIP/2.0\r\nVia: SIP/2.0/UDP ${a.address}:${a.port};branch=${branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:${o.from}@example.com>;tag=c1\r\nTo: <sip:${to}@example.com>\r\nCall-ID: ${callId}\r\nCSeq: ${cseq} INVITE\r\nContact: <sip:${o.from}@${a.address}:${a.port}>\r\n${extra}Content-Length: 0\r\n\r\n`,
        port,
      );
      return branch;
    };
    const final = async (): Promise<SipResponse> => {
      let f: SipResponse | undefined;
      await waitFor(
        () => {
          for (; taken < udp.received.length; taken++) {
            const r = scanMessage(udp.received[taken] as Buffer);
            if (r.ok && !r.msg.isRequest) responses.push(r.msg as SipResponse);
          }
          f = responses.find(
            (r) => r.status >= 200 && r.cseq?.seq === cseq && r.cseq?.method === 'INVITE',
          );
          return f !== undefined;
        },
        5000,
        'final response to the INVITE',
      );
      return f as SipResponse;
    };
    let branch = invite('');
    let r = await final();
    if (r.status === 407 && o.password !== undefined) {
      // hop-by-hop ACK of the 407
      udp.send(
        `ACK sip:${to}@example.com SIP/2.0\r\nVia: SIP/2.0/UDP ${a.address}:${a.port};branch=${branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:${o.from}@example.com>;tag=c1\r\nTo: ${r.getHeader('To')}\r\nCall-ID: ${callId}\r\nCSeq: ${cseq} ACK\r\nContent-Length: 0\r\n\r\n`,
        port,
      );
      const ch = r.getHeaders('Proxy-Authenticate')[0] ?? '';
      const authz = digestAuthorization(
        ch,
        { method: 'INVITE', uri: `sip:${to}@example.com` },
        { username: o.authUser ?? o.from, password: o.password },
      );
      cseq++;
      branch = invite(`Proxy-Authorization: ${authz}\r\n`);
      r = await final();
    }
    return { r, udp, a, callId, cseq, port, to };
  }

  test('an INVITE without credentials: 407; with them: delivered without the credentials; BYE through the signed Record-Route', async () => {
    const bob = await TestUa.connect('udp', '127.0.0.1', edgePort, { user: 'bob' });
    closers.push(() => bob.close());
    assert.equal(
      (await bob.register({ auth: { username: 'bob', password: 'bob-secret-1234' } })).status,
      200,
    );
    const first = await call({ from: 'alice' });
    assert.equal(first.r.status, 407);
    const c = await call({ from: 'alice', password: 'alice-secret-1234' });
    assert.equal(c.r.status, 200);
    const inv = await bob.nextRequest('INVITE');
    assert.equal(inv.getHeader('Proxy-Authorization'), undefined, 'consume_credentials');
    const rr = c.r.getHeaders('Record-Route');
    assert.ok(
      rr.some((v) => /;fs=[A-Za-z0-9_-]{12}/.test(v)),
      `a signed Record-Route: ${rr.join(', ')}`,
    );
    // ACK + BYE along the route set
    const routes = `Route: ${[...rr].reverse().join(', ')}\r\n`;
    const target = c.r.contacts?.contacts[0]?.uriText ?? '';
    for (const [m, seq] of [
      ['ACK', c.cseq],
      ['BYE', c.cseq + 1],
    ] as const)
      c.udp.send(
        `${m} ${target} SIP/2.0\r\nVia: SIP/2.0/UDP ${c.a.address}:${c.a.port};branch=z9hG4bK${m}${seq};rport\r\n${routes}Max-Forwards: 70\r\nFrom: <sip:alice@example.com>;tag=c1\r\nTo: ${c.r.getHeader('To')}\r\nCall-ID: ${c.callId}\r\nCSeq: ${seq} ${m}\r\nContent-Length: 0\r\n\r\n`,
        c.port,
      );
    await bob.nextRequest('BYE');
  });

  test("alice's credentials with bob in From: 403", async () => {
    // good credentials of alice on a request that claims to come from bob (auth_check -8)
    const c = await call({ from: 'bob', authUser: 'alice', password: 'alice-secret-1234' });
    assert.equal(c.r.status, 403);
    // bob's name with alice's password: a wrong password, answered with a new challenge
    const w = await call({ from: 'bob', password: 'alice-secret-1234' });
    assert.equal(w.r.status, 407);
  });

  test('a trusted peer (permissions.trusted) is not challenged', async () => {
    const c = await call({ from: 'gateway', local: '127.0.0.44', to: 'nobody', port: regPort });
    assert.equal(c.r.status, 404, 'straight to the location lookup: 404 for an unknown user');
  });
});
