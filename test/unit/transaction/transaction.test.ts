import assert from 'node:assert/strict';
import { beforeEach, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { buildResponseBytes } from '../../../src/message/build.js';
import type { SipRequest, SipResponse } from '../../../src/message/message.js';
import { scanMessage } from '../../../src/message/scanner.js';
import { TransactionLayer } from '../../../src/transaction/layer.js';
import { hashKey } from '../../../src/transaction/retired.js';
import type {
  ClientTransactionUser,
  ServerTransactionUser,
  TransactionUser,
} from '../../../src/transaction/types.js';
import { TxState } from '../../../src/transaction/types.js';
import { Proto, type ReceiveInfo } from '../../../src/transport/types.js';
import { ManualClock } from '../../../src/util/clock.js';
import { FakeTransport, recvInfo } from '../../support/fake-transport.js';
import { CapturingLogger } from '../../support/logger.js';

function req(
  method: string,
  opts: { branch?: string; via?: string; cseqMethod?: string; toTag?: string; uri?: string } = {},
): SipRequest {
  const via = opts.via ?? `SIP/2.0/UDP 192.0.2.1:5070;branch=${opts.branch ?? 'z9hG4bKabc'};rport`;
  const raw = [
    `${method} ${opts.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: ${via}`,
    'Max-Forwards: 70',
    'From: <sip:alice@example.com>;tag=f1',
    `To: <sip:bob@example.com>${opts.toTag ? `;tag=${opts.toTag}` : ''}`,
    'Call-ID: c1@x',
    `CSeq: 1 ${opts.cseqMethod ?? method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = scanMessage(Buffer.from(raw));
  assert.ok(r.ok);
  return r.msg as SipRequest;
}

function res(status: number, method: string, branch = 'z9hG4bKout', toTag = 't9'): SipResponse {
  const raw = [
    `SIP/2.0 ${status} X`,
    `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${branch}`,
    'From: <sip:alice@example.com>;tag=f1',
    `To: <sip:bob@example.com>;tag=${toTag}`,
    'Call-ID: c1@x',
    `CSeq: 1 ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
  const r = scanMessage(Buffer.from(raw));
  assert.ok(r.ok);
  return r.msg as SipResponse;
}

function outReq(method: string, branch = 'z9hG4bKout'): Buffer {
  return Buffer.from(
    [
      `${method} sip:bob@192.0.2.9:5080 SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:5060;branch=${branch}`,
      'Route: <sip:proxy.example.com;lr>',
      'Max-Forwards: 69',
      'From: <sip:alice@example.com>;tag=f1',
      'To: <sip:bob@example.com>',
      'Call-ID: c1@x',
      `CSeq: 1 ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

class RecordingTU implements TransactionUser {
  requests: SipRequest[] = [];
  stray: SipResponse[] = [];
  onRequest(r: SipRequest): void {
    this.requests.push(r);
  }
  onStrayResponse(r: SipResponse): void {
    this.stray.push(r);
  }
}

class ClientRec implements ClientTransactionUser {
  responses: number[] = [];
  failures: string[] = [];
  onResponse(r: SipResponse): void {
    this.responses.push(r.status);
  }
  onFailure(kind: string): void {
    this.failures.push(kind);
  }
}

const udp = recvInfo('udp', '192.0.2.9:5080');
const tcp: ReceiveInfo = recvInfo('tcp', '192.0.2.9:5080');

let clock: ManualClock;
let transport: FakeTransport;
let tu: RecordingTU;
let layer: TransactionLayer;

beforeEach(() => {
  clock = new ManualClock();
  transport = new FakeTransport();
  tu = new RecordingTU();
  layer = new TransactionLayer(transport, tu, { clock });
});

/** Times (ms) at which the layer sent something, while advancing `total` ms in 50 ms steps. */
function sendTimes(total: number): number[] {
  const times: number[] = [];
  for (let t = 0; t < total; t += 50) {
    clock.advance(50);
    for (const _ of transport.take()) times.push(clock.now());
  }
  return times;
}

describe('NonInviteClientTransaction', () => {
  test('Trying: timer E retransmits at T1 doubling up to T2 over UDP (RFC 3261 §17.1.2.2)', () => {
    const u = new ClientRec();
    const { result } = layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    assert.ok(result.ok);
    assert.equal(transport.take().length, 1);
    assert.deepEqual(sendTimes(16_000), [500, 1500, 3500, 7500, 11500, 15500]);
  });

  test('no retransmissions over a reliable transport', () => {
    const u = new ClientRec();
    layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { proto: 'tcp', address: '192.0.2.9', port: 5080 },
      u,
    );
    transport.take();
    assert.deepEqual(sendTimes(10_000), []);
  });

  test('Proceeding: a provisional keeps E at T2 and is passed up', () => {
    const u = new ClientRec();
    layer.sendRequest(
      outReq('MESSAGE'),
      'z9hG4bKout',
      'MESSAGE',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    transport.take();
    layer.onMessage(res(100, 'MESSAGE'), udp);
    assert.deepEqual(u.responses, [100]);
    // the pending E (T1) still fires, then E is reset to T2 on each firing
    assert.deepEqual(sendTimes(9_000), [500, 4500, 8500]);
  });

  test('final -> Completed: passed up once, retransmissions absorbed, timer K ends it (T4)', () => {
    const u = new ClientRec();
    const { tx } = layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    layer.onMessage(res(200, 'OPTIONS'), udp);
    layer.onMessage(res(200, 'OPTIONS'), udp);
    assert.deepEqual(u.responses, [200]);
    assert.equal(tx.state, TxState.Completed);
    assert.equal(layer.clientCount, 1);
    assert.deepEqual(layer.retiredCounts, { server: 0, client: 1 });
    clock.advance(4999);
    layer.onMessage(res(200, 'OPTIONS'), udp);
    assert.equal(tu.stray.length, 0, 'absorbed until timer K');
    clock.advance(1001);
    assert.equal(layer.clientCount, 0);
    layer.onMessage(res(200, 'OPTIONS'), udp);
    assert.equal(tu.stray.length, 1, 'after timer K a response is stray');
  });

  test('timer F: no final within fr_timer -> timeout failure', () => {
    const u = new ClientRec();
    layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    clock.advance(29_999);
    assert.deepEqual(u.failures, []);
    clock.advance(1);
    assert.deepEqual(u.failures, ['timeout']);
    assert.equal(layer.clientCount, 0);
  });

  test('a send that fails at once is returned and nothing is kept', () => {
    transport.failWith = { ok: false, code: 'SIP_ERR_FLOW_GONE', message: 'gone' };
    const u = new ClientRec();
    const { result } = layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { flowId: 'w0/c1' },
      u,
    );
    assert.equal(result.ok, false);
    assert.equal(layer.clientCount, 0);
    assert.deepEqual(u.failures, []);
  });

  test('a later transport error reaches the user as a failure', () => {
    const u = new ClientRec();
    layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { proto: 'tcp', address: '192.0.2.9', port: 5080 },
      u,
    );
    const s = transport.take()[0];
    s?.onError?.('SIP_ERR_TRANSPORT_SEND', 'connect refused');
    assert.deepEqual(u.failures, ['transport']);
    assert.equal(layer.clientCount, 0);
  });

  test('response matching uses branch and CSeq method (RFC 3261 §17.1.3)', () => {
    const u = new ClientRec();
    layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    layer.onMessage(res(200, 'INFO'), udp);
    layer.onMessage(res(200, 'OPTIONS', 'z9hG4bKother'), udp);
    assert.deepEqual(u.responses, []);
    assert.equal(tu.stray.length, 2);
  });
});

describe('InviteClientTransaction', () => {
  test('Calling: timer A doubles without a cap until timer B (RFC 3261 §17.1.1.2, decision Q-T1)', () => {
    const u = new ClientRec();
    layer.sendRequest(
      outReq('INVITE'),
      'z9hG4bKout',
      'INVITE',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    transport.take();
    assert.deepEqual(sendTimes(30_000), [500, 1500, 3500, 7500, 15500]);
    assert.deepEqual(u.failures, ['timeout']);
  });

  test('Proceeding: a provisional stops retransmissions and timer B', () => {
    const u = new ClientRec();
    const { tx } = layer.sendRequest(
      outReq('INVITE'),
      'z9hG4bKout',
      'INVITE',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    transport.take();
    layer.onMessage(res(180, 'INVITE'), udp);
    assert.equal(tx.state, TxState.Proceeding);
    assert.deepEqual(sendTimes(60_000), []);
    assert.deepEqual(u.failures, []);
    assert.deepEqual(u.responses, [180]);
  });

  test('non-2xx final: ACK generated with the response To-tag, Completed, retransmission re-ACKed (RFC 3261 §17.1.1.3)', () => {
    const u = new ClientRec();
    const { tx } = layer.sendRequest(
      outReq('INVITE'),
      'z9hG4bKout',
      'INVITE',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    transport.take();
    layer.onMessage(res(486, 'INVITE'), udp);
    const [ack] = transport.take();
    assert.ok(ack);
    const a = ack.msg as SipRequest;
    assert.equal(a.method, 'ACK');
    assert.equal(a.uri, 'sip:bob@192.0.2.9:5080');
    assert.equal(a.topVia?.params.get('branch'), 'z9hG4bKout');
    assert.equal(a.toTag, 't9');
    assert.equal(a.getHeader('CSeq'), '1 ACK');
    assert.equal(a.getHeader('Route'), '<sip:proxy.example.com;lr>');
    assert.equal(tx.state, TxState.Completed);
    layer.onMessage(res(486, 'INVITE'), udp);
    assert.equal(transport.take().length, 1, 'ACK resent');
    assert.deepEqual(u.responses, [486], 'retransmission not passed up');
    clock.advance(32_000);
    assert.equal(tx.state, TxState.Terminated);
  });

  test('timer D is zero over a reliable transport', () => {
    const u = new ClientRec();
    const { tx } = layer.sendRequest(
      outReq('INVITE'),
      'z9hG4bKout',
      'INVITE',
      { proto: 'tcp', address: '192.0.2.9', port: 5080 },
      u,
    );
    layer.onMessage(res(603, 'INVITE'), tcp);
    clock.advance(0);
    assert.equal(tx.state, TxState.Terminated);
  });

  test('2xx -> Accepted: further 2xx passed up, timer M ends it (RFC 6026 §7.2)', () => {
    const u = new ClientRec();
    const { tx } = layer.sendRequest(
      outReq('INVITE'),
      'z9hG4bKout',
      'INVITE',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    transport.take();
    layer.onMessage(res(200, 'INVITE'), udp);
    layer.onMessage(res(200, 'INVITE'), udp);
    layer.onMessage(res(200, 'INVITE', 'z9hG4bKout', 'other-fork'), udp);
    assert.deepEqual(u.responses, [200, 200, 200]);
    assert.equal(transport.take().length, 0, 'the TU ACKs a 2xx, not the transaction');
    assert.equal(tx.state, TxState.Accepted);
    clock.advance(32_000);
    assert.equal(tx.state, TxState.Terminated);
  });
});

describe('NonInviteServerTransaction', () => {
  test('Trying absorbs retransmissions; Proceeding and Completed resend the last response (RFC 3261 §17.2.2)', () => {
    const r = req('OPTIONS');
    const tx = layer.createServer(r, udp);
    assert.ok(tx);
    layer.onMessage(req('OPTIONS'), udp);
    assert.equal(transport.take().length, 0);
    assert.equal(tu.requests.length, 0);
    tx.reply(100);
    assert.deepEqual(transport.lines(), ['SIP/2.0 100 Trying']);
    layer.onMessage(req('OPTIONS'), udp);
    assert.deepEqual(transport.lines(), ['SIP/2.0 100 Trying']);
    tx.reply(200);
    assert.deepEqual(transport.lines(), ['SIP/2.0 200 OK']);
    layer.onMessage(req('OPTIONS'), udp);
    assert.deepEqual(transport.lines(), ['SIP/2.0 200 OK']);
    assert.equal(tx.state, TxState.Completed);
    // issue 12: the finished transaction is kept only as its final's bytes and a deadline
    assert.deepEqual(layer.retiredCounts, { server: 1, client: 0 });
    assert.equal(tx.context, undefined, 'what the user hung on it is let go');
    clock.advance(31_999);
    layer.onMessage(req('OPTIONS'), udp);
    assert.deepEqual(transport.lines(), ['SIP/2.0 200 OK'], 'still answered just before timer J');
    assert.equal(layer.serverCount, 1);
    clock.advance(1);
    layer.onMessage(req('OPTIONS'), udp);
    assert.deepEqual(transport.lines(), [], 'timer J = 64*T1 over UDP: no longer answered');
    assert.equal(tu.requests.length, 1, 'after timer J the request is new again');
    clock.advance(1000);
    assert.equal(layer.serverCount, 0, 'and swept from the table');
  });

  test('retired finals: each retransmission gets its own final at its own target (targets are shared per destination only)', () => {
    // two peers without rport (RFC 3261 §18.2.2: to the source address, the Via port) and two
    // requests of one peer with rport: four finals kept for timer J, answered each to its place
    const a = recvInfo('udp', '192.0.2.1:5070');
    const b = recvInfo('udp', '192.0.2.2:5070');
    const noRport = (branch: string, host: string) =>
      req('OPTIONS', { via: `SIP/2.0/UDP ${host}:5072;branch=${branch}` });
    const cases = [
      { r: noRport('z9hG4bKa1', '192.0.2.1'), info: a, status: 200 },
      { r: noRport('z9hG4bKb1', '192.0.2.2'), info: b, status: 404 },
      { r: req('OPTIONS', { branch: 'z9hG4bKr1' }), info: a, status: 486 },
      { r: req('OPTIONS', { branch: 'z9hG4bKr2' }), info: a, status: 603 },
    ];
    for (const c of cases) layer.createServer(c.r, c.info)?.reply(c.status);
    transport.take();
    assert.deepEqual(layer.retiredCounts, { server: 4, client: 0 });
    for (const c of [...cases].reverse()) {
      layer.onMessage(c.r, c.info);
      const [sent] = transport.take();
      assert.ok(sent);
      assert.equal((sent.msg as SipResponse).status, c.status);
      if (c.r.topVia?.params.has('rport')) assert.deepEqual(sent.target, { flowId: c.info.flowId });
      else
        assert.deepEqual(sent.target, {
          proto: Proto.UDP,
          address: c.info.remote.address,
          port: 5072,
          listenerId: c.info.listener.id,
        });
    }
  });

  test('timer J is zero over a reliable transport', () => {
    const tx = layer.createServer(
      req('OPTIONS', { via: 'SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKt' }),
      tcp,
    );
    tx?.reply(200);
    clock.advance(0);
    assert.equal(tx?.state, TxState.Terminated);
  });

  test('only one final response is sent', () => {
    const tx = layer.createServer(req('OPTIONS'), udp);
    tx?.reply(404);
    tx?.reply(200);
    assert.deepEqual(transport.lines(), ['SIP/2.0 404 Not Found']);
  });

  test('responses go to the source port when the Via has rport (RFC 3581)', () => {
    const tx = layer.createServer(req('OPTIONS'), udp);
    tx?.reply(200);
    const [s] = transport.take();
    assert.deepEqual(s?.target, { flowId: udp.flowId });
  });

  test('responses go to the sent-by port without rport (RFC 3261 §18.2.2)', () => {
    const tx = layer.createServer(
      req('OPTIONS', { via: 'SIP/2.0/UDP 192.0.2.1:5999;branch=z9hG4bKx' }),
      udp,
    );
    tx?.reply(200);
    const [s] = transport.take();
    assert.deepEqual(s?.target, { proto: 'udp', address: '192.0.2.9', port: 5999, listenerId: 0 });
  });
});

describe('InviteServerTransaction', () => {
  test('Proceeding resends the last provisional on an INVITE retransmission', () => {
    const tx = layer.createServer(req('INVITE'), udp);
    tx?.reply(100);
    transport.take();
    layer.onMessage(req('INVITE'), udp);
    assert.deepEqual(transport.lines(), ['SIP/2.0 100 Trying']);
    assert.equal(tu.requests.length, 0);
  });

  test('Completed: timer G retransmits the final doubling to T2 until the ACK; ACK -> Confirmed (RFC 3261 §17.2.1)', () => {
    const tx = layer.createServer(req('INVITE'), udp);
    tx?.reply(486);
    transport.take();
    assert.deepEqual(sendTimes(12_000), [500, 1500, 3500, 7500, 11500]);
    layer.onMessage(req('ACK', { cseqMethod: 'ACK', toTag: 'x' }), udp);
    assert.equal(tx?.state, TxState.Confirmed);
    assert.equal(tu.requests.length, 0, 'the ACK is absorbed');
    assert.deepEqual(sendTimes(4_000), []);
    clock.advance(5000);
    assert.equal(tx?.state, TxState.Terminated, 'timer I = T4');
  });

  test('timer H: no ACK within 64*T1 -> ack timeout', () => {
    let timedOut = false;
    const tx = layer.createServer(req('INVITE'), udp, { onAckTimeout: () => (timedOut = true) });
    tx?.reply(480);
    clock.advance(32_000);
    assert.equal(timedOut, true);
    assert.equal(tx?.state, TxState.Terminated);
  });

  test('401/407: no timer G (RFC 3261 §26.3.2.4: a forged source gets no amplified copies); an INVITE retransmission still gets it again', () => {
    for (const status of [401, 407]) {
      const tx = layer.createServer(req('INVITE', { branch: `z9hG4bK-${status}` }), udp);
      tx?.reply(status);
      transport.take();
      assert.deepEqual(sendTimes(12_000), [], `${status}: not retransmitted by timer G`);
      layer.onMessage(req('INVITE', { branch: `z9hG4bK-${status}` }), udp);
      assert.deepEqual(transport.lines(), [
        `SIP/2.0 ${status} ${status === 401 ? 'Unauthorized' : 'Proxy Authentication Required'}`,
      ]);
    }
  });

  test('no timer G over a reliable transport', () => {
    const tx = layer.createServer(
      req('INVITE', { via: 'SIP/2.0/TCP 192.0.2.1;branch=z9hG4bKt' }),
      tcp,
    );
    tx?.reply(486);
    transport.take();
    assert.deepEqual(sendTimes(10_000), []);
  });

  test('2xx -> Accepted: INVITE retransmissions absorbed, later 2xx still sent, timer L ends it (RFC 6026 §7.1)', () => {
    const inv = req('INVITE');
    const tx = layer.createServer(inv, udp);
    tx?.reply(200);
    transport.take();
    layer.onMessage(req('INVITE'), udp);
    assert.equal(transport.take().length, 0);
    // a relayed 2xx (retransmission or another fork) still passes; local replies no longer do
    tx?.respond(200, buildResponseBytes(inv, 200, { toTag: 'fork2' }));
    assert.equal(transport.take().length, 1);
    tx?.reply(200);
    assert.equal(transport.take().length, 0);
    assert.equal(tx?.request, undefined, 'the request is released after the final');
    assert.equal(tx?.state, TxState.Accepted);
    clock.advance(32_000);
    assert.equal(tx?.state, TxState.Terminated);
  });

  test('an ACK for a 2xx (new branch) goes to the TU', () => {
    const tx = layer.createServer(req('INVITE'), udp);
    tx?.reply(200);
    layer.onMessage(req('ACK', { branch: 'z9hG4bKack2', cseqMethod: 'ACK', toTag: 'x' }), udp);
    assert.equal(tu.requests.length, 1);
    assert.equal(tu.requests[0]?.method, 'ACK');
  });
});

describe('TransactionLayer matching (RFC 3261 §17.2.3)', () => {
  test('CANCEL is a new request; findInviteForCancel finds the INVITE', () => {
    const tx = layer.createServer(req('INVITE'), udp);
    const cancel = req('CANCEL');
    layer.onMessage(cancel, udp);
    assert.equal(tu.requests[0]?.method, 'CANCEL');
    assert.equal(layer.findInviteForCancel(cancel), tx);
  });

  test('same branch, different sent-by: a different transaction', () => {
    layer.createServer(req('OPTIONS'), udp);
    layer.onMessage(req('OPTIONS', { via: 'SIP/2.0/UDP 192.0.2.77:5070;branch=z9hG4bKabc' }), udp);
    assert.equal(tu.requests.length, 1);
  });

  test('RFC 2543 fallback: a branch without the magic cookie matches by Call-ID, CSeq, From tag, Via, R-URI', () => {
    const via = 'SIP/2.0/UDP 192.0.2.1:5070;branch=old2543';
    const tx = layer.createServer(req('INVITE', { via }), udp);
    tx?.reply(404);
    transport.take();
    layer.onMessage(req('INVITE', { via }), udp);
    assert.deepEqual(transport.lines(), ['SIP/2.0 404 Not Found'], 'retransmission matched');
    layer.onMessage(req('ACK', { via, cseqMethod: 'ACK', toTag: 'zz' }), udp);
    assert.equal(tx?.state, TxState.Confirmed, 'ACK matched without a cookie');
    const noBranch = 'SIP/2.0/UDP 192.0.2.1:5070';
    const tx2 = layer.createServer(req('OPTIONS', { via: noBranch }), udp);
    assert.ok(tx2);
    layer.onMessage(req('OPTIONS', { via: noBranch }), udp);
    assert.equal(tu.requests.length, 0);
  });

  test('a second createServer for the same request returns undefined', () => {
    assert.ok(layer.createServer(req('OPTIONS'), udp));
    assert.equal(layer.createServer(req('OPTIONS'), udp), undefined);
  });
});

describe('TransactionLayer bookkeeping and transport failures', () => {
  test('pendingCount counts transactions without a final response', () => {
    const tx = layer.createServer(req('OPTIONS'), udp);
    const u = new ClientRec();
    layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    assert.equal(layer.pendingCount, 2);
    tx?.reply(200);
    assert.equal(layer.pendingCount, 1);
    layer.onMessage(res(200, 'OPTIONS'), udp);
    assert.equal(layer.pendingCount, 0);
    assert.equal(layer.serverCount + layer.clientCount, 2, 'both still absorb retransmissions');
  });

  test('a retransmission that cannot be sent (flow gone) fails the client transaction', () => {
    const u = new ClientRec();
    layer.sendRequest(
      outReq('OPTIONS'),
      'z9hG4bKout',
      'OPTIONS',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      u,
    );
    transport.take();
    // the fake transport names the flow of an address target `proto:address:port`
    transport.closedFlows.add('udp:192.0.2.9:5080');
    clock.advance(500);
    assert.deepEqual(u.failures, ['flow-gone']);
    assert.equal(layer.clientCount, 0);
  });

  test('RFC 3261 §18.2.2: the TCP connection of the request is gone: the response opens a new one to the received address and sent-by port', () => {
    const tcpInfo = recvInfo('tcp', '192.0.2.9:40123');
    const tx = layer.createServer(
      req('OPTIONS', { via: 'SIP/2.0/TCP 192.0.2.9:5099;branch=z9hG4bKtcp' }),
      tcpInfo,
    );
    transport.closedFlows.add(tcpInfo.flowId);
    tx?.reply(200);
    const [s] = transport.take();
    assert.deepEqual(s?.target, { proto: 'tcp', address: '192.0.2.9', port: 5099 });
    assert.equal(tx?.kind, 'nist');
    assert.equal(tx?.reliable, true);
  });

  test('clear() terminates every transaction', () => {
    layer.createServer(req('INVITE'), udp);
    layer.sendRequest(
      outReq('INVITE'),
      'z9hG4bKout',
      'INVITE',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      new ClientRec(),
    );
    layer.clear();
    assert.equal(layer.serverCount + layer.clientCount, 0);
  });
});

// Issue 12 §1: a finished transaction keeps only what absorbing retransmissions needs. Everything
// the request hung on it (its user, whose closures reach the whole proxy transaction; its context;
// the parsed request) must become garbage at the final, while the transaction itself is still
// held for timer J/K: otherwise 32 s of REGISTERs are promoted to the old generation (the soak's
// memory). The collector decides what is reachable, so these tests ask it (WeakRef + a real GC).
describe('what a finished transaction lets go of (issue 12 §1)', () => {
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

  test('server, Completed over UDP (timer J, 32 s): the request, its user and its context are garbage; retransmissions are still answered', async () => {
    let r: SipRequest | undefined = req('REGISTER');
    let user: ServerTransactionUser | undefined = { onTerminated() {} };
    let context: object | undefined = { relay: new Array(1000).fill(0) };
    const refs = { req: new WeakRef(r), user: new WeakRef(user), context: new WeakRef(context) };
    const tx = layer.createServer(r, udp, user);
    assert.ok(tx);
    tx.context = context;
    tx.reply(200);
    r = undefined;
    user = undefined;
    context = undefined;
    transport.take();
    assert.equal(tx.state, TxState.Completed);
    assert.ok(await collected(refs.req), 'the parsed request');
    assert.ok(await collected(refs.user), 'the user');
    assert.ok(await collected(refs.context), 'the context');
    // what timer J needs is still there
    layer.onMessage(req('REGISTER'), udp);
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
    const { tx } = layer.sendRequest(
      outReq('OPTIONS', 'z9hG4bKcli'),
      'z9hG4bKcli',
      'OPTIONS',
      { proto: 'udp', address: '192.0.2.9', port: 5080 },
      user,
    );
    user = undefined;
    transport.take();
    layer.onMessage(res(200, 'OPTIONS', 'z9hG4bKcli'), udp);
    assert.deepEqual(responses, [200]);
    assert.equal(tx.state, TxState.Completed);
    assert.ok(await collected(ref), 'the user (its closures reach the whole relay)');
    layer.onMessage(res(200, 'OPTIONS', 'z9hG4bKcli'), udp);
    assert.deepEqual(responses, [200], 'RFC 3261 §17.1.2.2: Completed absorbs it');
    assert.deepEqual(layer.retiredCounts, { server: 0, client: 1 });
    clock.advance(6000);
    assert.deepEqual(layer.retiredCounts, { server: 0, client: 0 }, 'timer K (T4 = 5 s) ended it');
  });
});

describe('finished transactions the index has no room for (retired.ts MAX_PROBE)', () => {
  test('are counted, logged once a minute at most, and their retransmissions reach the user as new requests', () => {
    const seed = 0x5eed;
    const log = new CapturingLogger();
    const l = new TransactionLayer(transport, tu, { clock, logger: log, retiredSeed: seed });
    // branches whose server keys (branch | sent-by | method) share one place of the 2 048-place
    // index: what someone who knew the seed could send
    const from = recvInfo('udp', '192.0.2.1:5070');
    const branches: string[] = [];
    for (let i = 0; branches.length < 141; i++) {
      const b = `z9hG4bK-c${i}`;
      if ((hashKey(`${b}|192.0.2.1:5070|OPTIONS`, seed) & 2047) === 0) branches.push(b);
    }
    const finish = (b: string): void => {
      const tx = l.createServer(req('OPTIONS', { branch: b }), from);
      assert.ok(tx);
      tx.reply(200);
    };
    for (const b of branches.slice(0, 140)) finish(b);
    transport.take();
    assert.equal(
      l.retiredUnindexed,
      140 - 129,
      'the place itself and the 128 after it are indexed',
    );
    assert.deepEqual(l.retiredCounts, { server: 140, client: 0 });

    // an indexed one is answered from its kept final; an unindexed one is a new request
    l.onMessage(req('OPTIONS', { branch: branches[0] as string }), from);
    assert.deepEqual(transport.lines(), ['SIP/2.0 200 OK']);
    assert.equal(tu.requests.length, 0);
    l.onMessage(req('OPTIONS', { branch: branches[139] as string }), from);
    assert.deepEqual(transport.lines(), []);
    assert.equal(tu.requests.length, 1);

    const warned = () => log.matching(/not indexed/);
    clock.advance(1000); // the sweep
    assert.equal(warned().length, 1);
    assert.equal(warned()[0]?.level, 'warn');
    assert.deepEqual(warned()[0]?.obj, { unindexed: 11, since_last: 11 });
    finish(branches[140] as string);
    clock.advance(30_000);
    assert.equal(l.retiredUnindexed, 12);
    assert.equal(warned().length, 1, 'not again within the minute');
    clock.advance(30_000);
    // the tables are empty by now (timer J, 32 s): the line still comes
    assert.equal(l.serverCount, 0, 'timer J ended them all');
    assert.equal(warned().length, 2, 'a minute after the first line, one more');
    assert.deepEqual(warned()[1]?.obj, { unindexed: 12, since_last: 1 });
    clock.advance(120_000);
    assert.equal(warned().length, 2, 'nothing new, nothing logged');
    assert.equal(clock.pending, 0, 'and no sweep left running');
  });
});
