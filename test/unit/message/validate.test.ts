import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipMessage } from '../../../src/message/message.js';
import { isSipDate, validateMessage } from '../../../src/message/validate.js';
import type { MessageBuilder } from '../../support/msg.js';
import { req, res } from '../../support/msg.js';

function invalid(b: MessageBuilder<SipMessage>, field: string, code: string, status = 400): void {
  const e = validateMessage(b.build());
  assert.ok(e, `should be invalid (${field}):\n${b.text()}`);
  assert.equal(e.field, field, e.message);
  assert.equal(e.code, code, e.message);
  assert.equal(e.status, status);
}

describe('validateMessage', () => {
  test('well-formed requests and responses pass', () => {
    assert.equal(
      validateMessage(req('INVITE').contact('<sip:a@192.0.2.1>').body('v=0\r\n').build()),
      undefined,
    );
    assert.equal(
      validateMessage(req('REGISTER').contact('*').header('Expires', '0').build()),
      undefined,
    );
    assert.equal(validateMessage(res(200).build()), undefined);
    assert.equal(
      validateMessage(req('OPTIONS', 'nobodyKnowsThisScheme:opaque').build()),
      undefined,
    );
    assert.equal(
      validateMessage(req('OPTIONS').header('Date', 'Sat, 13 Nov 2010 23:29:00 GMT').build()),
      undefined,
    );
    assert.equal(
      validateMessage(req('INVITE').header('Expires', 'soon').build()),
      undefined,
      'Expires is not judged here',
    );
  });

  test('Via is required and every value must be well-formed (RFC 3261 §8.1.1.7)', () => {
    invalid(req('OPTIONS').without('Via'), 'Via', 'SIP_ERR_PARSE_MISSING_HEADER');
    invalid(req('OPTIONS').via('SIP/2.0/UDP 192.0.2.15;;,;,,'), 'Via', 'SIP_ERR_PARSE_VIA');
    invalid(
      req('OPTIONS').addVia('SIP/2.0/UDP h;branch=z9hG4bK1, bogus'),
      'Via',
      'SIP_ERR_PARSE_VIA',
    );
    invalid(res(200).via('SIP/2.0/UDP h;received=not-an-ip'), 'Via', 'SIP_ERR_PARSE_VIA');
  });

  test('From, To, Call-ID and CSeq are required (RFC 3261 §8.1.1, RFC 4475 §3.3.1)', () => {
    invalid(req('OPTIONS').without('From'), 'From', 'SIP_ERR_PARSE_MISSING_HEADER');
    invalid(req('OPTIONS').without('To'), 'To', 'SIP_ERR_PARSE_MISSING_HEADER');
    invalid(req('OPTIONS').without('Call-ID'), 'Call-ID', 'SIP_ERR_PARSE_MISSING_HEADER');
    invalid(req('OPTIONS').without('CSeq'), 'CSeq', 'SIP_ERR_PARSE_MISSING_HEADER');
  });

  test('single-valued headers may not repeat (RFC 4475 §3.3.8)', () => {
    invalid(
      req('OPTIONS').header('To', '<sip:other@example.net>'),
      'To',
      'SIP_ERR_PARSE_DUPLICATE_HEADER',
    );
    invalid(
      req('OPTIONS').header('Call-ID', 'second'),
      'Call-ID',
      'SIP_ERR_PARSE_DUPLICATE_HEADER',
    );
    invalid(
      req('OPTIONS').header('Max-Forwards', '5'),
      'Max-Forwards',
      'SIP_ERR_PARSE_DUPLICATE_HEADER',
    );
  });

  test('From and To must be well-formed name-addrs', () => {
    invalid(
      req('OPTIONS')
        .without('From')
        .header('From', 'Bell, Alexander <sip:a.g.bell@example.com>;tag=43'),
      'From',
      'SIP_ERR_PARSE_FROM',
    );
    invalid(
      req('OPTIONS').without('To').header('To', '"Mr. J. User <sip:j.user@example.com>'),
      'To',
      'SIP_ERR_PARSE_TO',
    );
    invalid(
      req('OPTIONS').without('To').header('To', '<sip:user@exa mple.com>'),
      'To',
      'SIP_ERR_PARSE_TO',
    );
  });

  test('Call-ID may not be empty or hold LWS', () => {
    invalid(req('OPTIONS').callId(''), 'Call-ID', 'SIP_ERR_PARSE_CALL_ID');
    invalid(req('OPTIONS').callId('a b'), 'Call-ID', 'SIP_ERR_PARSE_CALL_ID');
    assert.equal(
      validateMessage(
        req('OPTIONS').callId('intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{').build(),
      ),
      undefined,
    );
  });

  test('CSeq: 32-bit number, method equal to the request method (RFC 3261 §8.1.1.5, RFC 4475 §3.1.2.17)', () => {
    invalid(req('OPTIONS').cseq(8, 'INVITE'), 'CSeq', 'SIP_ERR_PARSE_CSEQ');
    invalid(
      req('OPTIONS').without('CSeq').header('CSeq', '4294967296 OPTIONS'),
      'CSeq',
      'SIP_ERR_PARSE_CSEQ',
    );
    assert.equal(validateMessage(req('OPTIONS').cseq(4294967295).build()), undefined);
    assert.equal(validateMessage(res(200, 'OK', 'BYE').build()), undefined);
  });

  test('Max-Forwards is 0..255 (RFC 3261 §20.22)', () => {
    invalid(req('OPTIONS').maxForwards(300), 'Max-Forwards', 'SIP_ERR_PARSE_MAX_FORWARDS');
    invalid(
      req('OPTIONS').without('Max-Forwards').header('Max-Forwards', 'ten'),
      'Max-Forwards',
      'SIP_ERR_PARSE_MAX_FORWARDS',
    );
    assert.equal(validateMessage(req('OPTIONS').maxForwards(0).build()), undefined);
    assert.equal(validateMessage(req('OPTIONS').without('Max-Forwards').build()), undefined);
  });

  test('Request-URI: any absolute URI, SIP URIs strictly and without headers (RFC 3261 §19.1.1)', () => {
    invalid(
      req('INVITE', 'sip:user@example.com?Route=%3Csip:example.com%3E'),
      'Request-URI',
      'SIP_ERR_PARSE_URI',
    );
    invalid(req('INVITE', 'sip:user@exa%mple.com'), 'Request-URI', 'SIP_ERR_PARSE_URI');
  });

  test('Contact, Route, Record-Route and Path must be well-formed (RFC 4475 §3.1.2.13)', () => {
    invalid(
      req('REGISTER').contact('sip:user@example.com?Route=%3Csip:sip.example.com%3E'),
      'Contact',
      'SIP_ERR_PARSE_CONTACT',
    );
    invalid(req('REGISTER').contact('*').contact('<sip:a@b>'), 'Contact', 'SIP_ERR_PARSE_CONTACT');
    invalid(req('REGISTER').contact('*;expires=0'), 'Contact', 'SIP_ERR_PARSE_CONTACT');
    invalid(
      req('REGISTER').contact('"Joe" <sip:joe@example.org>;;;;'),
      'Contact',
      'SIP_ERR_PARSE_CONTACT',
    );
    invalid(req('INVITE').route('<sip:p1;lr>,'), 'Route', 'SIP_ERR_PARSE_NAME_ADDR');
    invalid(
      res(200).header('Record-Route', 'sip:a@b?x=y'),
      'Record-Route',
      'SIP_ERR_PARSE_NAME_ADDR',
    );
    invalid(
      req('REGISTER').header('Path', '<sip:edge example.com>'),
      'Path',
      'SIP_ERR_PARSE_NAME_ADDR',
    );
  });

  test('Date must be RFC 1123 in GMT (RFC 4475 §3.1.2.12)', () => {
    invalid(
      req('INVITE').header('Date', 'Fri, 01 Jan 2010 16:00:00 EST'),
      'Date',
      'SIP_ERR_PARSE_HEADER',
    );
    assert.equal(isSipDate('Sat, 15 Oct 2005 04:44:56 GMT'), true);
    assert.equal(isSipDate('Sat, 15 Oct 2005 04:44:56 UTC'), false);
    assert.equal(isSipDate('Xyz, 15 Oct 2005 04:44:56 GMT'), false);
    assert.equal(isSipDate('Sat, 15 Oct 2005 4:44:56 GMT'), false);
  });

  test('folded headers are judged unfolded', () => {
    assert.equal(
      validateMessage(req('INVITE').without('CSeq').header('CSeq', '9\r\n INVITE').build()),
      undefined,
    );
  });
});

