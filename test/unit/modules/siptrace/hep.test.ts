// HEPv3 (github.com/sipcapture/HEP): the encoder's byte layout, chunk by chunk, and the decoder's
// round trip; the collector address forms; the light header reads of the capture path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  callIdOf,
  callIdSpan,
  decodeHep,
  encodeHep,
  encodeHepParts,
  HepChunk,
  type HepPacket,
  headerValue,
  hepLayout,
  isoMicros,
  parseCollectorUri,
  splitHepStream,
  startLine,
  writeHep,
} from '../../../../src/modules/siptrace/index.js';

const SIP = Buffer.from(
  'REGISTER sip:example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5080;branch=z9hG4bK1\r\n' +
    'From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>\r\ni: abc@host\r\n' +
    'CSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n',
);

const V4: HepPacket = {
  family: 4,
  ipProto: 17,
  src: { address: '192.0.2.10', port: 5080 },
  dst: { address: '198.51.100.1', port: 5060 },
  timeSec: 1_700_000_000,
  timeUsec: 654_321,
  protoType: 1,
  captureId: 0x01020304,
  authKey: 'secret',
  payload: SIP,
  correlationId: 'abc@host',
};

/** vendor | type | length | value, as hex */
function chunk(type: number, value: string): string {
  const len = 6 + value.length / 2;
  return `0000${type.toString(16).padStart(4, '0')}${len.toString(16).padStart(4, '0')}${value}`;
}

describe('HEPv3 encoder', () => {
  test('IPv4: header, then the chunks in Kamailio siptrace order, correlation id last', () => {
    const b = encodeHep(V4);
    assert.ok(b !== undefined);
    const hex = b.toString('hex');
    const expected =
      Buffer.from('HEP3').toString('hex') +
      b.length.toString(16).padStart(4, '0') +
      chunk(HepChunk.IpFamily, '02') + // AF_INET
      chunk(HepChunk.IpProto, '11') + // UDP 17
      chunk(HepChunk.SrcPort, (5080).toString(16).padStart(4, '0')) +
      chunk(HepChunk.DstPort, (5060).toString(16).padStart(4, '0')) +
      chunk(HepChunk.TimeSec, (1_700_000_000).toString(16).padStart(8, '0')) +
      chunk(HepChunk.TimeUsec, (654_321).toString(16).padStart(8, '0')) +
      chunk(HepChunk.ProtoType, '01') + // SIP
      chunk(HepChunk.CaptureId, '01020304') +
      chunk(HepChunk.Ipv4Src, 'c000020a') +
      chunk(HepChunk.Ipv4Dst, 'c6336401') +
      chunk(HepChunk.AuthKey, Buffer.from('secret').toString('hex')) +
      chunk(HepChunk.Payload, SIP.toString('hex')) +
      chunk(HepChunk.CorrelationId, Buffer.from('abc@host').toString('hex'));
    assert.equal(hex, expected);
    // total length = 6 + 7+7+8+8+10+10+7+10 + 10+10 + 12 + 6+payload + 14
    assert.equal(b.length, 6 + 67 + 20 + 12 + 6 + SIP.length + 14);
  });

  test('IPv6: family 10, 16-octet address chunks 0x0005 / 0x0006; TCP is protocol 6', () => {
    const b = encodeHep({
      ...V4,
      ipProto: 6,
      src: { address: '2001:db8::1', port: 5061 },
      dst: { address: '2001:db8::2', port: 5062 },
      authKey: undefined,
      correlationId: undefined,
    });
    assert.ok(b !== undefined);
    assert.equal(b.readUInt16BE(4), b.length);
    // family chunk right after the 6-octet header
    assert.deepEqual([b.readUInt16BE(8), b[12]], [HepChunk.IpFamily, 10]);
    assert.deepEqual([b.readUInt16BE(15), b[19]], [HepChunk.IpProto, 6]);
    const at = b.indexOf(Buffer.from([0, 0, 0, HepChunk.Ipv6Src, 0, 22]));
    assert.ok(at > 0);
    assert.equal(b.subarray(at + 6, at + 22).toString('hex'), '20010db8000000000000000000000001');
    assert.equal(b.indexOf(Buffer.from([0, 0, 0, HepChunk.AuthKey])), -1);
    assert.equal(b.indexOf(Buffer.from([0, 0, 0, HepChunk.CorrelationId])), -1);
  });

  test('an IPv4 peer of an IPv6 socket: both addresses IPv6, the IPv4 one mapped', () => {
    const b = encodeHep({ ...V4, src: { address: '::1', port: 1 }, family: 4 });
    const d = decodeHep(b as Buffer);
    assert.ok(d.ok);
    assert.equal(d.packet.family, 6);
    assert.equal(d.packet.src.address, '::1');
    assert.equal(d.packet.dst.address, '::ffff:198.51.100.1');
  });

  test('the correlation id as a span of the message bytes is written like the string', () => {
    const span = callIdSpan(SIP);
    assert.ok(span !== undefined);
    assert.equal(SIP.toString('latin1', span.start, span.end), 'abc@host');
    const out = Buffer.alloc(2000, 0xee);
    for (const correlationId of [span, 'abc@host', 'ünï@x']) {
      const l = hepLayout({ ...V4, correlationId });
      assert.ok(l !== undefined);
      const n = writeHep(out, 3, { ...V4, correlationId }, l);
      assert.equal(n, l.total);
      const want = encodeHep({
        ...V4,
        correlationId: typeof correlationId === 'string' ? correlationId : 'abc@host',
      });
      assert.deepEqual(out.subarray(3, 3 + n), want);
    }
  });

  test('parts: the payload buffer is not copied; too long for the 16-bit length: undefined', () => {
    const parts = encodeHepParts(V4);
    assert.ok(parts !== undefined);
    assert.equal(parts[1], SIP);
    assert.deepEqual(Buffer.concat(parts), encodeHep(V4));
    assert.equal(encodeHepParts({ ...V4, payload: Buffer.alloc(65_500) }), undefined);
  });
});

