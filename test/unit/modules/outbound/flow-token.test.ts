import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  canonicalIp,
  decodeFlowToken,
  encodeFlowToken,
  flowTokenKey,
} from '../../../../src/modules/outbound/flow-token.js';

const KEY = createHash('sha1').update('johndoessecretphrase').digest();
const V1 = 'aEa5Hn16rtlCGgHAAAIKE8TGM2QHnEA=';
const udp = {
  proto: 'udp' as const,
  local: { address: '192.0.2.10', port: 5060 },
  remote: { address: '198.51.100.7', port: 40000 },
};

describe('flow token (outbound.md §1.3, conformance §6.1)', () => {
  test('§6.1 #1 UDP vector', () => {
    assert.equal(KEY.toString('hex'), '85b9a1f6ddf46d8cf5b955ce38264ed468e55094');
    assert.equal(encodeFlowToken(KEY, udp), V1);
    assert.equal(
      Buffer.from(V1, 'base64').toString('hex'),
      '6846b91e7d7aaed9421a01c000020a13c4c63364079c40',
    );
  });

  test('§6.1 #2 TCP vector', () => {
    assert.equal(
      encodeFlowToken(KEY, { ...udp, proto: 'tcp' }),
      '/D7Gz1+4oMVdJwLAAAIKE8TGM2QHnEA=',
    );
  });

  test('§6.1 #3 IPv6 WSS vector, proto byte 0x86', () => {
    const t = encodeFlowToken(KEY, {
      proto: 'wss',
      local: { address: '2001:db8::10', port: 443 },
      remote: { address: '2001:db8:1::7', port: 51234 },
    });
    assert.equal(t, 'WXxBCLqogtNITIYgAQ24AAAAAAAAAAAAAAAQAbsgAQ24AAEAAAAAAAAAAAAHyCI=');
    assert.equal(Buffer.from(t, 'base64')[10], 0x86);
  });

  test('Kamailio 5.6 vector (key SHA1 of the empty string)', () => {
    const k = createHash('sha1').update('').digest();
    assert.equal(
      encodeFlowToken(k, {
        proto: 'udp',
        local: { address: '127.0.0.11', port: 5060 },
        remote: { address: '127.0.0.21', port: 5070 },
      }),
      'azxhTp9uJdIH3wF/AAALE8R/AAAVE84=',
    );
  });

  test('§6.1 #4 sizes: IPv4 32 chars, IPv6 64 chars, one trailing =', () => {
    for (let i = 0; i < 50; i++) {
      const v4 = encodeFlowToken(KEY, {
        proto: 'tcp',
        local: { address: `10.0.0.${i}`, port: 1000 + i },
        remote: { address: `172.16.${i}.1`, port: 60000 - i },
      });
      assert.match(v4, /^[A-Za-z0-9+/]{31}=$/);
      const v6 = encodeFlowToken(KEY, {
        proto: 'ws',
        local: { address: `fd00::${i}`, port: 80 },
        remote: { address: `fd01::${i + 1}`, port: 7000 + i },
      });
      assert.match(v6, /^[A-Za-z0-9+/]{63}=$/);
    }
  });

  test('§6.1 #5 decode the UDP vector', () => {
    assert.deepEqual(decodeFlowToken(KEY, V1), { ok: true, token: udp });
  });

  test('§6.1 #6/#7 a flipped character in the MAC or the address part is broken (-1)', () => {
    for (const i of [0, 5, 14, 20, 28]) {
      const c = V1[i] === 'A' ? 'B' : 'A';
      const t = V1.slice(0, i) + c + V1.slice(i + 1);
      assert.deepEqual(decodeFlowToken(KEY, t), { ok: false, code: -1 }, `position ${i}`);
    }
  });

  test('§6.1 #8/#9 not a token (-2): short, wrong length, no padding, 51 bytes', () => {
    for (const s of ['alice', 'YWxpY2U=', 'A'.repeat(32), 'QUJD'.repeat(17), '', undefined]) {
      assert.deepEqual(decodeFlowToken(KEY, s), { ok: false, code: -2 }, String(s));
    }
  });

  test('§6.1 #10 32 chars with one = and a % is broken (-1), not "not a token"', () => {
    assert.deepEqual(decodeFlowToken(KEY, `${V1.slice(0, 10)}%${V1.slice(11)}`), {
      ok: false,
      code: -1,
    });
  });

  test('decision Q-E7: a %-escaped token still decodes', () => {
    const esc = V1.replace('=', '%3D');
    assert.equal(decodeFlowToken(KEY, esc).ok, true);
    const tcp = '/D7Gz1+4oMVdJwLAAAIKE8TGM2QHnEA=';
    assert.equal(decodeFlowToken(KEY, tcp.replace('/', '%2F').replace('+', '%2B')).ok, true);
  });

  test('§6.1 #13 MAC = rightmost 80 bits of HMAC-SHA1 over the body', async () => {
    const { createHmac } = await import('node:crypto');
    const raw = Buffer.from(V1, 'base64');
    const mac = createHmac('sha1', KEY).update(raw.subarray(10)).digest();
    assert.deepEqual(raw.subarray(0, 10), mac.subarray(10, 20));
  });

  test('§6.1 #11 without a secret and without a key file: a random key per start, foreign tokens rejected', () => {
    const a = flowTokenKey(undefined);
    const b = flowTokenKey(undefined);
    assert.notDeepEqual(a, b);
    assert.deepEqual(decodeFlowToken(b, encodeFlowToken(a, udp)), { ok: false, code: -1 });
  });

  test('§6.1 #12 / decision Q-E3: the key survives a restart (secret, or the key file in the data directory)', () => {
    assert.deepEqual(flowTokenKey('s3cret'), flowTokenKey('s3cret'));
    const dir = mkdtempSync(join(tmpdir(), 'fg-key-'));
    const file = join(dir, 'sub', 'flow-token.key');
    const k1 = flowTokenKey(undefined, file);
    const k2 = flowTokenKey(undefined, file);
    assert.deepEqual(k1, k2);
    assert.match(readFileSync(file, 'utf8'), /^[0-9a-f]{40}\n$/);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(decodeFlowToken(k2, encodeFlowToken(k1, udp)).ok, true);
  });

  test('the key file is created complete, mode 0600, in a data directory created 0700; no temporary file stays', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-key-'));
    const data = join(dir, 'data', 'deeper');
    const file = join(data, 'flow-token.key');
    const k = flowTokenKey(undefined, file);
    assert.equal(readFileSync(file, 'utf8'), `${k.toString('hex')}\n`);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(statSync(data).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'data')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(data), ['flow-token.key']);
  });

  test('an existing key file is used as it is; a damaged one is refused with the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fg-key-'));
    const file = join(dir, 'flow-token.key');
    writeFileSync(file, `${'ab'.repeat(20)}\n`, { mode: 0o600 });
    assert.equal(flowTokenKey(undefined, file).toString('hex'), 'ab'.repeat(20));
    writeFileSync(file, 'abab');
    assert.throws(
      () => flowTokenKey(undefined, file),
      new Error(
        `${file}: not a flow-token key (expected 40 hex digits); delete it to generate a new one`,
      ),
    );
    assert.equal(readFileSync(file, 'utf8'), 'abab');
  });

  test('key rotation: decoding tries the current key, then the previous one; encoding uses the first', () => {
    const prev = flowTokenKey('p'.repeat(32));
    const cur = flowTokenKey('c'.repeat(32));
    const old = encodeFlowToken(prev, udp);
    assert.deepEqual(decodeFlowToken([cur, prev], old), { ok: true, token: udp });
    assert.deepEqual(decodeFlowToken([cur, prev], encodeFlowToken(cur, udp)), {
      ok: true,
      token: udp,
    });
    // a token of an unknown key, or of the previous key once it is dropped: broken (-1)
    const other = encodeFlowToken(flowTokenKey('o'.repeat(32)), udp);
    assert.deepEqual(decodeFlowToken([cur, prev], other), { ok: false, code: -1 });
    assert.deepEqual(decodeFlowToken([cur], old), { ok: false, code: -1 });
    // the Kamailio vector still decodes with its key first or second in the list
    assert.equal(decodeFlowToken([cur, KEY], V1).ok, true);
    assert.equal(decodeFlowToken([KEY], V1).ok, true);
  });

  test('canonicalIp writes IPv6 the RFC 5952 way', () => {
    assert.equal(canonicalIp('2001:db8:0:0:0:0:0:10'), '2001:db8::10');
    assert.equal(canonicalIp('0:0:0:0:0:0:0:1'), '::1');
    assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
    assert.equal(canonicalIp('192.0.2.1'), '192.0.2.1');
  });
});
