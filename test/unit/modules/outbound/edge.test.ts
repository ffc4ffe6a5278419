import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipRequest, SipResponse } from '../../../../src/message/message.js';
import { decodeFlowToken, encodeFlowToken } from '../../../../src/modules/outbound/flow-token.js';
import { defineScript } from '../../../../src/script/api.js';
import { edgeProxyScript } from '../../../../src/script/edge-proxy.js';
import { firstLine, type Harness, harness, listener, type Sent } from '../../../support/harness.js';

// E = the edge (UDP/TCP 127.0.0.1:5060, WS 127.0.0.1:8080), R = the registrar at 127.0.0.2:5060, UA behind NAT.
const E = '127.0.0.1';
const R = '127.0.0.2:5060';
const UA = '192.0.2.7:40000';
const SECRET = 'johndoessecretphrase';
const OB = { force_outbound_flag: -1, force_no_outbound_flag: -1, flow_token_secret: SECRET };
const listeners = () => [
  listener(0, 'udp', E, 5060),
  listener(1, 'tcp', E, 5060),
  listener(2, 'ws', E, 8080),
];

function edge(opts: { registrar?: string; seedStrict?: boolean; ob?: typeof OB } = {}): Harness {
  return harness({
    listeners: listeners(),
    script: edgeProxyScript({
      registrar: opts.registrar ?? `sip:${R}`,
      flowTimer: 20,
      seedStrict: opts.seedStrict,
    }),
    outbound: opts.ob ?? OB,
    forceRport: true,
    transport: { tcpConnectionLifetime: 30 },
  });
}

function register(
  o: { contact?: string; via2?: boolean; expires?: string; extra?: string; branch?: string } = {},
): string {
  return `REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP ${UA};branch=${o.branch ?? 'z9hG4bK-r1'};rport${o.via2 ? '\nVia: SIP/2.0/UDP 198.51.100.9;branch=z9hG4bK-px' : ''}
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:alice@example.com>
Call-ID: reg-1@ua
CSeq: 1 REGISTER
${o.contact === '' ? '' : `Contact: ${o.contact ?? '<sip:alice@192.0.2.7:40000;ob>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"'}\n`}Supported: path, outbound
${o.expires === undefined ? 'Expires: 600\n' : o.expires}${o.extra ?? ''}Content-Length: 0

`;
}

function invite(
  o: {
    from?: 'ua' | 'registrar';
    route?: string;
    contact?: string;
    supported?: string | null;
    ruri?: string;
    toTag?: string;
    method?: string;
    branch?: string;
  } = {},
): string {
  const method = o.method ?? 'INVITE';
  const fromR = o.from === 'registrar';
  const vias = fromR
    ? `Via: SIP/2.0/UDP ${R};branch=${o.branch ?? 'z9hG4bK-rx'}\nVia: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-caller`
    : `Via: SIP/2.0/UDP ${UA};branch=${o.branch ?? 'z9hG4bK-i1'};rport`;
  return `${method} ${o.ruri ?? 'sip:bob@example.com'} SIP/2.0
${vias}
${o.route === undefined ? '' : `Route: ${o.route}\n`}Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>${o.toTag ? `;tag=${o.toTag}` : ''}
Call-ID: inv-1@ua
CSeq: 1 ${method}
Contact: ${o.contact ?? '<sip:alice@192.0.2.7:40000;ob>'}
${o.supported === null ? '' : `Supported: ${o.supported ?? 'outbound'}\n`}Content-Length: 0

`;
}

function reply(to: Sent, status: number, extra = '', toTag = 'uas'): string {
  const m = to.msg;
  const vias = m
    .getHeaders('Via')
    .map((v) => `Via: ${v}`)
    .join('\n');
  return `SIP/2.0 ${status} X
${vias}
From: ${m.getHeader('From')}
To: ${m.getHeader('To')}${status > 100 ? `;tag=${toTag}` : ''}
Call-ID: ${m.callId}
CSeq: ${m.getHeader('CSeq')}
${extra}Content-Length: 0

`;
}

