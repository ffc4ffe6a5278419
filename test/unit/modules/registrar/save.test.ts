import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { RegistrarParams } from '../../../../src/modules/registrar/index.js';
import { defineScript } from '../../../../src/script/api.js';
import {
  doRegister,
  EDGE,
  edgePath,
  headerNames,
  INSTANCE,
  INSTANCE2,
  obContact,
  type RegistrarHarness,
  register,
  replyContacts,
  responses,
  SEED_PARAMS,
  setup,
  TOKEN2,
  UA,
} from './helpers.js';

const SUP = 'path, outbound, gruu';
const open: RegistrarHarness[] = [];
after(async () => {
  for (const r of open) await r.close();
});

async function registrar(params: RegistrarParams = SEED_PARAMS): Promise<RegistrarHarness> {
  const r = await setup(params);
  open.push(r);
  return r;
}

function param(contact: string, name: string): string | undefined {
  const m = new RegExp(`;${name.replace(/[.+]/g, '\\$&')}=("[^"]*"|[^;]*)`).exec(contact);
  return m?.[1];
}

describe('save: §6.7 registrar save/reply', () => {
  test('§6.7 #77 without gruu in Supported: no pub-gruu/temp-gruu, still +sip.instance and reg-id', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'path, outbound',
      path: edgePath(),
      expires: 600,
    });
    assert.equal(res.status, 200);
    assert.equal(
      res.getHeader('Contact'),
      '<sip:alice@192.0.2.21:5070;ob>;expires=600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1',
    );
  });

  test('§6.7 #78 Path without path in Supported: 420, Unsupported: path, Path echo; nothing stored (decision Q-R3)', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'outbound',
      path: edgePath(),
    });
    assert.equal(res.status, 420);
    assert.equal(res.reason, 'Bad Extension');
    assert.equal(res.getHeader('Unsupported'), 'path');
    assert.equal(res.getHeader('Path'), edgePath());
    assert.equal(res.getHeader('P-Registrar-Error'), 'No support for found Path indicated');
    assert.equal(res.getHeader('Contact'), undefined);
    assert.equal(res.getHeader('Require'), undefined);
    assert.deepEqual(await r.store.get('alice'), []);
    assert.equal(r.store.applyCalls, 0, 'checked before writing');
  });

  test('§6.7 #78 a 420 for Path also leaves existing bindings alone (Contact: * is not applied)', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    const res = await doRegister(r, {
      contact: '*',
      expires: 0,
      supported: 'outbound',
      path: edgePath(),
    });
    assert.equal(res.status, 420);
    assert.equal((await r.store.get('alice')).length, 1);
  });

  test('§6.7 #79 no Supported header at all and a Path: 420 (strict path_mode)', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: '<sip:alice@192.0.2.21:5070>',
      path: '<sip:127.0.0.11;lr>',
    });
    assert.equal(res.status, 420);
    assert.equal(res.getHeader('Unsupported'), 'path');
  });

  test('path_mode 1 echoes only when supported and never refuses; path_mode 0 never echoes', async () => {
    const r1 = await registrar({ ...SEED_PARAMS, path_mode: 1 });
    const a = await doRegister(r1, {
      contact: obContact(1),
      supported: 'outbound',
      path: edgePath(),
    });
    assert.equal(a.status, 200);
    assert.equal(a.getHeader('Path'), undefined);
    const b = await doRegister(r1, { contact: obContact(1), supported: SUP, path: edgePath() });
    assert.equal(b.getHeader('Path'), edgePath());
    const r0 = await registrar({ ...SEED_PARAMS, path_mode: 0 });
    const c = await doRegister(r0, { contact: obContact(1), supported: SUP, path: edgePath() });
    assert.equal(c.status, 200);
    assert.equal(c.getHeader('Path'), undefined);
    assert.deepEqual((await r0.store.get('alice'))[0]?.path, [edgePath()]);
  });

  test('use_path 0: Path is neither stored nor echoed nor checked', async () => {
    const r = await registrar({ gruu_enabled: 1, outbound_mode: 1 });
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'outbound',
      path: edgePath(),
    });
    assert.equal(res.status, 200);
    assert.equal(res.getHeader('Path'), undefined);
    assert.deepEqual((await r.store.get('alice'))[0]?.path, []);
    assert.equal(
      (
        await doRegister(r, {
          contact: obContact(1),
          supported: 'outbound',
          path: '<sip:127.0.0.11;ob>',
        })
      ).status,
      200,
    );
  });

  test('a Path whose first URI lacks lr is a 400 "Path parse error"', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: '<sip:127.0.0.11>',
    });
    assert.equal(res.status, 400);
    assert.equal(res.getHeader('P-Registrar-Error'), 'Path parse error');
  });

  test('§6.7 #80 two Vias, no Path, Supported: outbound, reg-id: 439 with P-Registrar-Error, one reply', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'outbound',
      viaEdge: true,
    });
    assert.equal(res.status, 439);
    assert.equal(res.reason, 'First Hop Lacks Outbound Support');
    assert.equal(res.getHeader('P-Registrar-Error'), 'No support for Outbound on edge proxy');
    assert.deepEqual(await r.store.get('alice'), []);
  });

  test('§6.7 #81 same without outbound in Supported: 200, reg-id ignored (stored 0, not echoed), no Require', async () => {
    const r = await registrar();
    const res = await doRegister(r, { contact: obContact(1), supported: 'gruu', viaEdge: true });
    assert.equal(res.status, 200);
    const c = res.getHeader('Contact') ?? '';
    assert.equal(param(c, 'reg-id'), undefined);
    assert.equal(param(c, '+sip.instance'), `"${INSTANCE}"`);
    assert.equal(res.getHeader('Require'), undefined);
    assert.equal(res.getHeader('Supported'), 'outbound');
    assert.equal((await r.store.get('alice'))[0]?.regId, 0);
  });

  test('§6.7 #82 with a Path whose first URI has ;ob: reg-id kept and echoed', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'path, outbound',
      path: edgePath(),
    });
    assert.equal(res.status, 200);
    assert.equal(param(res.getHeader('Contact') ?? '', 'reg-id'), '1');
    assert.equal((await r.store.get('alice'))[0]?.regId, 1);
  });

  test('a Path without ;ob from a proxy ignores the reg-id (RFC 5626 §6), or 439 when outbound is supported', async () => {
    const r = await registrar();
    const a = await doRegister(r, {
      contact: obContact(1),
      supported: 'path',
      path: '<sip:127.0.0.11;lr>',
    });
    assert.equal(a.status, 200);
    assert.equal((await r.store.get('alice'))[0]?.regId, 0);
    const b = await doRegister(r, {
      contact: obContact(1),
      supported: 'path, outbound',
      path: '<sip:127.0.0.11;lr>',
    });
    assert.equal(b.status, 439);
  });

  test('regid_mode 1 keeps the reg-id without outbound at the first hop (no 439)', async () => {
    const r = await registrar({ ...SEED_PARAMS, regid_mode: 1 });
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'outbound',
      viaEdge: true,
    });
    assert.equal(res.status, 200);
    assert.equal((await r.store.get('alice'))[0]?.regId, 1);
  });

  test('a UA talking to the registrar directly (one Via) keeps its reg-id', async () => {
    const r = await registrar();
    const res = await doRegister(r, { contact: obContact(1), supported: 'outbound' }, UA);
    assert.equal(res.status, 200);
    assert.equal(res.getHeader('Require'), 'outbound');
    assert.equal((await r.store.get('alice'))[0]?.regId, 1);
  });

  test('§6.7 #83 Require: outbound (mode 1) with a reg-id: 200 with Require: outbound', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'path, gruu',
      require: 'outbound',
      path: edgePath(),
    });
    assert.equal(res.status, 200);
    assert.equal(res.getHeader('Require'), 'outbound');
  });

  test('decision Q-R4: no reg-id applied → no Require: outbound even when the UA supports outbound', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: '<sip:alice@192.0.2.21:5070>',
      supported: SUP,
      path: edgePath(),
    });
    assert.equal(res.status, 200);
    assert.equal(res.getHeader('Supported'), 'outbound');
    assert.equal(res.getHeader('Require'), undefined);
    // a query applies nothing either (outbound.md #62 in flowgate form)
    const q = await doRegister(r, { supported: SUP, path: edgePath() });
    assert.equal(q.status, 200);
    assert.equal(q.getHeader('Require'), undefined);
  });

  test('flow_timer > 0: Flow-Timer after Require: outbound', async () => {
    const r = await registrar({ ...SEED_PARAMS, flow_timer: 25 });
    const res = await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    assert.deepEqual(headerNames(res).slice(-4), [
      'Supported',
      'Require',
      'Flow-Timer',
      'Content-Length',
    ]);
    assert.equal(res.getHeader('Flow-Timer'), '25');
  });

  test('§6.7 #84 outbound_mode 2 and Supported: path only: 421 with Require and Supported: outbound', async () => {
    const r = await registrar({ ...SEED_PARAMS, outbound_mode: 2 });
    const res = await doRegister(r, { contact: obContact(1), supported: 'path', path: edgePath() });
    assert.equal(res.status, 421);
    assert.equal(res.reason, 'Extension Required');
    assert.equal(res.getHeader('Require'), 'outbound');
    assert.equal(res.getHeader('Supported'), 'outbound');
    assert.equal(res.getHeader('P-Registrar-Error'), 'No support for Outbound indicated');
    // quirk Q-R1 kept: no Supported header at all passes, and mode 2 always adds Require
    const ok = await doRegister(r, { contact: '<sip:alice@192.0.2.21:5070>' }, UA);
    assert.equal(ok.status, 200);
    assert.deepEqual(headerNames(ok).slice(-3), ['Require', 'Supported', 'Content-Length']);
  });

  test('§6.7 #85 outbound_mode 0 and Require: outbound: 420 with Unsupported: outbound', async () => {
    const r = await registrar({ use_path: 1 });
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'path',
      require: 'outbound',
      path: edgePath(),
    });
    assert.equal(res.status, 420);
    assert.equal(res.getHeader('Unsupported'), 'outbound');
    assert.equal(res.getHeader('P-Registrar-Error'), 'No support for Outbound on server');
    // mode 0 adds no outbound tags to a 200
    const ok = await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    assert.equal(ok.getHeader('Supported'), undefined);
    assert.equal(ok.getHeader('Require'), undefined);
  });

  test('§6.7 #86 Expires 30 is raised to 60', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      expires: 30,
    });
    assert.equal(param(res.getHeader('Contact') ?? '', 'expires'), '60');
    assert.equal((await r.store.get('alice'))[0]?.expires, r.clock.wallNow() + 60_000);
  });

  test('§6.7 #86 Expires 0 for an existing binding removes it; Contact expires=abc gives 3600', async () => {
    const r = await registrar();
    const a = await doRegister(r, {
      contact: `${obContact(1)};expires=abc`,
      supported: SUP,
      path: edgePath(),
    });
    assert.equal(param(a.getHeader('Contact') ?? '', 'expires'), '3600');
    const b = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      expires: 0,
    });
    assert.equal(b.status, 200);
    assert.equal(b.getHeader('Contact'), undefined);
    assert.deepEqual(await r.store.get('alice'), []);
  });

  test('expiry: Contact expires wins over the Expires header; default 3600; max_expires caps', async () => {
    const r = await registrar({ ...SEED_PARAMS, max_expires: 1800 });
    const a = await doRegister(r, {
      contact: `${obContact(1)};expires=120`,
      supported: SUP,
      path: edgePath(),
      expires: 900,
    });
    assert.equal(param(a.getHeader('Contact') ?? '', 'expires'), '120');
    const b = await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    assert.equal(param(b.getHeader('Contact') ?? '', 'expires'), '1800');
  });

  test('min_expires_mode 1: below min_expires → 423 Interval Too Brief with Min-Expires', async () => {
    const r = await registrar({ ...SEED_PARAMS, min_expires_mode: 1 });
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      expires: 30,
    });
    assert.equal(res.status, 423);
    assert.equal(res.reason, 'Interval Too Brief');
    assert.equal(res.getHeader('Min-Expires'), '60');
    assert.equal(res.getHeader('P-Registrar-Error'), 'Interval too brief');
    assert.deepEqual(await r.store.get('alice'), []);
  });

  test('the 200 OK lists every binding with its remaining expires', async () => {
    const r = await registrar();
    await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      expires: 600,
      callId: 'x',
    });
    r.clock.advance(100_500);
    const res = await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      expires: 300,
      callId: 'y',
    });
    const cs = replyContacts(res);
    assert.equal(cs.length, 2);
    assert.equal(param(cs[0] ?? '', 'expires'), '500', 'rounded up: 499.5 s left');
    assert.equal(param(cs[1] ?? '', 'expires'), '300');
  });

  test('a retransmitted outbound REGISTER (same Call-ID and CSeq) gets the same answer: 200 with Require: outbound, nothing changed', async () => {
    const r = await registrar();
    const req = { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'rx1', cseq: 7 };
    const a = await doRegister(r, req);
    const [before] = await r.store.get('alice');
    r.clock.advance(500);
    const b = await doRegister(r, req);
    for (const res of [a, b]) {
      assert.equal(res.status, 200);
      assert.equal(res.getHeader('Require'), 'outbound');
    }
    assert.deepEqual(await r.store.get('alice'), [before]);
  });

  test('§6.7 #87 refresh from a new port (same instance, reg-id, Call-ID): one binding, URI replaced, same ruid', async () => {
    const r = await registrar();
    const a = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      callId: 'c1',
      cseq: 1,
    });
    const [before] = await r.store.get('alice');
    assert.ok(before);
    r.clock.advance(5000);
    const b = await doRegister(r, {
      contact: obContact(1, { port: 6000 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'c1',
      cseq: 2,
    });
    const list = await r.store.get('alice');
    assert.equal(list.length, 1);
    assert.equal(list[0]?.ruid, before.ruid);
    assert.equal(list[0]?.contact, 'sip:alice@192.0.2.21:6000;ob');
    assert.deepEqual(list[0]?.path, [edgePath(TOKEN2)]);
    const ta = param(a.getHeader('Contact') ?? '', 'temp-gruu');
    const tb = param(b.getHeader('Contact') ?? '', 'temp-gruu');
    assert.ok(ta !== undefined && tb !== undefined);
    // decision Q-R11: a new temp-GRUU per refresh; the ruid part stays (see gruu.test.ts for routing)
    assert.notEqual(ta, tb);
    assert.equal(ta.split('.')[0], tb.split('.')[0]);
    assert.equal(replyContacts(b).length, 1);
  });

  test('§6.7 #88 a second flow (reg-id 2, same instance): two bindings, older first', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'c1' });
    r.clock.advance(1000);
    const res = await doRegister(r, {
      contact: obContact(2, { port: 5071 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'c1',
    });
    const cs = replyContacts(res);
    assert.equal(cs.length, 2);
    assert.equal(param(cs[0] ?? '', 'reg-id'), '1');
    assert.equal(param(cs[1] ?? '', 'reg-id'), '2');
  });

  test('§6.7 #89 flow 1 refreshed with a new Call-ID: flow 2 is removed ("reboot")', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'c1' });
    await doRegister(r, {
      contact: obContact(2, { port: 5071 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'c2',
    });
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      callId: 'c3',
    });
    assert.equal(replyContacts(res).length, 1);
    assert.deepEqual(
      (await r.store.get('alice')).map((b) => b.regId),
      [1],
    );
  });

  test('§6.7 #90 contact without instance, same Call-ID: lower CSeq → 400 "Invalid CSeq number"', async () => {
    const r = await registrar();
    const c = '<sip:alice@192.0.2.21:5070>';
    assert.equal((await doRegister(r, { contact: c, callId: 'k', cseq: 10 }, UA)).status, 200);
    const res = await doRegister(r, { contact: c, callId: 'k', cseq: 9 }, UA);
    assert.equal(res.status, 400);
    assert.equal(res.reason, 'Invalid CSeq number');
    assert.equal(res.getHeader('P-Registrar-Error'), 'Invalid CSeq number');
  });

  test('§6.7 #90 same CSeq within 20 s is a retransmission → 200; after 20 s → 400', async () => {
    const r = await registrar();
    const c = '<sip:alice@192.0.2.21:5070>';
    await doRegister(r, { contact: c, callId: 'k', cseq: 10 }, UA);
    r.clock.advance(19_000);
    const again = await doRegister(r, { contact: c, callId: 'k', cseq: 10 }, UA);
    assert.equal(again.status, 200);
    assert.equal(replyContacts(again).length, 1);
    r.clock.advance(2_000);
    assert.equal((await doRegister(r, { contact: c, callId: 'k', cseq: 10 }, UA)).status, 400);
    // a different Call-ID is a new registration of the same contact: no CSeq check
    assert.equal((await doRegister(r, { contact: c, callId: 'other', cseq: 1 }, UA)).status, 200);
  });

  test('a retransmitted outbound REGISTER changes nothing (no new temp-GRUU)', async () => {
    const r = await registrar();
    const raw = register({
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      callId: 'rt',
      cseq: 7,
    });
    r.h.inject(raw, EDGE);
    await r.h.settle();
    const [a] = responses(r.h.take());
    r.h.inject(raw, EDGE);
    await r.h.settle();
    const [b] = responses(r.h.take());
    assert.equal(a?.getHeader('Contact'), b?.getHeader('Contact'));
    assert.equal((await r.store.get('alice'))[0]?.tempGruus.length, 1);
  });

  test('§6.7 #91 Contact: * with Expires: 0 removes every binding; 200 without Contact', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'a' });
    await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'b',
    });
    const res = await doRegister(r, { contact: '*', expires: 0, supported: SUP, path: edgePath() });
    assert.equal(res.status, 200);
    assert.equal(res.getHeader('Contact'), undefined);
    assert.deepEqual(await r.store.get('alice'), []);
  });

  test('§6.7 #91 Contact: * with Expires 10, or without Expires, or mixed: 400', async () => {
    const r = await registrar();
    const a = await doRegister(r, { contact: '*', expires: 10 }, UA);
    assert.equal(a.status, 400);
    assert.equal(a.getHeader('P-Registrar-Error'), '* used in contact and expires is not zero');
    assert.equal((await doRegister(r, { contact: '*' }, UA)).status, 400);
    const m = await doRegister(r, { contact: ['*', '<sip:alice@192.0.2.21>'], expires: 0 }, UA);
    assert.equal(m.status, 400);
    assert.equal(m.getHeader('P-Registrar-Error'), '* used in contact and more than 1 contact');
  });

  test('§6.7 #92 REGISTER without Contact lists the current valid bindings', async () => {
    const r = await registrar();
    await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      expires: 100,
      callId: 'a',
    });
    await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      expires: 600,
      callId: 'b',
    });
    r.clock.advance(100_000);
    const res = await doRegister(r, { supported: SUP, path: edgePath() });
    assert.equal(res.status, 200);
    const cs = replyContacts(res);
    assert.equal(cs.length, 1, 'the expired one is not listed');
    assert.equal(param(cs[0] ?? '', '+sip.instance'), `"${INSTANCE2}"`);
    const empty = await doRegister(r, { user: 'nobody', supported: SUP, path: edgePath() });
    assert.equal(empty.status, 200);
    assert.equal(empty.getHeader('Contact'), undefined);
  });

  test('§6.7 #93 reg-id=0 or non-numeric with an instance: 400 "Invalid Reg-Id number", nothing stored (decision Q-R5)', async () => {
    const r = await registrar();
    for (const bad of ['0', 'abc', '2147483648']) {
      const res = await doRegister(r, {
        contact: `<sip:alice@192.0.2.21:5070;ob>;reg-id=${bad};+sip.instance="${INSTANCE}"`,
        supported: SUP,
        path: edgePath(),
      });
      assert.equal(res.status, 400, bad);
      assert.equal(res.reason, 'Invalid Reg-Id number');
    }
    assert.deepEqual(await r.store.get('alice'), []);
  });

  test('RFC 5626 §6: a reg-id without instance is ignored (keyed by Contact URI, reg_id 0)', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: '<sip:alice@192.0.2.21:5070;ob>;reg-id=abc',
      supported: SUP,
      path: edgePath(),
    });
    assert.equal(res.status, 200);
    assert.equal(res.getHeader('Require'), undefined);
    assert.equal((await r.store.get('alice'))[0]?.regId, 0);
  });

  test('§6.7 #94 two contacts with reg-id in one REGISTER: 400 (decision Q-R2)', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: [obContact(1), obContact(2, { port: 5071 })],
      supported: SUP,
      path: edgePath(),
    });
    assert.equal(res.status, 400);
    assert.equal(res.reason, 'Multiple Reg-Id Contacts');
    assert.deepEqual(await r.store.get('alice'), []);
    // RFC 5626 §6: also a reg-id contact beside another live one; an expiring one may accompany it
    assert.equal(
      (
        await doRegister(r, {
          contact: [obContact(1), '<sip:alice@192.0.2.99>'],
          supported: SUP,
          path: edgePath(),
        })
      ).status,
      400,
    );
    assert.equal(
      (
        await doRegister(r, {
          contact: [obContact(1), '<sip:alice@192.0.2.99>;expires=0'],
          supported: SUP,
          path: edgePath(),
        })
      ).status,
      200,
    );
  });

  test('§6.7 #96 Contact URI longer than 512 bytes: 400 "Contact/received too long"', async () => {
    const r = await registrar();
    const long = `<sip:${'a'.repeat(520)}@192.0.2.21>`;
    const res = await doRegister(r, { contact: long }, UA);
    assert.equal(res.status, 400);
    assert.equal(res.getHeader('P-Registrar-Error'), 'Contact/received too long');
  });

  test('q ordering: q descending, equal q older first, no q last; q printed 1 / 0.5 / 0.25', async () => {
    const r = await registrar();
    const reg = async (host: string, q: string | undefined) => {
      const c = `<sip:alice@${host}>${q === undefined ? '' : `;q=${q}`}`;
      await doRegister(r, { contact: c, callId: `q-${host}` }, UA);
      r.clock.advance(1000);
    };
    await reg('192.0.2.1', undefined);
    await reg('192.0.2.2', '0.5');
    await reg('192.0.2.3', '1.0');
    await reg('192.0.2.4', '0.5');
    await reg('192.0.2.5', '0.25');
    const res = await doRegister(r, {}, UA);
    const cs = replyContacts(res);
    assert.deepEqual(
      cs.map((c) => c.slice(0, c.indexOf(';expires'))),
      [
        '<sip:alice@192.0.2.3>;q=1',
        '<sip:alice@192.0.2.2>;q=0.5',
        '<sip:alice@192.0.2.4>;q=0.5',
        '<sip:alice@192.0.2.5>;q=0.25',
        '<sip:alice@192.0.2.1>',
      ],
    );
  });

  test('a bad q is a 400 "Invalid q param in contact"; received is stored and echoed quoted', async () => {
    const r = await registrar();
    const bad = await doRegister(r, { contact: '<sip:alice@192.0.2.21>;q=2' }, UA);
    assert.equal(bad.status, 400);
    assert.equal(bad.getHeader('P-Registrar-Error'), 'Invalid q param in contact');
    const ok = await doRegister(
      r,
      { contact: '<sip:alice@10.0.0.1>;received="sip:192.0.2.21:5070"' },
      UA,
    );
    assert.equal(param(ok.getHeader('Contact') ?? '', 'received'), '"sip:192.0.2.21:5070"');
  });

  test('AoR: user kept as written, host lower-cased, domain ignored (use_domain 0, decision Q-R6)', async () => {
    const r = await registrar();
    await doRegister(
      r,
      { user: 'Alice', domain: 'Example.COM', contact: '<sip:Alice@192.0.2.21>' },
      UA,
    );
    assert.equal((await r.store.get('Alice')).length, 1);
    assert.equal((await r.store.get('alice')).length, 0);
    // %-escapes are decoded: A%6cice is Alice
    await doRegister(r, { user: 'A%6cice', contact: '<sip:Alice@192.0.2.22>', callId: 'e' }, UA);
    assert.equal((await r.store.get('Alice')).length, 2);
  });

  test('AoR with use_domain 1: user@host, host lower-cased; other domains are other AoRs', async () => {
    const r = await registrar({ ...SEED_PARAMS, use_domain: 1 });
    await doRegister(
      r,
      { user: 'alice', domain: 'A.example.com', contact: '<sip:alice@192.0.2.21>' },
      UA,
    );
    assert.equal((await r.store.get('alice@a.example.com')).length, 1);
    const q = await doRegister(r, { user: 'alice', domain: 'b.example.com' }, UA);
    assert.equal(q.getHeader('Contact'), undefined);
  });

  test('AoR errors: no user in To → 400; bad escape → 400; too long → 500', async () => {
    const r = await registrar();
    const raw = register({ contact: '<sip:x@192.0.2.21>' }).replace(
      'To: <sip:alice@example.com>',
      'To: <sip:example.com>',
    );
    r.h.inject(raw, UA);
    await r.h.settle();
    const [a] = responses(r.h.take());
    assert.equal(a?.status, 400);
    assert.equal(a?.getHeader('P-Registrar-Error'), 'No username in To URI');
    const b = await doRegister(r, { user: 'a%zz', contact: '<sip:x@192.0.2.21>' }, UA);
    assert.equal(b.status, 400);
    const c = await doRegister(r, { user: 'u'.repeat(249), contact: '<sip:x@192.0.2.21>' }, UA);
    assert.equal(c.status, 500);
    assert.equal(c.reason, 'Address Of Record Too Long');
  });

  test('max_contacts: an insert beyond it → 503 "Too many registered contacts", save returns -2', async () => {
    const r = await registrar({ ...SEED_PARAMS, max_contacts: 1 });
    assert.equal(
      (await doRegister(r, { contact: '<sip:alice@192.0.2.1>', callId: 'm' }, UA)).status,
      200,
    );
    const res = await doRegister(r, { contact: '<sip:alice@192.0.2.2>', callId: 'm' }, UA);
    assert.equal(res.status, 503);
    assert.equal(res.getHeader('P-Registrar-Error'), 'Too many registered contacts');
    // refreshing the one binding is still fine
    assert.equal(
      (await doRegister(r, { contact: '<sip:alice@192.0.2.1>', callId: 'm' }, UA)).status,
      200,
    );
  });

  test('retry_after: Retry-After on 5xx replies', async () => {
    const r = await registrar({ ...SEED_PARAMS, max_contacts: 1, retry_after: 30 });
    await doRegister(r, { contact: '<sip:alice@192.0.2.1>' }, UA);
    const res = await doRegister(r, { contact: '<sip:alice@192.0.2.2>', callId: 'z' }, UA);
    assert.equal(res.getHeader('Retry-After'), '30');
  });
});

