import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidArgumentError } from '../../../src/errors/sip-error.js';
import {
  buildResponse,
  buildResponseBytes,
  newTag,
  statelessToTag,
} from '../../../src/message/build.js';
import { Hdr } from '../../../src/message/constants.js';
import type { SipRequest } from '../../../src/message/message.js';
import { parse, req } from '../../support/msg.js';

const INVITE = [
  'INVITE sip:bob@biloxi.com SIP/2.0',
  'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/UDP p2.example.com;branch=z9hG4bK2',
  'v: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK3;received=192.0.2.1',
  'Max-Forwards: 68',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.com',
  'CSeq: 314159 INVITE',
  'Record-Route: <sip:p1.example.com;lr>',
  'Timestamp: 54',
  'Contact: <sip:alice@pc33.atlanta.com>',
  'Content-Length: 0',
  '',
  '',
].join('\r\n');

function invite(text = INVITE): SipRequest {
  const m = parse(text);
  assert.ok(m.isRequest);
  return m as SipRequest;
}

describe('buildResponseBytes', () => {
  test('Via fields copied in order incl. a multi-value Via; From, To, Call-ID, CSeq copied (RFC 3261 §8.2.6.2)', () => {
    const out = buildResponseBytes(invite(), 486, { toTag: 'x1' }).toString('latin1');
    assert.equal(
      out,
      [
        'SIP/2.0 486 Busy Here',
        'Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1, SIP/2.0/UDP p2.example.com;branch=z9hG4bK2',
        'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK3;received=192.0.2.1',
        'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
        'To: Bob <sip:bob@biloxi.com>;tag=x1',
        'Call-ID: a84b4c76e66710@pc33.atlanta.com',
        'CSeq: 314159 INVITE',
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n'),
    );
  });

  test('100 Trying gets no To tag and copies Timestamp (RFC 3261 §8.2.6.1)', () => {
    const r = buildResponse(invite(), 100);
    assert.equal(r.toTag, undefined);
    assert.equal(r.getHeader(Hdr.Timestamp), '54');
    assert.equal(r.reason, 'Trying');
    assert.equal(buildResponse(invite(), 180).getHeader(Hdr.Timestamp), undefined);
  });

  test('a To tag already present is kept as is', () => {
    const r = buildResponse(
      invite(
        INVITE.replace('To: Bob <sip:bob@biloxi.com>', 'To: Bob <sip:bob@biloxi.com>;tag=existing'),
      ),
      200,
    );
    assert.equal(r.toTag, 'existing');
    assert.equal(r.getHeaders(Hdr.To).length, 1);
  });

  test('a bare addr-spec To gets the tag as a header parameter (RFC 3261 §20.10)', () => {
    const r = buildResponse(
      req('OPTIONS').without('To').header('To', 'sip:bob@biloxi.com').build(),
      200,
      { toTag: 'abc' },
    );
    assert.equal(r.getHeader(Hdr.To), 'sip:bob@biloxi.com;tag=abc');
    assert.equal(r.toTag, 'abc');
  });

  test('the stateless To tag is the same for a retransmission and differs between requests', () => {
    const a = buildResponse(invite(), 404);
    const b = buildResponse(invite(), 404);
    assert.ok(a.toTag);
    assert.equal(a.toTag, b.toTag);
    assert.equal(statelessToTag(invite()), a.toTag);
    const other = buildResponse(
      invite(INVITE.replace('branch=z9hG4bK1,', 'branch=z9hG4bK9,')),
      404,
    );
    assert.notEqual(other.toTag, a.toTag);
    assert.notEqual(newTag(), newTag());
  });

  test('topVia replaces only the first Via value', () => {
    const r = buildResponse(invite(), 200, {
      topVia: 'SIP/2.0/UDP p1.example.com;branch=z9hG4bK1;received=192.0.2.9',
    });
    assert.deepEqual(
      r.vias?.map((v) => v.received ?? v.host),
      ['192.0.2.9', 'p2.example.com', '192.0.2.1'],
    );
  });

  test('reason, extra headers, Record-Route and body', () => {
    const body = Buffer.from('v=0\r\n');
    const r = buildResponse(invite(), 200, {
      reason: 'Fine',
      headers: ['Contact: <sip:bob@192.0.2.4>', 'Content-Type: application/sdp'],
      body,
      recordRoute: true,
    });
    assert.equal(r.reason, 'Fine');
    assert.equal(r.recordRoutes?.[0]?.uriText, 'sip:p1.example.com;lr');
    assert.equal(r.contacts?.contacts[0]?.uriText, 'sip:bob@192.0.2.4');
    assert.deepEqual(r.body, body);
    assert.equal(r.contentLength, body.length);
  });

  test('folded request headers are copied unfolded', () => {
    const r = buildResponse(invite(INVITE.replace('From: Alice', 'From:\r\n Alice')), 200);
    assert.equal(r.getHeader(Hdr.From), 'Alice <sip:alice@atlanta.com>;tag=1928301774');
    assert.equal(r.fromTag, '1928301774');
  });

  test('a bad status or reason is a programmer error', () => {
    assert.throws(() => buildResponseBytes(invite(), 99), InvalidArgumentError);
    assert.throws(() => buildResponseBytes(invite(), 700), InvalidArgumentError);
    assert.throws(
      () => buildResponseBytes(invite(), 200, { reason: 'OK\r\nX: y' }),
      InvalidArgumentError,
    );
  });
});