const reqs = (s: Sent[]) => s.filter((x) => x.msg.isRequest) as (Sent & { msg: SipRequest })[];
const resps = (s: Sent[]) => s.filter((x) => !x.msg.isRequest) as (Sent & { msg: SipResponse })[];
const KEY = (() => {
  const h = edge();
  return h.server.outbound?.key as Buffer;
})();
const uaToken = (
  proto: 'udp' | 'tcp' | 'ws' = 'udp',
  port = proto === 'ws' ? 8080 : 5060,
  remote = UA,
) => {
  const [a, p] = remote.split(':') as [string, string];
  return encodeFlowToken(KEY, {
    proto,
    local: { address: E, port },
    remote: { address: a, port: Number(p) },
  });
};

function pathOf(h: Harness, raw: string, from = UA): string | undefined {
  h.inject(raw, from);
  const [fwd] = reqs(h.take());
  assert.ok(fwd, 'REGISTER forwarded');
  assert.equal(fwd.to, `w0/u0/${R}`);
  return fwd.msg.getHeader('Path');
}

function rrOf(h: Harness, raw: string, from = UA): string[] {
  h.inject(raw, from);
  const [fwd] = reqs(h.take());
  assert.ok(fwd, 'request forwarded');
  return fwd.msg.getHeaders('Record-Route');
}