describe('HEPv3 decoder', () => {
  test('round trip: every field back, the payload byte for byte', () => {
    for (const p of [
      V4,
      { ...V4, authKey: undefined, correlationId: undefined },
      {
        ...V4,
        family: 6 as const,
        ipProto: 6,
        src: { address: '2001:db8::a', port: 65_535 },
        dst: { address: 'fe80::1', port: 1 },
      },
    ]) {
      const d = decodeHep(encodeHep(p) as Buffer);
      assert.ok(d.ok, JSON.stringify(d));
      const { chunks, ...packet } = d.packet;
      assert.deepEqual(
        { ...packet, payload: packet.payload.toString('hex') },
        {
          ...p,
          payload: p.payload.toString('hex'),
        },
      );
      assert.ok(chunks.length >= 11);
    }
  });

  test('chunks in any order, vendor chunks and unknown types kept aside', () => {
    const b = encodeHep({ ...V4, authKey: undefined }) as Buffer;
    // move the payload chunk first and add a vendor chunk
    const vendor = Buffer.from('002100300008abcd', 'hex');
    const body: Buffer[] = [];
    const chunks: Buffer[] = [];
    for (let o = 6; o < b.length; ) {
      const len = b.readUInt16BE(o + 4);
      const c = b.subarray(o, o + len);
      if (c.readUInt16BE(2) === HepChunk.Payload) body.unshift(c);
      else chunks.push(c);
      o += len;
    }
    const all = Buffer.concat([...body, vendor, ...chunks.reverse()]);
    const head = Buffer.alloc(6);
    head.write('HEP3');
    head.writeUInt16BE(6 + all.length, 4);
    const d = decodeHep(Buffer.concat([head, all]));
    assert.ok(d.ok);
    assert.deepEqual(d.packet.payload, SIP);
    assert.equal(d.packet.captureId, V4.captureId);
    assert.ok(d.packet.chunks.some((c) => c.vendor === 0x21 && c.type === 0x30));
  });

  test('refuses what is not HEPv3: short, wrong magic, bad lengths, missing chunks', () => {
    const good = encodeHep(V4) as Buffer;
    assert.deepEqual(decodeHep(good.subarray(0, 4)), { ok: false, error: 'short' });
    assert.deepEqual(decodeHep(Buffer.from('HEP2\x00\x06')), { ok: false, error: 'not-hep3' });
    const long = Buffer.from(good);
    long.writeUInt16BE(good.length + 1, 4);
    assert.deepEqual(decodeHep(long), { ok: false, error: 'bad-length' });
    const badChunk = Buffer.from(good);
    badChunk.writeUInt16BE(3, 10); // the family chunk claims 3 octets
    assert.deepEqual(decodeHep(badChunk), { ok: false, error: 'bad-chunk' });
    const onlyFamily = Buffer.from(`HEP3\x00\x0d${'\x00\x00\x00\x01\x00\x07\x02'}`, 'latin1');
    assert.deepEqual(decodeHep(onlyFamily), { ok: false, error: 'missing-chunk' });
  });

  test('a TCP stream: packets split at their lengths, whatever the read boundaries', () => {
    const a = encodeHep(V4) as Buffer;
    const b = encodeHep({ ...V4, timeUsec: 1 }) as Buffer;
    const stream = Buffer.concat([a, b]);
    for (let cut = 1; cut < stream.length; cut += 37) {
      const first = splitHepStream(stream.subarray(0, cut));
      assert.ok(first !== undefined);
      const second = splitHepStream(Buffer.concat([first.rest, stream.subarray(cut)]));
      assert.ok(second !== undefined);
      const all = [...first.packets, ...second.packets];
      assert.deepEqual(all, [a, b]);
      assert.equal(second.rest.length, 0);
    }
    assert.equal(splitHepStream(Buffer.from('GET / HTTP/1.1\r\n')), undefined);
  });
});

