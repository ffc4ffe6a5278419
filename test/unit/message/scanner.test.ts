import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COMPACT_FORMS, HDR_NAMES, Hdr, Method } from '../../../src/message/constants.js';
import { SipRequest, SipResponse } from '../../../src/message/message.js';
import {
  DEFAULT_LIMITS,
  recognizeHeader,
  type ScanResult,
  scanMessage,
} from '../../../src/message/scanner.js';
import { req, res } from '../../support/msg.js';

function scan(text: string, limits = DEFAULT_LIMITS, stream = false): ScanResult {
  return scanMessage(Buffer.from(text, 'latin1'), limits, stream);
}

function fails(text: string, code: string, status: number, field?: string): ScanResult {
  const r = scan(text);
  assert.equal(r.ok, false, `should not scan: ${JSON.stringify(text.slice(0, 60))}`);
  if (!r.ok) {
    assert.equal(r.error.code, code, r.error.message);
    assert.equal(r.error.status, status);
    if (field !== undefined) assert.equal(r.error.field, field);
  }
  return r;
}

const OPTIONS = 'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCall-ID: x\r\n';

describe('scanMessage', () => {
  test('request line: method, Request-URI, version (RFC 3261 §7.1)', () => {
    const r = scan(`${OPTIONS}\r\n`);
    assert.ok(r.ok);
    assert.ok(r.msg instanceof SipRequest);
    assert.equal(r.msg.method, 'OPTIONS');
    assert.equal(r.msg.uri, 'sip:a@b');
    assert.equal(r.msg.version, 'SIP/2.0');
    assert.equal(r.msg.isRequest, true);
    assert.equal(r.msg.headerCount, 2);
  });

  test('status line: code and reason (RFC 3261 §7.2)', () => {
    const r = scan('SIP/2.0 180 Ringing Now\r\nVia: SIP/2.0/UDP h\r\n\r\n');
    assert.ok(r.ok);
    assert.ok(r.msg instanceof SipResponse);
    assert.equal(r.msg.status, 180);
    assert.equal(r.msg.reason, 'Ringing Now');
    assert.equal(r.msg.isRequest, false);
  });

  test('an empty reason phrase is valid (RFC 4475 §3.1.1.13)', () => {
    const r = scan('SIP/2.0 100 \r\nVia: SIP/2.0/UDP h\r\n\r\n');
    assert.ok(r.ok);
    assert.ok(r.msg instanceof SipResponse);
    assert.equal(r.msg.reason, '');
  });

  test('a UTF-8 reason phrase is kept as wire text and decodable (RFC 4475 §3.1.1.12)', () => {
    const r = scanMessage(
      Buffer.from('SIP/2.0 200 Très bien\r\nVia: SIP/2.0/UDP h\r\n\r\n', 'utf8'),
    );
    assert.ok(r.ok);
    assert.ok(r.msg instanceof SipResponse);
    assert.equal(r.msg.reasonText, 'Très bien');
  });

  test('status codes outside 100..699 or not 3 digits are refused (RFC 4475 §3.1.2.19)', () => {
    fails(
      'SIP/2.0 4294967301 better not break the receiver\r\nVia: SIP/2.0/UDP h\r\n\r\n',
      'SIP_ERR_PARSE_STATUS',
      400,
    );
    fails('SIP/2.0 700 Seven\r\nVia: SIP/2.0/UDP h\r\n\r\n', 'SIP_ERR_PARSE_STATUS', 400);
    fails('SIP/2.0 099 Low\r\nVia: SIP/2.0/UDP h\r\n\r\n', 'SIP_ERR_PARSE_STATUS', 400);
    fails('SIP/2.0 20 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n', 'SIP_ERR_PARSE_STATUS', 400);
  });

  test('an unknown SIP version is 505 (RFC 3261 §8.2.2, RFC 4475 §3.1.2.16)', () => {
    fails('OPTIONS sip:a@b SIP/7.0\r\nVia: SIP/7.0/UDP h\r\n\r\n', 'SIP_ERR_PARSE_VERSION', 505);
    fails('SIP/3.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n', 'SIP_ERR_PARSE_VERSION', 505);
    fails('OPTIONS sip:a@b HTTP/1.1\r\n\r\n', 'SIP_ERR_PARSE_START_LINE', 400);
  });

  test('SIP-Version compares case-insensitively', () => {
    const r = scan('OPTIONS sip:a@b sip/2.0\r\n\r\n');
    assert.ok(r.ok && r.msg instanceof SipRequest);
    assert.equal(r.msg.version, 'SIP/2.0');
  });

  test('extra SP in the request line is refused (RFC 4475 §3.1.2.9, §3.1.2.10)', () => {
    fails(
      'INVITE  sip:user@example.com  SIP/2.0\r\n\r\n',
      'SIP_ERR_PARSE_START_LINE',
      400,
      'start-line',
    );
    fails(
      'OPTIONS sip:remote-target@example.com SIP/2.0  \r\n\r\n',
      'SIP_ERR_PARSE_START_LINE',
      400,
    );
    fails('INVITE sip:user@example.com; lr SIP/2.0\r\n\r\n', 'SIP_ERR_PARSE_START_LINE', 400);
    fails('INVITE\r\n\r\n', 'SIP_ERR_PARSE_START_LINE', 400);
    fails('INV@TE sip:a@b SIP/2.0\r\n\r\n', 'SIP_ERR_PARSE_START_LINE', 400);
  });

  test('a Request-URI in <> is refused (RFC 4475 §3.1.2.7)', () => {
    fails('INVITE <sip:user@example.com> SIP/2.0\r\n\r\n', 'SIP_ERR_PARSE_URI', 400, 'Request-URI');
    fails('INVITE user@example.com SIP/2.0\r\n\r\n', 'SIP_ERR_PARSE_URI', 400);
  });

  test('unusual method tokens are kept (RFC 4475 §3.1.1.2, §3.1.1.5)', () => {
    for (const m of ["!interesting-Method0123456789_*+`.%indeed'~", 'RE%47IST%45R', 'NEWMETHOD']) {
      const r = scan(`${m} sip:a@b SIP/2.0\r\n\r\n`);
      assert.ok(r.ok && r.msg instanceof SipRequest);
      assert.equal(r.msg.method, m);
    }
  });

  test('well-known methods and their near misses read as written, in the request line and CSeq', () => {
    const names = Object.values(Method).flatMap((m) => [
      m,
      m.toLowerCase(),
      `${m}X`,
      m.slice(0, -1),
      `${m.slice(0, -1)}${m.at(-1) === 'E' ? 'F' : 'E'}`,
    ]);
    for (const m of names) {
      const r = scan(`${m} sip:a@b SIP/2.0\r\nCSeq: 7 ${m}\r\n\r\n`);
      assert.ok(r.ok && r.msg instanceof SipRequest, m);
      assert.equal(r.msg.method, m);
      assert.deepEqual(r.msg.cseq, { seq: 7, method: m });
    }
  });

  test('CRLFs before the start line are ignored (RFC 3261 §7.5)', () => {
    const r = scan(`\r\n\r\n${OPTIONS}\r\n`);
    assert.ok(r.ok);
    assert.equal(r.msg.startLineStart, 4);
    assert.equal(r.msg.bytes.toString('latin1'), `${OPTIONS}\r\n`);
  });

  test('header names in any case and compact forms (RFC 3261 §7.3.3, §7.3.5)', () => {
    const r = scan(
      'OPTIONS sip:a@b SIP/2.0\r\nvIA: x\r\nv: y\r\nI: z\r\nf: a\r\nT: b\r\nm: c\r\nL: 0\r\nk: d\r\nc: e\r\ns: f\r\ne: g\r\no: h\r\nu: i\r\nr: j\r\nb: k\r\nx: l\r\n\r\n',
    );
    assert.ok(r.ok);
    const ids = Array.from({ length: r.msg.headerCount }, (_, k) => r.msg.headerIdAt(k));
    assert.deepEqual(ids, [
      Hdr.Via,
      Hdr.Via,
      Hdr.CallId,
      Hdr.From,
      Hdr.To,
      Hdr.Contact,
      Hdr.ContentLength,
      Hdr.Supported,
      Hdr.ContentType,
      Hdr.Subject,
      Hdr.ContentEncoding,
      Hdr.Event,
      Hdr.AllowEvents,
      Hdr.ReferTo,
      Hdr.ReferredBy,
      Hdr.SessionExpires,
    ]);
  });

  test('names that only resemble well-known ones stay unknown', () => {
    const r = scan(
      'OPTIONS sip:a@b SIP/2.0\r\nVias: 1\r\nVi: 2\r\nC%6Fntact: 3\r\nContent-Lengthy: 4\r\nq: 5\r\n\r\n',
    );
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    for (let k = 0; k < r.msg.headerCount; k++)
      assert.equal(r.msg.headerIdAt(k), Hdr.Other, r.msg.headerNameAt(k));
  });

  test('recognizeHeader on bytes or strings', () => {
    assert.equal(recognizeHeader('Max-Forwards', 0, 12), Hdr.MaxForwards);
    assert.equal(recognizeHeader(Buffer.from('xx l'), 3, 4), Hdr.ContentLength);
    assert.equal(recognizeHeader('Max-Forward', 0, 11), Hdr.Other);
  });

  test('every well-known name is recognized in any case; near misses are not', () => {
    const mixed = (n: string): string =>
      [...n].map((c, i) => (i % 2 ? c.toLowerCase() : c.toUpperCase())).join('');
    for (let id = 1; id < HDR_NAMES.length; id++) {
      const name = HDR_NAMES[id] ?? '';
      for (const v of [name, name.toLowerCase(), name.toUpperCase(), mixed(name)]) {
        assert.equal(recognizeHeader(v, 0, v.length), id, v);
        // in a message too, followed by SP before the colon or not
        const r = scan(`OPTIONS sip:a@b SIP/2.0\r\n${v}: 1\r\n${v} :2\r\n\r\n`);
        assert.equal(r.msg?.headerIdAt(0), id, v);
        assert.equal(r.msg?.headerIdAt(1), id, v);
      }
      const near = [
        `${name}x`,
        name.slice(0, -1),
        `x${name}`,
        name.replace('-', '_'),
        name.replace(/[a-z]$/i, '0'),
        name.replace(/^[a-z]/i, '.'),
        `${name.slice(0, 2)}~${name.slice(3)}`,
      ];
      for (const v of near) {
        if (v.toLowerCase() === name.toLowerCase()) continue;
        // a near miss may be another name, or a compact form (`To` less a letter is `t`)
        const other = HDR_NAMES.findIndex((n) => n.toLowerCase() === v.toLowerCase());
        const compact = COMPACT_FORMS[v.toLowerCase()] ?? Hdr.Other;
        assert.equal(recognizeHeader(v, 0, v.length), other < 0 ? compact : other, v);
      }
    }
    for (const [k, id] of Object.entries(COMPACT_FORMS)) {
      assert.equal(recognizeHeader(k, 0, 1), id, k);
      assert.equal(recognizeHeader(k.toUpperCase(), 0, 1), id, k);
    }
    assert.equal(recognizeHeader('q', 0, 1), Hdr.Other);
    assert.equal(recognizeHeader('abcdefghijklmnopqrstuvwxyz', 0, 26), Hdr.Other);
  });

  test('SP/HTAB before the colon; LWS around the value is not part of it (RFC 3261 §7.3.1)', () => {
    const r = scan(
      'OPTIONS sip:a@b SIP/2.0\r\nVia  \t: \t SIP/2.0/UDP h  \r\nSubject:\r\ns :\r\n\r\n',
    );
    assert.ok(r.ok);
    assert.equal(r.msg.headerNameAt(0), 'Via');
    assert.equal(r.msg.headerValueAt(0), 'SIP/2.0/UDP h');
    assert.equal(r.msg.headerValueAt(1), '');
    assert.equal(r.msg.headerValueAt(2), '');
  });

  test('folded lines belong to the header and read as one SP (RFC 3261 §7.3.1)', () => {
    const r = scan(
      "OPTIONS sip:a@b SIP/2.0\r\nSubject: I know you're there,\r\n pick up the phone\r\n\tand talk to me!\r\nCall-ID: x\r\n\r\n",
    );
    assert.ok(r.ok);
    assert.equal(r.msg.folded, true);
    assert.equal(r.msg.headerCount, 2);
    assert.equal(
      r.msg.getHeader('subject'),
      "I know you're there, pick up the phone and talk to me!",
    );
    assert.equal(r.msg.callId, 'x');
  });

  test('bare LF line ends are tolerated', () => {
    const r = scan('OPTIONS sip:a@b SIP/2.0\nCall-ID: x\nl: 3\n\nabc');
    assert.ok(r.ok);
    assert.equal(r.msg.callId, 'x');
    assert.equal(r.msg.body.toString(), 'abc');
  });

  test('malformed header lines are refused with 400', () => {
    fails(`${OPTIONS}no colon here\r\n\r\n`, 'SIP_ERR_PARSE_HEADER', 400, 'headers');
    fails(`${OPTIONS}Bad Name: x\r\n\r\n`, 'SIP_ERR_PARSE_HEADER', 400);
    fails(`${OPTIONS}: no name\r\n\r\n`, 'SIP_ERR_PARSE_HEADER', 400);
    fails('OPTIONS sip:a@b SIP/2.0\r\n starts with SP: x\r\n\r\n', 'SIP_ERR_PARSE_HEADER', 400);
    // a CR inside a name must not make it read as Call-ID
    fails(`${OPTIONS}Call\rID: 6\r\n\r\n`, 'SIP_ERR_PARSE_HEADER', 400);
  });

  test('a header block without its empty line is refused, the message is still returned', () => {
    const r = fails(`${OPTIONS}`, 'SIP_ERR_PARSE_HEADER', 400);
    assert.ok(!r.ok && r.msg);
    assert.equal(r.msg.callId, 'x');
  });

  test('empty input and a start line without end', () => {
    fails('', 'SIP_ERR_PARSE_START_LINE', 400);
    fails('\r\n\r\n', 'SIP_ERR_PARSE_START_LINE', 400);
    fails('OPTIONS sip:a@b SIP/2.0', 'SIP_ERR_PARSE_START_LINE', 400);
  });
});