describe('edge: when outbound applies (outbound.md §1.2, conformance §6.2)', () => {
  test('§6.2 #14 REGISTER, 1 Via, reg-id: token + ;ob in Path; the token names the UA flow', () => {
    const p = pathOf(edge(), register());
    const m = /^<sip:([^@]+)@127\.0\.0\.1;lr;ob>$/.exec(p ?? '');
    assert.ok(m, p);
    const d = decodeFlowToken(KEY, m[1]);
    assert.deepEqual(d, {
      ok: true,
      token: {
        proto: 'udp',
        local: { address: E, port: 5060 },
        remote: { address: '192.0.2.7', port: 40000 },
      },
    });
  });

  test('§6.2 #15 REGISTER without reg-id: Path without token', () => {
    assert.equal(
      pathOf(edge(), register({ contact: '<sip:alice@192.0.2.7:40000>' })),
      '<sip:127.0.0.1;lr>',
    );
  });

  test('§6.2 #16 REGISTER with 2 Vias: no token, no ;ob', () => {
    assert.equal(pathOf(edge(), register({ via2: true })), '<sip:127.0.0.1;lr>');
  });

  test('§6.2 #17 Contact: * with Expires: 0 is outbound (Kamailio master)', () => {
    assert.match(
      pathOf(edge(), register({ contact: '*', expires: 'Expires: 0\n' })) ?? '',
      /^<sip:[^@]{32}@127\.0\.0\.1;lr;ob>$/,
    );
  });

  test('§6.2 #18 Contact: * without Expires: no token, no crash', () => {
    assert.equal(pathOf(edge(), register({ contact: '*', expires: '' })), '<sip:127.0.0.1;lr>');
  });

  test('§6.2 #19 reg-id as a URI parameter does not count', () => {
    assert.equal(
      pathOf(edge(), register({ contact: '<sip:alice@192.0.2.7:40000;reg-id=1>' })),
      '<sip:127.0.0.1;lr>',
    );
  });

  test('§6.2 #20 INVITE, 1 Via, Supported: outbound, Contact ;ob: Record-Route with a new token', () => {
    const rr = rrOf(edge(), invite());
    assert.deepEqual(rr, [`<sip:${uaToken()}@127.0.0.1;lr>`]);
  });

  test('§6.2 #21 no Supported header: still outbound', () => {
    assert.deepEqual(rrOf(edge(), invite({ supported: null })), [
      `<sip:${uaToken()}@127.0.0.1;lr>`,
    ]);
  });

  test('§6.2 #22 Supported without outbound: Record-Route without token', () => {
    assert.deepEqual(rrOf(edge(), invite({ supported: '100rel' })), ['<sip:127.0.0.1;lr>']);
  });

  test('§6.2 #23 ;ob as a Contact header parameter does not count', () => {
    assert.deepEqual(rrOf(edge(), invite({ contact: '<sip:alice@192.0.2.7:40000>;ob' })), [
      '<sip:127.0.0.1;lr>',
    ]);
  });

  test('§6.2 #24 a foreign top Route: no token (Q-E9); flowgate refuses it from a client (issue 10)', () => {
    assert.deepEqual(
      rrOf(edge({ seedStrict: true }), invite({ route: '<sip:other.example.net;lr>' })),
      ['<sip:127.0.0.1;lr>'],
    );
    const h = edge();
    h.inject(invite({ route: '<sip:other.example.net;lr>' }), UA);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
  });

  test('§6.2 #25 INVITE from the registrar with the UA token: Record-Route copies the token; sent to the UA flow', () => {
    const h = edge();
    const tok = uaToken();
    h.inject(
      invite({
        from: 'registrar',
        route: `<sip:${tok}@127.0.0.1;lr;ob>`,
        ruri: 'sip:alice@192.0.2.7:40000;ob',
      }),
      R,
    );
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    assert.equal(fwd.to, `w0/u0/${UA}`);
    assert.deepEqual(fwd.msg.getHeaders('Record-Route'), [`<sip:${tok}@127.0.0.1;lr>`]);
    assert.equal(fwd.msg.getHeader('Route'), undefined);
  });

  test('§6.2 #26 INVITE from the token owner itself: a new token from the current flow', () => {
    const h = edge();
    const tok = uaToken();
    const rr = rrOf(h, invite({ route: `<sip:${tok}@127.0.0.1;lr;ob>` }));
    assert.deepEqual(rr, [`<sip:${uaToken()}@127.0.0.1;lr>`]);
  });

  test('§6.2 #27 a top Route to us with ;gr is not "myself" (so flowgate refuses it from a client)', () => {
    const route = `<sip:${uaToken()}@127.0.0.1;lr;ob;gr>`;
    assert.deepEqual(rrOf(edge({ seedStrict: true }), invite({ route })), ['<sip:127.0.0.1;lr>']);
    const h = edge();
    h.inject(invite({ route }), UA);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
  });

  const flagScript = (flag: 'force' | 'no') =>
    defineScript({
      request_route(ctx) {
        ctx.setflag(flag === 'force' ? 1 : 2);
        ctx.add_path();
        ctx.$du = `sip:${R}`;
        ctx.t_relay();
      },
    });

  test('§6.2 #28 force_outbound_flag on a 2-Via REGISTER: token without ;ob', () => {
    const h = harness({
      listeners: listeners(),
      script: flagScript('force'),
      outbound: { ...OB, force_outbound_flag: 1, force_no_outbound_flag: 2 },
    });
    assert.match(pathOf(h, register({ via2: true })) ?? '', /^<sip:[^@]{32}@127\.0\.0\.1;lr>$/);
  });

  test('§6.2 #29 force_no_outbound_flag on an outbound REGISTER: no token', () => {
    const h = harness({
      listeners: listeners(),
      script: flagScript('no'),
      outbound: { ...OB, force_outbound_flag: 1, force_no_outbound_flag: 2 },
    });
    assert.equal(pathOf(h, register()), '<sip:127.0.0.1;lr>');
  });

  test('an invalid flag index fails start-up with a clear error', () => {
    assert.throws(
      () => edge({ ob: { ...OB, force_outbound_flag: 99 } }),
      /force_outbound_flag must be -1 \(off\) or a message flag 0\.\.63, got 99/,
    );
  });
});

