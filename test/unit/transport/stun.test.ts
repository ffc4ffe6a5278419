import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  answerStun,
  computeFingerprint,
  computeMessageIntegrity,
  decodeErrorCode,
  decodeMappedAddress,
  decodeStun,
  decodeXorMappedAddress,
  encodeStun,
  encodeXorMappedAddress,
  MAGIC_COOKIE,
  StunAttr,
  type StunMessage,
  stunClass,
  stunMethod,
} from '../../../src/transport/stun.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// RFC 5769 §2.1 Sample Request (ICE connectivity check with short-term credentials)
const REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);

// RFC 5769 §2.2 Sample IPv4 Response
const RESPONSE_V4 = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);

// RFC 5769 §2.3 Sample IPv6 Response
const RESPONSE_V6 = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);

const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt';
const TID = hex('21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae');

function decoded(buf: Buffer): StunMessage {
  const r = decodeStun(buf);
  assert.ok(r.ok, 'decodes');
  return r.msg;
}

function attr(m: StunMessage, type: number): Buffer {
  const a = m.attributes.find((x) => x.type === type);
  assert.ok(a !== undefined, `attribute 0x${type.toString(16)}`);
  return a.value;
}

function checkIntegrityAndFingerprint(buf: Buffer, m: StunMessage): void {
  const mi = m.attributes.find((a) => a.type === StunAttr.MessageIntegrity);
  const fp = m.attributes.find((a) => a.type === StunAttr.Fingerprint);
  assert.ok(mi !== undefined && fp !== undefined);
  assert.deepEqual(computeMessageIntegrity(buf, mi.offset, PASSWORD), mi.value);
  assert.equal(computeFingerprint(buf, fp.offset), fp.value.readUInt32BE(0));
}

