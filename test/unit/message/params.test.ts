import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bytesOf } from '../../../src/message/parse/chars.js';
import { findParam, Params, paramsEnd, parseParams } from '../../../src/message/parse/params.js';
import { splitComma, splitCommaOffsets } from '../../../src/message/parse/split.js';

describe('parseParams', () => {
  test('names keep their spelling and order; lookups ignore case (RFC 3261 §7.3.1)', () => {
    const { params, end, bad } = parseParams(';Tag=abc;lr;Expires=60');
    assert.equal(bad, false);
    assert.equal(end, 22);
    assert.deepEqual(params.names, ['Tag', 'lr', 'Expires']);
    assert.deepEqual(params.values, ['abc', null, '60']);
    assert.equal(params.get('tag'), 'abc');
    assert.equal(params.get('TAG'), 'abc');
    assert.equal(params.get('lr'), null);
    assert.equal(params.get('nope'), undefined);
    assert.equal(params.toString(), ';Tag=abc;lr;Expires=60');
  });

  test('LWS around SEMI and EQUAL is allowed (RFC 3261 §25.1)', () => {
    const { params, bad } = parseParams(' ;   tag    = 1918181833n ;\r\n  x');
    assert.equal(bad, false);
    assert.equal(params.get('tag'), '1918181833n');
    assert.equal(params.get('x'), null);
  });

  test('quoted values keep their quotes and may hold ; , and escaped quotes', () => {
    const { params, bad } = parseParams(
      ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";m="a;b, \\"c\\""',
    );
    assert.equal(bad, false);
    assert.equal(params.get('+sip.instance'), '"<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"');
    assert.equal(params.get('m'), '"a;b, \\"c\\""');
  });

  test('an IPv6 reference value', () => {
    assert.equal(parseParams(';maddr=[2001:db8::1]').params.get('maddr'), '[2001:db8::1]');
  });

  test('stops before a comma (the next list element)', () => {
    const s = ';a=1 , <sip:x>';
    const r = parseParams(s);
    assert.equal(r.bad, false);
    assert.equal(s[r.end], ',');
  });

  test('empty names and unterminated quotes are malformed (RFC 4475 §3.1.2.1)', () => {
    assert.equal(parseParams(';;').bad, true);
    assert.equal(parseParams(';=x').bad, true);
    assert.equal(parseParams(';a="x').bad, true);
    assert.equal(parseParams(';a@b=1').params.size, 1);
    assert.equal(paramsEnd(bytesOf(';a@b=1'), 0, 6), 2);
  });

  test('an empty value is tolerated and reads as the empty string', () => {
    assert.equal(parseParams(';reg-id=').params.get('reg-id'), '');
  });

  test('findParam reads one parameter without building the list', () => {
    const s = ';a=1;Tag=xyz;q="0.5"';
    const b = bytesOf(s);
    assert.equal(findParam(b, s, 0, s.length, 'tag'), 'xyz');
    assert.equal(findParam(b, s, 0, s.length, 'TAG'), 'xyz');
    assert.equal(findParam(b, s, 0, s.length, 'q'), '"0.5"');
    assert.equal(findParam(b, s, 0, s.length, 'z'), undefined);
  });
});

describe('Params', () => {
  test('set keeps the position, delete removes, clone is independent', () => {
    const p = new Params();
    p.set('a', '1');
    p.set('b', null);
    p.set('A', '2');
    assert.equal(p.toString(), ';a=2;b');
    const c = p.clone();
    assert.equal(c.delete('B'), true);
    assert.equal(c.delete('b'), false);
    assert.equal(c.toString(), ';a=2');
    assert.equal(p.size, 2);
    assert.equal(p.has('b'), true);
  });
});

describe('splitCommaOffsets', () => {
  test('commas inside quotes, escaped quotes and <> do not split (RFC 3261 §7.3.1)', () => {
    const v = '"Doe, John \\"JD\\"" <sip:a@b;x=1,2>;p="q,r", <sip:c@d> ,sip:e@f';
    assert.deepEqual(splitComma(v), [
      '"Doe, John \\"JD\\"" <sip:a@b;x=1,2>;p="q,r"',
      '<sip:c@d>',
      'sip:e@f',
    ]);
  });

  test('a quote inside <> does not start a quoted string', () => {
    assert.deepEqual(splitComma('<sip:a"b@c>, <sip:d@e>'), ['<sip:a"b@c>', '<sip:d@e>']);
  });

  test('empty elements are dropped, or kept as empty ranges on request', () => {
    assert.deepEqual(splitComma(' a ,, b ,'), ['a', 'b']);
    assert.deepEqual(splitCommaOffsets('a,,b', 0, 4, true), [0, 1, 2, 2, 3, 4]);
  });

  test('an unterminated quote ends the scan without hanging', () => {
    assert.deepEqual(splitComma('"abc, def'), ['"abc, def']);
  });
});
