import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  escapeParamValue,
  parseHashHex,
  sameInstance,
  stripAngle,
} from '../../../../src/modules/registrar/gruu.js';
import {
  aorHashHex,
  coreHash,
  hashHex,
  parseTempGruuUser,
  pubGruu,
  type RegistrarParams,
  tempGruu,
} from '../../../../src/modules/registrar/index.js';
import {
  CALLER,
  doRegister,
  edgePath,
  INSTANCE,
  invite,
  obContact,
  type RegistrarHarness,
  requests,
  responses,
  SEED_PARAMS,
  setup,
  TOKEN2,
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

function gruus(contact: string | undefined): { pub: string | undefined; temp: string | undefined } {
  return {
    pub: /pub-gruu="([^"]+)"/.exec(contact ?? '')?.[1],
    temp: /temp-gruu="([^"]+)"/.exec(contact ?? '')?.[1],
  };
}

/** INVITE to `ruri`: the R-URIs of the branches sent, or the final status to the caller. */
async function route(r: RegistrarHarness, ruri: string): Promise<string[] | number> {
  r.h.inject(invite(ruri), CALLER);
  await r.h.settle();
  const sent = r.h.take();
  const inv = requests(sent, 'INVITE');
  if (inv.length > 0) return inv.map((s) => s.msg.uri);
  const fin = responses(sent).find((m) => m.status >= 200);
  return fin?.status ?? 0;
}