describe('edge: Path and Record-Route formats (§6.3)', () => {
  test('§6.3 #30 Path over UDP on 5060', () => {
    const h = edge();
    h.inject(register(), UA);
    const [fwd] = reqs(h.take());
    const lines = fwd?.msg.toString().split('\r\n') ?? [];
    assert.match(
      lines.find((l) => l.startsWith('Path:')) ?? '',
      /^Path: <sip:[^@]{32}@127\.0\.0\.1;lr;ob>$/,
    );
  });

  test('§6.3 #31 Path towards a TCP registrar on another port: ;transport=tcp and :5070, lr then ob', () => {
    const h = harness({
      listeners: [listener(0, 'udp', E, 5060), listener(1, 'tcp', E, 5070)],
      script: edgeProxyScript({ registrar: 'sip:127.0.0.2:5060;transport=tcp', flowTimer: 20 }),
      outbound: OB,
    });
    h.inject(register(), UA);
    const [fwd] = reqs(h.take());
    assert.match(
      fwd?.msg.getHeader('Path') ?? '',
      /^<sip:[^@]{32}@127\.0\.0\.1:5070;transport=tcp;lr;ob>$/,
    );
  });

  test('§6.3 #32 IPv6 addresses are bracketed in Path and Record-Route', () => {
    const h = harness({
      listeners: [listener(0, 'udp', '::1', 5060)],
      script: edgeProxyScript({ registrar: 'sip:[::1]:5070', flowTimer: 20 }),
      outbound: OB,
    });
    h.inject(register().replace(`${UA}`, '[::1]:40000'), '[::1]:40000');
    const [fwd] = reqs(h.take());
    assert.match(fwd?.msg.getHeader('Path') ?? '', /^<sip:[^@]{64}@\[::1\];lr;ob>$/);
  });

  test('§6.3 #33 a client Path header stays, ours goes before it (Q-E12); flowgate removes it (issue 10)', () => {
    const h = edge({ seedStrict: true });
    h.inject(register({ extra: 'Path: <sip:client-proxy.example.com;lr>\n' }), UA);
    const [fwd] = reqs(h.take());
    const paths = fwd?.msg.getHeaders('Path') ?? [];
    assert.equal(paths.length, 2);
    assert.match(paths[0] ?? '', /@127\.0\.0\.1;lr;ob>$/);
    assert.equal(paths[1], '<sip:client-proxy.example.com;lr>');
    // RFC 3327 §5.1: Path is written by proxies; a client's own would choose how the registrar reaches it
    const s = edge();
    s.inject(register({ extra: 'Path: <sip:client-proxy.example.com;lr>\n' }), UA);
    const [sf] = reqs(s.take());
    const sp = sf?.msg.getHeaders('Path') ?? [];
    assert.equal(sp.length, 1);
    assert.match(sp[0] ?? '', /@127\.0\.0\.1;lr;ob>$/);
  });

  test('§6.3 #34 same socket both ways: one Record-Route at the top of the header block', () => {
    const h = edge();
    h.inject(invite(), UA);
    const [fwd] = reqs(h.take());
    const lines = fwd?.msg.toString().split('\r\n') ?? [];
    assert.match(lines[1] ?? '', /^Record-Route: <sip:[^@]{32}@127\.0\.0\.1;lr>$/);
    assert.match(lines[2] ?? '', /^Via: SIP\/2\.0\/UDP 127\.0\.0\.1;branch=/);
  });

  test('§6.3 #35 UA on TCP, registrar on UDP: double Record-Route with r2=on and the same token', () => {
    const h = edge();
    const f = h.transport.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
    h.inject(
      invite().replace(`SIP/2.0/UDP ${UA}`, 'SIP/2.0/TCP 192.0.2.7:40001'),
      '192.0.2.7:40001',
      { flowId: f.id },
    );
    const [fwd] = reqs(h.take());
    const rr = fwd?.msg.getHeaders('Record-Route') ?? [];
    const tok = encodeFlowToken(KEY, {
      proto: 'tcp',
      local: { address: E, port: 5060 },
      remote: { address: '192.0.2.7', port: 40001 },
    });
    assert.deepEqual(rr, [
      `<sip:${tok}@127.0.0.1;r2=on;lr>`,
      `<sip:${tok}@127.0.0.1;transport=tcp;r2=on;lr>`,
    ]);
  });

  test('§6.3 #36 a second record_route() fails and adds nothing', () => {
    const h = harness({
      listeners: listeners(),
      outbound: OB,
      script: defineScript({
        request_route(ctx) {
          ctx.record_route();
          ctx.$var['second'] = ctx.record_route() ? 1 : ctx.$rc;
          ctx.$du = `sip:${R}`;
          ctx.t_relay();
        },
      }),
    });
    h.inject(invite(), UA);
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.msg.getHeaders('Record-Route').length, 1);
    assert.equal(h.server.core.vars['second'], -1);
  });

  test('§6.3 #37 Record-Route never carries ;ob', () => {
    for (const rr of rrOf(edge(), invite())) assert.doesNotMatch(rr, /;ob/);
  });
});

