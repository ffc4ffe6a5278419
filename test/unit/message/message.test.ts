import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Hdr } from '../../../src/message/constants.js';
import { SipRequest } from '../../../src/message/message.js';
import { SipUri, TelUri } from '../../../src/message/parse/uri.js';
import { parse, req, res } from '../../support/msg.js';

describe('SipMessage headers', () => {
  const m = parse(
    [
      'INVITE sip:bob@example.com SIP/2.0',
      'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, SIP/2.0/TCP b.example.com;branch=z9hG4bK2',
      'v: SIP/2.0/UDP c.example.com;branch=z9hG4bK3',
      'X-Custom: one',
      'x-custom: two, three',
      'Allow: INVITE, ACK,',
      '  BYE',
      'Call-ID: abc@h',
      '',
      '',
    ].join('\r\n'),
  );

  test('indexOf / indexesOf by id, canonical name, any case, compact form', () => {
    assert.equal(m.indexOf(Hdr.Via), 0);
    assert.equal(m.indexOf('via'), 0);
    assert.equal(m.indexOf('V'), 0);
    assert.equal(m.indexOf(Hdr.Via, 1), 1);
    assert.deepEqual(m.indexesOf('Via'), [0, 1]);
    assert.deepEqual(m.indexesOf('X-CUSTOM'), [2, 3]);
    assert.equal(m.indexOf('X-Other'), -1);
    assert.equal(m.indexOf('i'), 5);
    assert.equal(m.hasHeader('call-id'), true);
    assert.equal(m.hasHeader(Hdr.Route), false);
  });

  test('getHeader / getHeaders: one value per header field, unfolded', () => {
    assert.equal(m.getHeader('x-custom'), 'one');
    assert.deepEqual(m.getHeaders('X-Custom'), ['one', 'two, three']);
    assert.equal(m.getHeader(Hdr.Allow), 'INVITE, ACK, BYE');
    assert.equal(m.getHeader('Nope'), undefined);
    assert.equal(m.headerNameAt(1), 'v');
  });

  test('getValues splits list headers only (RFC 3261 §7.3.1)', () => {
    assert.deepEqual(m.getValues(Hdr.Allow), ['INVITE', 'ACK', 'BYE']);
    assert.equal(m.getValues('Via').length, 3);
    assert.deepEqual(m.getValues('X-Custom'), ['one', 'two, three']);
  });

  test('topVia reads only the first value; vias and viaCount see them all', () => {
    assert.equal(m.topVia?.host, 'a.example.com');
    assert.equal(m.topVia?.branch, 'z9hG4bK1');
    assert.deepEqual(
      m.vias?.map((v) => v.branch),
      ['z9hG4bK1', 'z9hG4bK2', 'z9hG4bK3'],
    );
    assert.equal(m.viaCount, 3);
  });

  test('bytes and toString without leading CRLF', () => {
    assert.ok(m.toString().startsWith('INVITE sip:bob@example.com SIP/2.0\r\n'));
    assert.equal(m.bytes.length, m.toString().length);
  });
});

