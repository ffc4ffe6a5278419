import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipRequest, SipResponse } from '../../../src/message/message.js';
import { defineScript } from '../../../src/script/api.js';
import { firstLine, harness, type Sent } from '../../support/harness.js';
import { proxyPreamble } from '../../support/proxy-script.js';

const UAC = '192.0.2.10:5070';
const UAS1 = '192.0.2.50:5080';
const UAS2 = '192.0.2.51:5080';

/** A small stateful proxy script in the seed's style. */
const proxyScript = defineScript({
  request_route(ctx) {
    proxyPreamble(ctx);
    if (ctx.$rU === 'fork') {
      ctx.append_branch(`sip:b@${UAS2}`);
      ctx.$ru = `sip:a@${UAS1}`;
    } else if (ctx.$rU === 'nowhere') ctx.$du = 'sip:unresolvable.invalid';
    else if (ctx.$rU === 'crash') throw new Error('boom');
    else ctx.$du = `sip:${UAS1}`;
    ctx.t_on_failure('NEXT');
    if (!ctx.t_relay()) ctx.sl_reply_error();
  },
  failure_route: {
    NEXT(ctx) {
      if (ctx.t_check_status('408') && ctx.t_branch_timeout() && !ctx.t_branch_replied()) {
        ctx.$du = `sip:${UAS2}`;
        ctx.t_relay();
      }
    },
  },
});

function invite(user = 'bob', branch = 'z9hG4bK-inv1'): string {
  return `INVITE sip:${user}@example.com SIP/2.0
Via: SIP/2.0/UDP ${UAC};branch=${branch};rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:${user}@example.com>
Call-ID: call-1@uac
CSeq: 1 INVITE
Contact: <sip:alice@${UAC}>
Content-Type: application/sdp
Content-Length: 4

v=0
`;
}

function reply(to: Sent, status: number, reason: string, toTag = 'uas1', extra = ''): string {
  const m = to.msg;
  const vias = m
    .getHeaders('Via')
    .map((v) => `Via: ${v}`)
    .join('\n');
  const tag = status > 100 ? `;tag=${toTag}` : '';
  const rr = m
    .getHeaders('Record-Route')
    .map((v) => `Record-Route: ${v}`)
    .join('\n');
  return `SIP/2.0 ${status} ${reason}
${vias}
From: ${m.getHeader('From')}
To: ${m.getHeader('To')}${tag}
Call-ID: ${m.callId}
CSeq: ${m.getHeader('CSeq')}
${rr ? `${rr}\n` : ''}${extra}Content-Length: 0

`;
}

const reqs = (s: Sent[]) => s.filter((x) => x.msg.isRequest);
const resps = (s: Sent[]) => s.filter((x) => !x.msg.isRequest);

