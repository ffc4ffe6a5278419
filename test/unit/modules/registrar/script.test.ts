import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { SipRequest } from '../../../../src/message/message.js';
import {
  answer,
  CALLER,
  doRegister,
  EDGE,
  edgePath,
  headerNames,
  INSTANCE,
  INSTANCE2,
  invite,
  obContact,
  type RegistrarHarness,
  replyContacts,
  requests,
  responses,
  setup,
  TOKEN1,
  TOKEN2,
} from './helpers.js';

const SUP = 'path, outbound, gruu';
const open: RegistrarHarness[] = [];
after(async () => {
  for (const r of open) await r.close();
});

async function registrar(...args: Parameters<typeof setup>): Promise<RegistrarHarness> {
  const r = await setup(...args);
  open.push(r);
  return r;
}

/** Registers alice's two flows (reg-id 1 then 2, one instance) through the edge. */
async function twoFlows(r: RegistrarHarness): Promise<void> {
  const a = await doRegister(r, {
    contact: obContact(1),
    supported: SUP,
    path: edgePath(TOKEN1),
    callId: 'flows',
    cseq: 1,
  });
  assert.equal(a.status, 200);
  r.clock.advance(1000);
  const b = await doRegister(r, {
    contact: obContact(2, { port: 5071 }),
    supported: SUP,
    path: edgePath(TOKEN2),
    callId: 'flows',
    cseq: 2,
  });
  assert.equal(b.status, 200);
  assert.equal(replyContacts(b).length, 2);
}

/** Sends an INVITE for `ruri` from the caller and returns what the registrar sent. */
async function call(r: RegistrarHarness, ruri: string, o: { method?: string } = {}) {
  r.h.inject(invite(ruri, o), CALLER);
  await r.h.settle();
  return r.h.take();
}

function routeOf(m: SipRequest): string[] {
  return m.getHeaders('Route');
}

/** Where a message went, as `udp:ip:port` also when it was sent over the UDP flow id. */
function dest(to: string): string {
  const m = /^w\d+\/u\d+\/(.+)$/.exec(to);
  return m === null ? to : `udp:${m[1]}`;
}

function finalTo(sent: ReturnType<RegistrarHarness['h']['take']>, to: string) {
  return responses(sent.filter((s) => dest(s.to) === `udp:${to}`)).filter((m) => m.status >= 200);
}

