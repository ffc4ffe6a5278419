import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesOf } from '../../../src/message/parse/chars.js';
import {
  displayNameText,
  formatNameAddr,
  type NameAddr,
  nameAddrTag,
  parseNameAddr,
  parseNameAddrAt,
  parseNameAddrList,
} from '../../../src/message/parse/name-addr.js';
import { AbsoluteUri, SipUri } from '../../../src/message/parse/uri.js';

function na(s: string): NameAddr {
  const r = parseNameAddr(s, 'To');
  assert.ok(r.ok, `${s}: ${r.ok ? '' : r.error.message}`);
  return r.value;
}

function bad(s: string, detail?: RegExp): void {
  const r = parseNameAddr(s, 'To');
  assert.equal(r.ok, false, `${s} should not parse`);
  if (!r.ok) {
    assert.equal(r.error.field, 'To');
    assert.equal(r.error.status, 400);
    if (detail) assert.match(r.error.detail, detail);
  }
}

describe('parseNameAddr', () => {
  test('quoted display name, URI in <>, header params (RFC 3261 §20.10)', () => {
    const a = na(
      '"Mr. Watson" <sip:watson@worcester.bell-telephone.com;transport=tcp>;tag=as83;q=0.7',
    );
    assert.equal(a.displayName, '"Mr. Watson"');
    assert.equal(a.displayText, 'Mr. Watson');
    assert.equal(displayNameText(a), 'Mr. Watson');
    assert.equal(a.uriText, 'sip:watson@worcester.bell-telephone.com;transport=tcp');
    assert.equal(a.angle, true);
    assert.equal(a.tag, 'as83');
    assert.equal(a.param('Q'), '0.7');
    assert.deepEqual(a.params.names, ['tag', 'q']);
    const u = a.uri;
    assert.ok(u instanceof SipUri);
    assert.equal(u.param('transport'), 'tcp');
    assert.equal(u.params.has('tag'), false);
  });

  test('params after a bare addr-spec belong to the header, not the URI (RFC 3261 §20.10)', () => {
    const a = na('sip:+19725552222@gw1.example.net;unknownparam;tag=x');
    assert.equal(a.angle, false);
    assert.equal(a.uriText, 'sip:+19725552222@gw1.example.net');
    assert.equal(a.param('unknownparam'), null);
    assert.equal(a.tag, 'x');
    const u = a.uri;
    assert.ok(u instanceof SipUri);
    assert.equal(u.params.size, 0);
  });

  test('params inside <> belong to the URI (RFC 4475 §3.3.13)', () => {
    const a = na('<sip:+19725552222@gw1.example.net;unknownparam>');
    assert.equal(a.params.size, 0);
    const u = a.uri;
    assert.ok(u instanceof SipUri);
    assert.equal(u.param('unknownparam'), null);
  });

  test('token display names, with or without LWS before < (RFC 4475 §3.1.1.6)', () => {
    assert.equal(na('caller<sip:caller@example.com>;tag=323').displayName, 'caller');
    assert.equal(na('A. Bell <sip:a.g.bell@bell-tel.com>').displayName, 'A. Bell');
    assert.equal(
      na("token1~` token2'+_ token3*%!.- <sip:mundane@example.com>").displayName,
      "token1~` token2'+_ token3*%!.-",
    );
  });

  test('quoted display names with escapes (RFC 4475 §3.1.1.1)', () => {
    const a = na('"J Rosenberg \\\\\\""       <sip:jdrosen@example.com>\r\n  ;\r\n  tag = 98asjd8');
    assert.equal(a.displayText, 'J Rosenberg \\"');
    assert.equal(a.tag, '98asjd8');
  });

  test('LWS before params of an addr-spec (RFC 4475 §3.1.1.1)', () => {
    const a = na('sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n');
    assert.equal(a.uriText, 'sip:vivekg@chair-dnrc.example.com');
    assert.equal(a.tag, '1918181833n');
  });

  test('unknown URI schemes are kept (RFC 4475 §3.3.4)', () => {
    assert.equal(na('isbn:2983792873').uri.scheme, 'isbn');
    assert.equal(na('<http://www.example.com>;tag=3234233').uri.scheme, 'http');
  });

  test('a Contact without <> may carry +sip.instance with <> inside quotes (RFC 5626 §4.1)', () => {
    const a = na(
      'sip:bob@192.0.2.2;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1',
    );
    assert.equal(a.uriText, 'sip:bob@192.0.2.2');
    assert.equal(a.param('+sip.instance'), '"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"');
  });

  test('unterminated quoted display name (RFC 4475 §3.1.2.6)', () => {
    bad('"Mr. J. User <sip:j.user@example.com>', /unterminated/);
  });

  test('spaces inside <> (RFC 4475 §3.1.2.14)', () => {
    bad('"Watson, Thomas" < sip:t.watson@example.org >', /bad URI/);
  });

  test('non-token characters in an unquoted display name (RFC 4475 §3.1.2.15)', () => {
    bad('Bell, Alexander <sip:a.g.bell@example.com>;tag=43', /display name/);
  });

  test('a URI with ? must be in <> (RFC 4475 §3.1.2.13)', () => {
    bad('sip:user@example.com?Route=%3Csip:sip.example.com%3E', /enclosed/);
  });

  test('other malformed values', () => {
    bad('');
    bad('<sip:a@b');
    bad('<>');
    bad('"x" sip:a@b');
    bad('<sip:a@b>;;');
    bad('<sip:a@b> junk');
    bad('<sip:a@b>, <sip:c@d>', /','/);
    bad('<sip:a@exa mple.com>');
  });

  test('the lax parse checks structure but leaves the URI to first use', () => {
    const s = '<sip:a@exa%zzmple.com>;tag=1';
    const r = parseNameAddrAt(bytesOf(s), s, 'Contact', 0, s.length, false);
    assert.ok(r.ok);
    assert.equal(r.value.tag, '1');
    assert.equal(r.value.uriValid, false);
    assert.ok(r.value.uri instanceof AbsoluteUri);
    assert.equal(r.value.uri.scheme, '');
  });

  test('formatNameAddr writes angle brackets', () => {
    assert.equal(formatNameAddr(na('sip:a@b;tag=1')), '<sip:a@b>;tag=1');
    assert.equal(na('"A" <sip:a@b>').toString(), '"A" <sip:a@b>');
  });
});

