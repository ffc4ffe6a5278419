import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  decodeFlowToken,
  encodeFlowToken,
  flowTokenKey,
} from '../../../../src/modules/outbound/flow-token.js';
import { CheckFlowTokenRc, type OutboundParams } from '../../../../src/modules/outbound/index.js';
import { defineScript } from '../../../../src/script/api.js';
import { firstLine, harness, listener } from '../../../support/harness.js';

const E = '127.0.0.1';
const R = '127.0.0.2:5060';
const UA = '192.0.2.7:40001';
const OB = { force_outbound_flag: -1, force_no_outbound_flag: -1, flow_token_secret: 's' };

/** The outbound manual's Example 1.3, as written; `$var(seen)` records the code for the test. */
const example13 = defineScript({
  request_route(ctx) {
    ctx.check_flow_token();
    ctx.$var['seen'] = ctx.$rc;
    switch (ctx.$rc) {
      case -8:
        ctx.xlog('cannot parse headers\n');
        ctx.sl_send_reply('403', 'Forbidden');
        break;
      case -7:
        ctx.xlog('cannot parse Route header\n');
        ctx.sl_send_reply('403', 'Forbidden');
        break;
      case -6:
        ctx.xlog('expired flow token\n');
        ctx.sl_send_reply('430', 'Flow Failed');
        break;
      case -5:
        ctx.xlog('no TCP conection\n');
        ctx.sl_send_reply('430', 'Flow Failed');
        break;
      case -4:
        ctx.xlog('cannot decode flowtoken\n');
        ctx.sl_send_reply('403', 'Forbidden');
        break;
      case -3:
        ctx.xlog('no flow token\n');
        ctx.loose_route();
        break;
      case -2:
        ctx.xlog('Route is not my self\n');
        ctx.sl_send_reply('403', 'Forbidden');
        break;
      case -1:
        ctx.xlog('no Route header\n');
        break;
      case 1:
        ctx.xlog('correct flow token\n');
        ctx.loose_route();
        break;
      default:
        ctx.xlog('not supported return code: $rc\n');
        ctx.sl_send_reply('403', 'Forbidden');
        break;
    }
    if (ctx.$var['seen'] === 1 || ctx.$var['seen'] === -3) ctx.t_relay();
  },
});

function setup(ob: OutboundParams = OB) {
  const h = harness({
    listeners: [listener(0, 'udp', E, 5060), listener(1, 'tcp', E, 5060)],
    script: example13,
    outbound: ob,
  });
  const key = h.server.outbound?.key as Buffer;
  const tok = (proto: 'udp' | 'tcp', remote = UA, localPort = 5060) => {
    const [a, p] = remote.split(':') as [string, string];
    return encodeFlowToken(key, {
      proto,
      local: { address: E, port: localPort },
      remote: { address: a, port: Number(p) },
    });
  };
  return { h, tok };
}

function req(route: string | undefined, extra = ''): string {
  return `INVITE sip:alice@192.0.2.7 SIP/2.0
Via: SIP/2.0/UDP ${R};branch=z9hG4bK-x
Via: SIP/2.0/UDP 192.0.2.99;branch=z9hG4bK-c
${route === undefined ? '' : `Route: ${route}\n`}Max-Forwards: 70
From: <sip:bob@example.com>;tag=b
To: <sip:alice@example.com>
Call-ID: cft@x
CSeq: 1 INVITE
${extra}Content-Length: 0

`;
}