describe('scanMessage body', () => {
  test('the body is Content-Length bytes; later datagram octets are discarded (RFC 3261 §18.3, RFC 4475 §3.1.1.8)', () => {
    const r = scan(`${OPTIONS}Content-Length: 5\r\n\r\nhello, trailing junk`);
    assert.ok(r.ok);
    assert.equal(r.msg.body.toString(), 'hello');
    assert.equal(r.msg.bodyLength, 5);
    assert.equal(r.msg.contentLength, 5);
    assert.equal(r.msg.bytes.toString('latin1'), `${OPTIONS}Content-Length: 5\r\n\r\nhello`);
  });

  test('without Content-Length a datagram body runs to the end (RFC 3261 §18.3)', () => {
    const r = scan(`${OPTIONS}\r\nv=0\r\n`);
    assert.ok(r.ok);
    assert.equal(r.msg.body.toString(), 'v=0\r\n');
    assert.equal(r.msg.contentLength, undefined);
  });

  test('on a stream Content-Length is mandatory (RFC 3261 §18.3)', () => {
    const r = scan(`${OPTIONS}\r\n`, DEFAULT_LIMITS, true);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'SIP_ERR_TRANSPORT_FRAMING');
      assert.equal(r.error.status, 400);
    }
    assert.ok(scan(`${OPTIONS}Content-Length: 0\r\n\r\n`, DEFAULT_LIMITS, true).ok);
  });

  test('Content-Length larger than the message (RFC 4475 §3.1.2.2)', () => {
    fails(
      `${OPTIONS}Content-Length: 9999\r\n\r\nshort`,
      'SIP_ERR_PARSE_BODY',
      400,
      'Content-Length',
    );
  });

  test('negative or non-numeric Content-Length (RFC 4475 §3.1.2.3)', () => {
    fails(`${OPTIONS}Content-Length: -999\r\n\r\n`, 'SIP_ERR_PARSE_CONTENT_LENGTH', 400);
    fails(`${OPTIONS}Content-Length: 12345678901\r\n\r\n`, 'SIP_ERR_PARSE_CONTENT_LENGTH', 400);
    fails(`${OPTIONS}l: \r\n\r\n`, 'SIP_ERR_PARSE_CONTENT_LENGTH', 400);
  });

  test('several Content-Length headers, compact or not (RFC 4475 §3.3.9)', () => {
    fails(
      `${OPTIONS}Content-Length: 3\r\nl: 3\r\n\r\nabc`,
      'SIP_ERR_PARSE_DUPLICATE_HEADER',
      400,
      'Content-Length',
    );
  });

  test('builder messages scan with the right body', () => {
    const m = req('INVITE').body('v=0\r\n').build();
    assert.equal(m.body.toString(), 'v=0\r\n');
    assert.equal(m.getHeader(Hdr.ContentType), 'application/sdp');
    assert.equal(res(200).compact().build().contentLength, 0);
  });
});