describe('STUN codec against RFC 5769 test vectors', () => {
  test('RFC 5769 §2.1 sample request parses: type, cookie, transaction id, attributes', () => {
    const m = decoded(REQUEST);
    assert.equal(m.type, 0x0001);
    assert.equal(stunClass(m.type), 0);
    assert.equal(stunMethod(m.type), 1);
    assert.equal(m.length, 0x58);
    assert.equal(m.cookie, true);
    assert.deepEqual(m.transactionId, TID);
    assert.deepEqual(
      m.attributes.map((a) => a.type),
      [0x8022, 0x0024, 0x8029, 0x0006, 0x0008, 0x8028],
    );
    assert.equal(attr(m, StunAttr.Software).toString('utf8'), 'STUN test client');
    assert.equal(attr(m, StunAttr.Username).toString('utf8'), 'evtj:h6vY');
    assert.equal(attr(m, 0x0024).readUInt32BE(0), 0x6e0001ff);
    checkIntegrityAndFingerprint(REQUEST, m);
  });

  test('RFC 5769 §2.2 IPv4 response: XOR-MAPPED-ADDRESS decodes to 192.0.2.1:32853', () => {
    const m = decoded(RESPONSE_V4);
    assert.equal(m.type, 0x0101);
    assert.equal(stunClass(m.type), 2);
    assert.equal(attr(m, StunAttr.Software).toString('utf8'), 'test vector');
    assert.deepEqual(decodeXorMappedAddress(attr(m, StunAttr.XorMappedAddress), m.transactionId), {
      address: '192.0.2.1',
      port: 32853,
    });
    checkIntegrityAndFingerprint(RESPONSE_V4, m);
  });

  test('RFC 5769 §2.3 IPv6 response: XOR-MAPPED-ADDRESS decodes to [2001:db8:1234:5678:11:2233:4455:6677]:32853', () => {
    const m = decoded(RESPONSE_V6);
    assert.deepEqual(decodeXorMappedAddress(attr(m, StunAttr.XorMappedAddress), m.transactionId), {
      address: '2001:db8:1234:5678:11:2233:4455:6677',
      port: 32853,
    });
    checkIntegrityAndFingerprint(RESPONSE_V6, m);
  });

  test('the encoder reproduces the vectors: XOR-MAPPED-ADDRESS bytes and whole messages', () => {
    const v4 = encodeXorMappedAddress({ address: '192.0.2.1', port: 32853 }, TID);
    assert.deepEqual(v4, hex('00 01 a1 47 e1 12 a6 43'));
    const v6 = encodeXorMappedAddress(
      { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
      TID,
    );
    assert.deepEqual(v6, hex('00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9'));
    // rebuild §2.2 attribute by attribute (RFC 5769 pads with spaces), integrity and fingerprint included
    for (const [vector, xma] of [
      [RESPONSE_V4, v4],
      [RESPONSE_V6, v6],
    ] as const) {
      const m = decoded(vector);
      const rebuilt = encodeStun(
        0x0101,
        TID,
        [
          { type: StunAttr.Software, value: Buffer.from('test vector') },
          { type: StunAttr.XorMappedAddress, value: xma },
          { type: StunAttr.MessageIntegrity, value: attr(m, StunAttr.MessageIntegrity) },
          { type: StunAttr.Fingerprint, value: attr(m, StunAttr.Fingerprint) },
        ],
        0x20,
      );
      assert.deepEqual(rebuilt, vector);
    }
  });

  test('IPv4-mapped IPv6 sources are reported as IPv4', () => {
    const v = encodeXorMappedAddress({ address: '::ffff:192.0.2.1', port: 32853 }, TID);
    assert.deepEqual(decodeXorMappedAddress(v, TID), { address: '192.0.2.1', port: 32853 });
  });

  test('decoder rejects short messages, length mismatches and attributes that overrun', () => {
    assert.deepEqual(decodeStun(Buffer.alloc(19)), { ok: false, error: 'short' });
    const bad = Buffer.from(RESPONSE_V4);
    bad.writeUInt16BE(0x40, 2);
    assert.deepEqual(decodeStun(bad), { ok: false, error: 'length-mismatch' });
    const overrun = encodeStun(0x0001, TID, []);
    const withAttr = Buffer.concat([overrun, hex('80 22 00 10 61 62 63 64')]);
    withAttr.writeUInt16BE(8, 2);
    assert.deepEqual(decodeStun(withAttr), { ok: false, error: 'bad-attribute' });
  });
});

describe('STUN Binding server (outbound.md §1.11.1, items 63–68)', () => {
  const src = { address: '127.0.0.26', port: 5120 };
  const opts = { software: 'Server: kamailio (5.6.3 (x86_64/linux))' };
  const tid = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), Buffer.from('0123456789ab')]);

  test('item 63: RFC 5389 request → 0x0101, XOR-MAPPED-ADDRESS = source, SOFTWARE (byte-exact with Kamailio [V])', () => {
    const out = answerStun(encodeStun(0x0001, tid, []), src, opts);
    assert.equal(out.kind, 'success');
    assert.ok(out.kind === 'success');
    const expect = Buffer.concat([
      hex('0101 0038 2112a442'),
      Buffer.from('0123456789ab'),
      hex('0020 0008 0001 3512 5e12a458 8022 0027'),
      Buffer.from('Server: kamailio (5.6.3 (x86_64/linux))'),
      hex('00'),
    ]);
    assert.deepEqual(out.response, expect);
  });

  test('item 64: RFC 3489 request (no cookie) → MAPPED-ADDRESS, no SOFTWARE', () => {
    const oldTid = Buffer.from('0123456789abcdef');
    const out = answerStun(encodeStun(0x0001, oldTid, []), src, opts);
    assert.ok(out.kind === 'success');
    const m = decoded(out.response);
    assert.equal(m.type, 0x0101);
    assert.deepEqual(m.transactionId, oldTid);
    assert.deepEqual(
      m.attributes.map((a) => a.type),
      [StunAttr.MappedAddress],
    );
    assert.deepEqual(decodeMappedAddress(attr(m, StunAttr.MappedAddress)), src);
  });

  test('item 65: wrong length field → 0x0111 ERROR-CODE 400', () => {
    const req = encodeStun(0x0001, tid, []);
    req.writeUInt16BE(8, 2);
    const out = answerStun(req, src, opts);
    assert.ok(out.kind === 'error');
    const m = decoded(out.response);
    assert.equal(m.type, 0x0111);
    assert.equal(decodeErrorCode(attr(m, StunAttr.ErrorCode)).code, 400);
  });

  test('item 66: request type 0x0002 (not Binding) → 0x0111 ERROR-CODE 600', () => {
    const out = answerStun(encodeStun(0x0002, tid, []), src, opts);
    assert.ok(out.kind === 'error');
    const m = decoded(out.response);
    assert.equal(m.type, 0x0111);
    assert.deepEqual(decodeErrorCode(attr(m, StunAttr.ErrorCode)), {
      code: 600,
      reason: 'Global Failure',
    });
  });

  test('item 67: unknown comprehension-required attribute 0x0023 → 420 + UNKNOWN-ATTRIBUTES [0x0023]', () => {
    const out = answerStun(
      encodeStun(0x0001, tid, [{ type: 0x0023, value: Buffer.from([1, 2, 3, 4]) }]),
      src,
      opts,
    );
    assert.ok(out.kind === 'error');
    const m = decoded(out.response);
    assert.equal(decodeErrorCode(attr(m, StunAttr.ErrorCode)).code, 420);
    assert.deepEqual(attr(m, StunAttr.UnknownAttributes), hex('0023'));
  });

  test('RFC 3489 client: UNKNOWN-ATTRIBUTES repeats a type to fill 4 bytes (RFC 3489 §11.2.10)', () => {
    const out = answerStun(
      encodeStun(0x0001, Buffer.from('0123456789abcdef'), [
        { type: 0x0023, value: Buffer.alloc(0) },
      ]),
      src,
      opts,
    );
    assert.ok(out.kind === 'error');
    assert.deepEqual(attr(decoded(out.response), StunAttr.UnknownAttributes), hex('0023 0023'));
  });

  test('unknown comprehension-optional attributes (≥ 0x8000) are ignored', () => {
    const out = answerStun(
      encodeStun(0x0001, tid, [{ type: 0x8029, value: Buffer.alloc(8) }]),
      src,
      opts,
    );
    assert.equal(out.kind, 'success');
  });

  test('the RFC 5769 §2.1 ICE request gets 420 for PRIORITY (0x0024): ICE is not served on the SIP port', () => {
    const out = answerStun(REQUEST, src, opts);
    assert.ok(out.kind === 'error');
    const m = decoded(out.response);
    assert.deepEqual(m.transactionId, TID);
    assert.equal(decodeErrorCode(attr(m, StunAttr.ErrorCode)).code, 420);
    assert.deepEqual(attr(m, StunAttr.UnknownAttributes), hex('0024'));
  });

  test('FINGERPRINT not last → 400 (RFC 5389 §15.5)', () => {
    const out = answerStun(
      encodeStun(0x0001, tid, [
        { type: StunAttr.Fingerprint, value: Buffer.alloc(4) },
        { type: StunAttr.Software, value: Buffer.from('x') },
      ]),
      src,
      opts,
    );
    assert.ok(out.kind === 'error');
    assert.equal(decodeErrorCode(attr(decoded(out.response), StunAttr.ErrorCode)).code, 400);
  });

  test('item 68: fewer than 20 bytes (and the 4-byte zero ping) are ignored', () => {
    assert.equal(answerStun(Buffer.alloc(19), src, opts).kind, 'ignore');
    assert.equal(answerStun(Buffer.alloc(4), src, opts).kind, 'ignore');
  });

  test('indications and responses are never answered (no reflection loops)', () => {
    assert.equal(answerStun(encodeStun(0x0011, tid, []), src, opts).kind, 'ignore');
    assert.equal(answerStun(RESPONSE_V4, src, opts).kind, 'ignore');
    assert.equal(answerStun(encodeStun(0x0111, tid, []), src, opts).kind, 'ignore');
  });

  test('IPv6 source → XOR-MAPPED-ADDRESS family 2 that decodes back to it', () => {
    const out = answerStun(
      encodeStun(0x0001, tid, []),
      { address: '::1', port: 40000 },
      { software: '' },
    );
    assert.ok(out.kind === 'success');
    const m = decoded(out.response);
    assert.deepEqual(
      m.attributes.map((a) => a.type),
      [StunAttr.XorMappedAddress],
      'empty software text: no SOFTWARE',
    );
    assert.deepEqual(decodeXorMappedAddress(attr(m, StunAttr.XorMappedAddress), m.transactionId), {
      address: '::1',
      port: 40000,
    });
  });

  test('the magic cookie constant', () => {
    assert.equal(MAGIC_COOKIE, 0x2112a442);
  });
});
