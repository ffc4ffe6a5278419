// Issue 10 §5: every abuse limit of the proxy core and of pike, hit on purpose: the answer the
// client gets, the counter behind flowgate_limit_refusals_total, and exactly one log line however
// often the limit is hit.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipResponse } from '../../../src/message/message.js';
import { defineScript } from '../../../src/script/api.js';
import { edgeProxyScript } from '../../../src/script/edge-proxy.js';
import { firstLine, harness, listener, type Sent } from '../../support/harness.js';
import { CapturingLogger } from '../../support/logger.js';

const UAC = '192.0.2.10:5070';
const UAS = '192.0.2.50:5080';
const R = '127.0.0.2:5060';

const relayScript = defineScript({
  request_route(ctx) {
    if (ctx.$rU === 'fork')
      for (let i = 0; i < 20; i++) ctx.append_branch(`sip:b${i}@192.0.2.${60 + i}:5080`);
    ctx.$du = `sip:${UAS}`;
    if (!ctx.t_relay()) ctx.sl_reply_error();
  },
});

let n = 0;
function req(method = 'OPTIONS', user = 'bob', from = UAC): string {
  n++;
  return `${method} sip:${user}@example.com SIP/2.0
Via: SIP/2.0/UDP ${from};branch=z9hG4bK-l${n};rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a${n}
To: <sip:${user}@example.com>
Call-ID: lim-${n}@uac
CSeq: 1 ${method}
Contact: <sip:alice@${from}>
Content-Length: 0

`;
}

const finals = (s: Sent[]) =>
  s.filter((x) => !x.msg.isRequest && (x.msg as SipResponse).status >= 200).map(firstLine);

describe('proxy limits', () => {
  test('max_server_transactions: a new request beyond the table gets 503 + Retry-After; counted; one log line', () => {
    const logger = new CapturingLogger();
    const h = harness({ script: relayScript, limits: { maxServerTransactions: 2 }, logger });
    h.inject(req(), UAC);
    h.inject(req(), UAC);
    h.take();
    for (let i = 0; i < 3; i++) h.inject(req(), UAC);
    const out = h.take();
    assert.deepEqual(finals(out), Array(3).fill('SIP/2.0 503 Service Unavailable'));
    assert.ok(out.every((s) => s.msg.isRequest || s.msg.getHeader('Retry-After') === '5'));
    assert.equal(h.server.core.stats.limits['server_transactions'], 3);
    assert.equal(logger.matching(/server transaction table full/).length, 1);
  });

  test('max_client_transactions: a branch beyond the table fails at once: the caller gets 503 (our own overload); one log line', () => {
    const logger = new CapturingLogger();
    const h = harness({ script: relayScript, limits: { maxClientTransactions: 1 }, logger });
    h.inject(req(), UAC);
    assert.equal(h.take().filter((s) => s.msg.isRequest).length, 1);
    h.inject(req(), UAC);
    h.inject(req(), UAC);
    assert.deepEqual(finals(h.take()), Array(2).fill('SIP/2.0 503 Service Unavailable'));
    assert.equal(h.server.core.stats.limits['client_transactions'], 2);
    assert.equal(logger.matching(/client transaction table full/).length, 1);
  });

  test('max_branches: 12 branches at most (Kamailio MAX_BRANCHES): append_branch fails beyond; one log line', () => {
    const logger = new CapturingLogger();
    const h = harness({ script: relayScript, logger });
    h.inject(req('INVITE', 'fork'), UAC);
    const sent = h.take().filter((s) => s.msg.isRequest);
    assert.equal(sent.length, 12);
    assert.ok((h.server.core.stats.limits['branches'] ?? 0) >= 1);
    assert.equal(logger.matching(/destination set is full|more than 12 branches/).length, 1);
  });
});

