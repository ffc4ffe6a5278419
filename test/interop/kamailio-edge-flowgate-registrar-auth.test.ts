// Issue 10: "Kamailio interop still holds": the REAL Kamailio edge (seed Example 1.1) in front of the
// flowgate registrar WITH digest authentication (registrarScript({ auth: true }), signed dialogs).
// REGISTER is challenged 401 (SHA-256 + MD5) through Kamailio, a wrong password and another user's
// AoR store nothing, an INVITE is challenged 407, and a call set up with credentials is hung up
// from either side through the registrar's signed Record-Route and Kamailio's own.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AuthParams, DigestAlgorithm } from '../../src/modules/auth/index.js';
import { MemoryCredentialStore, newSubscriber } from '../../src/modules/auth/store/index.js';
import { MemoryLocationStore } from '../../src/modules/location/memory.js';
import { registrarModule } from '../../src/modules/registrar/index.js';
import { registrarScript } from '../../src/script/registrar.js';
import { parseChallenge } from '../support/digest.js';
import { TestUa, type UaTransport, waitFor } from '../support/ua.js';
import { bye, calleeDialog, callFrom } from '../support/ua-call.js';
import {
  type FlowgatePeer,
  freePort,
  type KamailioPeer,
  kamailioSkip,
  startFlowgate,
  startKamailio,
  stopAllPeers,
} from './peers.js';

const EDGE_IP = '127.0.61.1';
const REG_IP = '127.0.61.2';
// one user (or pair) per test: a call to a user with bindings left by another test would fork
const USERS = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'ken',
  'leo',
];
const pw = (u: string): string => `${u}-secret-1234`;
const esc = (s: string): string => s.replace(/\./g, '\\.');

const AUTH: AuthParams = {
  realm: undefined,
  algorithms: [DigestAlgorithm.SHA256, DigestAlgorithm.MD5],
  qop: 'auth',
  nonce_expire: 300,
  nonce_count: true,
  nc_array_size: 1024,
  secret: undefined,
  user_failures: 30,
  user_failure_window: 60,
  user_lockout: 300,
  use_domain: true,
};