describe('SipMessage typed getters', () => {
  test('From, To, tags, Call-ID, CSeq, Max-Forwards (RFC 3261 §8.1.1)', () => {
    const m = req('INVITE')
      .from('"Alice" <sip:alice@atlanta.com>;tag=1928301774')
      .to('Bob <sip:bob@biloxi.com>')
      .callId('a84b4c76e66710@pc33.atlanta.com')
      .cseq(314159)
      .maxForwards(0)
      .build();
    assert.equal(m.from?.displayText, 'Alice');
    assert.equal(m.from?.tag, '1928301774');
    assert.equal(m.fromTag, '1928301774');
    assert.equal(m.to?.displayName, 'Bob');
    assert.equal(m.toTag, undefined);
    assert.equal(m.callId, 'a84b4c76e66710@pc33.atlanta.com');
    assert.deepEqual(m.cseq, { seq: 314159, method: 'INVITE' });
    assert.equal(m.cseqMethod, 'INVITE');
    assert.equal(m.maxForwards, 0);
  });

  test('tags read the same whether from the fast path or after parsing the header', () => {
    const m = req('BYE').to('<sip:b@h>;tag=tt').build();
    assert.equal(m.to?.tag, 'tt');
    assert.equal(m.toTag, 'tt');
    const m2 = req('BYE').to('<sip:b@h>;tag=tt').build();
    assert.equal(m2.toTag, 'tt');
    assert.equal(m2.to?.tag, 'tt');
  });

  test('compact headers read like full ones (RFC 3261 §7.3.3)', () => {
    const m = req('REGISTER').contact('<sip:a@192.0.2.1>').compact().build();
    assert.equal(m.headerNameAt(0), 'v');
    assert.ok(m.topVia?.branch?.startsWith('z9hG4bK'));
    assert.ok(m.fromTag);
    assert.ok(m.callId);
    assert.equal(m.contacts?.star, false);
    assert.equal(m.contentLength, 0);
  });

  test('numbers: absent is undefined, malformed is NaN', () => {
    const m = req('REGISTER')
      .maxForwards(70)
      .header('Expires', '3600')
      .header('Flow-Timer', '25')
      .build();
    assert.equal(m.maxForwards, 70);
    assert.equal(m.expires, 3600);
    assert.equal(m.flowTimer, 25);
    const bad = req('REGISTER')
      .without('Max-Forwards')
      .header('Expires', '10000000000000')
      .header('Flow-Timer', 'x')
      .header('Max-Forwards', '300')
      .build();
    assert.ok(Number.isNaN(bad.maxForwards));
    assert.ok(Number.isNaN(bad.expires));
    assert.ok(Number.isNaN(bad.flowTimer));
    const none = req('REGISTER').without('Max-Forwards').build();
    assert.equal(none.maxForwards, undefined);
    assert.equal(none.expires, undefined);
    assert.equal(none.flowTimer, undefined);
  });

  test('contacts: RFC 5626 REGISTER with reg-id and +sip.instance', () => {
    const m = req('REGISTER', 'sip:example.com')
      .contact(
        '<sip:bob@192.0.2.2:49210;transport=tcp;ob>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";expires=3600',
      )
      .header('Supported', 'path, outbound')
      .build();
    const c = m.contacts;
    assert.ok(c && !c.star);
    assert.equal(c.contacts.length, 1);
    const first = c.contacts[0];
    assert.ok(first);
    assert.equal(first.param('reg-id'), '1');
    assert.equal(first.param('+sip.instance'), '"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"');
    assert.equal(first.param('expires'), '3600');
    const u = first.uri;
    assert.ok(u instanceof SipUri);
    assert.equal(u.port, 49210);
    assert.equal(u.hasParam('ob'), true);
    assert.deepEqual(m.optionTags('Supported'), ['path', 'outbound']);
    assert.equal(m.hasOptionTag(Hdr.Supported, 'OUTBOUND'), true);
  });

  test('contacts: several values and header fields, star, malformed', () => {
    const m = req('REGISTER')
      .contact('<sip:a@h1>, <sip:b@h2>')
      .contact('sip:c@h3;expires=0')
      .build();
    assert.deepEqual(
      m.contacts?.contacts.map((c) => c.uriText),
      ['sip:a@h1', 'sip:b@h2', 'sip:c@h3'],
    );
    assert.deepEqual(req('REGISTER').contact('*').build().contacts, { star: true, contacts: [] });
    assert.equal(req('REGISTER').contact('*, <sip:a@b>').build().contacts, undefined);
    assert.equal(req('REGISTER').contact('*;expires=0').build().contacts, undefined);
    assert.equal(req('REGISTER').contact('*;expires=0, *').build().contacts, undefined);
    assert.equal(req('REGISTER').contact('<sip:a@b').build().contacts, undefined);
    assert.equal(req('REGISTER').build().contacts, undefined);
  });

  test('contacts: one <URI> value is read up to its > only; broken ones give undefined', () => {
    const one = req('REGISTER').contact('<sip:a@b;ob>;expires=60;;junk').build().contacts;
    assert.ok(one && !one.star);
    assert.equal(one.contacts[0]?.uriText, 'sip:a@b;ob');
    assert.equal(one.contacts[0]?.displayName, undefined);
    assert.equal(one.contacts[0]?.param('expires'), '60');
    for (const v of ['<>', '<sip:a@b', '<sip:a@b>>']) {
      const c = req('REGISTER').contact(v).build().contacts;
      if (v === '<sip:a@b>>') assert.equal(c?.contacts[0]?.uriText, 'sip:a@b');
      else assert.equal(c, undefined, v);
    }
    // a comma anywhere sends the value through the list parser, which checks the parameters
    assert.equal(req('REGISTER').contact('<sip:a@b>;;, <sip:c@d>').build().contacts, undefined);
  });

  test('a folded Contact reads like an unfolded one (RFC 4475 §3.1.1.1)', () => {
    const m = req('INVITE')
      .contact(
        '"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =\r\n      newvalue ;\r\n  secondparam ; q = 0.33',
      )
      .build();
    const c = m.contacts?.contacts[0];
    assert.equal(c?.param('newparam'), 'newvalue');
    assert.equal(c?.param('secondparam'), null);
    assert.equal(c?.param('q'), '0.33');
    assert.equal(c?.displayText, 'Quoted string ""');
  });

  test('Route, Record-Route and Path lists in order (RFC 3261 §20.30, §20.34; RFC 3327 §4)', () => {
    const m = req('INVITE')
      .route('<sip:p1.example.com;lr>, <sip:p2.example.com;lr>')
      .route('<sip:p3.example.com;lr>')
      .header('Record-Route', '<sip:rr.example.com;lr>')
      .header('Path', '<sip:edge.example.com;lr;ob>')
      .build();
    assert.deepEqual(
      m.routes?.map((r) => r.uriText),
      ['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com;lr'],
    );
    assert.equal(m.recordRoutes?.length, 1);
    const p = m.paths?.[0]?.uri;
    assert.ok(p instanceof SipUri);
    assert.equal(p.hasParam('ob'), true);
    assert.deepEqual(m.addressList('X-None'), []);
    assert.equal(req('INVITE').route('<sip:a@b>,,<sip:c@d>').build().routes, undefined);
  });

  test('Proxy-Require option tags are listed as written, lower-cased (RFC 4475 §3.3.5)', () => {
    const m = req('OPTIONS')
      .header('Proxy-Require', 'noProxiesSupportThis, norDoAnyProxiesSupportThis')
      .build();
    assert.deepEqual(m.optionTags(Hdr.ProxyRequire), [
      'noproxiessupportthis',
      'nordoanyproxiessupportthis',
    ]);
    assert.equal(m.hasOptionTag('proxy-require', 'NoProxiesSupportThis'), true);
    assert.deepEqual(m.optionTags(Hdr.Require), []);
  });

  test('Request-URI: parsed lazily, schemes told apart', () => {
    assert.ok(req('OPTIONS', 'sip:a@b;lr').build().ruri instanceof SipUri);
    assert.ok(req('OPTIONS', 'tel:+12025550123').build().ruri instanceof TelUri);
    assert.equal(
      req('OPTIONS', 'nobodyKnowsThisScheme:x').build().ruri?.scheme,
      'nobodyknowsthisscheme',
    );
  });

  test('responses: status, reason, CSeq method', () => {
    const m = res(486, 'Busy Here', 'INVITE').build();
    assert.equal(m.status, 486);
    assert.equal(m.reason, 'Busy Here');
    assert.equal(m.cseqMethod, 'INVITE');
    assert.ok(m.toTag);
  });

  test('a message constructed directly (not scanned) finds its headers itself', () => {
    const m = req('INVITE').contact('<sip:a@192.0.2.1>').build();
    const copy = new SipRequest(
      m.buf,
      m.raw,
      [...m.hdr],
      m.startLineStart,
      m.headersStart,
      m.headersEnd,
      m.bodyStart,
      m.bodyEnd,
      m.method,
      m.uri,
      m.version,
      m.folded,
    );
    assert.equal(copy.topVia?.branch, m.topVia?.branch);
    assert.equal(copy.fromTag, m.fromTag);
    assert.equal(copy.toTag, m.toTag);
    assert.equal(copy.callId, m.callId);
    assert.deepEqual(copy.cseq, m.cseq);
    assert.equal(copy.contacts?.contacts[0]?.uriText, 'sip:a@192.0.2.1');
  });

  test('malformed headers give undefined, not an exception', () => {
    const m = req('INVITE')
      .without('Via')
      .header('Via', 'garbage')
      .without('From')
      .header('From', '"x')
      .without('CSeq')
      .header('CSeq', 'x')
      .build();
    assert.equal(m.topVia, undefined);
    assert.equal(m.vias, undefined);
    assert.equal(m.from, undefined);
    assert.equal(m.fromTag, undefined);
    assert.equal(m.cseq, undefined);
  });
});
