import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type ContactList,
  contactExpires,
  contactHasOb,
  contactInstance,
  contactQ,
  contactRegId,
  parseContactValues,
} from '../../../src/message/parse/contact.js';
import { parseCSeq, parseUint } from '../../../src/message/parse/cseq.js';
import type { NameAddr } from '../../../src/message/parse/name-addr.js';

describe('parseCSeq', () => {
  test('number and method, LWS and folding between them (RFC 3261 §20.16)', () => {
    assert.deepEqual(parseCSeq('4711 INVITE'), {
      ok: true,
      value: { seq: 4711, method: 'INVITE' },
    });
    assert.deepEqual(parseCSeq(' 0009\r\n  INVITE '), {
      ok: true,
      value: { seq: 9, method: 'INVITE' },
    });
  });

  test('the largest 32-bit number is accepted, larger ones are not (RFC 3261 §20.16, RFC 4475 §3.1.2.4)', () => {
    const r = parseCSeq('4294967295 REGISTER');
    assert.ok(r.ok);
    assert.equal(r.value.seq, 4294967295);
    for (const s of [
      '4294967296 REGISTER',
      '36893488147419103232 REGISTER',
      '9292394834772304023312 OPTIONS',
    ]) {
      const e = parseCSeq(s);
      assert.equal(e.ok, false, s);
      if (!e.ok) {
        assert.equal(e.error.code, 'SIP_ERR_PARSE_CSEQ');
        assert.equal(e.error.status, 400);
      }
    }
  });

  test('malformed values', () => {
    for (const s of [
      '',
      'INVITE',
      '1',
      '1INVITE',
      '1 INVITE x',
      '-1 INVITE',
      '1 INV@TE',
      'x1 INVITE',
    ]) {
      assert.equal(parseCSeq(s).ok, false, s);
    }
  });
});

describe('parseUint', () => {
  test('1*DIGIT with LWS around, a maximum, 10 digits at most', () => {
    assert.equal(parseUint(' 0068 ', 255), 68);
    assert.equal(parseUint('256', 255), undefined);
    assert.equal(parseUint('4294967295'), 4294967295);
    assert.equal(parseUint('4294967296'), undefined);
    assert.equal(parseUint('10000000000000'), undefined);
    assert.equal(parseUint(''), undefined);
    assert.equal(parseUint('-1'), undefined);
    assert.equal(parseUint('1 2'), undefined);
  });
});

function list(...values: string[]): ContactList {
  const r = parseContactValues(values);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.value;
}

function first(...values: string[]): NameAddr {
  const l = list(...values);
  assert.equal(l.star, false);
  const c = l.contacts[0];
  assert.ok(c);
  return c;
}

describe('parseContactValues', () => {
  test('several values and several header fields, in order (RFC 3261 §20.10)', () => {
    const l = list('<sip:a@h1>;q=0.7, "B" <sip:b@h2>', 'sip:c@h3;expires=60');
    assert.equal(l.star, false);
    assert.deepEqual(
      l.contacts.map((c) => c.uriText),
      ['sip:a@h1', 'sip:b@h2', 'sip:c@h3'],
    );
  });

  test('* alone is the wildcard; mixed with addresses it is an error (RFC 3261 §10.2.2)', () => {
    assert.deepEqual(list(' * '), { star: true, contacts: [] });
    for (const v of [['*', '<sip:a@b>'], ['*, <sip:a@b>']]) {
      const r = parseContactValues(v);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.error.field, 'Contact');
        assert.equal(r.error.status, 400);
      }
    }
  });

  test('URI syntax is checked, the URI with ? must be in <> (RFC 4475 §3.1.2.13)', () => {
    assert.equal(
      parseContactValues(['sip:user@example.com?Route=%3Csip:sip.example.com%3E']).ok,
      false,
    );
    assert.equal(parseContactValues(['<sip:user@exa mple.com>']).ok, false);
    assert.equal(parseContactValues(['<sip:a@b>,']).ok, false);
  });

  test('an escaped Route header inside the URI is visible to the registrar (RFC 4475 §3.3.14)', () => {
    const u = first('<sip:user@example.com?Route=%3Csip:sip.example.com%3E>').uri;
    assert.ok('headerList' in u);
    assert.deepEqual(u.headerList(), [{ name: 'Route', value: '<sip:sip.example.com>' }]);
  });
});

describe('contact helpers', () => {
  test('expires: delta-seconds, NaN when malformed or over 2^32-1 (RFC 3261 §20.10)', () => {
    assert.equal(contactExpires(first('<sip:a@b>;expires=3600')), 3600);
    assert.equal(contactExpires(first('<sip:a@b>;expires=0')), 0);
    assert.equal(contactExpires(first('<sip:a@b>')), undefined);
    assert.ok(Number.isNaN(contactExpires(first('<sip:a@b>;expires=280297596632815'))));
    assert.ok(Number.isNaN(contactExpires(first('<sip:a@b>;expires=soon'))));
    assert.ok(Number.isNaN(contactExpires(first('<sip:a@b>;expires'))));
  });

  test('q in thousandths (RFC 3261 §25.1 qvalue)', () => {
    assert.equal(contactQ(first('<sip:a@b>;q=0.33')), 330);
    assert.equal(contactQ(first('<sip:a@b>;q=1')), 1000);
    assert.equal(contactQ(first('<sip:a@b>;q=1.000')), 1000);
    assert.equal(contactQ(first('<sip:a@b>;q=0')), 0);
    assert.equal(contactQ(first('<sip:a@b>')), undefined);
    for (const q of ['1.1', '0.1234', '2', '.5', 'x'])
      assert.ok(Number.isNaN(contactQ(first(`<sip:a@b>;q=${q}`))), q);
  });

  test('reg-id is 1..2^31-1 (RFC 5626 §4.2)', () => {
    assert.equal(contactRegId(first('<sip:a@b>;reg-id=1')), 1);
    assert.equal(contactRegId(first('<sip:a@b>;reg-id=2147483647')), 2147483647);
    assert.equal(contactRegId(first('<sip:a@b>')), undefined);
    for (const v of ['0', '2147483648', 'x', ''])
      assert.ok(Number.isNaN(contactRegId(first(`<sip:a@b>;reg-id=${v}`))), v);
    assert.ok(Number.isNaN(contactRegId(first('<sip:a@b>;reg-id'))));
  });

  test('+sip.instance without its quotes (RFC 5626 §4.1)', () => {
    const c = first(
      '<sip:bob@192.0.2.2;ob>;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1',
    );
    assert.equal(contactInstance(c), '<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>');
    assert.equal(contactInstance(first('<sip:a@b>')), undefined);
  });

  test('ob counts only as a URI parameter (RFC 5626 §5.4)', () => {
    assert.equal(contactHasOb(first('<sip:a@b;ob>')), true);
    assert.equal(contactHasOb(first('<sip:a@b>;ob')), false);
    assert.equal(contactHasOb(first('<tel:+123;ob>')), false);
  });
});