describe('edge: loose_route with flow tokens (§6.4)', () => {
  test('§6.4 #38 initial INVITE from R with the token route: sent to the UA over UDP from the token socket', () => {
    const h = edge();
    h.inject(invite({ from: 'registrar', route: `<sip:${uaToken()}@127.0.0.1;lr;ob>` }), R);
    const out = h.take();
    assert.deepEqual(resps(out).map(firstLine), ['SIP/2.0 100 Trying']);
    const [fwd] = reqs(out);
    assert.equal(fwd?.to, `w0/u0/${UA}`);
    assert.equal(fwd?.listener.id, 0);
  });

  test('§6.4 #39 a TCP token with its connection alive: sent on that connection', () => {
    const h = edge();
    const f = h.transport.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
    h.inject(
      invite({
        from: 'registrar',
        route: `<sip:${uaToken('tcp', 5060, '192.0.2.7:40001')}@127.0.0.1;lr;ob>`,
      }),
      R,
    );
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.to, f.id);
    assert.match(fwd?.msg.getHeader('Via') ?? '', /^SIP\/2\.0\/TCP 127\.0\.0\.1;branch=/);
  });

  test('§6.4 #40 a tampered token: 403 to R, no branch', () => {
    const h = edge();
    const t = uaToken();
    const bad = `${t.slice(0, 3)}${t[3] === 'A' ? 'B' : 'A'}${t.slice(4)}`;
    h.inject(invite({ from: 'registrar', route: `<sip:${bad}@127.0.0.1;lr;ob>` }), R);
    const out = h.take();
    assert.deepEqual(out.map(firstLine), ['SIP/2.0 403 Forbidden']);
    assert.equal(out[0]?.to, `w0/u0/${R}`);
  });

  test('§6.4 #41 a token naming a socket we do not listen on: 403', () => {
    const h = edge();
    h.inject(
      invite({ from: 'registrar', route: `<sip:${uaToken('udp', 5999)}@127.0.0.1;lr;ob>` }),
      R,
    );
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
  });

  test('§6.4 #42 Route without token from R: seed-exact 500; flowgate routes by the Request-URI (decision Q-E1)', () => {
    const strict = edge({ seedStrict: true });
    strict.inject(
      invite({ from: 'registrar', route: '<sip:127.0.0.1;lr>', ruri: `sip:alice@${UA}` }),
      R,
    );
    assert.deepEqual(strict.take().map(firstLine), ['SIP/2.0 500 Server Internal Error']);
    const h = edge();
    h.inject(
      invite({ from: 'registrar', route: '<sip:127.0.0.1;lr>', ruri: `sip:alice@${UA}` }),
      R,
    );
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.to, `w0/u0/${UA}`);
  });

  test('§6.4 #43 an initial request from R without any Route: 500 with a reason (Q-E11)', () => {
    const h = edge();
    h.inject(invite({ from: 'registrar' }), R);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 500 No Route Header To Follow']);
  });

  test('§6.4 #44 in-dialog BYE from the callee over TCP: both r2 Routes consumed, sent to R', () => {
    const h = edge();
    const f = h.transport.connect('tcp', { address: '192.0.2.8', port: 41000 }, 1);
    const callerTok = uaToken();
    const calleeTok = uaToken('tcp', 5060, '192.0.2.8:41000');
    h.inject(
      `BYE sip:alice@192.0.2.7:40000;ob SIP/2.0
Via: SIP/2.0/TCP 192.0.2.8:41000;branch=z9hG4bK-bye1;rport
Route: <sip:${calleeTok}@127.0.0.1;transport=tcp;r2=on;lr>, <sip:${calleeTok}@127.0.0.1;r2=on;lr>
Route: <sip:127.0.0.2;lr>, <sip:${callerTok}@127.0.0.1;lr>
Max-Forwards: 70
From: <sip:bob@example.com>;tag=b1
To: <sip:alice@example.com>;tag=a1
Call-ID: dlg-1
CSeq: 2 BYE
Content-Length: 0

`,
      '192.0.2.8:41000',
      { flowId: f.id },
    );
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.to, `w0/u0/127.0.0.2:5060`);
    assert.deepEqual(fwd?.msg.getValues('Route'), [
      '<sip:127.0.0.2;lr>',
      `<sip:${callerTok}@127.0.0.1;lr>`,
    ]);
  });

  test('§6.4 #45 in-dialog BYE from R with the caller token: delivered over the caller flow', () => {
    const h = edge();
    h.inject(
      invite({
        from: 'registrar',
        method: 'BYE',
        toTag: 'b1',
        route: `<sip:${uaToken()}@127.0.0.1;lr>`,
        ruri: `sip:alice@${UA};ob`,
      }),
      R,
    );
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.to, `w0/u0/${UA}`);
  });

  test('§6.4 #46 in-dialog request with a tampered token: 403', () => {
    const h = edge();
    const t = uaToken();
    h.inject(
      invite({
        from: 'registrar',
        method: 'BYE',
        toTag: 'b1',
        route: `<sip:${t.slice(0, 20)}QQ${t.slice(22)}@127.0.0.1;lr>`,
      }),
      R,
    );
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
  });

  test('§6.4 #47 in-dialog request without Route: 404; an ACK without transaction is dropped', () => {
    const h = edge({ seedStrict: true });
    h.inject(invite({ method: 'BYE', toTag: 'b1' }), UA);
    assert.deepEqual(h.take().map(firstLine), ['SIP/2.0 404 Not Found']);
    h.inject(invite({ method: 'ACK', toTag: 'b1' }), UA);
    assert.deepEqual(h.take(), []);
    // flowgate: from a client, an in-dialog request must come through our own Record-Route
    const s = edge();
    s.inject(invite({ method: 'BYE', toTag: 'b1' }), UA);
    assert.deepEqual(s.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
    s.inject(invite({ method: 'ACK', toTag: 'b1' }), UA);
    assert.deepEqual(s.take(), []);
  });

  test('§6.4 #48 an in-dialog NOTIFY gets a Record-Route', () => {
    const h = edge();
    h.inject(
      invite({
        from: 'registrar',
        method: 'NOTIFY',
        toTag: 'b1',
        route: `<sip:${uaToken()}@127.0.0.1;lr>`,
      }),
      R,
    );
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.msg.getHeaders('Record-Route').length, 1);
  });

  test('§6.4 #49 in-dialog request whose top Route is foreign: forwarded there (seed); refused by flowgate', () => {
    const h = edge({ seedStrict: true });
    h.inject(invite({ method: 'BYE', toTag: 'b1', route: '<sip:192.0.2.200:5080;lr>' }), UA);
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.to, 'w0/u0/192.0.2.200:5080');
    assert.equal(fwd?.msg.getHeader('Route'), '<sip:192.0.2.200:5080;lr>');
    const s = edge();
    s.inject(invite({ method: 'BYE', toTag: 'b1', route: '<sip:192.0.2.200:5080;lr>' }), UA);
    assert.deepEqual(s.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
  });

  test('§6.4 #50 a strict next hop: it becomes the Request-URI, the old one goes to the end of Route', () => {
    const h = edge({ seedStrict: true });
    h.inject(
      invite({
        method: 'BYE',
        toTag: 'b1',
        route: '<sip:127.0.0.1;lr>, <sip:192.0.2.200:5080>',
        ruri: 'sip:bob@192.0.2.55',
      }),
      UA,
    );
    const [fwd] = reqs(h.take());
    assert.equal(firstLine(fwd as Sent), 'BYE sip:192.0.2.200:5080 SIP/2.0');
    assert.deepEqual(fwd?.msg.getValues('Route'), ['<sip:bob@192.0.2.55>']);
    assert.equal(fwd?.to, 'w0/u0/192.0.2.200:5080');
    // flowgate: the same rewrite, but a client's in-dialog request goes on to the registrar
    const s = edge();
    s.inject(
      invite({
        method: 'BYE',
        toTag: 'b1',
        route: '<sip:127.0.0.1;lr>, <sip:192.0.2.200:5080>',
        ruri: 'sip:bob@192.0.2.55',
      }),
      UA,
    );
    const [sf] = reqs(s.take());
    assert.equal(firstLine(sf as Sent), 'BYE sip:192.0.2.200:5080 SIP/2.0');
    assert.equal(sf?.to, `w0/u0/${R}`);
  });

  test('§6.4 #51 the token owner behind a new NAT port is treated as "incoming" (Q-E15, Kamailio default)', () => {
    const s = edge();
    s.inject(
      invite({ method: 'BYE', toTag: 'b1', route: `<sip:${uaToken()}@127.0.0.1;lr>` }).replace(
        UA,
        '192.0.2.7:40002',
      ),
      '192.0.2.7:40002',
    );
    // flowgate: a client's request is never routed by another flow's token (issue 10 §4)
    assert.deepEqual(s.take().map(firstLine), ['SIP/2.0 403 Forbidden']);
    const h = edge({ seedStrict: true });
    h.inject(
      invite({ method: 'BYE', toTag: 'b1', route: `<sip:${uaToken()}@127.0.0.1;lr>` }).replace(
        UA,
        '192.0.2.7:40002',
      ),
      '192.0.2.7:40002',
    );
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.to, `w0/u0/${UA}`, 'sent to the old flow');
  });

  test('direction_match: ip treats the same IP on a new port as the owner (decision Q-E15 mode)', () => {
    const s = edge({ ob: { ...OB, direction_match: 'ip' } as typeof OB });
    s.inject(
      invite({
        method: 'BYE',
        toTag: 'b1',
        route: `<sip:${uaToken()}@127.0.0.1;lr>, <sip:192.0.2.200:5080;lr>`,
      }).replace(UA, '192.0.2.7:40002'),
      '192.0.2.7:40002',
    );
    // the owner's own route is consumed; a client's in-dialog request then goes to the registrar
    assert.equal(reqs(s.take())[0]?.to, `w0/u0/${R}`);
    const h = edge({ seedStrict: true, ob: { ...OB, direction_match: 'ip' } as typeof OB });
    h.inject(
      invite({
        method: 'BYE',
        toTag: 'b1',
        route: `<sip:${uaToken()}@127.0.0.1;lr>, <sip:192.0.2.200:5080;lr>`,
      }).replace(UA, '192.0.2.7:40002'),
      '192.0.2.7:40002',
    );
    const [fwd] = reqs(h.take());
    assert.equal(fwd?.to, 'w0/u0/192.0.2.200:5080');
  });
});