describe('Kamailio edge + flowgate registrar with authentication (issue 10)', {
  skip: kamailioSkip(),
  timeout: 90_000,
}, () => {
  let kam: KamailioPeer;
  let registrar: FlowgatePeer;
  let location: MemoryLocationStore;
  const uas: TestUa[] = [];

  before(async () => {
    const port = await freePort(REG_IP);
    location = new MemoryLocationStore();
    await location.open();
    const credentials = new MemoryCredentialStore();
    await credentials.open();
    for (const u of USERS)
      await credentials.put(
        newSubscriber({ username: u, domain: 'example.com' }, 'example.com', pw(u), Date.now()),
      );
    registrar = await startFlowgate({
      name: 'registrar',
      listen: [
        { proto: 'udp', address: REG_IP, port },
        { proto: 'tcp', address: REG_IP, port },
      ],
      script: registrarScript({ auth: true }),
      registrar: registrarModule({ use_path: 1, gruu_enabled: 1, outbound_mode: 1 }, location),
      location,
      tm: { restartFrOnEachReply: false },
      aliases: ['example.com'],
      auth: { params: AUTH, store: credentials },
      signDialogs: true,
      // the Kamailio edge carries every client: challenged like them, never banned for them
      permissions: { edges: [EDGE_IP] },
      pike: {
        sampling_time_unit: 2,
        reqs_density_per_unit: 1000,
        ban_time: 60,
        auth_failures: 2,
        auth_failure_window: 60,
      },
    });
    kam = await startKamailio('edge', { edgeIp: EDGE_IP, regIp: REG_IP, regPort: port });
  });

  after(async () => {
    for (const u of uas) u.close();
    await stopAllPeers();
  });

  let nextHost = 20;
  async function ua(user: string, t: UaTransport = 'udp'): Promise<TestUa> {
    const u = await TestUa.connect(t, EDGE_IP, kam.edge.port, {
      user,
      localAddress: `127.0.61.${nextHost++}`,
    });
    uas.push(u);
    return u;
  }

  for (const [t, user, algorithm] of [
    ['udp', 'alice', 'SHA-256'],
    ['tcp', 'carol', 'MD5'],
  ] as const) {
    test(`${t}: REGISTER through the Kamailio edge: 401 (SHA-256 and MD5), then 200 with ${algorithm} credentials; the binding has the edge's Path`, async () => {
      const u = await ua(user, t);
      const first = await u.register({ regId: 1 });
      assert.equal(first.status, 401, first.toString());
      const ch = first.getHeaders('WWW-Authenticate').map(parseChallenge);
      assert.deepEqual(
        ch.map((c) => c.get('algorithm')),
        ['SHA-256', 'MD5'],
      );
      assert.equal(ch[0]?.get('realm'), 'example.com');
      assert.equal(ch[0]?.get('qop'), 'auth');
      assert.equal((await location.get(user)).length, 0);

      const ok = await u.register({
        regId: 1,
        auth: { username: user, password: pw(user), algorithm },
      });
      assert.equal(ok.status, 200, ok.toString());
      assert.equal(ok.getHeader('Require'), 'outbound');
      assert.equal(ok.getHeader('Flow-Timer'), '20', 'added by the Kamailio edge');
      const [b, ...rest] = await location.get(user);
      assert.equal(rest.length, 0);
      assert.match(
        b?.path[0] ?? '',
        new RegExp(`^<sip:[A-Za-z0-9+/]{31}=@${esc(EDGE_IP)}:${kam.edge.port};lr;ob>$`),
      );
    });

    test(`${t}: a wrong password through the Kamailio edge gets 401 again and stores no binding`, async () => {
      const u = await ua('dave', t);
      const r = await u.register({ regId: 1, auth: { username: 'dave', password: 'not-it-1234' } });
      assert.equal(r.status, 401, r.toString());
      assert.ok(u.lastAuthorization !== undefined, 'credentials were sent');
      assert.equal(r.getHeaders('WWW-Authenticate').length, 2);
      assert.deepEqual(await location.get('dave'), []);
    });

    test(`${t}: alice's credentials for erin's AoR through the Kamailio edge: 403, no binding`, async () => {
      const u = await ua('erin', t);
      const r = await u.register({
        regId: 1,
        auth: { username: 'alice', password: pw('alice') },
      });
      assert.equal(r.status, 403, r.toString());
      assert.deepEqual(await location.get('erin'), []);
    });
  }

  test("the registrar never bans the Kamailio edge for its clients' failed passwords (permissions.edges)", async () => {
    // pike's auth_failures is 2 on the registrar: a source that is not an edge would be banned at
    // the third failure, and every client behind the edge with it
    const u = await ua('dave', 'udp');
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await u.register({ regId: 1, auth: { username: 'dave', password: `guess-${i}-1234` } }))
          .status,
        401,
      );
    assert.equal(registrar.server.pike?.isBanned(EDGE_IP), false);
    assert.equal(registrar.server.core.stats.limits['auth_source'] ?? 0, 0);
    const ok = await (await ua('alice', 'tcp')).register({
      regId: 1,
      auth: { username: 'alice', password: pw('alice') },
    });
    assert.equal(ok.status, 200);
  });

  test('an INVITE without credentials through the Kamailio edge: 407 (SHA-256 and MD5); the callee sees nothing', async () => {
    const callee = await ua('bob', 'udp');
    assert.equal(
      (await callee.register({ regId: 1, auth: { username: 'bob', password: pw('bob') } })).status,
      200,
    );
    const caller = await ua('frank', 'udp');
    const r = await callFrom(caller, 'sip:bob@example.com');
    assert.equal(r.status, 407, r.response.toString());
    assert.deepEqual(
      r.response.getHeaders('Proxy-Authenticate').map((h) => parseChallenge(h).get('algorithm')),
      ['SHA-256', 'MD5'],
    );
    await new Promise((res) => setTimeout(res, 200));
    assert.equal(callee.requests.filter((q) => q.method === 'INVITE').length, 0);
  });

  for (const [callerT, calleeT, hangup, from, to] of [
    ['udp', 'tcp', 'caller', 'grace', 'heidi'],
    ['tcp', 'udp', 'callee', 'ivan', 'judy'],
  ] as const) {
    test(`a call ${callerT} -> ${calleeT} through the Kamailio edge: 407, then 200 with credentials; the ${hangup} hangs up through the signed Record-Route`, async () => {
      const caller = await ua(from, callerT);
      const callee = await ua(to, calleeT);
      for (const [u, name] of [
        [caller, from],
        [callee, to],
      ] as const)
        assert.equal(
          (await u.register({ regId: 1, auth: { username: name, password: pw(name) } })).status,
          200,
        );
      const r = await callFrom(caller, `sip:${to}@example.com`, {
        auth: { username: from, password: pw(from) },
      });
      assert.equal(r.challenge?.status, 407);
      assert.equal(r.status, 200, r.response.toString());
      const d = r.dialog;
      assert.ok(d !== undefined);
      const inv = await callee.nextRequest('INVITE');
      assert.equal(inv.callId, d.callId);
      assert.equal(inv.hasHeader('Proxy-Authorization'), false, 'consumed by the registrar');
      // Kamailio's Record-Route on both sides of the registrar's signed one
      const rr = inv.getValues('Record-Route');
      const regRr = rr.filter((v) => v.includes(REG_IP));
      assert.equal(regRr.length, 1, rr.join(' | '));
      assert.match(regRr[0] ?? '', /;fs=/, 'signed per dialog');
      assert.ok(
        rr.some((v) => v.includes(EDGE_IP)),
        rr.join(' | '),
      );
      await callee.nextRequest('ACK');

      if (hangup === 'caller') {
        const res = await bye(caller, d);
        assert.equal(res.status, 200, res.toString());
        const b = await callee.nextRequest('BYE');
        assert.equal(b.callId, d.callId);
      } else {
        const res = await bye(callee, calleeDialog(callee, inv));
        assert.equal(res.status, 200, res.toString());
        const b = await caller.nextRequest('BYE');
        assert.equal(b.callId, d.callId);
      }
    });
  }

  test("a BYE with the registrar's Record-Route but a forged signature is refused (403) through the Kamailio edge", async () => {
    const caller = await ua('ken', 'udp');
    const callee = await ua('leo', 'udp');
    for (const [u, name] of [
      [caller, 'ken'],
      [callee, 'leo'],
    ] as const)
      assert.equal(
        (await u.register({ regId: 1, auth: { username: name, password: pw(name) } })).status,
        200,
      );
    const r = await callFrom(caller, 'sip:leo@example.com', {
      auth: { username: 'ken', password: pw('ken') },
    });
    assert.equal(r.status, 200);
    const d = r.dialog;
    assert.ok(d !== undefined);
    const forged = {
      ...d,
      routes: d.routes.map((v) =>
        v.includes(REG_IP)
          ? v.replace(
              /;fs=([^;>]+)/,
              (_m, s: string) => `;fs=${s.replace(/./g, (c) => (c === 'A' ? 'B' : 'A'))}`,
            )
          : v,
      ),
    };
    assert.notDeepEqual(forged.routes, d.routes);
    const refused = (): number => registrar.server.core.stats.replies['403'] ?? 0;
    const before403 = refused();
    const res = await bye(caller, forged);
    d.cseq = forged.cseq;
    assert.equal(res.status, 403, res.toString());
    assert.equal(refused() - before403, 1, 'the registrar refused it (Kamailio relayed it)');
    await new Promise((ok) => setTimeout(ok, 200));
    assert.equal(callee.requests.filter((q) => q.method === 'BYE').length, 0);
    // the real route set still works
    assert.equal((await bye(caller, d)).status, 200);
    await waitFor(() => callee.requests.some((q) => q.method === 'BYE'), 5000, 'the BYE');
  });
});