describe('GRUU (RFC 5627)', () => {
  test('§6.9 #126 temp-gruu hash suffix: AoR alice → dd7f25d6, hank → 28d1d756', () => {
    assert.equal(aorHashHex('alice'), 'dd7f25d6');
    assert.equal(aorHashHex('hank'), '28d1d756');
    assert.equal(parseHashHex('dd7f25d6'), coreHash('alice'));
    assert.equal(hashHex(0), '0');
    assert.equal(parseHashHex('xyz'), undefined);
  });

  test('§6.9 #126 the ruid part of the temp-gruu is kept across refreshes, the nonce changes (decision Q-R11)', async () => {
    const r = await registrar();
    const a = gruus(
      (
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          callId: 'g',
          cseq: 1,
        })
      ).getHeader('Contact'),
    );
    const b = gruus(
      (
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          callId: 'g',
          cseq: 2,
        })
      ).getHeader('Contact'),
    );
    assert.ok(a.temp !== undefined && b.temp !== undefined);
    const pa = parseTempGruuUser(a.temp.slice(4, a.temp.indexOf('@')));
    const pb = parseTempGruuUser(b.temp.slice(4, b.temp.indexOf('@')));
    assert.ok(pa !== undefined && pb !== undefined);
    assert.equal(pa.ruid, pb.ruid);
    assert.equal(pa.hash, coreHash('alice'));
    assert.notEqual(pa.nonce, pb.nonce);
    assert.equal(a.pub, b.pub);
  });

  test('pub-gruu: the AoR as registered (decision Q-R6) with gr = instance without <>', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      user: 'Alice',
      contact: obContact(1, { user: 'Alice' }),
      supported: SUP,
      path: edgePath(),
    });
    assert.equal(
      gruus(res.getHeader('Contact')).pub,
      'sip:Alice@example.com;gr=urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF',
    );
    assert.equal(
      pubGruu({ key: 'bob', user: 'bob', host: 'example.com' }, '<urn:x"y>'),
      'sip:bob@example.com;gr=urn:x%22y',
    );
    assert.equal(escapeParamValue('a b'), 'a%20b');
  });

  test('a temp-GRUU routes to its binding, also after refreshes; the earlier ones stay valid until the Call-ID changes', async () => {
    const r = await registrar();
    const t1 = gruus(
      (
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          callId: 'g',
          cseq: 1,
        })
      ).getHeader('Contact'),
    ).temp;
    const t2 = gruus(
      (
        await doRegister(r, {
          contact: obContact(1, { port: 6000 }),
          supported: SUP,
          path: edgePath(TOKEN2),
          callId: 'g',
          cseq: 2,
        })
      ).getHeader('Contact'),
    ).temp;
    assert.ok(t1 !== undefined && t2 !== undefined);
    assert.notEqual(t1, t2);
    // both reach the (refreshed) binding: its current contact
    assert.deepEqual(await route(r, t1), ['sip:alice@192.0.2.21:6000;ob']);
    assert.deepEqual(await route(r, t2), ['sip:alice@192.0.2.21:6000;ob']);
    // a new Call-ID (the UA restarted): the old temp-GRUUs end, the new one works
    const t3 = gruus(
      (
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          callId: 'g2',
          cseq: 1,
        })
      ).getHeader('Contact'),
    ).temp;
    assert.ok(t3 !== undefined);
    assert.equal(await route(r, t1), 404);
    assert.equal(await route(r, t2), 404);
    assert.deepEqual(await route(r, t3), ['sip:alice@192.0.2.21:5070;ob']);
  });

  test('a temp-GRUU ends with its binding (expiry, unregistration)', async () => {
    const r = await registrar();
    const t = gruus(
      (
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          expires: 60,
        })
      ).getHeader('Contact'),
    ).temp;
    assert.ok(t !== undefined);
    r.clock.advance(60_000);
    assert.equal(await route(r, t), 404);
  });

  test('temp_gruu_max: the oldest temp-GRUUs of a binding are dropped beyond it', async () => {
    const r = await registrar({ ...SEED_PARAMS, temp_gruu_max: 2 });
    const ts: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const t = gruus(
        (
          await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            callId: 'm',
            cseq: i,
          })
        ).getHeader('Contact'),
      ).temp;
      assert.ok(t !== undefined);
      ts.push(t);
    }
    assert.equal(await route(r, ts[0] ?? ''), 404);
    assert.ok(Array.isArray(await route(r, ts[1] ?? '')));
    assert.ok(Array.isArray(await route(r, ts[2] ?? '')));
  });

  test('a pub-GRUU of an instance with two flows yields exactly one target (its first flow)', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'f' });
    const res = await doRegister(r, {
      contact: obContact(2, { port: 5071 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'f',
    });
    const pub = gruus(res.getHeader('Contact')).pub;
    assert.ok(pub !== undefined);
    assert.deepEqual(await route(r, pub), ['sip:alice@192.0.2.21:5070;ob']);
  });

  test('unknown GRUUs → 404: unknown ruid, unknown nonce, other AoR hash, malformed', async () => {
    const r = await registrar();
    const t = gruus(
      (await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() })).getHeader(
        'Contact',
      ),
    ).temp;
    assert.ok(t !== undefined);
    const ruid = parseTempGruuUser(t.slice(4, t.indexOf('@')))?.ruid ?? '';
    assert.equal(await route(r, tempGruu('uloc-0-0-999', 'alice', 'example.com', '00')), 404);
    assert.equal(await route(r, tempGruu(ruid, 'alice', 'example.com', 'ffffffffffffffff')), 404);
    assert.equal(await route(r, tempGruu(ruid, 'bob', 'example.com', '0000000000000001')), 404);
    assert.equal(await route(r, 'sip:uloc-1-2-dd7f25d6@example.com;gr'), 404);
    assert.equal(await route(r, 'sip:alice@example.com;gr=urn:uuid:unknown'), 404);
  });

  test('gruu_enabled 0: no GRUUs in the reply, +sip.instance and reg-id still echoed (Kamailio #3181)', async () => {
    const r = await registrar({ ...SEED_PARAMS, gruu_enabled: 0 });
    const res = await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    const c = res.getHeader('Contact') ?? '';
    assert.doesNotMatch(c, /gruu/);
    assert.match(c, /;\+sip\.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1$/);
    assert.deepEqual((await r.store.get('alice'))[0]?.tempGruus, []);
  });

  test('a contact without instance gets no GRUU', async () => {
    const r = await registrar();
    const res = await doRegister(r, {
      contact: '<sip:alice@192.0.2.21:5070>',
      supported: SUP,
      path: edgePath(),
    });
    assert.doesNotMatch(res.getHeader('Contact') ?? '', /gruu/);
  });

  test('temp-GRUU user parsing', () => {
    assert.deepEqual(parseTempGruuUser('uloc-1-2-3-dd7f25d6.00ff'), {
      ruid: 'uloc-1-2-3',
      hash: coreHash('alice'),
      nonce: '00ff',
    });
    assert.equal(parseTempGruuUser('nodash.00ff'), undefined);
    assert.equal(parseTempGruuUser('uloc-1-dd7f25d6'), undefined);
    assert.equal(parseTempGruuUser('uloc-1-zz.00'), undefined);
    assert.equal(parseTempGruuUser('uloc-1-1.XY'), undefined);
    assert.equal(
      tempGruu('uloc-1', 'alice', 'example.com', 'ab'),
      'sip:uloc-1-dd7f25d6.ab@example.com;gr',
    );
  });

  test('instances compare with one enclosing <> ignored', () => {
    assert.equal(stripAngle(INSTANCE), 'urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF');
    assert.ok(sameInstance('<urn:a>', 'urn:a'));
    assert.ok(!sameInstance('<urn:a>', '<urn:b>'));
    assert.ok(!sameInstance(undefined, 'urn:a'));
  });
});
