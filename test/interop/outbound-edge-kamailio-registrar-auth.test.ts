// Issue 10: "Kamailio interop still holds": the flowgate edge (the built-in secure edge script) in
// front of the REAL Kamailio registrar (seed Example 1.2) started with KAM_AUTH=1, which challenges
// REGISTER (auth_check + auth_challenge over db_text: MD5 HA1 only, no qop). A UA registers through
// our edge with credentials; a wrong password stores no binding (asked of Kamailio's usrloc over its
// ctl socket, and by calling the user); a call through our edge reaches the UA over its flow; our
// edge's pike counts Kamailio's 401s to requests that carried credentials and bans the source.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeFlowToken } from '../../src/modules/outbound/flow-token.js';
import { registrarSources } from '../../src/modules/permissions/index.js';
import { edgeProxyScript } from '../../src/script/edge-proxy.js';
import { parseChallenge } from '../support/digest.js';
import { TestCaller, TestUa, type UaTransport } from '../support/ua.js';
import { bye, callFrom } from '../support/ua-call.js';
import {
  type FlowgatePeer,
  freePort,
  type KamailioPeer,
  kamailioSkip,
  startFlowgate,
  startKamailio,
  stopAllPeers,
} from './peers.js';

const EDGE_IP = '127.0.62.1';
const REG_IP = '127.0.62.2';
// one user (or pair) per test: a call to a user with bindings left by another test would fork
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const pw = (u: string): string => `${u}-secret-1234`;
/** pike on our edge: a source is banned after more than this many failed authentications. */
const AUTH_FAILURES = 3;

function kamcmdSkip(): string | false {
  const r = spawnSync('sh', ['-c', 'command -v kamcmd'], { encoding: 'utf8' });
  return r.status === 0 ? false : 'kamcmd missing';
}

