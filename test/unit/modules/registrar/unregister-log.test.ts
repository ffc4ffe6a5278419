import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CapturingLogger } from '../../../support/logger.js';
import {
  answer,
  CALLER,
  doRegister,
  edgePath,
  INSTANCE,
  invite,
  obContact,
  type RegistrarHarness,
  requests,
  setup,
  TOKEN1,
  TOKEN2,
} from './helpers.js';

const SUP = 'path, outbound, gruu';
const REMOVED = /^registrar: binding removed/;
const open: RegistrarHarness[] = [];
after(async () => {
  for (const r of open) await r.close();
});

/** A registrar with alice on two flows of one instance (reg-id 1 and 2). */
async function twoFlows(logger: CapturingLogger): Promise<RegistrarHarness> {
  const r = await setup(undefined, { logger });
  open.push(r);
  for (const [regId, token, port] of [
    [1, TOKEN1, 5070],
    [2, TOKEN2, 5071],
  ] as const) {
    const res = await doRegister(r, {
      contact: obContact(regId, { port }),
      supported: SUP,
      path: edgePath(token),
      callId: 'flows',
      cseq: regId,
    });
    assert.equal(res.status, 200);
    r.clock.advance(1000);
  }
  return r;
}

async function call(r: RegistrarHarness, method = 'INVITE') {
  r.h.inject(invite('sip:alice@example.com', { method }), CALLER);
  await r.h.settle();
  return requests(r.h.take(), method);
}

describe('registrar: a log line when a flow fails and its binding is removed', () => {
  test('flow 1 answers 430: one info line with the binding (AoR, contact, instance, reg-id, Path) and the status', async () => {
    const logger = new CapturingLogger();
    const r = await twoFlows(logger);
    const [inv1] = await call(r);
    assert.ok(inv1);
    answer(r, inv1.msg, 430, 'Flow Failed');
    await r.h.settle();
    r.h.take();
    const lines = logger.matching(REMOVED);
    assert.equal(lines.length, 1);
    const l = lines[0];
    assert.equal(l?.level, 'info');
    assert.equal(l?.msg, 'registrar: binding removed (its flow failed: the branch ended with 430)');
    assert.equal(l?.obj['aor'], 'alice');
    assert.equal(l?.obj['status'], 430);
    assert.equal(l?.obj['regId'], 1);
    assert.equal(l?.obj['instance'], INSTANCE);
    assert.deepEqual(l?.obj['path'], [edgePath(TOKEN1)]);
    assert.match(String(l?.obj['contact']), /192\.0\.2\.21:5070/);
    assert.equal(l?.obj['callId'], inv1.msg.callId);
  });

  test('flow 1 times out (no reply at all): the line says so', async () => {
    const logger = new CapturingLogger();
    const r = await twoFlows(logger);
    assert.equal((await call(r, 'MESSAGE')).length, 1);
    r.clock.advance(33_000); // RFC 3261 Timer F
    await r.h.settle();
    r.h.take();
    const lines = logger.matching(REMOVED);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.obj['status'], 408);
    assert.match(lines[0]?.msg ?? '', /its flow failed: the branch ended with 408 \(timeout\)/);
  });

  test('a 486 from the phone removes nothing and logs nothing', async () => {
    const logger = new CapturingLogger();
    const r = await twoFlows(logger);
    const [inv1] = await call(r);
    assert.ok(inv1);
    answer(r, inv1.msg, 486, 'Busy Here');
    await r.h.settle();
    r.h.take();
    assert.equal(logger.matching(REMOVED).length, 0);
    assert.equal((await r.store.get('alice')).length, 2);
  });
});