describe('edge: 430, failure handling and Flow-Timer (§6.5)', () => {
  test('§6.5 #52 a silent UDP flow: INVITE retransmitted, 430 Flow Failed (with To-tag) after fr_timer', () => {
    const h = edge();
    h.inject(invite({ from: 'registrar', route: `<sip:${uaToken()}@127.0.0.1;lr;ob>` }), R);
    h.take();
    h.clock.advance(29_999);
    assert.ok(reqs(h.take()).length >= 5);
    h.clock.advance(1);
    const finals = resps(h.take()).filter((r) => r.msg.status >= 200);
    assert.deepEqual(finals.map(firstLine), ['SIP/2.0 430 Flow Failed']);
    assert.ok(finals[0]?.msg.toTag);
    assert.equal(finals[0]?.to, `w0/u0/${R}`);
  });

  test('§6.5 #53 180 then nothing: 408 after fr_inv_timer, no 430', () => {
    const h = edge();
    h.inject(invite({ from: 'registrar', route: `<sip:${uaToken()}@127.0.0.1;lr;ob>` }), R);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, 180), UA);
    h.take();
    h.clock.advance(120_000);
    const finals = resps(h.take()).filter((r) => r.msg.status >= 200);
    assert.deepEqual(finals.map(firstLine), ['SIP/2.0 408 Request Timeout']);
  });

  test('§6.5 #54 a 486 is relayed unchanged', () => {
    const h = edge();
    h.inject(invite({ from: 'registrar', route: `<sip:${uaToken()}@127.0.0.1;lr;ob>` }), R);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, 486), UA);
    assert.deepEqual(
      resps(h.take()).map((r) => r.msg.status),
      [486],
    );
  });

  test('§6.5 #55 MESSAGE to a silent UDP flow: 430 after fr_timer', () => {
    const h = edge();
    h.inject(
      invite({ from: 'registrar', method: 'MESSAGE', route: `<sip:${uaToken()}@127.0.0.1;lr;ob>` }),
      R,
    );
    h.take();
    h.clock.advance(30_000);
    assert.deepEqual(resps(h.take()).map(firstLine), ['SIP/2.0 430 Flow Failed']);
  });

  function registerAndReply(h: Harness, status: number, extra: string, req = register()): Sent[] {
    h.inject(req, UA);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, status, extra, 'reg'), R);
    return resps(h.take());
  }

  test('§6.5 #56 2xx to REGISTER with Require: outbound: Flow-Timer: 20 right before Call-ID', () => {
    const [r] = registerAndReply(edge(), 200, 'Require: outbound\nSupported: outbound\n');
    const lines = r?.msg.toString().split('\r\n') ?? [];
    const i = lines.findIndex((l) => l.startsWith('Call-ID:'));
    assert.equal(lines[i - 1], 'Flow-Timer: 20');
  });

  test('§6.5 #57 an existing Flow-Timer is replaced', () => {
    const [r] = registerAndReply(edge(), 200, 'Flow-Timer: 99\nRequire: outbound\n');
    assert.deepEqual(r?.msg.getHeaders('Flow-Timer'), ['20']);
  });

  test('§6.5 #58/#59 no Require: outbound, or a 4xx: no Flow-Timer', () => {
    assert.deepEqual(registerAndReply(edge(), 200, '')[0]?.msg.getHeaders('Flow-Timer'), []);
    assert.deepEqual(
      registerAndReply(edge(), 420, 'Require: outbound\n')[0]?.msg.getHeaders('Flow-Timer'),
      [],
    );
  });

  test('§6.5 #60 a 200 to a non-REGISTER keeps its headers', () => {
    const h = edge();
    h.inject(invite({ method: 'MESSAGE' }), UA);
    const [fwd] = reqs(h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, 200, 'Require: outbound\n'), R);
    assert.deepEqual(resps(h.take())[0]?.msg.getHeaders('Flow-Timer'), []);
  });

  test('§6.5 #61 a reply matching no transaction is dropped', () => {
    const h = edge();
    h.inject(
      `SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKnone
Via: SIP/2.0/UDP ${UA};branch=z9hG4bK-x;rport=40000;received=192.0.2.7
From: <sip:a@x>;tag=1
To: <sip:b@x>;tag=2
Call-ID: stray
CSeq: 1 REGISTER
Content-Length: 0

`,
      R,
    );
    assert.deepEqual(h.take(), []);
  });

  test('§6.5 #62 a binding query (no Contact) gets Flow-Timer too', () => {
    const [r] = registerAndReply(edge(), 200, 'Require: outbound\n', register({ contact: '' }));
    assert.deepEqual(r?.msg.getHeaders('Flow-Timer'), ['20']);
  });

  test('§6.6 #73 the TCP flow is gone: 430 at once (decision Q-E2)', () => {
    const h = edge();
    const f = h.transport.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
    h.transport.disconnect(f.id);
    h.inject(
      invite({
        from: 'registrar',
        route: `<sip:${uaToken('tcp', 5060, '192.0.2.7:40001')}@127.0.0.1;lr;ob>`,
      }),
      R,
    );
    const out = h.take();
    assert.deepEqual(reqs(out), [], 'no new connection to the UA');
    assert.deepEqual(resps(out).map(firstLine), ['SIP/2.0 100 Trying', 'SIP/2.0 430 Flow Failed']);
  });
});
