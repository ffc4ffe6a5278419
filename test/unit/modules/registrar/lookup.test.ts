import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { SipRequest } from '../../../../src/message/message.js';
import { scanMessage } from '../../../../src/message/scanner.js';
import {
  LookupRc,
  type RegistrarApi,
  type RegistrarParams,
  UnregisterRc,
} from '../../../../src/modules/registrar/index.js';
import { RequestContext } from '../../../../src/proxy/context.js';
import { defineScript } from '../../../../src/script/api.js';
import type { ReceiveInfo } from '../../../../src/transport/types.js';
import {
  answer,
  CALLER,
  doRegister,
  edgePath,
  INSTANCE,
  INSTANCE2,
  invite,
  obContact,
  type RegistrarHarness,
  register,
  requests,
  responses,
  SEED_PARAMS,
  setup,
  TOKEN1,
  TOKEN2,
} from './helpers.js';

const SUP = 'path, outbound, gruu';
const open: RegistrarHarness[] = [];
after(async () => {
  for (const r of open) await r.close();
});

async function registrar(
  params: RegistrarParams = SEED_PARAMS,
  script?: Parameters<typeof setup>[1],
): Promise<RegistrarHarness> {
  const r = await setup(params, script);
  open.push(r);
  return r;
}

const INFO: ReceiveInfo = {
  proto: 'udp',
  local: { address: '127.0.0.1', port: 5060 },
  remote: { address: '192.0.2.50', port: 5060 },
  flowId: 'w0/u0/192.0.2.50:5060',
  listener: {
    id: 0,
    proto: 'udp',
    address: '127.0.0.1',
    port: 5060,
    family: 4,
    advertise: undefined,
  },
  secure: false,
};

/** A request context for an INVITE to `ruri`, as the request route would have it. */
function ctxFor(ruri: string, method = 'INVITE'): RequestContext {
  const r = scanMessage(Buffer.from(invite(ruri, { method }), 'latin1'));
  if (!r.ok || !r.msg.isRequest) throw new Error('bad test message');
  return new RequestContext(r.msg as SipRequest, INFO, 'request', {});
}

function api(r: RegistrarHarness): RegistrarApi {
  const reg = r.h.server.registrar;
  assert.ok(reg);
  return reg;
}