describe('registrar script (seed Example 1.2)', () => {
  test('§6.7 #76 REGISTER through the edge: 200 OK with the exact header set', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      expires: 600,
    });
    assert.equal(res.status, 200);
    assert.equal(res.reason, 'OK');
    assert.deepEqual(headerNames(res), [
      'Via',
      'Via',
      'From',
      'To',
      'Call-ID',
      'CSeq',
      'Contact',
      'Path',
      'Supported',
      'Require',
      'Content-Length',
    ]);
    const c = res.getHeader('Contact') ?? '';
    assert.match(
      c,
      /^<sip:alice@192\.0\.2\.21:5070;ob>;expires=600;pub-gruu="sip:alice@example\.com;gr=urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF";temp-gruu="sip:uloc-[0-9a-f]+-[0-9a-f]+-1-dd7f25d6\.[0-9a-f]{16}@example\.com;gr";\+sip\.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1$/,
    );
    assert.equal(res.getHeader('Path'), edgePath());
    assert.equal(res.getHeader('Supported'), 'outbound');
    assert.equal(res.getHeader('Require'), 'outbound');
    assert.match(res.getHeader('To') ?? '', /;tag=/);
    // sent back to the edge (top Via), statelessly
    assert.equal(r.h.take().length, 0);
  });

  test('§6.8 #97 INVITE to a user with one contact is relayed (Q-R7 fixed)', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    const sent = await call(r, 'sip:alice@example.com');
    const trying = responses(sent).filter((m) => m.status === 100);
    assert.equal(trying.length, 1);
    const inv = requests(sent, 'INVITE');
    assert.equal(inv.length, 1);
    assert.equal(dest(inv[0]?.to ?? ''), `udp:${EDGE}`);
    assert.equal(inv[0]?.msg.uri, 'sip:alice@192.0.2.21:5070;ob');
    assert.equal(finalTo(sent, CALLER).length, 0);
  });

  test('§6.8 #112 the branch carries Route: <path> and goes to the first Path URI; Record-Route is added', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    const sent = await call(r, 'sip:alice@example.com');
    const inv = requests(sent, 'INVITE')[0];
    assert.ok(inv);
    assert.deepEqual(routeOf(inv.msg), [edgePath()]);
    assert.equal(dest(inv.to), 'udp:127.0.0.11:5060');
    assert.equal(inv.msg.getHeaders('Record-Route').length, 1);
    assert.match(inv.msg.getHeader('Record-Route') ?? '', /^<sip:127\.0\.0\.1;lr>$/);
  });

  test('§6.8 several Path values are stored in order and become Route headers in order', async () => {
    const r = await registrar();
    const p2 = '<sip:proxy2.example.net;lr>';
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: [edgePath(), p2],
    });
    assert.equal(res.getHeader('Path'), `${edgePath()},${p2}`);
    const inv = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
    assert.ok(inv);
    assert.deepEqual(routeOf(inv.msg), [edgePath(), p2]);
    assert.equal(dest(inv.to), `udp:${EDGE}`);
  });

  test('§6.8 #98 INVITE to a user without bindings: 404 Not Found (stateful)', async () => {
    const r = await registrar();
    const sent = await call(r, 'sip:nobody@example.com');
    const finals = finalTo(sent, CALLER);
    assert.deepEqual(
      finals.map((m) => `${m.status} ${m.reason}`),
      ['404 Not Found'],
    );
    assert.equal(responses(sent).filter((m) => m.status === 100).length, 1);
  });

  test('§6.8 #98 the 404 is stateful: a retransmitted INVITE gets it again from the transaction, without a new lookup', async () => {
    const r = await registrar();
    const raw = invite('sip:alice@example.com');
    r.h.inject(raw, CALLER);
    await r.h.settle();
    assert.deepEqual(
      finalTo(r.h.take(), CALLER).map((m) => m.status),
      [404],
    );
    // alice registers meanwhile; the retransmission is absorbed by the transaction all the same
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    r.h.inject(raw, CALLER);
    await r.h.settle();
    const sent = r.h.take();
    assert.equal(requests(sent, 'INVITE').length, 0);
    assert.deepEqual(
      finalTo(sent, CALLER).map((m) => m.status),
      [404],
    );
  });

  test('§6.8 #99 R-URI without user: 484 Address Incomplete', async () => {
    const r = await registrar();
    const sent = await call(r, 'sip:example.com');
    assert.deepEqual(
      finalTo(sent, CALLER).map((m) => `${m.status} ${m.reason}`),
      ['484 Address Incomplete'],
    );
  });

  test('§6.8 #103 two flows of one instance: only flow 1 is tried, flow 2 waits', async () => {
    const r = await registrar();
    await twoFlows(r);
    const inv = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
    assert.equal(inv.length, 1);
    assert.deepEqual(routeOf(inv[0]?.msg as SipRequest), [edgePath(TOKEN1)]);
  });

  test('§6.8 #104 #111 flow 1 answers 430: its binding is removed and flow 2 is tried in the same transaction', async () => {
    const r = await registrar();
    await twoFlows(r);
    const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
    assert.ok(inv1);
    answer(r, inv1.msg, 430, 'Flow Failed');
    await r.h.settle();
    const sent = r.h.take();
    const inv2 = requests(sent, 'INVITE');
    assert.equal(inv2.length, 1, 'flow 2 tried');
    assert.deepEqual(routeOf(inv2[0]?.msg as SipRequest), [edgePath(TOKEN2)]);
    assert.equal(inv2[0]?.msg.callId, inv1.msg.callId, 'same transaction');
    assert.equal(inv2[0]?.msg.getHeader('CSeq'), inv1.msg.getHeader('CSeq'));
    assert.equal(finalTo(sent, CALLER).length, 0, 'no final reply yet');
    // #111: only flow 2 is left
    const bindings = await r.store.get('alice');
    assert.deepEqual(
      bindings.map((b) => b.regId),
      [2],
    );
    // a new INVITE goes to flow 2 alone
    const again = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
    assert.equal(again.length, 1);
    assert.deepEqual(routeOf(again[0]?.msg as SipRequest), [edgePath(TOKEN2)]);
  });

  test('§6.8 #108 flow 1 430, flow 2 486: the caller gets 486 (decision Q-R8)', async () => {
    const r = await registrar();
    await twoFlows(r);
    const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
    assert.ok(inv1);
    answer(r, inv1.msg, 430, 'Flow Failed');
    await r.h.settle();
    const inv2 = requests(r.h.take(), 'INVITE')[0];
    assert.ok(inv2);
    answer(r, inv2.msg, 486, 'Busy Here');
    await r.h.settle();
    const finals = finalTo(r.h.take(), CALLER);
    assert.deepEqual(
      finals.map((m) => `${m.status} ${m.reason}`),
      ['486 Busy Here'],
    );
  });

  test('§6.8 #109 every flow answers 430: the caller gets 480 Temporarily Unavailable', async () => {
    const r = await registrar();
    await twoFlows(r);
    const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
    assert.ok(inv1);
    answer(r, inv1.msg, 430, 'Flow Failed');
    await r.h.settle();
    const inv2 = requests(r.h.take(), 'INVITE')[0];
    assert.ok(inv2);
    answer(r, inv2.msg, 430, 'Flow Failed');
    await r.h.settle();
    const finals = finalTo(r.h.take(), CALLER);
    assert.deepEqual(
      finals.map((m) => `${m.status} ${m.reason}`),
      ['480 Temporarily Unavailable'],
    );
    assert.deepEqual(await r.store.get('alice'), []);
  });

  test('§6.8 #106 flow 1 answers 403: binding removed, flow 2 tried', async () => {
    const r = await registrar();
    await twoFlows(r);
    const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
    assert.ok(inv1);
    answer(r, inv1.msg, 403, 'Forbidden');
    await r.h.settle();
    const inv2 = requests(r.h.take(), 'INVITE');
    assert.equal(inv2.length, 1);
    assert.deepEqual(routeOf(inv2[0]?.msg as SipRequest), [edgePath(TOKEN2)]);
    assert.deepEqual(
      (await r.store.get('alice')).map((b) => b.regId),
      [2],
    );
  });

  test('§6.8 #107 flow 1 answers 486: nothing removed, no other flow tried, 486 relayed', async () => {
    const r = await registrar();
    await twoFlows(r);
    const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
    assert.ok(inv1);
    answer(r, inv1.msg, 486, 'Busy Here');
    await r.h.settle();
    const sent = r.h.take();
    assert.equal(requests(sent, 'INVITE').length, 0);
    assert.deepEqual(
      finalTo(sent, CALLER).map((m) => m.status),
      [486],
    );
    assert.equal((await r.store.get('alice')).length, 2);
  });

  test('§6.8 #105 flow 1 times out without any reply (MESSAGE): removed, flow 2 tried', async () => {
    const r = await registrar();
    await twoFlows(r);
    const m1 = requests(await call(r, 'sip:alice@example.com', { method: 'MESSAGE' }), 'MESSAGE');
    assert.equal(m1.length, 1);
    // RFC 3261 Timer F: 64*T1 = 32 s without a reply
    r.clock.advance(33_000);
    await r.h.settle();
    const sent = r.h.take();
    const m2 = requests(sent, 'MESSAGE').filter((s) => routeOf(s.msg)[0] === edgePath(TOKEN2));
    assert.equal(m2.length, 1, 'flow 2 tried');
    assert.deepEqual(
      (await r.store.get('alice')).map((b) => b.regId),
      [2],
    );
    answer(r, m2[0]?.msg as SipRequest, 200, 'OK');
    await r.h.settle();
    assert.deepEqual(
      finalTo(r.h.take(), CALLER).map((m) => m.status),
      [200],
    );
  });

  test('§6.8 #102 two bindings without instance and equal q are forked in parallel', async () => {
    const r = await registrar();
    await doRegister(
      r,
      { contact: '<sip:alice@192.0.2.31:5060>', viaEdge: false },
      '192.0.2.31:5060',
    );
    r.clock.advance(1000);
    await doRegister(
      r,
      { contact: '<sip:alice@192.0.2.32:5060>', viaEdge: false, callId: 'other' },
      '192.0.2.32:5060',
    );
    const inv = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
    assert.deepEqual(inv.map((s) => dest(s.to)).sort(), [
      'udp:192.0.2.31:5060',
      'udp:192.0.2.32:5060',
    ]);
  });

  test('§6.8 #110 two q=1.0 instances in parallel, then the q=0.5 one; a 6xx stops the sequence', async () => {
    const r = await registrar();
    const INSTANCE3 = '<urn:uuid:00000000-0000-1000-8000-999999999999>';
    const reg = async (instance: string, q: string, token: string, callId: string) => {
      const res = await doRegister(r, {
        contact: obContact(1, { instance, params: `;q=${q}` }),
        supported: SUP,
        path: edgePath(token),
        callId,
      });
      assert.equal(res.status, 200);
      r.clock.advance(1000);
    };
    await reg(INSTANCE, '1.0', 'tokA', 'c1');
    await reg(INSTANCE2, '1.0', 'tokB', 'c2');
    await reg(INSTANCE3, '0.5', 'tokC', 'c3');
    const first = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
    assert.deepEqual(first.map((s) => routeOf(s.msg)[0]).sort(), [
      edgePath('tokA'),
      edgePath('tokB'),
    ]);
    answer(r, first[0]?.msg as SipRequest, 486);
    answer(r, first[1]?.msg as SipRequest, 480);
    await r.h.settle();
    const sent = r.h.take();
    const next = requests(sent, 'INVITE');
    assert.deepEqual(
      next.map((s) => routeOf(s.msg)[0]),
      [edgePath('tokC')],
    );
    assert.equal(finalTo(sent, CALLER).length, 0);
    answer(r, next[0]?.msg as SipRequest, 486);
    await r.h.settle();
    assert.deepEqual(
      finalTo(r.h.take(), CALLER).map((m) => m.status),
      [486],
    );

    // a 6xx from the first class ends the search
    const again = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
    assert.equal(again.length, 2);
    answer(r, again[0]?.msg as SipRequest, 603, 'Decline');
    await r.h.settle();
    const sent2 = r.h.take();
    // the other branch is cancelled (no provisional yet: ended locally); no q=0.5 branch
    assert.equal(requests(sent2, 'INVITE').length, 0);
    assert.deepEqual(
      finalTo(sent2, CALLER).map((m) => m.status),
      [603],
    );
  });

  test('§6.8 #100 INVITE to the pub-gruu reaches exactly that instance; unknown instance → 404', async () => {
    const r = await registrar();
    await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(TOKEN1),
      callId: 'a',
    });
    await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2, port: 5080 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'b',
    });
    const inv = requests(
      await call(r, 'sip:alice@example.com;gr=urn:uuid:00000000-0000-1000-8000-112233445566'),
      'INVITE',
    );
    assert.equal(inv.length, 1);
    assert.equal(inv[0]?.msg.uri, 'sip:alice@192.0.2.21:5080;ob');
    assert.deepEqual(routeOf(inv[0]?.msg as SipRequest), [edgePath(TOKEN2)]);
    const miss = await call(
      r,
      'sip:alice@example.com;gr=urn:uuid:00000000-0000-0000-0000-000000000000',
    );
    assert.deepEqual(
      finalTo(miss, CALLER).map((m) => m.status),
      [404],
    );
  });

  test('§6.8 #101 INVITE to the temp-gruu reaches that binding; wrong hash or no "-" → 404', async () => {
    const r = await registrar();
    const res = await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    const temp = /temp-gruu="([^"]+)"/.exec(res.getHeader('Contact') ?? '')?.[1];
    assert.ok(temp);
    const inv = requests(await call(r, temp), 'INVITE');
    assert.equal(inv.length, 1);
    assert.equal(inv[0]?.msg.uri, 'sip:alice@192.0.2.21:5070;ob');
    // wrong hash digit
    const bad = temp.replace('-dd7f25d6.', '-dd7f25d7.');
    assert.deepEqual(
      finalTo(await call(r, bad), CALLER).map((m) => m.status),
      [404],
    );
    // user without '-' (lookup -3)
    assert.deepEqual(
      finalTo(await call(r, 'sip:nodash@example.com;gr'), CALLER).map((m) => m.status),
      [404],
    );
  });

  test('§6.7 #95 (decision Q-R6) To sip:Alice@example.com is not alice; the domain is ignored (use_domain 0)', async () => {
    const r = await registrar();
    await doRegister(r, {
      user: 'Alice',
      contact: obContact(1, { user: 'Alice' }),
      supported: SUP,
      path: edgePath(),
    });
    // §6.7 #95, flowgate form: the user part compares case-sensitively
    assert.deepEqual(
      finalTo(await call(r, 'sip:alice@other.org'), CALLER).map((m) => m.status),
      [404],
    );
    assert.equal(requests(await call(r, 'sip:Alice@other.org'), 'INVITE').length, 1);
  });

  test('§6.7 #95 with case_sensitive 0 (Kamailio): Alice@example.com and alice@other.org share bindings', async () => {
    const r = await registrar({
      use_path: 1,
      gruu_enabled: 1,
      outbound_mode: 1,
      case_sensitive: 0,
    });
    await doRegister(r, {
      user: 'Alice',
      contact: obContact(1, { user: 'Alice' }),
      supported: SUP,
      path: edgePath(),
    });
    assert.equal(requests(await call(r, 'sip:alice@other.org'), 'INVITE').length, 1);
  });

  test('an expired binding is never used: INVITE after the expiry gets 404', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), expires: 120 });
    r.clock.advance(119_000);
    assert.equal(requests(await call(r, 'sip:alice@example.com'), 'INVITE').length, 1);
    r.clock.advance(1_000);
    assert.deepEqual(
      finalTo(await call(r, 'sip:alice@example.com'), CALLER).map((m) => m.status),
      [404],
    );
  });

  test('REGISTER errors are answered exactly once (decision Q-R13): 439 then nothing from sl_reply_error', async () => {
    const r = await registrar();
    // §6.7 #80 through the script: two Vias, no Path, outbound supported, reg-id
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'outbound',
      viaEdge: true,
    });
    assert.equal(res.status, 439);
  });

  test('a location store outage during lookup is a 500 with the store reason, not 404', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    r.store.failing.add('get');
    const sent = await call(r, 'sip:alice@example.com');
    assert.deepEqual(
      finalTo(sent, CALLER).map((m) => `${m.status} ${m.reason}`),
      ['500 Location Store Unavailable'],
    );
    r.store.failing.clear();
    assert.equal(requests(await call(r, 'sip:alice@example.com'), 'INVITE').length, 1);
  });

  test('method_filtering 1: a binding that does not accept the method → 405', async () => {
    const r = await registrar({
      use_path: 1,
      gruu_enabled: 1,
      outbound_mode: 1,
      method_filtering: 1,
    });
    await doRegister(r, {
      contact: `${obContact(1)};methods="INVITE,BYE"`,
      supported: SUP,
      path: edgePath(),
    });
    assert.deepEqual(
      finalTo(await call(r, 'sip:alice@example.com', { method: 'MESSAGE' }), CALLER).map(
        (m) => `${m.status} ${m.reason}`,
      ),
      ['405 Method Not Allowed'],
    );
    assert.equal(requests(await call(r, 'sip:alice@example.com'), 'INVITE').length, 1);
  });

  test('instance attributes travel with the branch (ruid for unregister)', async () => {
    const r = await registrar();
    await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      userAgent: 'ua/1',
    });
    const [b] = await r.store.get('alice');
    assert.ok(b);
    assert.equal(b.instance, INSTANCE);
    assert.equal(b.userAgent, 'ua/1');
    assert.equal(b.socket, 'udp:127.0.0.1:5060');
    assert.equal(b.flowId, `w0/u0/${EDGE}`);
  });
});
