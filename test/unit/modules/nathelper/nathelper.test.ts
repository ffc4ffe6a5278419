// Kamailio's nathelper functions (issue 13 §1), over the in-process harness: what nat_uac_test's
// bits detect, how the Contact is rewritten, alias routing pinned to a connection (430 when gone).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isPrivateAddress, NatTest } from '../../../../src/modules/nathelper/index.js';
import { defineScript } from '../../../../src/script/api.js';
import type { ScriptContext } from '../../../../src/script/context.js';
import { firstLine, harness, listener } from '../../../support/harness.js';

const NAT = { natping_interval: 0, keepalive_timeout: 0, sipping_from: 'sip:p@x.invalid' };

function h(body: (ctx: ScriptContext) => void) {
  return harness({
    listeners: [listener(0, 'udp', '127.0.0.1', 5060), listener(1, 'tcp', '127.0.0.1', 5060)],
    script: defineScript({
      request_route(ctx) {
        body(ctx);
        if (!ctx.t_relay()) ctx.sl_reply_error();
      },
    }),
    nathelper: NAT,
  });
}

/** The status lines of the final responses sent since the last take. */
function finalLines(x: ReturnType<typeof h>): string[] {
  return x
    .take()
    .filter((s) => !s.msg.isRequest && (s.msg as unknown as { status: number }).status >= 200)
    .map((s) => firstLine(s as never));
}

function req(o: { via?: string; contact?: string; ruri?: string; method?: string } = {}): string {
  const m = o.method ?? 'INVITE';
  return `${m} ${o.ruri ?? 'sip:bob@192.0.2.99:5070'} SIP/2.0
Via: SIP/2.0/UDP ${o.via ?? '192.0.2.7:5060'};branch=z9hG4bK-n${Math.random().toString(36).slice(2)};rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a
To: <sip:bob@example.com>
Call-ID: nat@x
CSeq: 1 ${m}
Contact: ${o.contact ?? '<sip:alice@192.0.2.7:5060>'}
Content-Length: 0

`;
}

test('isPrivateAddress: RFC 1918, RFC 6598, IPv6 ULA and link-local; not public ones', () => {
  for (const a of [
    '10.1.2.3',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '100.64.0.1',
    'fd00::1',
    '[fe80::1]',
  ])
    assert.ok(isPrivateAddress(a), a);
  for (const a of ['8.8.8.8', '172.32.0.1', '100.128.0.1', '2001:db8::1', '127.0.0.1'])
    assert.ok(!isPrivateAddress(a), a);
});

describe('nat_uac_test(flags)', () => {
  const cases: [string, number, Parameters<typeof req>[0], string, boolean][] = [
    [
      '1 private Contact',
      NatTest.ContactPrivate,
      { contact: '<sip:a@10.0.0.5:5060>' },
      '192.0.2.7:5060',
      true,
    ],
    ['1 public Contact', NatTest.ContactPrivate, {}, '192.0.2.7:5060', false],
    [
      '2 Via host is not the source',
      NatTest.ViaReceived,
      { via: '10.0.0.5:5060' },
      '192.0.2.7:5060',
      true,
    ],
    ['4 private Via', NatTest.ViaPrivate, { via: '192.168.1.9:5060' }, '192.0.2.7:5060', true],
    ['16 Via port is not the source port', NatTest.ViaPort, {}, '192.0.2.7:40000', true],
    [
      '32 Contact host is not the source (SIP.js .invalid)',
      NatTest.ContactHost,
      { contact: '<sip:x@df7j.invalid;transport=ws>' },
      '192.0.2.7:5060',
      true,
    ],
    ['64 Contact port is not the source port', NatTest.ContactPort, {}, '192.0.2.7:40000', true],
    ['127 nothing differs', 127, {}, '192.0.2.7:5060', false],
  ];
  for (const [name, flags, o, from, want] of cases)
    test(name, () => {
      let got: boolean | undefined;
      const x = h((ctx) => {
        got = ctx.nat_uac_test(flags);
      });
      x.inject(req(o), from);
      assert.equal(got, want);
    });
});

test('fix_nated_contact: the forwarded Contact carries the source address', () => {
  const x = h((ctx) => {
    ctx.fix_nated_contact();
  });
  x.inject(
    req({ contact: '"A" <sip:alice@10.0.0.5:5062;transport=udp>;expires=60' }),
    '192.0.2.7:40000',
  );
  const fwd = x.take().find((s) => s.msg.isRequest);
  assert.equal(
    fwd?.msg.getHeader('Contact'),
    '"A" <sip:alice@192.0.2.7:40000;transport=udp>;expires=60',
  );
});

test('fix_nated_register: ;received="<source>" on the first Contact of a REGISTER', () => {
  const x = h((ctx) => {
    ctx.fix_nated_register();
  });
  x.inject(
    req({ method: 'REGISTER', contact: '<sip:alice@10.0.0.5>, <sip:alice@10.0.0.6>' }),
    '192.0.2.7:40000',
  );
  const fwd = x.take().find((s) => s.msg.isRequest);
  assert.equal(
    fwd?.msg.getHeader('Contact'),
    '<sip:alice@10.0.0.5>;received="sip:192.0.2.7:40000", <sip:alice@10.0.0.6>',
  );
});

test('add_contact_alias then handle_ruri_alias: the request goes to the alias address; over TCP only the existing connection', () => {
  const x = h((ctx) => {
    if (ctx.$rU === 'aliased') ctx.handle_ruri_alias();
    else ctx.add_contact_alias();
  });
  x.inject(req(), '192.0.2.7:40000');
  const fwd = x.take().find((s) => s.msg.isRequest);
  assert.equal(fwd?.msg.getHeader('Contact'), '<sip:alice@192.0.2.7:5060;alias=192.0.2.7~40000~1>');
  // a later request to that Contact (udp alias)
  x.inject(req({ ruri: 'sip:aliased@192.0.2.7:5060;alias=192.0.2.7~40000~1' }), '192.0.2.50:5060');
  const out = x.take().find((s) => s.msg.isRequest);
  assert.equal(firstLine(out as never), 'INVITE sip:aliased@192.0.2.7:5060 SIP/2.0');
  assert.equal(out?.to, 'w0/u0/192.0.2.7:40000');
  // a tcp alias with no connection: 430 at once (no new connection towards a NAT)
  x.inject(req({ ruri: 'sip:aliased@192.0.2.7:5060;alias=192.0.2.7~40001~2' }), '192.0.2.50:5060');
  assert.deepEqual(finalLines(x), ['SIP/2.0 430 Flow Failed']);
});

test('a branch bound to a connection that fails under the write (reset by the peer): 430, not 503 (RFC 5626 §5.3)', () => {
  const x = h((ctx) => {
    ctx.handle_ruri_alias();
  });
  const flow = x.transport.connect('tcp', { address: '192.0.2.7', port: 40002 }, 1);
  x.inject(req({ ruri: 'sip:aliased@192.0.2.7:5060;alias=192.0.2.7~40002~2' }), '192.0.2.50:5060');
  const out = x.take().find((s) => s.msg.isRequest);
  assert.equal(out?.to, flow.id, 'sent over the existing connection only');
  // the kernel took the bytes; then the connection reports an error (ECONNRESET, EPIPE)
  out?.onError?.('SIP_ERR_TRANSPORT_SEND', 'write ECONNRESET');
  assert.deepEqual(finalLines(x), ['SIP/2.0 430 Flow Failed']);
});