describe('lookup', () => {
  test('§6.8 #112 the first binding becomes the R-URI destination: $du = first Path URI, path vector, attributes', async () => {
    const r = await registrar();
    await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      callId: 'a',
      userAgent: 'phone/2',
    });
    r.clock.advance(1000);
    await doRegister(r, {
      contact: obContact(2, { port: 5071 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'a',
    });
    const [b1, b2] = await r.store.get('alice');
    assert.ok(b1 && b2);
    const ctx = ctxFor('sip:alice@example.com');
    ctx.du = 'sip:stale.example.net';
    assert.equal(await api(r).lookup(ctx, 'location'), LookupRc.Found);
    assert.equal(ctx.ruri, 'sip:alice@192.0.2.21:5070;ob');
    assert.equal(ctx.ruriIsNew, true);
    assert.equal(ctx.du, `sip:${TOKEN1}@127.0.0.11;lr;ob`);
    assert.deepEqual(ctx.pathVector, [edgePath()]);
    assert.equal(ctx.flowId, undefined, 'the edge holds the flow, not us');
    assert.equal(ctx.listenerId, 0);
    assert.deepEqual(ctx.attrs, {
      ruid: b1.ruid,
      instance: INSTANCE,
      regId: 1,
      q: undefined,
      userAgent: 'phone/2',
    });
    // append_branches: the other binding, with its own attributes
    assert.equal(ctx.branches.length, 1);
    assert.deepEqual(ctx.branches[0], {
      uri: 'sip:alice@192.0.2.21:5071;ob',
      du: `sip:${TOKEN2}@127.0.0.11;lr;ob`,
      path: [edgePath(TOKEN2)],
      flowId: undefined,
      listenerId: 0,
      ruid: b2.ruid,
      instance: INSTANCE,
      regId: 2,
      q: undefined,
      userAgent: undefined,
    });
  });

  test('append_branches 0: only the first binding', async () => {
    const r = await registrar({ ...SEED_PARAMS, append_branches: 0 });
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'a' });
    await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'b',
    });
    const ctx = ctxFor('sip:alice@example.com');
    assert.equal(await api(r).lookup(ctx, 'location'), LookupRc.Found);
    assert.equal(ctx.branches.length, 0);
  });

  test('lookup(table, uri) looks the given URI up; a binding without Path uses received for $du', async () => {
    const r = await registrar();
    await doRegister(
      r,
      { user: 'carol', contact: '<sip:carol@10.0.0.5>;received="sip:192.0.2.77:40000"' },
      '192.0.2.77:40000',
    );
    const ctx = ctxFor('sip:someone@example.com');
    assert.equal(await api(r).lookup(ctx, 'location', 'sip:carol@example.com'), LookupRc.Found);
    assert.equal(ctx.ruri, 'sip:carol@10.0.0.5');
    assert.equal(ctx.du, 'sip:192.0.2.77:40000');
    assert.equal(ctx.pathVector, undefined);
  });

  test('return codes: -1 unknown / no user, -3 unparsable URI or malformed temp-GRUU', async () => {
    const r = await registrar();
    assert.equal(
      await api(r).lookup(ctxFor('sip:nobody@example.com'), 'location'),
      LookupRc.NotFound,
    );
    assert.equal(await api(r).lookup(ctxFor('sip:example.com'), 'location'), LookupRc.NotFound);
    assert.equal(
      await api(r).lookup(ctxFor('sip:x@example.com'), 'location', 'not a uri'),
      LookupRc.Internal,
    );
    assert.equal(
      await api(r).lookup(ctxFor('sip:nodash@example.com;gr'), 'location'),
      LookupRc.Internal,
    );
  });

  test('a store failure: -3 with lastError 500 "Location Store Unavailable"', async () => {
    const r = await registrar();
    r.store.failing.add('get');
    const ctx = ctxFor('sip:alice@example.com');
    assert.equal(await api(r).lookup(ctx, 'location'), LookupRc.Internal);
    assert.deepEqual(ctx.lastError, { status: 500, reason: 'Location Store Unavailable' });
  });

  test('method_filtering 1: -2 when no binding accepts the method; Allow is used when Contact has no methods', async () => {
    const r = await registrar({ ...SEED_PARAMS, method_filtering: 1 });
    await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(),
      extra: ['Allow: INVITE, ACK, BYE'],
    });
    assert.equal(
      await api(r).lookup(ctxFor('sip:alice@example.com', 'MESSAGE'), 'location'),
      LookupRc.MethodNotAllowed,
    );
    assert.equal(
      await api(r).lookup(ctxFor('sip:alice@example.com', 'INVITE'), 'location'),
      LookupRc.Found,
    );
  });

  test('a GRUU lookup yields exactly one target and no branches', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'a' });
    await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'b',
    });
    const ctx = ctxFor('sip:alice@example.com;gr=urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF');
    assert.equal(await api(r).lookup(ctx, 'location'), LookupRc.Found);
    assert.equal(ctx.ruri, 'sip:alice@192.0.2.21:5070;ob');
    assert.equal(ctx.branches.length, 0);
  });

  /** Registers alice's two flows directly over TCP connections (no edge: one Via, reg-id kept). */
  async function directTcp(r: RegistrarHarness) {
    const f1 = r.h.transport.connect('tcp', { address: '192.0.2.21', port: 40001 }, 1);
    const f2 = r.h.transport.connect('tcp', { address: '192.0.2.21', port: 40002 }, 1);
    for (const [regId, f] of [
      [1, f1],
      [2, f2],
    ] as const) {
      r.h.inject(
        register({
          contact: obContact(regId, { port: 40000 + regId }),
          supported: 'outbound',
          callId: 'tcp',
        }),
        '192.0.2.21:0',
        { flowId: f.id },
      );
      await r.h.settle();
    }
    assert.deepEqual(
      responses(r.h.take()).map((m) => m.status),
      [200, 200],
    );
    return { f1, f2 };
  }

  test('RFC 5626 §5.3: a UA registered directly over TCP with reg-id is reached over its own connection', async () => {
    const r = await registrar();
    const { f1 } = await directTcp(r);
    const [b1] = await r.store.get('alice');
    assert.equal(b1?.flowId, f1.id);
    assert.equal(b1?.socket, 'tcp:127.0.0.1:5060');
    const ctx = ctxFor('sip:alice@example.com');
    assert.equal(await api(r).lookup(ctx, 'location'), LookupRc.Found);
    assert.equal(ctx.flowId, f1.id);
    assert.equal(ctx.listenerId, 1);
    r.h.inject(invite('sip:alice@example.com'), CALLER);
    await r.h.settle();
    const inv = requests(r.h.take(), 'INVITE');
    assert.deepEqual(
      inv.map((s) => s.to),
      [f1.id],
    );
  });

  test('RFC 5626 §5.3: the connection of flow 1 is gone: 430 at once, binding removed, flow 2 used', async () => {
    const r = await registrar();
    const { f1, f2 } = await directTcp(r);
    r.h.transport.disconnect(f1.id);
    r.h.inject(invite('sip:alice@example.com'), CALLER);
    await r.h.settle();
    const sent = r.h.take();
    assert.deepEqual(
      (await r.store.get('alice')).map((b) => b.regId),
      [2],
    );
    const inv = requests(sent, 'INVITE');
    assert.deepEqual(
      inv.map((s) => s.to),
      [f2.id],
    );
    assert.equal(
      responses(sent).filter((m) => m.status >= 200).length,
      0,
      'no final reply to the caller before flow 2 answered',
    );
  });
});

