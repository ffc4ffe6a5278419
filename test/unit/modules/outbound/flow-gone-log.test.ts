import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeFlowToken } from '../../../../src/modules/outbound/flow-token.js';
import { edgeProxyScript } from '../../../../src/script/edge-proxy.js';
import { firstLine, type Harness, harness, listener } from '../../../support/harness.js';
import { CapturingLogger } from '../../../support/logger.js';

// E = the edge, R = its registrar, a phone at 192.0.2.7 on TCP.
const E = '127.0.0.1';
const R = '127.0.0.2:5060';
const SECRET = 'johndoessecretphrase';
const GONE = /^outbound: the flow of a flow token is gone/;

function edge(logger: CapturingLogger): Harness {
  return harness({
    listeners: [listener(0, 'udp', E, 5060), listener(1, 'tcp', E, 5060)],
    script: edgeProxyScript({ registrar: `sip:${R}`, flowTimer: 20 }),
    outbound: { force_outbound_flag: -1, force_no_outbound_flag: -1, flow_token_secret: SECRET },
    forceRport: true,
    logger,
  });
}

/** An INVITE from the registrar routed by the phone's flow token (its Path). */
function invite(h: Harness, remotePort: number, n: number): string {
  const key = h.server.outbound?.key as Buffer;
  const token = encodeFlowToken(key, {
    proto: 'tcp',
    local: { address: E, port: 5060 },
    remote: { address: '192.0.2.7', port: remotePort },
  });
  return `INVITE sip:alice@192.0.2.7:${remotePort};transport=tcp SIP/2.0
Via: SIP/2.0/UDP ${R};branch=z9hG4bK-rx${n}
Via: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-caller${n}
Route: <sip:${token}@${E};lr;ob>
Max-Forwards: 70
From: <sip:bob@example.com>;tag=b${n}
To: <sip:alice@example.com>
Call-ID: gone-${n}@caller
CSeq: 1 INVITE
Contact: <sip:bob@192.0.2.99:5060>
Content-Length: 0

`;
}

describe('outbound: a log line when a flow is gone', () => {
  test('a request for a closed TCP flow: 430, and one info line naming the flow and why it closed', () => {
    const logger = new CapturingLogger();
    const h = edge(logger);
    const f = h.transport.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
    h.closeFlow(f.id, 'keepalive-timeout');
    h.inject(invite(h, 40001, 1), R);
    assert.deepEqual(
      h
        .take()
        .filter((s) => !s.msg.isRequest)
        .map(firstLine),
      ['SIP/2.0 100 Trying', 'SIP/2.0 430 Flow Failed'],
    );
    const lines = logger.matching(GONE);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.level, 'info');
    assert.equal(lines[0]?.obj['flow'], 'tcp:192.0.2.7:40001');
    assert.equal(lines[0]?.obj['closed'], 'keepalive-timeout');
    assert.equal(lines[0]?.obj['callId'], 'gone-1@caller');
    assert.match(lines[0]?.msg ?? '', /closed: keepalive-timeout.*430 Flow Failed/);
  });

  test('requests storming a dead flow log once a minute per flow, another flow gets its own line', () => {
    const logger = new CapturingLogger();
    const h = edge(logger);
    for (let i = 0; i < 50; i++) h.inject(invite(h, 40002, 100 + i), R);
    h.inject(invite(h, 40003, 200), R);
    h.take();
    const lines = logger.matching(GONE);
    assert.deepEqual(
      lines.map((l) => [l.obj['flow'], l.obj['closed']]),
      [
        ['tcp:192.0.2.7:40002', 'unknown'],
        ['tcp:192.0.2.7:40003', 'unknown'],
      ],
    );
  });

  test('a live flow logs nothing', () => {
    const logger = new CapturingLogger();
    const h = edge(logger);
    h.transport.connect('tcp', { address: '192.0.2.7', port: 40004 }, 1);
    h.inject(invite(h, 40004, 300), R);
    assert.ok(h.take().some((s) => s.msg.isRequest && firstLine(s).startsWith('INVITE')));
    assert.equal(logger.matching(GONE).length, 0);
  });
});
