// The stream framer gives the same messages and pings for every split of a byte stream
// (undici's split-data fuzzing, ws's "spanning multiple writes"), and never throws on junk.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { StreamFramer } from '../../src/transport/stream-framer.js';

const SEED = 0x5f10a7e;
const { FUZZ_RUNS } = process.env;
const RUNS = Number(FUZZ_RUNS ?? 300);

type Ev = string; // 'ping' | 'msg:<hex>' | 'error:<code>'

function run(chunks: readonly Uint8Array[], maxMessageSize = 65_535): Ev[] {
  const out: Ev[] = [];
  const f = new StreamFramer(
    {
      onFrame: (m) => out.push(`msg:${m.toString('hex')}`),
      onPing: () => out.push('ping'),
      onFramingError: (e) => out.push(`error:${e.code}`),
    },
    { maxMessageSize, maxBufferedBytes: 262_144 },
  );
  for (const c of chunks) f.push(Buffer.from(c));
  return out;
}

/** Cuts `buf` at the given offsets (any order, duplicates allowed). */
function split(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(buf.subarray(prev, c));
    prev = c;
  }
  out.push(buf.subarray(prev));
  return out;
}

const text = (chars: string, max: number): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom(...chars.split('')), { minLength: 1, maxLength: max })
    .map((a) => a.join(''));

const token = text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~", 12);
const value = text('abcdefghijklmnopqrstuvwxyz0123456789 <>:;@=.,"/', 30);

/** One SIP message with a Content-Length in one of its spellings and an arbitrary body. */
const message: fc.Arbitrary<Buffer> = fc
  .record({
    request: fc.boolean(),
    method: fc.constantFrom('INVITE', 'REGISTER', 'OPTIONS', 'MESSAGE', 'BYE'),
    clName: fc.constantFrom(
      'Content-Length',
      'content-length',
      'CONTENT-LENGTH',
      'l',
      'L',
      'Content-length  ',
    ),
    clPos: fc.nat(5),
    headers: fc.array(
      fc
        .record({ name: token, value, folded: fc.boolean() })
        .filter((h) => !/^(content-length|l)$/i.test(h.name)),
      { maxLength: 6 },
    ),
    body: fc.oneof(
      fc.uint8Array({ maxLength: 300, size: 'medium' }),
      fc.constantFrom(Buffer.from('\r\n\r\n'), Buffer.from('v=0\r\n\r\n\r\n'), Buffer.from('\r\n')),
    ),
  })
  .map((m) => {
    const lines = m.headers.map((h) =>
      h.folded ? `${h.name}: ${h.value}\r\n  more` : `${h.name}: ${h.value}`,
    );
    lines.splice(Math.min(m.clPos, lines.length), 0, `${m.clName}: ${m.body.length}`);
    const start = m.request ? `${m.method} sip:bob@example.com SIP/2.0` : 'SIP/2.0 200 OK';
    return Buffer.concat([
      Buffer.from(`${start}\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1'),
      Buffer.from(m.body),
    ]);
  });

/** Keep-alive bytes before a message: some CRLFCRLF pings, then maybe one lone CRLF. */
const gap = fc.record({ pings: fc.nat(2), lone: fc.boolean() });

const stream = fc
  .record({
    items: fc.array(fc.record({ gap, msg: message }), {
      minLength: 1,
      maxLength: 5,
      size: 'medium',
    }),
    trailingPings: fc.nat(2),
  })
  .map(({ items, trailingPings }) => {
    const parts: Buffer[] = [];
    const expected: Ev[] = [];
    for (const { gap: g, msg } of items) {
      for (let i = 0; i < g.pings; i++) {
        parts.push(Buffer.from('\r\n\r\n'));
        expected.push('ping');
      }
      if (g.lone) parts.push(Buffer.from('\r\n'));
      parts.push(msg);
      expected.push(`msg:${msg.toString('hex')}`);
    }
    for (let i = 0; i < trailingPings; i++) {
      parts.push(Buffer.from('\r\n\r\n'));
      expected.push('ping');
    }
    return { bytes: Buffer.concat(parts), expected };
  });

/** Bytes made of SIP-ish fragments and random runs, so header ends and Content-Lengths do occur. */
const junk: fc.Arbitrary<Buffer> = fc
  .array(
    fc.oneof(
      fc.constantFrom(
        '\r\n',
        '\r\n\r\n',
        '\n',
        '\r',
        'INVITE sip:a SIP/2.0',
        'l: 3',
        'Content-Length: 12',
        'Content-Length: x',
        ': ',
        ' ',
      ),
      fc.uint8Array({ maxLength: 40 }),
    ),
    { maxLength: 60, size: 'medium' },
  )
  .map((parts) =>
    Buffer.concat(
      parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
    ),
  );

describe('StreamFramer fuzz (fast-check, fixed seed)', () => {
  test('every split of a stream of messages and CRLF pings gives the same events', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 12 }), ({ bytes, expected }, cuts) => {
        assert.deepEqual(run([bytes]), expected, 'one chunk');
        assert.deepEqual(run(split(bytes, cuts)), expected, 'random split');
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  test('byte-by-byte delivery gives the same events', () => {
    fc.assert(
      fc.property(stream, ({ bytes, expected }) => {
        const ones: Buffer[] = [];
        for (let i = 0; i < bytes.length; i++) ones.push(bytes.subarray(i, i + 1));
        assert.deepEqual(run(ones), expected);
      }),
      { seed: SEED, numRuns: Math.max(20, Math.floor(RUNS / 10)) },
    );
  });

  test('arbitrary bytes in arbitrary chunks never throw, and the verdict does not depend on the split', () => {
    fc.assert(
      fc.property(
        junk,
        fc.array(fc.nat(), { maxLength: 10 }),
        fc.constantFrom(100, 500, 65_535),
        (raw, cuts, max) => {
          const b = Buffer.from(raw);
          assert.deepEqual(run(split(b, cuts), max), run([b], max));
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