describe('unregister', () => {
  test('by ruid: 1, then -3 when already gone; the URI is not used (decision Q-R10)', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    const [b] = await r.store.get('alice');
    assert.ok(b);
    const ctx = ctxFor('sip:alice@example.com');
    // a To URI of another user (retargeted request) still removes the binding by its ruid
    assert.equal(
      await api(r).unregister(ctx, 'location', 'sip:bob@example.com', b.ruid),
      UnregisterRc.Removed,
    );
    assert.deepEqual(await r.store.get('alice'), []);
    assert.equal(
      await api(r).unregister(ctx, 'location', 'sip:alice@example.com', b.ruid),
      UnregisterRc.NotFound,
    );
  });

  test('§6.8 #113 an empty ruid: -1, nothing removed', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    assert.equal(
      await api(r).unregister(
        ctxFor('sip:alice@example.com'),
        'location',
        'sip:alice@example.com',
        '',
      ),
      UnregisterRc.BadInput,
    );
    assert.equal((await r.store.get('alice')).length, 1);
  });

  test('§6.8 #113 through the script: unregister with an empty $T_reply_ruid returns -1 and the next flow is still tried', async () => {
    // the seed's branch-failure route, with a ruid that evaluates empty (a destination without one)
    const script = defineScript({
      async request_route(ctx) {
        if (ctx.is_method('REGISTER')) {
          await ctx.save('location');
          ctx.exit();
        }
        ctx.append_branch('sip:alice@192.0.2.21:5070');
        ctx.request.branches[0] = { uri: 'sip:alice@192.0.2.21:5070', instance: INSTANCE };
        ctx.request.avps.contactFlows = [{ uri: 'sip:alice@192.0.2.22:5070', instance: INSTANCE }];
        ctx.request.ruriIsNew = false;
        ctx.t_on_branch_failure('FB');
        ctx.t_relay();
      },
      event_route: {
        async 'tm:branch-failure:FB'(ctx) {
          if (ctx.t_check_status('430')) {
            const ok = await ctx.unregister('location', '$tu', '$T_reply_ruid');
            ctx.$var['unreg'] = ctx.$rc;
            if (!ok && ctx.t_next_contact_flow()) ctx.t_relay();
          }
        },
      },
    });
    const r = await registrar(SEED_PARAMS, { script });
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    r.h.inject(invite('sip:alice@example.com'), CALLER);
    await r.h.settle();
    const first = requests(r.h.take(), 'INVITE');
    assert.equal(first.length, 1);
    answer(r, first[0]?.msg as SipRequest, 430, 'Flow Failed', '192.0.2.21:5070');
    await r.h.settle();
    const next = requests(r.h.take(), 'INVITE');
    assert.deepEqual(
      next.map((s) => s.msg.uri),
      ['sip:alice@192.0.2.22:5070'],
    );
    assert.equal(r.h.server.core.vars['unreg'], UnregisterRc.BadInput);
    assert.equal((await r.store.get('alice')).length, 1, 'nothing removed');
  });

  test('without ruid: every binding of the URI AoR; -3 when there is none; -1 for a URI without user', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath(), callId: 'a' });
    await doRegister(r, {
      contact: obContact(1, { instance: INSTANCE2 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'b',
    });
    const ctx = ctxFor('sip:alice@example.com');
    assert.equal(
      await api(r).unregister(ctx, 'location', 'sip:alice@example.com'),
      UnregisterRc.Removed,
    );
    assert.deepEqual(await r.store.get('alice'), []);
    assert.equal(
      await api(r).unregister(ctx, 'location', 'sip:alice@example.com'),
      UnregisterRc.NotFound,
    );
    assert.equal(
      await api(r).unregister(ctx, 'location', 'sip:example.com'),
      UnregisterRc.BadInput,
    );
  });

  test('a store failure: -2', async () => {
    const r = await registrar();
    await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
    const [b] = await r.store.get('alice');
    assert.ok(b);
    r.store.failing.add('apply');
    assert.equal(
      await api(r).unregister(
        ctxFor('sip:alice@example.com'),
        'location',
        'sip:alice@example.com',
        b.ruid,
      ),
      UnregisterRc.StoreFailure,
    );
    r.store.failing.add('removeAor');
    assert.equal(
      await api(r).unregister(ctxFor('sip:alice@example.com'), 'location', 'sip:alice@example.com'),
      UnregisterRc.StoreFailure,
    );
    assert.equal((await r.store.get('alice')).length, 1);
  });
});