describe('collector addresses (duplicate_uri)', () => {
  test('udp:, tcp:, IPv6 in brackets, host names, and Kamailio sip:…;transport=', () => {
    const ok = (s: string): unknown => {
      const r = parseCollectorUri(s);
      assert.ok(r.ok, s);
      return r.value;
    };
    assert.deepEqual(ok('udp:127.0.0.1:9060'), { proto: 'udp', host: '127.0.0.1', port: 9060 });
    assert.deepEqual(ok('tcp:[2001:db8::5]:9061'), {
      proto: 'tcp',
      host: '2001:db8::5',
      port: 9061,
    });
    assert.deepEqual(ok('TCP:homer.example.com:9060'), {
      proto: 'tcp',
      host: 'homer.example.com',
      port: 9060,
    });
    assert.deepEqual(ok('sip:10.0.0.1:9060'), { proto: 'udp', host: '10.0.0.1', port: 9060 });
    assert.deepEqual(ok('sip:10.0.0.1:9060;transport=tcp'), {
      proto: 'tcp',
      host: '10.0.0.1',
      port: 9060,
    });
    for (const bad of [
      '127.0.0.1:9060',
      'udp:127.0.0.1',
      'udp:127.0.0.1:0',
      'udp:127.0.0.1:70000',
      'sctp:127.0.0.1:9060',
      'udp:[nope]:9060',
      'udp:1.2.3.4:9060;transport=tcp',
      'sip:1.2.3.4:9060;transport=tls',
    ]) {
      const r = parseCollectorUri(bad);
      assert.ok(!r.ok, bad);
      assert.match(r.message, /expected udp:host:port/);
    }
  });
});