describe('scanMessage limits', () => {
  test('message size: 513 in the error, message still returned (RFC 3261 §21.5.14)', () => {
    const text = req('MESSAGE').body('x'.repeat(2000), 'text/plain').text();
    const r = scan(text, { ...DEFAULT_LIMITS, maxMessageSize: 1000 });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'SIP_ERR_LIMIT_SIZE');
      assert.equal(r.error.status, 513);
      assert.equal(r.error.field, 'message');
      assert.ok(r.msg?.isRequest);
    }
    assert.ok(scan(text, { ...DEFAULT_LIMITS, maxMessageSize: text.length }).ok);
  });

  test('header count', () => {
    const b = req('OPTIONS');
    for (let i = 0; i < 10; i++) b.header(`X-H${i}`, String(i));
    const text = b.text();
    const r = scan(text, { ...DEFAULT_LIMITS, maxHeaders: 10 });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'SIP_ERR_LIMIT_HEADERS');
      assert.equal(r.error.status, 400);
    }
    assert.ok(scan(text, { ...DEFAULT_LIMITS, maxHeaders: 17 }).ok);
  });

  test('header line length (folded lines count as one)', () => {
    const text = req('OPTIONS')
      .header('Subject', `${'a'.repeat(50)}\r\n ${'b'.repeat(50)}`)
      .text();
    const r = scan(text, { ...DEFAULT_LIMITS, maxLineLength: 100 });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'SIP_ERR_LIMIT_LINE');
      assert.equal(r.error.status, 400);
    }
    assert.ok(scan(text, { ...DEFAULT_LIMITS, maxLineLength: 120 }).ok);
  });

  test('an over-long request line is 414 (RFC 3261 §21.4.15)', () => {
    const r = scan(`OPTIONS sip:${'a'.repeat(200)}@b SIP/2.0\r\n\r\n`, {
      ...DEFAULT_LIMITS,
      maxLineLength: 100,
    });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'SIP_ERR_LIMIT_LINE');
      assert.equal(r.error.status, 414);
    }
  });
});
