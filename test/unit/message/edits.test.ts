import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../../src/errors/sip-error.js';
import { Hdr } from '../../../src/message/constants.js';
import { EditList, serialize, toWire } from '../../../src/message/edits.js';
import type { SipMessage } from '../../../src/message/message.js';
import { scanMessage } from '../../../src/message/scanner.js';
import { parse } from '../../support/msg.js';

const TEXT = [
  'INVITE sip:bob@biloxi.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds8',
  'Max-Forwards: 70',
  'Route: <sip:p1.example.com;lr>',
  'Subject: folded',
  '  over two lines',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710',
  'CSeq: 314159 INVITE',
  'l: 4',
  '',
  'v=0\n',
].join('\r\n');

function msg(text = TEXT): SipMessage {
  return parse(text);
}

function rescan(b: Buffer): SipMessage {
  const r = scanMessage(b);
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.msg;
}

describe('serialize', () => {
  test('with no edits the original bytes come back, not a copy', () => {
    const m = msg();
    const out = serialize(m);
    assert.equal(out.toString('latin1'), TEXT);
    assert.equal(out.buffer, m.buf.buffer);
    assert.equal(serialize(m, new EditList(), undefined).toString('latin1'), TEXT);
  });

  test('insert at the top, before a header, and append; untouched bytes identical', () => {
    const m = msg();
    const e = new EditList()
      .insertTop('Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1')
      .insertBefore(m.indexOf(Hdr.To), 'Record-Route: <sip:proxy.example.com;lr>')
      .append('X-Flow: 1');
    const out = serialize(m, e).toString('latin1');
    assert.equal(
      out,
      TEXT.replace(
        'INVITE sip:bob@biloxi.com SIP/2.0\r\n',
        'INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1\r\n',
      )
        .replace('To: Bob', 'Record-Route: <sip:proxy.example.com;lr>\r\nTo: Bob')
        .replace('l: 4\r\n', 'l: 4\r\nX-Flow: 1\r\n'),
    );
    const r = rescan(Buffer.from(out, 'latin1'));
    assert.equal(r.viaCount, 2);
    assert.equal(r.topVia?.host, 'proxy.example.com');
    assert.equal(r.getHeader('Subject'), 'folded over two lines');
  });

  test('remove and replace keep every other byte (folding, compact names) unchanged', () => {
    const m = msg();
    const e = new EditList().removeHeader(m.indexOf(Hdr.Route));
    e.replaceHeader(m.indexOf(Hdr.MaxForwards), '69');
    const out = serialize(m, e).toString('latin1');
    assert.equal(
      out,
      TEXT.replace('Route: <sip:p1.example.com;lr>\r\n', '').replace(
        'Max-Forwards: 70',
        'Max-Forwards: 69',
      ),
    );
  });

  test('removeAll removes every header of a name', () => {
    const m = msg(
      TEXT.replace(
        'Route: <sip:p1.example.com;lr>',
        'Route: <sip:p1.example.com;lr>\r\nroute: <sip:p2.example.com;lr>',
      ),
    );
    const e = new EditList();
    assert.equal(e.removeAll(m, 'Route'), 2);
    assert.equal(rescan(serialize(m, e)).routes?.length, 0);
  });

  test('a new Request-URI rewrites only the request line', () => {
    const m = msg();
    const out = serialize(
      m,
      new EditList().setRequestUri('sip:bob@192.0.2.4:5062;transport=tcp'),
    ).toString('latin1');
    assert.equal(
      out,
      TEXT.replace(
        'INVITE sip:bob@biloxi.com SIP/2.0',
        'INVITE sip:bob@192.0.2.4:5062;transport=tcp SIP/2.0',
      ),
    );
  });

  test('a new body recomputes Content-Length in place and keeps the compact l: (RFC 3261 §20.14)', () => {
    const m = msg();
    const body = Buffer.from('v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n');
    const out = serialize(m, new EditList().setBody(body));
    assert.equal(
      out.toString('latin1'),
      TEXT.replace('l: 4\r\n\r\nv=0\n', `l: ${body.length}\r\n\r\n${body.toString('latin1')}`),
    );
    assert.deepEqual(rescan(out).body, body);
  });

  test('a missing Content-Length is added; a wrong one is fixed', () => {
    const noCl = 'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\nhello';
    assert.equal(
      serialize(msg(noCl)).toString('latin1'),
      'OPTIONS sip:a@b SIP/2.0\r\nCall-ID: x\r\nContent-Length: 5\r\n\r\nhello',
    );
    const m = msg();
    const e = new EditList().replaceHeader(m.indexOf(Hdr.ContentLength), '99');
    e.removeHeader(m.indexOf(Hdr.ContentLength));
    assert.equal(serialize(m, e).toString('latin1'), TEXT, 'edits of Content-Length are ignored');
  });

  test('several edit lists apply in order; removal wins over replacement', () => {
    const m = msg();
    const a = new EditList()
      .insertTop('Via: SIP/2.0/UDP a;branch=z9hG4bKa')
      .replaceHeader(m.indexOf(Hdr.MaxForwards), '69');
    const b = new EditList()
      .insertTop('Via: SIP/2.0/UDP b;branch=z9hG4bKb')
      .removeHeader(m.indexOf(Hdr.MaxForwards));
    const r = rescan(serialize(m, a, b));
    assert.deepEqual(
      r.vias?.map((v) => v.host),
      ['a', 'b', 'pc33.atlanta.com'],
    );
    assert.equal(r.maxForwards, undefined);
  });

  test('non-ASCII text goes through toWire', () => {
    const m = msg();
    const out = serialize(m, new EditList().append(toWire('Subject: Grüße')));
    assert.equal(rescan(out).getHeader('Subject'), 'folded over two lines');
    assert.ok(out.includes(Buffer.from('Subject: Grüße', 'utf8')));
    assert.equal(toWire('plain'), 'plain');
  });

  test('lines with CR/LF or without a name are refused (no header injection)', () => {
    const e = new EditList();
    assert.throws(() => e.append('X-A: 1\r\nX-B: 2'), InvalidArgumentError);
    assert.throws(() => e.insertTop('no colon'), InvalidArgumentError);
    assert.throws(() => e.insertBefore(0, ': x'), InvalidArgumentError);
    assert.throws(() => e.replaceHeader(0, 'x\r\n'), InvalidArgumentError);
    assert.throws(() => e.setRequestUri('sip:a@b SIP/2.0\r\n'), InvalidArgumentError);
    assert.equal(e.isEmpty, true);
  });

  test('clone is independent', () => {
    const a = new EditList().append('X-A: 1').removeHeader(1);
    const b = a.clone().append('X-B: 2');
    b.removeHeader(2);
    assert.deepEqual(a.end, ['X-A: 1']);
    assert.deepEqual([...(a.removed ?? [])], [1]);
    assert.deepEqual(b.end, ['X-A: 1', 'X-B: 2']);
  });
});