describe('check_flow_token() return codes (outbound manual, decision Q-E4)', () => {
  test('1: a valid UDP token; a valid TCP token with its connection alive; the script loose-routes to the flow', () => {
    const { h, tok } = setup();
    h.inject(req(`<sip:${tok('udp')}@${E};lr;ob>`), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.Valid);
    const c = h.transport.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
    h.inject(req(`<sip:${tok('tcp')}@${E};lr;ob>`).replace('z9hG4bK-x', 'z9hG4bK-y'), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.Valid);
    const toUa = h.take().filter((s) => s.msg.isRequest);
    assert.deepEqual(
      toUa.map((s) => s.to),
      [`w0/u0/${UA}`, c.id],
    );
  });

  test('-1: no Route header (the Example logs and does nothing)', () => {
    const { h } = setup();
    h.inject(req(undefined), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.NoRoute);
    assert.deepEqual(h.take(), []);
  });

  test('-2: the top Route is not us (or is a GRUU) -> 403', () => {
    const { h, tok } = setup();
    h.inject(req(`<sip:${tok('udp')}@192.0.2.200;lr>`), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.NotMyself);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
    h.inject(req(`<sip:${tok('udp')}@${E};lr;gr>`).replace('z9hG4bK-x', 'z9hG4bK-g'), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.NotMyself);
  });

  test('-3: a Route to us without a token -> plain loose_route', () => {
    const { h } = setup();
    h.inject(req(`<sip:${E};lr>, <sip:192.0.2.201;lr>`), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.NoToken);
    const [fwd] = h.take().filter((s) => s.msg.isRequest);
    assert.equal(fwd?.to, 'w0/u0/192.0.2.201:5060');
  });

  test('-4: a tampered token -> 403', () => {
    const { h, tok } = setup();
    const t = tok('udp');
    h.inject(req(`<sip:${t.slice(0, 6)}${t[6] === 'A' ? 'B' : 'A'}${t.slice(7)}@${E};lr;ob>`), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.CannotDecode);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
  });

  test('-5: a TCP token whose connection does not exist -> 430', () => {
    const { h, tok } = setup();
    h.inject(req(`<sip:${tok('tcp')}@${E};lr;ob>`), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.NoConnection);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 430 Flow Failed']);
  });

  test('-5 when the peer closed it; -6 when its lifetime ran out (idle past tcp_connection_lifetime, or WS keep-alive unanswered)', () => {
    const { h, tok } = setup();
    const a = h.transport.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
    h.closeFlow(a.id, 'remote');
    h.inject(req(`<sip:${tok('tcp')}@${E};lr;ob>`), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.NoConnection);
    for (const reason of ['lifetime', 'keepalive-timeout'] as const) {
      const b = h.transport.connect('tcp', { address: '192.0.2.7', port: 40002 }, 1);
      h.closeFlow(b.id, reason);
      h.inject(
        req(`<sip:${tok('tcp', '192.0.2.7:40002')}@${E};lr;ob>`).replace(
          'z9hG4bK-x',
          `z9hG4bK-${reason}`,
        ),
        R,
      );
      assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.Expired, reason);
    }
    assert.deepEqual(h.take().map(firstLine), [
      'SIP/2.0 430 Flow Failed',
      'SIP/2.0 430 Flow Failed',
      'SIP/2.0 430 Flow Failed',
    ]);
  });

  test('key rotation: a token of the previous secret is still valid, the key stays the current one (issue 10 §6)', () => {
    const before = setup({ ...OB, flow_token_secret: 'o'.repeat(32) });
    const oldToken = before.tok('udp');
    const { h } = setup({
      ...OB,
      flow_token_secret: 'n'.repeat(32),
      flow_token_secret_previous: 'o'.repeat(32),
    });
    h.inject(req(`<sip:${oldToken}@${E};lr;ob>`), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.Valid);
    const [fwd] = h.take().filter((s) => s.msg.isRequest);
    assert.equal(fwd?.to, `w0/u0/${UA}`);
    // what this edge issues from now on is signed with the new secret only
    assert.deepEqual(h.server.outbound?.key, flowTokenKey('n'.repeat(32)));
    const fresh = encodeFlowToken(h.server.outbound?.key as Buffer, {
      proto: 'udp',
      local: { address: E, port: 5060 },
      remote: { address: '192.0.2.7', port: 40001 },
    });
    assert.equal(h.server.outbound?.decode(fresh).ok, true);
    assert.deepEqual(decodeFlowToken(flowTokenKey('o'.repeat(32)), fresh), {
      ok: false,
      code: -1,
    });
  });

  test('key rotation: a token of a key that is neither current nor previous -> -4 (403), counted', () => {
    const other = setup({ ...OB, flow_token_secret: 'x'.repeat(32) }).tok('udp');
    const { h } = setup({
      ...OB,
      flow_token_secret: 'n'.repeat(32),
      flow_token_secret_previous: 'o'.repeat(32),
    });
    h.inject(req(`<sip:${other}@${E};lr;ob>`), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.CannotDecode);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
    assert.equal(h.server.core.stats.flowTokenFailures, 1);
    assert.deepEqual(h.server.outbound?.decode(other), { ok: false, code: -1 });
  });

  test('-7: an unparsable Route header -> 403', () => {
    const { h } = setup();
    h.inject(req('<sip:nothing here'), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.BadRoute);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
  });

  test('-8: a header block that is not sound (only reachable from code: the transport rejects it first) -> 403', () => {
    const { h, tok } = setup();
    h.inject(req(`<sip:${tok('udp')}@${E};lr;ob>`, 'CSeq: 2 INVITE\n'), R);
    assert.equal(h.server.core.vars['seen'], CheckFlowTokenRc.BadHeaders);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
  });
});
