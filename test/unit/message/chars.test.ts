import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bytesOf,
  canonicalEscapes,
  isAlnum,
  isLws,
  isToken,
  isValueEnd,
  LWS,
  matchLower,
  percentDecode,
  quote,
  readUint,
  scanQuoted,
  TOKEN,
  unquote,
  VALUE_END,
} from '../../../src/message/parse/chars.js';

describe('chars', () => {
  test('quote and unquote are inverse; quoted-pairs escape " and \\ (RFC 3261 §25.1)', () => {
    for (const t of ['', 'plain', 'with "quotes"', 'back\\slash', 'J Rosenberg \\"']) {
      assert.equal(unquote(quote(t)), t);
    }
    assert.equal(quote('a"b\\c'), '"a\\"b\\\\c"');
    assert.equal(unquote('not quoted'), 'not quoted');
    assert.equal(unquote('"unterminated'), '"unterminated');
  });

  test('scanQuoted stops after the closing quote; unterminated or CR/LF after \\ is -1', () => {
    const s = '"a\\"b" rest';
    assert.equal(scanQuoted(bytesOf(s), 0, s.length), 6);
    assert.equal(scanQuoted(bytesOf('"abc'), 0, 4), -1);
    assert.equal(scanQuoted(bytesOf('"a\\\r\n"'), 0, 6), -1);
  });

  test('percentDecode decodes %XX and refuses broken escapes (RFC 3261 §19.1.2)', () => {
    assert.equal(percentDecode('I%20have%20spaces'), 'I have spaces');
    assert.equal(percentDecode('%6c%6C'), 'll');
    assert.equal(percentDecode('no escapes'), 'no escapes');
    assert.equal(percentDecode('%zz'), undefined);
    assert.equal(percentDecode('%4'), undefined);
  });

  test('canonicalEscapes decodes unreserved characters, keeps reserved ones escaped (RFC 3261 §19.1.4)', () => {
    assert.equal(canonicalEscapes('%61lice'), 'alice');
    assert.equal(canonicalEscapes('a%3bb'), 'a%3Bb');
    assert.equal(canonicalEscapes('a%40b%zz'), 'a%40b%zz');
  });

  test('matchLower folds ASCII letters only', () => {
    assert.equal(matchLower(bytesOf('Call-ID'), 0, 7, 'call-id'), true);
    assert.equal(matchLower(bytesOf('Call\rID'), 0, 7, 'call-id'), false);
    assert.equal(matchLower(bytesOf('Via'), 0, 3, 'vias'), false);
  });

  test('readUint reads 1 to 10 digits', () => {
    assert.equal(readUint(bytesOf('0042'), 0, 4), 42);
    assert.equal(readUint(bytesOf(''), 0, 0), -1);
    assert.equal(readUint(bytesOf('12345678901'), 0, 11), -1);
    assert.equal(readUint(bytesOf('1a'), 0, 2), -1);
  });

  test('the predicates of the hot loops agree with the tables for every byte', () => {
    for (let c = 0; c < 256; c++) {
      const ch = c.toString(16);
      assert.equal(isToken(c), TOKEN[c] === 1, `token 0x${ch}`);
      assert.equal(isValueEnd(c), VALUE_END[c] === 1, `value end 0x${ch}`);
      assert.equal(isLws(c), LWS[c] === 1, `LWS 0x${ch}`);
      assert.equal(isAlnum(c), /[0-9A-Za-z]/.test(String.fromCharCode(c)), `alnum 0x${ch}`);
    }
  });
});