describe('validateMessage keeps what it parsed for the getters', () => {
  const register = () =>
    req('REGISTER', 'sip:example.com')
      .via('SIP/2.0/TCP 192.0.2.2:49210;branch=z9hG4bKnashds7;rport')
      .addVia('SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK2, SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK3')
      .from('Bob <sip:bob@example.com>;tag=7F94778B653B')
      .contact('<sip:bob@192.0.2.2:49210;transport=tcp;ob>;reg-id=1;expires=3600')
      .contact('"Second" <sip:bob@192.0.2.3>')
      .header('Path', '<sip:edge.example.com;lr;ob>')
      .route('<sip:p1.example.com;lr>, <sip:p2.example.com;lr>');

  test('the result is kept: a second call returns the same value', () => {
    const bad = req('OPTIONS').without('Call-ID').build();
    const e = validateMessage(bad);
    assert.ok(e);
    assert.equal(validateMessage(bad), e);
    const good = register().build();
    assert.equal(validateMessage(good), undefined);
    assert.equal(validateMessage(good), undefined);
  });

  test('after validation the top Via is the first of the Via list: one parse for both', () => {
    const m = register().build();
    assert.equal(validateMessage(m), undefined);
    const vias = m.vias;
    assert.ok(vias);
    assert.equal(vias.length, 3);
    assert.equal(m.topVia, vias[0]);
    assert.equal(m.vias, vias);
    assert.equal(m.viaCount, 3);
    // without validation the lazy top Via is its own, equal, object
    const lazy = register().build();
    assert.notEqual(lazy.topVia, lazy.vias?.[0]);
    assert.equal(lazy.topVia?.branch, m.topVia?.branch);
    assert.equal(lazy.topVia?.rport, m.topVia?.rport);
  });

  test('getters return the objects validation parsed, the same ones on every read', () => {
    const m = register().build();
    assert.equal(validateMessage(m), undefined);
    const reads = () => [m.from, m.to, m.cseq, m.contacts, m.routes, m.paths, m.callId];
    const first = reads();
    const again = reads();
    for (let i = 0; i < first.length; i++) assert.equal(again[i], first[i], `read ${i}`);
    assert.equal(m.fromTag, '7F94778B653B');
    assert.equal(m.from?.uriValid, true);
    assert.deepEqual(
      m.contacts?.contacts.map((c) => [c.uriText, c.displayName, c.param('reg-id')]),
      [
        ['sip:bob@192.0.2.2:49210;transport=tcp;ob', undefined, '1'],
        ['sip:bob@192.0.2.3', '"Second"', undefined],
      ],
    );
    assert.deepEqual(
      m.routes?.map((r) => r.uriText),
      ['sip:p1.example.com;lr', 'sip:p2.example.com;lr'],
    );
    assert.equal(m.addressList('route'), m.routes);
  });

  test('a getter read before validation keeps its object', () => {
    const m = register().build();
    const from = m.from;
    const top = m.topVia;
    const contacts = m.contacts;
    assert.equal(validateMessage(m), undefined);
    assert.equal(m.from, from);
    assert.equal(m.topVia, top);
    assert.equal(m.contacts, contacts);
  });

  test('validated and lazily read messages give the same values', () => {
    for (const b of [
      register(),
      register().compact(),
      req('INVITE').contact('*').header('Record-Route', '<sip:rr.example.com;lr>'),
      res(200).contact('sip:a@b;expires=0, <sip:c@d>'),
      req('BYE').to('<sip:b@h>;tag=tt').from('"A \\"q\\"" <sip:a@h>;x=1;tag=ff'),
    ]) {
      const v = b.build();
      const l = b.build();
      assert.equal(validateMessage(v), undefined, b.text());
      const values = (m: SipMessage) => ({
        vias: m.vias?.map((x) => [x.raw, x.branch, x.host, x.port, x.rport]),
        top: m.topVia?.raw,
        from: [m.from?.toString(), m.fromTag],
        to: [m.to?.toString(), m.toTag],
        callId: m.callId,
        cseq: m.cseq,
        contacts: m.contacts?.star ? '*' : m.contacts?.contacts.map((c) => c.toString()),
        routes: m.routes?.map((r) => r.toString()),
        rr: m.recordRoutes?.map((r) => r.toString()),
      });
      assert.deepEqual(values(v), values(l), b.text());
    }
  });
});