describe('parseNameAddrList', () => {
  test('reads every element of a list in one pass (RFC 3261 §7.3.1)', () => {
    const s = '<sip:p1.example.com;lr>, "X, Y" <sip:p2.example.com;lr>;a=b,sip:p3.example.com;c';
    const out: NameAddr[] = [];
    assert.equal(parseNameAddrList(bytesOf(s), s, 'Route', 0, s.length, out), undefined);
    assert.deepEqual(
      out.map((a) => a.uriText),
      ['sip:p1.example.com;lr', 'sip:p2.example.com;lr', 'sip:p3.example.com'],
    );
    assert.equal(out[1]?.param('a'), 'b');
    assert.equal(out[2]?.param('c'), null);
  });

  test('empty elements are errors', () => {
    for (const s of ['<sip:a@b>,', ',<sip:a@b>', '<sip:a@b>,,<sip:c@d>']) {
      assert.notEqual(parseNameAddrList(bytesOf(s), s, 'Route', 0, s.length, []), undefined, s);
    }
  });
});

describe('NameAddr.tag', () => {
  test("reads like param('tag') whatever the spelling", () => {
    const cases: [string, string | undefined][] = [
      ['<sip:a@b>;tag=1', '1'],
      ['<sip:a@b>;TAG=2', '2'],
      ['<sip:a@b> ; tag = 3', '3'],
      ['<sip:a@b>;x=y;tag=4', '4'],
      ['<sip:a@b>;tag=5;tag=6', '5'],
      ['<sip:a@b>;tag="7"', '"7"'],
      ['<sip:a@b>;tag', undefined],
      ['<sip:a@b;tag=uri>', undefined],
      ['sip:a@b;tag=8', '8'],
    ];
    for (const [v, tag] of cases) {
      const a = na(v);
      assert.equal(a.tag, tag, v);
      assert.equal(a.tag, typeof a.param('tag') === 'string' ? a.param('tag') : undefined, v);
      // once the parameter list is built, the same
      assert.ok(a.params.size >= 0);
      assert.equal(a.tag, tag, v);
    }
  });
});

describe('nameAddrTag', () => {
  test('finds the tag without parsing the URI', () => {
    const cases: [string, string | undefined][] = [
      ['Bob <sip:bob@example.com>;tag=7F94778B653B', '7F94778B653B'],
      ['<sip:bob@example.com;tag=uri-param>;tag=hdr', 'hdr'],
      ['<sip:bob@example.com;tag=uri-param>', undefined],
      ['"a;tag=no" <sip:a@b>;x=1;TAG=yes', 'yes'],
      ['sip:a@b;tag=bare', 'bare'],
      ['sip:a@b ; tag = spaced', 'spaced'],
      ['sip:a@b', undefined],
      ['<sip:a@b', undefined],
    ];
    for (const [s, tag] of cases) assert.equal(nameAddrTag(bytesOf(s), s, 0, s.length), tag, s);
  });
});