describe('header reads of sent bytes', () => {
  test('Call-ID in long and compact form; From; start line; absent headers', () => {
    assert.equal(callIdOf(SIP), 'abc@host');
    assert.equal(
      callIdOf(Buffer.from('OPTIONS sip:a SIP/2.0\r\nCall-ID:  x y \r\n\r\nbody')),
      'x y',
    );
    assert.equal(callIdOf(Buffer.from('OPTIONS sip:a SIP/2.0\r\n\r\nCall-ID: in-body')), undefined);
    assert.equal(headerValue(SIP, 'from', 'f'), '<sip:alice@example.com>;tag=1');
    assert.equal(headerValue(SIP, 'contact', 'm'), undefined);
    assert.equal(startLine(SIP), 'REGISTER sip:example.com SIP/2.0');
  });

  test('Call-ID as a span of the bytes: long, compact and odd spellings; never from the body', () => {
    const text = (b: Buffer): string | undefined => {
      const s = callIdSpan(b);
      if (s === undefined) return undefined;
      assert.equal(s.buf, b, 'a span of the bytes themselves (no copy)');
      assert.ok(s.start <= s.end && s.end <= b.length);
      return b.toString('latin1', s.start, s.end);
    };
    const msg = (head: string, body = ''): Buffer =>
      Buffer.from(
        `OPTIONS sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n${head}CSeq: 1 OPTIONS\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        'latin1',
      );
    const cases: [string, Buffer, string | undefined][] = [
      ['usual spelling', msg('Call-ID: a1@h\r\n'), 'a1@h'],
      ['spaces and tabs around the value', msg('Call-ID: \t a2@h \t\r\n'), 'a2@h'],
      ['compact i:', msg('i: a3@h\r\n'), 'a3@h'],
      ['compact I with space before the colon', msg('I :\ta4@h\r\n'), 'a4@h'],
      ['lower case', msg('call-id:a5@h\r\n'), 'a5@h'],
      ['upper case, space before the colon', msg('CALL-ID  : a6@h\r\n'), 'a6@h'],
      // a sipfrag body carries another message's Call-ID: the header's is the one
      [
        'compact in the header, usual spelling in the body',
        msg('i: a7@h\r\n', 'Call-ID: body@h\r\n'),
        'a7@h',
      ],
      ['only in the body', msg('', 'Call-ID: body@h\r\n'), undefined],
      ['only in the body, right after the empty line', msg('', 'Call-ID: b@h'), undefined],
      ['absent', msg('Call-Info: <http://x>\r\n'), undefined],
      ['empty value', msg('Call-ID:\r\n'), ''],
      ['LF line ends', Buffer.from('OPTIONS sip:a SIP/2.0\nCall-ID: a8@h\n\nx', 'latin1'), 'a8@h'],
      [
        'no header end (cut short)',
        Buffer.from('OPTIONS sip:a SIP/2.0\r\nCall-ID: a9@h', 'latin1'),
        'a9@h',
      ],
    ];
    for (const [what, b, want] of cases) {
      assert.equal(text(b), want, what);
      assert.equal(callIdOf(b), want, what);
    }
  });

  test('a span correlation id encodes as the same octets as the Call-ID text', () => {
    for (const head of ['Call-ID:  x-1@h \r\n', 'i:x-2@h\r\n', 'call-id : x-3@h\r\n']) {
      const payload = Buffer.from(
        `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n${head}Content-Length: 0\r\n\r\n`,
        'latin1',
      );
      const span = callIdSpan(payload);
      assert.ok(span !== undefined, head);
      const id = callIdOf(payload) ?? '';
      const a = encodeHep({ ...V4, payload, correlationId: span });
      const b = encodeHep({ ...V4, payload, correlationId: id });
      assert.ok(a !== undefined && b !== undefined);
      assert.deepEqual(a, b, head);
      const d = decodeHep(a);
      assert.ok(d.ok);
      assert.equal(d.packet.correlationId, id.trim(), head);
      assert.deepEqual(d.packet.payload, payload);
    }
    // an empty Call-ID: no correlation chunk, as with empty text
    const empty = Buffer.from('OPTIONS sip:a SIP/2.0\r\nCall-ID: \r\n\r\n', 'latin1');
    const span = callIdSpan(empty);
    assert.ok(span !== undefined && span.start === span.end);
    const e = decodeHep(encodeHep({ ...V4, payload: empty, correlationId: span }) as Buffer);
    assert.ok(e.ok);
    assert.equal(e.packet.correlationId, undefined);
    assert.ok(!e.packet.chunks.some((c) => c.type === HepChunk.CorrelationId));
  });

  test('ISO time with microseconds', () => {
    assert.equal(isoMicros(1_700_000_000_123_456), '2023-11-14T22:13:20.123456Z');
    assert.equal(isoMicros(1_700_000_000_000_007), '2023-11-14T22:13:20.000007Z');
  });
});