describe('ProxyCore (RFC 3261 §16) with a stateful script', () => {
  test('INVITE: 100 Trying upstream; forwarded with Record-Route, our Via on top, Max-Forwards decremented', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite(), UAC);
    const out = h.take();
    assert.deepEqual(resps(out).map(firstLine), ['SIP/2.0 100 Trying']);
    // RFC 3581 §4: local replies carry received and rport too
    assert.equal(
      resps(out)[0]?.msg.getHeader('Via'),
      `SIP/2.0/UDP ${UAC};branch=z9hG4bK-inv1;rport=5070;received=192.0.2.10`,
    );
    const [fwd] = reqs(out);
    assert.ok(fwd);
    assert.equal(fwd.to, `w0/u0/${UAS1}`);
    const m = fwd.msg as SipRequest;
    assert.equal(m.uri, 'sip:bob@example.com', 'R-URI untouched when only $du is set');
    assert.equal(m.getHeader('Record-Route'), '<sip:127.0.0.1;lr>');
    const vias = m.getHeaders('Via');
    assert.match(vias[0] ?? '', /^SIP\/2\.0\/UDP 127\.0\.0\.1;branch=z9hG4bK/);
    assert.equal(vias[1], `SIP/2.0/UDP ${UAC};branch=z9hG4bK-inv1;rport=5070;received=192.0.2.10`);
    // mf_process_maxfwd_header(10) adds 10 only when missing; 70 is decremented
    assert.equal(m.getHeader('Max-Forwards'), '69');
    assert.equal(m.body.toString(), 'v=0\r\n'.slice(0, 4));
  });

  test('provisional and 2xx are relayed without our Via; the 2xx ACK is routed end to end', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite(), UAC);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, 180, 'Ringing'), UAS1);
    h.inject(reply(fwd, 200, 'OK'), UAS1);
    const up = h.take();
    assert.deepEqual(up.map(firstLine), ['SIP/2.0 180 Ringing', 'SIP/2.0 200 OK']);
    for (const u of up) {
      assert.equal(u.to, `w0/u0/${UAC}`);
      assert.equal(u.msg.getHeaders('Via').length, 1);
      assert.match(u.msg.getHeader('Via') ?? '', /branch=z9hG4bK-inv1/);
    }
    // end-to-end ACK with the route set: to our RR then the UAS contact
    h.inject(
      `ACK sip:bob@${UAS1} SIP/2.0
Via: SIP/2.0/UDP ${UAC};branch=z9hG4bK-ack1;rport
Route: <sip:127.0.0.1;lr>
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>;tag=uas1
Call-ID: call-1@uac
CSeq: 1 ACK
Content-Length: 0

`,
      UAC,
    );
    const [ack] = h.take();
    assert.ok(ack);
    assert.equal(firstLine(ack), `ACK sip:bob@${UAS1} SIP/2.0`);
    assert.equal(ack.to, `w0/u0/${UAS1}`);
    assert.equal(ack.msg.getHeader('Route'), undefined, 'our Route value consumed');
  });

  test('a 486 is ACKed hop by hop and relayed as the best response', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite(), UAC);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, 486, 'Busy Here'), UAS1);
    const out = h.take();
    const ack = reqs(out)[0];
    assert.ok(ack);
    assert.equal((ack.msg as SipRequest).method, 'ACK');
    assert.equal(ack.msg.topVia?.params.get('branch'), fwd.msg.topVia?.params.get('branch'));
    assert.deepEqual(resps(out).map(firstLine), ['SIP/2.0 486 Busy Here']);
  });

  test('CANCEL: 200 to the CANCEL, CANCEL downstream after the provisional, 487 relayed (RFC 3261 §16.10)', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite(), UAC);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, 180, 'Ringing'), UAS1);
    h.take();
    h.inject(
      `CANCEL sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP ${UAC};branch=z9hG4bK-inv1;rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-1@uac
CSeq: 1 CANCEL
Content-Length: 0

`,
      UAC,
    );
    const out = h.take();
    assert.deepEqual(resps(out).map(firstLine), ['SIP/2.0 200 OK']);
    const cancel = reqs(out)[0];
    assert.ok(cancel);
    assert.equal((cancel.msg as SipRequest).method, 'CANCEL');
    assert.equal(cancel.msg.topVia?.params.get('branch'), fwd.msg.topVia?.params.get('branch'));
    h.inject(reply(fwd, 487, 'Request Terminated'), UAS1);
    assert.deepEqual(resps(h.take()).map(firstLine), ['SIP/2.0 487 Request Terminated']);
  });

  test('a CANCEL without a matching INVITE is dropped by the script (t_check_trans false)', () => {
    const h = harness({ script: proxyScript });
    h.inject(
      `CANCEL sip:bob@example.com SIP/2.0
Via: SIP/2.0/UDP ${UAC};branch=z9hG4bK-none;rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>
Call-ID: call-x@uac
CSeq: 1 CANCEL
Content-Length: 0

`,
      UAC,
    );
    assert.deepEqual(h.take(), []);
  });

  test('no answer: fr_timer fires, failure route forks serially to the second UAS', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite(), UAC);
    h.take();
    h.clock.advance(29_000);
    const retrans = reqs(h.take());
    assert.ok(
      retrans.length >= 5 && retrans.every((r) => r.to === `w0/u0/${UAS1}`),
      'INVITE retransmitted over UDP',
    );
    h.clock.advance(1_000);
    const out = h.take();
    const next = reqs(out).find((r) => r.to === `w0/u0/${UAS2}`);
    assert.ok(next, 'relayed to UAS2 from the failure route');
    assert.deepEqual(resps(out), [], 'no reply upstream yet');
    h.inject(reply(next, 200, 'OK', 'uas2'), UAS2);
    assert.deepEqual(resps(h.take()).map(firstLine), ['SIP/2.0 200 OK']);
  });

  test('timer C (fr_inv_timer): a ringing branch is CANCELled and 408 goes upstream', () => {
    const h = harness({ script: proxyScript, tm: { frInvTimer: 60_000 } });
    h.inject(invite(), UAC);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, 180, 'Ringing'), UAS1);
    h.take();
    h.clock.advance(60_000);
    const out = h.take();
    assert.equal(reqs(out).filter((r) => (r.msg as SipRequest).method === 'CANCEL').length, 1);
    assert.deepEqual(
      resps(out).map(firstLine),
      ['SIP/2.0 408 Request Timeout'],
      'replied branch: the failure route does not fork',
    );
  });

  test('parallel fork: best response prefers 3xx over 4xx, and a 6xx over everything', () => {
    for (const [a, b, want] of [
      [486, 302, 302],
      [404, 603, 603],
      [480, 404, 480],
    ] as const) {
      const h = harness({ script: proxyScript });
      h.inject(invite('fork'), UAC);
      const fwds = reqs(h.take());
      assert.equal(fwds.length, 2);
      const [f1, f2] = fwds as [Sent, Sent];
      assert.equal(f1.to, `w0/u0/${UAS1}`);
      assert.equal(f2.to, `w0/u0/${UAS2}`);
      h.inject(reply(f1, a, 'X'), UAS1);
      h.inject(reply(f2, b, 'Y', 'uas2'), UAS2);
      const finals = resps(h.take()).filter((r) => (r.msg as SipResponse).status >= 200);
      assert.deepEqual(
        finals.map((r) => (r.msg as SipResponse).status),
        [want],
        `${a} + ${b}`,
      );
    }
  });

  test('a 2xx on one fork cancels the other ringing branch (RFC 3261 §16.7 step 10)', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite('fork'), UAC);
    const [f1, f2] = reqs(h.take()) as [Sent, Sent];
    h.inject(reply(f2, 180, 'Ringing', 'uas2'), UAS2);
    h.inject(reply(f1, 200, 'OK'), UAS1);
    const out = h.take();
    assert.ok(
      reqs(out).some((r) => (r.msg as SipRequest).method === 'CANCEL' && r.to === `w0/u0/${UAS2}`),
    );
    assert.deepEqual(resps(out).map(firstLine), ['SIP/2.0 180 Ringing', 'SIP/2.0 200 OK']);
  });

  test('an unresolvable destination gets exactly one final reply (478)', async () => {
    const h = harness({
      script: proxyScript,
      resolver: new (await import('../../../src/proxy/resolver.js')).Resolver({
        resolveNaptr: async () => [],
        resolveSrv: async () => [],
        resolve4: async () => [],
        resolve6: async () => [],
      }),
    });
    h.inject(invite('nowhere'), UAC);
    await h.settle();
    const finals = resps(h.take()).filter((r) => (r.msg as SipResponse).status >= 200);
    assert.deepEqual(finals.map(firstLine), ['SIP/2.0 478 Unresolvable Destination']);
  });

  test('a script error is answered 500 only when a transaction exists; the element keeps serving', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite('crash'), UAC);
    assert.deepEqual(h.take(), [], 'no transaction yet: nothing sent');
    h.inject(invite('bob', 'z9hG4bK-inv2'), UAC);
    assert.equal(reqs(h.take()).length, 1);
    assert.ok(h.server.core.stats.scriptErrors >= 1);
  });

  test('a final response with only our Via is not forwarded as is: the client gets a local reply with its status (RFC 3261 §16.7 step 3)', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite(), UAC);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    const bad = reply(fwd, 487, 'Request Terminated').replace(
      /\nVia: SIP\/2\.0\/UDP 192\.0\.2\.10[^\n]*/,
      '',
    );
    h.inject(bad, UAS1);
    const up = resps(h.take());
    assert.deepEqual(up.map(firstLine), ['SIP/2.0 487 Request Terminated']);
    assert.match(up[0]?.msg.getHeader('Via') ?? '', /branch=z9hG4bK-inv1/);
  });

  test('a script error is logged with its route and the script line that threw', () => {
    const logged: { obj: Record<string, unknown>; msg: string | undefined }[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn() {},
      error: (obj: unknown, msg?: string) =>
        void logged.push({ obj: obj as Record<string, unknown>, msg }),
      fatal() {},
      child() {
        return logger;
      },
    };
    const h = harness({
      logger,
      script: defineScript({
        request_route(ctx) {
          ctx.t_newtran();
          ctx.route('BROKEN');
        },
        route: {
          BROKEN() {
            throw new TypeError('no such thing'); // THIS LINE
          },
        },
      }),
    });
    h.inject(invite(), UAC);
    const [e] = logged;
    assert.equal(e?.obj['route'], 'route[BROKEN]');
    assert.match(String(e?.obj['at']), /proxy\.test\.ts:\d+:\d+$/);
    assert.match(e?.msg ?? '', /^script error in route\[BROKEN\] at .*proxy\.test\.ts/);
    assert.deepEqual(
      h.take().map(firstLine),
      ['SIP/2.0 100 Trying', 'SIP/2.0 500 Server Internal Error'],
      'the transaction is answered',
    );
  });

  test('Max-Forwards 0 -> 483 (RFC 3261 §16.3 step 3)', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite().replace('Max-Forwards: 70', 'Max-Forwards: 0'), UAC);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 483 Too Many Hops']);
  });

  test('a request retransmission is absorbed by the transaction (resends 100)', () => {
    const h = harness({ script: proxyScript });
    h.inject(invite(), UAC);
    h.take();
    h.inject(invite(), UAC);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 100 Trying']);
  });

  const stray = `SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKstray
Via: SIP/2.0/UDP ${UAC};branch=z9hG4bK-x;rport=5070;received=192.0.2.10
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>;tag=b
Call-ID: stray@x
CSeq: 1 INVITE
Content-Length: 0

`;

  test('a reply matching no transaction is dropped and counted (RFC 6026: never relayed by its Via; issue 10)', () => {
    const h = harness({ script: proxyScript });
    h.inject(stray, UAS1);
    assert.deepEqual(h.take(), []);
    assert.equal(h.server.core.stats.strayResponses, 1);
  });

  test('forwardStrayResponses (the seed edge): relayed statelessly by its Via when the script has no onreply_route', () => {
    const h = harness({ script: proxyScript, forwardStrayResponses: true });
    h.inject(stray, UAS1);
    const [s] = h.take();
    assert.ok(s);
    assert.equal(s.to, `w0/u0/${UAC}`);
    assert.equal(s.msg.getHeaders('Via').length, 1);
  });
});