describe('save: store failures', () => {
  test('a store that rejects apply(): 500 with a reason, nothing written, the server keeps working', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'a' });
    const before = await r.store.get('alice');
    r.store.failing.add('apply');
    const res = await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'b',
    });
    assert.equal(res.status, 500);
    assert.equal(res.reason, 'Location Store Unavailable');
    assert.equal(res.getHeader('P-Registrar-Error'), 'Location store failure');
    assert.deepEqual(await r.store.get('alice'), before);
    // the backend comes back
    r.store.failing.clear();
    const ok = await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'b',
    });
    assert.equal(ok.status, 200);
    assert.equal(replyContacts(ok).length, 2);
  });

  test('a store that rejects get(): 500, no write attempted', async () => {
    const r = await registrar();
    r.store.failing.add('get');
    const res = await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    assert.equal(res.status, 500);
    assert.equal(r.store.applyCalls, 0);
  });

  test('save flag NoReply: no reply from save; sl_reply_error() answers with the recorded error', async () => {
    const script = defineScript({
      async request_route(ctx) {
        if (!(await ctx.save('location', 0x02))) ctx.sl_reply_error();
        ctx.exit();
      },
    });
    const r = await setup(SEED_PARAMS, { script });
    open.push(r);
    const res = await doRegister(r, {
      contact: obContact(1),
      supported: 'outbound',
      viaEdge: true,
    });
    assert.equal(res.status, 439);
    assert.equal(res.reason, 'First Hop Lacks Outbound Support');
    // success with NoReply: the script must answer; here it does not, so nothing is sent
    r.h.inject(register({ contact: '<sip:alice@192.0.2.21>' }), UA);
    await r.h.settle();
    assert.equal(r.h.take().length, 0);
    assert.equal((await r.store.get('alice')).length, 1);
  });
});