describe('pike: per-source request rate', () => {
  const pike = {
    sampling_time_unit: 2,
    reqs_density_per_unit: 5,
    ban_time: 10,
    auth_failures: 3,
    auth_failure_window: 60,
  };
  const answerScript = defineScript({
    request_route(ctx) {
      ctx.sl_send_reply(200, 'OK');
    },
  });

  test('more than reqs_density_per_unit requests in sampling_time_unit: banned for ban_time (dropped), one log line per ban, other sources served', () => {
    const logger = new CapturingLogger();
    const h = harness({
      script: answerScript,
      pike,
      logger,
      permissions: { trusted: ['198.51.100.1'] },
    });
    for (let i = 0; i < 12; i++) h.inject(req(), UAC);
    assert.equal(finals(h.take()).length, 5);
    assert.equal(h.server.core.stats.limits['pike'], 1);
    assert.equal(h.server.core.stats.limits['banned_dropped'], 7);
    assert.equal(logger.matching(/banned for 10 s: more than 5 requests in 2 s/).length, 1);
    assert.deepEqual(h.server.pike?.activeBans(), { rate: 1, auth: 0 });
    // another source, and a trusted peer sending fast, are not affected
    h.inject(req('OPTIONS', 'bob', '192.0.2.11:5060'), '192.0.2.11:5060');
    for (let i = 0; i < 12; i++)
      h.inject(req('OPTIONS', 'bob', '198.51.100.1:5060'), '198.51.100.1:5060');
    assert.equal(finals(h.take()).length, 13);
    h.clock.advance(10_001);
    h.inject(req(), UAC);
    assert.equal(finals(h.take()).length, 1, 'served again after ban_time');
  });

  test('an exempt peer that shares its IP with a banned client (a registrar on the clients host) is still served; the client is not', () => {
    // the trusted peer is 192.0.2.10:5070 exactly; a client on 192.0.2.10:5099 gets the IP banned
    const client = '192.0.2.10:5099';
    const h = harness({ script: answerScript, pike, permissions: { trusted: [UAC] } });
    for (let i = 0; i < 12; i++) h.inject(req('OPTIONS', 'bob', client), client);
    assert.equal(finals(h.take()).length, 5);
    assert.deepEqual(h.server.pike?.activeBans(), { rate: 1, auth: 0 });
    for (let i = 0; i < 3; i++) h.inject(req('OPTIONS', 'bob', UAC), UAC);
    assert.equal(finals(h.take()).length, 3, 'the trusted peer passes the ban of its IP');
    h.inject(req('OPTIONS', 'bob', client), client);
    assert.deepEqual(h.take(), [], 'the client that got the IP banned is still ignored');
  });

  test('the edge counts 401s to credentialed requests as failed passwords per client: banned after auth_failures; stale=true does not count', () => {
    const logger = new CapturingLogger();
    const h = harness({
      listeners: [listener(0, 'udp', '127.0.0.1', 5060)],
      script: edgeProxyScript({ registrar: `sip:${R}`, flowTimer: 20 }),
      outbound: { force_outbound_flag: -1, force_no_outbound_flag: -1 },
      pike: { ...pike, reqs_density_per_unit: 1000 },
      permissions: { registrars: [R] },
      logger,
    });
    const register = (stale: boolean): void => {
      n++;
      h.inject(
        `REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP ${UAC};branch=z9hG4bK-r${n};rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=r${n}
To: <sip:alice@example.com>
Call-ID: reg-${n}@uac
CSeq: 1 REGISTER
Contact: <sip:alice@${UAC}>
Authorization: Digest username="alice", realm="example.com", nonce="x", uri="sip:example.com", response="00"
Content-Length: 0

`,
        UAC,
      );
      const fwd = h.take().find((s) => s.msg.isRequest);
      if (fwd === undefined) return;
      const vias = fwd.msg
        .getHeaders('Via')
        .map((v) => `Via: ${v}`)
        .join('\n');
      h.inject(
        `SIP/2.0 401 Unauthorized
${vias}
From: ${fwd.msg.getHeader('From')}
To: ${fwd.msg.getHeader('To')};tag=reg
Call-ID: ${fwd.msg.callId}
CSeq: 1 REGISTER
WWW-Authenticate: Digest realm="example.com", nonce="y", qop="auth", algorithm=MD5${stale ? ', stale=true' : ''}
Content-Length: 0

`,
        R,
      );
      h.take();
    };
    for (let i = 0; i < 5; i++) register(true);
    assert.equal(
      h.server.core.stats.limits['auth_source'],
      undefined,
      'stale challenges are not failures',
    );
    for (let i = 0; i < 4; i++) register(false);
    assert.equal(h.server.core.stats.limits['auth_source'], 1);
    assert.equal(logger.matching(/banned for 10 s: more than 3 failed authentications/).length, 1);
    h.inject(req(), UAC);
    assert.deepEqual(h.take(), [], 'the banned client is ignored');
  });
});
