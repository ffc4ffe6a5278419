// Issue 12 §1: a finished transaction keeps only what absorbing retransmissions needs. Everything
// the request hung on it (its user, whose closures reach the whole proxy transaction; its context;
// the parsed request) must become garbage at the final, while the transaction itself is still
// held for timer J/K: otherwise 32 s of REGISTERs are promoted to the old generation (the soak's
// memory). The collector decides what is reachable, so these tests ask it (WeakRef + a real GC).
import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SipRequest, SipResponse } from '../../../src/message/message.js';
import { scanMessage } from '../../../src/message/scanner.js';
import { TransactionLayer } from '../../../src/transaction/layer.js';
import type {
  ClientTransactionUser,
  ServerTransactionUser,
  TransactionUser,
} from '../../../src/transaction/types.js';
import { TxState } from '../../../src/transaction/types.js';
import { ManualClock } from '../../../src/util/clock.js';
import { FakeTransport, recvInfo } from '../../support/fake-transport.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** True when `ref`'s target is collected within a few full GCs (WeakRefs clear between jobs). */
async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}

const parse = (lines: string[]): SipRequest | SipResponse => {
  const r = scanMessage(Buffer.from([...lines, '', ''].join('\r\n')));
  assert.ok(r.ok);
  return r.msg as SipRequest | SipResponse;
};

const request = (): SipRequest =>
  parse([
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bKret;rport',
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=f1',
    'To: <sip:alice@example.com>',
    'Call-ID: ret@x',
    'CSeq: 1 REGISTER',
    'Content-Length: 0',
  ]) as SipRequest;

const udp = recvInfo('udp', '192.0.2.1:5070');
const noTu: TransactionUser = { onRequest() {}, onStrayResponse() {} };

let clock: ManualClock;
let transport: FakeTransport;
let layer: TransactionLayer;

beforeEach(() => {
  clock = new ManualClock();
  transport = new FakeTransport();
  layer = new TransactionLayer(transport, noTu, { clock });
});

describe('what a finished transaction lets go of (issue 12 §1)', () => {
  test('server, Completed over UDP (timer J, 32 s): the request, its user and its context are garbage; retransmissions are still answered', async () => {
    let req: SipRequest | undefined = request();
    let user: ServerTransactionUser | undefined = { onTerminated() {} };
    let context: object | undefined = { relay: new Array(1000).fill(0) };
    const refs = { req: new WeakRef(req), user: new WeakRef(user), context: new WeakRef(context) };
    const tx = layer.createServer(req, udp, user);
    assert.ok(tx);
    tx.context = context;
    tx.reply(200);
    req = undefined;
    user = undefined;
    context = undefined;
    transport.take();
    assert.equal(tx.state, TxState.Completed);
    assert.ok(await collected(refs.req), 'the parsed request');
    assert.ok(await collected(refs.user), 'the user');
    assert.ok(await collected(refs.context), 'the context');
    // what timer J needs is still there
    layer.onMessage(request(), udp);
    assert.deepEqual(transport.lines(), ['SIP/2.0 200 OK']);
    assert.ok(tx !== undefined); // the transaction object itself stayed reachable throughout
  });

  test('client, Completed over UDP (timer K, 5 s): the user is garbage; a retransmitted 200 goes nowhere', async () => {
    const responses: number[] = [];
    let user: ClientTransactionUser | undefined = {
      onResponse: (r) => responses.push(r.status),
      onFailure() {},
    };
    const ref = new WeakRef(user);
    const bytes = Buffer.from(
      [
        'OPTIONS sip:192.0.2.9:5080 SIP/2.0',
        'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKcli',
        'Max-Forwards: 70',
        'From: <sip:edge@example.com>;tag=f1',
        'To: <sip:192.0.2.9:5080>',
        'Call-ID: cli@x',
        'CSeq: 1 OPTIONS',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
    const { tx } = layer.sendRequest(
      bytes,
      'z9hG4bKcli',
      'OPTIONS',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      user,
    );
    user = undefined;
    transport.take();
    const ok = parse([
      'SIP/2.0 200 OK',
      'Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKcli',
      'From: <sip:edge@example.com>;tag=f1',
      'To: <sip:192.0.2.9:5080>;tag=t9',
      'Call-ID: cli@x',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
    ]) as SipResponse;
    layer.onMessage(ok, recvInfo('udp', '192.0.2.9:5080'));
    assert.deepEqual(responses, [200]);
    assert.equal(tx.state, TxState.Completed);
    assert.ok(await collected(ref), 'the user (its closures reach the whole relay)');
    layer.onMessage(ok, recvInfo('udp', '192.0.2.9:5080'));
    assert.deepEqual(responses, [200], 'RFC 3261 §17.1.2.2: Completed absorbs it');
    assert.deepEqual(layer.retiredCounts, { server: 0, client: 1 });
    clock.advance(6000);
    assert.deepEqual(layer.retiredCounts, { server: 0, client: 0 }, 'timer K (T4 = 5 s) ended it');
  });
});