describe('flowgate edge + real Kamailio registrar with KAM_AUTH=1 (issue 10)', {
  skip: kamailioSkip() || kamcmdSkip(),
  timeout: 90_000,
}, () => {
  let kam: KamailioPeer;
  let edge: FlowgatePeer;
  let port: number;
  const uas: TestUa[] = [];

  /** The contacts Kamailio's usrloc holds for `aor` (`ul.lookup` over the registrar's ctl socket). */
  function kamBindings(aor: string): string[] {
    const r = spawnSync(
      'kamcmd',
      [
        '-s',
        `unix:${join(kam.stateDir, 'registrar.run', 'kamailio_ctl')}`,
        'ul.lookup',
        'location',
        aor,
      ],
      { encoding: 'utf8', timeout: 5000 },
    );
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (/AOR not found/.test(out)) return [];
    const contacts = [...out.matchAll(/^\s*Address:\s*(\S+)/gm)].map((m) => m[1] as string);
    assert.ok(contacts.length > 0, `ul.lookup ${aor}: ${out}`);
    return contacts;
  }

  before(async () => {
    kam = await startKamailio('registrar', {
      regIp: REG_IP,
      auth: { users: USERS.map((u) => `${u}:${pw(u)}`).join(' ') },
    });
    port = await freePort(EDGE_IP);
    const registrar = `sip:${kam.registrar.ip}:${kam.registrar.port}`;
    edge = await startFlowgate({
      name: 'edge',
      listen: [
        { proto: 'udp', address: EDGE_IP, port },
        { proto: 'tcp', address: EDGE_IP, port },
      ],
      script: edgeProxyScript({ registrar, flowTimer: 20 }),
      outbound: {
        force_outbound_flag: -1,
        force_no_outbound_flag: -1,
        flow_token_secret: 'interop-secret-interop-secret-interop',
      },
      forceRport: true,
      aliases: ['example.com'],
      permissions: { registrars: registrarSources(registrar) },
      pike: {
        sampling_time_unit: 2,
        reqs_density_per_unit: 1000,
        ban_time: 60,
        auth_failures: AUTH_FAILURES,
        auth_failure_window: 60,
      },
    });
  });

  after(async () => {
    for (const u of uas) u.close();
    await stopAllPeers();
  });

  let nextHost = 20;
  async function ua(user: string, t: UaTransport = 'udp', localAddress?: string): Promise<TestUa> {
    const u = await TestUa.connect(t, EDGE_IP, port, {
      user,
      localAddress: localAddress ?? `127.0.62.${nextHost++}`,
    });
    uas.push(u);
    return u;
  }

  /** A call from outside straight to the registrar (not challenged by the seed registrar). */
  async function callStatus(user: string): Promise<number> {
    const caller = await TestCaller.open(`127.0.62.${nextHost++}`);
    try {
      return (
        await caller.call(`sip:${user}@example.com`, kam.registrar.ip, kam.registrar.port, 10_000)
      ).status;
    } finally {
      await caller.close();
    }
  }

  for (const [t, user] of [
    ['udp', 'alice'],
    ['tcp', 'carol'],
  ] as const) {
    test(`${t}: REGISTER through our edge: Kamailio's 401 (MD5, no qop), then 200 with credentials; Kamailio stores our Path`, async () => {
      const u = await ua(user, t);
      const first = await u.register({ regId: 1 });
      assert.equal(first.status, 401, first.toString());
      const ch = first.getHeaders('WWW-Authenticate').map(parseChallenge);
      assert.equal(ch.length, 1);
      assert.equal(ch[0]?.get('realm'), 'example.com');
      assert.notEqual(ch[0]?.get('algorithm') ?? 'MD5', 'SHA-256');
      assert.deepEqual(kamBindings(user), []);

      const ok = await u.register({ regId: 1, auth: { username: user, password: pw(user) } });
      assert.equal(ok.status, 200, ok.toString());
      assert.equal(ok.getHeader('Require'), 'outbound');
      assert.equal(ok.getHeader('Flow-Timer'), '20', 'added by our edge');
      const path = ok.getHeader('Path') ?? '';
      const m = /^<sip:([^@]+)@127\.0\.62\.1:(\d+)(;transport=\w+)?;lr;ob>$/.exec(path);
      assert.ok(m, `Path echo: ${path}`);
      const d = decodeFlowToken(edge.server.outbound?.key as Buffer, m[1]);
      assert.ok(d.ok);
      assert.equal(d.token.proto, t);
      assert.deepEqual(d.token.remote, u.local);
      assert.equal(kamBindings(user).length, 1);
    });
  }

  test('a wrong password through our edge: 401 again, no binding at Kamailio, a call to the user gets 404', async () => {
    const u = await ua('bob');
    const r = await u.register({ regId: 1, auth: { username: 'bob', password: 'not-it-1234' } });
    assert.equal(r.status, 401, r.toString());
    assert.ok(u.lastAuthorization !== undefined, 'credentials were sent');
    assert.deepEqual(kamBindings('bob'), []);
    assert.equal(await callStatus('bob'), 404);
  });

  test("alice's credentials for dave's AoR through our edge: refused (Kamailio re-challenges, 401), no binding", async () => {
    const u = await ua('dave');
    const r = await u.register({ regId: 1, auth: { username: 'alice', password: pw('alice') } });
    assert.equal(r.status, 401, r.toString());
    assert.deepEqual(kamBindings('dave'), []);
    assert.equal(await callStatus('dave'), 404);
  });

  for (const [callerT, calleeT, from, to] of [
    ['udp', 'tcp', 'erin', 'frank'],
    ['tcp', 'udp', 'grace', 'heidi'],
  ] as const) {
    test(`a call ${callerT} -> ${calleeT} through our edge and Kamailio: 200 over the callee's flow; BYE through the route set`, async () => {
      const caller = await ua(from, callerT);
      const callee = await ua(to, calleeT);
      assert.equal(
        (await caller.register({ regId: 1, auth: { username: from, password: pw(from) } })).status,
        200,
      );
      // the seed registrar answers 500 to a user with a single contact (quirk Q-R7): two flows
      for (const regId of [1, 2])
        assert.equal(
          (await callee.register({ regId, auth: { username: to, password: pw(to) } })).status,
          200,
        );
      assert.equal(kamBindings(to).length, 2);
      const r = await callFrom(caller, `sip:${to}@example.com`);
      assert.equal(r.challenge, undefined, 'the seed registrar does not challenge INVITE');
      assert.equal(r.status, 200, r.response.toString());
      const d = r.dialog;
      assert.ok(d !== undefined);
      const inv = await callee.nextRequest('INVITE');
      assert.equal(inv.callId, d.callId);
      const rr = inv.getValues('Record-Route');
      assert.ok(
        rr.some((v) => v.includes(REG_IP)),
        rr.join(' | '),
      );
      assert.ok(
        rr.some((v) => v.includes(EDGE_IP)),
        rr.join(' | '),
      );
      await callee.nextRequest('ACK');
      const res = await bye(caller, d);
      assert.equal(res.status, 200, res.toString());
      assert.equal((await callee.nextRequest('BYE')).callId, d.callId);
    });
  }

  test(`our edge's pike counts Kamailio's 401s to REGISTERs with credentials: banned after ${AUTH_FAILURES + 1} wrong passwords from one source`, async () => {
    const src = '127.0.62.200';
    assert.equal(edge.server.pike?.isBanned(src), false);
    const bansBefore = edge.server.core.stats.limits['auth_source'] ?? 0;
    const statuses: number[] = [];
    for (let i = 0; i <= AUTH_FAILURES; i++) {
      // each attempt: a REGISTER without credentials (401, not a failure) and one with a wrong password
      const u = await ua('bob', 'udp', src);
      const r = await u.register({
        regId: 1,
        auth: { username: 'bob', password: `guess-${i}-1234` },
      });
      statuses.push(r.status);
      assert.equal(edge.server.pike?.isBanned(src), i === AUTH_FAILURES, `after attempt ${i + 1}`);
    }
    assert.deepEqual(statuses, Array(AUTH_FAILURES + 1).fill(401));
    assert.equal((edge.server.core.stats.limits['auth_source'] ?? 0) - bansBefore, 1, 'one ban');
    // the banned source is dropped before anything else: no answer at all
    const dropped = (): number => edge.server.core.stats.limits['banned_dropped'] ?? 0;
    const droppedBefore = dropped();
    const u = await ua('bob', 'udp', src);
    await assert.rejects(callFrom(u, 'sip:alice@example.com', { timeoutMs: 1000 }), /timed out/);
    assert.ok(dropped() > droppedBefore);
    // the right password from another source still works: the ban is per source
    const other = await ua('bob');
    assert.equal(
      (await other.register({ regId: 1, auth: { username: 'bob', password: pw('bob') } })).status,
      200,
    );
    // the registrar is never banned for relaying everyone's 401s
    assert.equal(edge.server.pike?.isBanned(REG_IP), false);
  });
});
