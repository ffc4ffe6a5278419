import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isIpv4, isIpv6, isValidHost } from '../../../src/message/parse/host.js';
import {
  AbsoluteUri,
  parseSipUriStrict,
  parseUri,
  SipUri,
  TelUri,
  type Uri,
  uriScheme,
} from '../../../src/message/parse/uri.js';
import { uriEquals } from '../../../src/message/parse/uri-compare.js';
import { parseVia } from '../../../src/message/parse/via.js';

function sip(s: string): SipUri {
  const r = parseUri(s);
  assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error.message}`);
  assert.ok(r.value instanceof SipUri, `${s} is not a SIP URI`);
  return r.value;
}

function uri(s: string): Uri {
  const r = parseUri(s);
  assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error.message}`);
  return r.value;
}

function bad(s: string): void {
  const r = parseUri(s);
  assert.equal(r.ok, false, `${s} should not parse`);
  if (!r.ok) {
    assert.equal(r.error.code, 'SIP_ERR_PARSE_URI');
    assert.equal(r.error.status, 400);
  }
}

describe('parseUri', () => {
  test('user, host, port, params and headers of a SIP URI (RFC 3261 §19.1.1)', () => {
    const u = sip(
      'sip:alice@atlanta.com:5070;transport=tcp;lr?subject=project%20x&priority=urgent',
    );
    assert.equal(u.scheme, 'sip');
    assert.equal(u.user, 'alice');
    assert.equal(u.password, undefined);
    assert.equal(u.host, 'atlanta.com');
    assert.equal(u.port, 5070);
    assert.equal(u.param('transport'), 'tcp');
    assert.equal(u.transport, 'tcp');
    assert.equal(u.param('lr'), null);
    assert.equal(u.hasParam('LR'), true);
    assert.equal(u.headers, 'subject=project%20x&priority=urgent');
    assert.deepEqual(u.headerList(), [
      { name: 'subject', value: 'project x' },
      { name: 'priority', value: 'urgent' },
    ]);
    assert.equal(
      u.toString(),
      'sip:alice@atlanta.com:5070;transport=tcp;lr?subject=project%20x&priority=urgent',
    );
  });

  test('scheme is case-insensitive and sips is kept apart', () => {
    assert.equal(sip('SIP:a@b').scheme, 'sip');
    assert.equal(sip('Sips:a@b').scheme, 'sips');
    assert.equal(uriScheme('SIPS:x'), 'sips');
    assert.equal(uriScheme('nope'), undefined);
  });

  test('password in the userinfo', () => {
    const u = sip('sip:alice:secretword@atlanta.com;transport=tcp');
    assert.equal(u.user, 'alice');
    assert.equal(u.password, 'secretword');
    assert.equal(u.host, 'atlanta.com');
  });

  test('user part may hold escapes and user-unreserved characters (RFC 4475 §3.1.1.3)', () => {
    const u = sip('sip:sips%3Auser%40example.com@example.net');
    assert.equal(u.user, 'sips%3Auser%40example.com');
    assert.equal(u.unescapedUser, 'sips:user@example.com');
    assert.equal(u.host, 'example.net');
  });

  test('semicolons in the user part belong to the user (RFC 4475 §3.1.1.9)', () => {
    const u = sip('sip:user;par=u%40example.net@example.com');
    assert.equal(u.user, 'user;par=u%40example.net');
    assert.equal(u.host, 'example.com');
    assert.equal(u.params.size, 0);
  });

  test('a user with ? and , is read up to the first @ (RFC 4475 §3.1.1.2)', () => {
    const u = sip(
      "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
    );
    assert.equal(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert.equal(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert.equal(u.host, 'example.com');
    assert.equal(u.headers, undefined);
  });

  test('escaped NUL in the user part is legal (RFC 4475 §3.1.1.4)', () => {
    assert.equal(sip('sip:null-%00-null@example.com').unescapedUser, 'null-\u0000-null');
  });

  test('escaped parameter names and values (RFC 4475 §3.1.1.3)', () => {
    const u = sip('sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31');
    assert.equal(u.params.names[0], '%6C%72');
    assert.equal(u.param('n%61me'), 'v%61lue%25%34%31');
  });

  test('IPv4 host and port', () => {
    const u = sip('sip:192.0.2.4:5060');
    assert.equal(u.user, undefined);
    assert.equal(u.host, '192.0.2.4');
    assert.equal(u.port, 5060);
  });

  test('IPv6 reference host keeps its brackets; hostname drops them (RFC 5118 §4.4)', () => {
    const u = sip('sip:[2001:db8::10]:5070');
    assert.equal(u.host, '[2001:db8::10]');
    assert.equal(u.hostname, '2001:db8::10');
    assert.equal(u.port, 5070);
  });

  test('a port-like last group inside the brackets is part of the address (RFC 5118 §4.3)', () => {
    const u = sip('sip:[2001:db8::10:5070]');
    assert.equal(u.hostname, '2001:db8::10:5070');
    assert.equal(u.port, undefined);
  });

  test('IPv4-mapped IPv6 address (RFC 5118 §4.9)', () => {
    assert.equal(sip('sip:user@[::ffff:192.0.2.10]').hostname, '::ffff:192.0.2.10');
  });

  test('an IPv6 address without brackets is refused (RFC 5118 §4.2)', () => {
    bad('sip:user@2001:db8::10');
  });

  test('tel URI keeps number and parameters (RFC 3966)', () => {
    const u = uri('tel:+1-201-555-0123;phone-context=example.com');
    assert.ok(u instanceof TelUri);
    assert.equal(u.number, '+1-201-555-0123');
    assert.equal(u.params.get('phone-context'), 'example.com');
    assert.equal(u.toString(), 'tel:+1-201-555-0123;phone-context=example.com');
  });

  test('unknown schemes are kept opaque (RFC 4475 §3.3.2, §3.3.3)', () => {
    const u = uri('nobodyKnowsThisScheme:totallyopaquecontent');
    assert.ok(u instanceof AbsoluteUri);
    assert.equal(u.scheme, 'nobodyknowsthisscheme');
    assert.equal(u.isSip, false);
    assert.equal(u.toString(), 'nobodyKnowsThisScheme:totallyopaquecontent');
    assert.equal(uri('soap.beep://192.0.2.103:3002').scheme, 'soap.beep');
    assert.equal(uri('im:user@example.com').scheme, 'im');
  });

  test('malformed URIs are refused with status 400', () => {
    for (const s of [
      '',
      'sip:',
      ':user@host',
      '<sip:user@example.com>',
      'sip:user@example.com; lr',
      'sip:user@exa mple.com',
      'sip:@example.com',
      'sip:user@',
      'sip:user@host:',
      'sip:user@host:99999',
      'sip:user@host:5060x',
      'sip:user@host;',
      'sip:user@host;=x',
      'sip:user@host;lr=',
      'sip:user@host?',
      'sip:user@host?subject',
      'sip:us%zzer@host',
      'sip:user@host%41',
      'sip:user@-host.com',
      'sip:user@host-.com',
      'sip:user@host..com',
      'sip:user@192.0.2.256',
      'sip:user@[2001:db8:::1]',
      'sip:user@[2001:db8::1',
      'sip:user@[1:2:3:4:5:6:7:8:9]',
      'sip:a@b@c',
      'im:',
      'im:a b',
    ]) {
      bad(s);
    }
  });

  test('parseSipUriStrict refuses other schemes', () => {
    assert.equal(parseSipUriStrict('tel:+123').ok, false);
    assert.equal(parseSipUriStrict('sip:a@b').ok, true);
  });

  test('clone is independent', () => {
    const u = sip('sip:a@b;lr');
    const c = u.clone();
    c.params.set('ob', null);
    assert.equal(u.hasParam('ob'), false);
    assert.equal(c.toString(), 'sip:a@b;lr;ob');
  });
});

describe('isValidHost', () => {
  test('hostnames, IPv4 and IPv6 references (RFC 3261 §25.1)', () => {
    for (const h of [
      'example.com',
      'EXAMPLE.COM.',
      'a',
      'host-1.example',
      '3com.net',
      '192.0.2.1',
      '[::1]',
      '[2001:db8::9:255.255.255.255]',
    ]) {
      assert.equal(isValidHost(h), true, h);
    }
    for (const h of [
      '',
      '.',
      'a..b',
      '-a',
      'a-',
      'a_b',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '[::1',
      '[]',
      '[:1]',
      'a b',
    ]) {
      assert.equal(isValidHost(h), false, h);
    }
  });

  test('one trailing dot, numeric top labels and label edges (read in one pass)', () => {
    const good = [
      'a.',
      'a.b.',
      '1.2.3.4.',
      '255.255.255.255',
      'a1.b2',
      '1a.example',
      '0.0.0.0',
      'a-b.c',
    ];
    const bad = [
      '.',
      'a..',
      '..',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.256',
      '0001.2.3.4',
      'a.1',
      'a.-b',
      'a-.b',
      '-a',
      'a_b',
      '1..2.3.4',
      '1.2.3.4a.5',
    ];
    for (const h of good) assert.equal(isValidHost(h), true, h);
    for (const h of bad) assert.equal(isValidHost(h), false, h);
    for (const h of [...good, ...bad]) {
      // the same verdict inside a SIP URI (with port, parameters) and a Via sent-by
      assert.equal(parseUri(`sip:u@${h}:5060;lr`).ok, isValidHost(h), `sip:u@${h}`);
      assert.equal(parseVia(`SIP/2.0/UDP ${h}:5060;branch=z9hG4bK1`).ok, isValidHost(h), h);
    }
  });

  test('IPv6 text forms (RFC 4291 §2.2)', () => {
    for (const a of [
      '::',
      '::1',
      '1::',
      '2001:db8::',
      '2001:db8:0:0:0:0:2:1',
      '::ffff:192.0.2.1',
      '1:2:3:4:5:6:7::',
    ]) {
      assert.equal(isIpv6(a), true, a);
    }
    for (const a of [
      '',
      ':',
      ':::',
      '1:::2',
      '1::2::3',
      '12345::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      'g::1',
      '1:',
    ]) {
      assert.equal(isIpv6(a), false, a);
    }
  });

  test('IPv4 dotted quads', () => {
    assert.equal(isIpv4('0.0.0.0'), true);
    assert.equal(isIpv4('255.255.255.255'), true);
    assert.equal(isIpv4('1.2.3.1234'), false);
    assert.equal(isIpv4('1.2.3.'), false);
  });
});

describe('uriEquals', () => {
  // RFC 3261 §19.1.4: the URIs within each pair are equivalent
  const equivalent: [string, string][] = [
    ['sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'],
    ['sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'],
    [
      'sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com',
      'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com',
    ],
    [
      'sip:alice@atlanta.com?subject=project%20x&priority=urgent',
      'sip:alice@atlanta.com?priority=urgent&subject=project%20x',
    ],
  ];
  // RFC 3261 §19.1.4: the URIs within each pair are not equivalent
  const different: [string, string][] = [
    ['SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'],
    ['sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'],
    ['sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'],
    ['sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'],
  ];

  for (const [a, b] of equivalent) {
    test(`${a} == ${b} (RFC 3261 §19.1.4)`, () => {
      assert.equal(uriEquals(uri(a), uri(b)), true);
      assert.equal(uriEquals(uri(b), uri(a)), true);
    });
  }
  for (const [a, b] of different) {
    test(`${a} != ${b} (RFC 3261 §19.1.4)`, () => {
      assert.equal(uriEquals(uri(a), uri(b)), false);
      assert.equal(uriEquals(uri(b), uri(a)), false);
    });
  }

  test('a parameter present in both must match', () => {
    assert.equal(
      uriEquals(
        uri('sip:carol@chicago.com;security=on'),
        uri('sip:carol@chicago.com;security=off'),
      ),
      false,
    );
  });

  test('maddr, ttl, user and method must be present in both or neither', () => {
    for (const p of ['maddr=192.0.2.1', 'ttl=1', 'user=phone', 'method=INVITE']) {
      assert.equal(uriEquals(uri('sip:a@b'), uri(`sip:a@b;${p}`)), false, p);
      assert.equal(uriEquals(uri(`sip:a@b;${p}`), uri(`sip:a@b;${p}`)), true, p);
    }
  });

  test('sip and sips never match', () => {
    assert.equal(uriEquals(uri('sip:a@b'), uri('sips:a@b')), false);
  });

  test('escaped reserved characters differ from plain ones; unreserved do not', () => {
    assert.equal(uriEquals(uri('sip:a%3Bb@h'), uri('sip:a;b@h')), false);
    assert.equal(uriEquals(uri('sip:a%3bb@h'), uri('sip:a%3Bb@h')), true);
    assert.equal(uriEquals(uri('sip:%41@h'), uri('sip:A@h')), true);
  });

  test('IPv6 references compare as addresses', () => {
    assert.equal(uriEquals(uri('sip:[2001:db8::9:1]'), uri('sip:[2001:DB8:0:0:0:0:9:1]')), true);
    assert.equal(uriEquals(uri('sip:[::ffff:192.0.2.1]'), uri('sip:[::ffff:c000:201]')), true);
    assert.equal(uriEquals(uri('sip:[2001:db8::9:1]'), uri('sip:[2001:db8::9:2]')), false);
  });

  test('different URI kinds never match; tel numbers ignore visual separators', () => {
    assert.equal(uriEquals(uri('sip:a@b'), uri('tel:+1234')), false);
    assert.equal(uriEquals(uri('tel:+1-234'), uri('tel:+1234')), true);
    assert.equal(uriEquals(uri('im:a@b'), uri('IM:a@b')), true);
    assert.equal(uriEquals(uri('im:a@b'), uri('im:A@b')), false);
  });
});
