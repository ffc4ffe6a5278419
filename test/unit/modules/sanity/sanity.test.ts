import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import type { SipRequest } from '../../../../src/message/message.js';
import { scanMessage } from '../../../../src/message/scanner.js';
import { validateMessage } from '../../../../src/message/validate.js';
import { mfProcessMaxfwdHeader } from '../../../../src/modules/maxfwd/index.js';
import { sanityCheck } from '../../../../src/modules/sanity/index.js';
import { RequestContext } from '../../../../src/proxy/context.js';
import { defineScript } from '../../../../src/script/api.js';
import { firstLine, harness } from '../../../support/harness.js';

const TORTURE = resolve(import.meta.dirname, '../../../../../shared/torture/rfc4475');

function parse(raw: string): SipRequest {
  const r = scanMessage(Buffer.from(raw.replace(/\r?\n/g, '\r\n'), 'latin1'));
  assert.ok(r.ok, r.ok ? '' : r.error.message);
  return r.msg as SipRequest;
}

function req(
  o: {
    method?: string;
    uri?: string;
    cseq?: string;
    extra?: string;
    body?: string;
    cl?: string;
  } = {},
): SipRequest {
  const body = o.body ?? '';
  return parse(`${o.method ?? 'OPTIONS'} ${o.uri ?? 'sip:bob@example.com'} SIP/2.0
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1
Max-Forwards: 70
From: <sip:a@example.com>;tag=1
To: <sip:bob@example.com>
Call-ID: s@x
CSeq: ${o.cseq ?? `1 ${o.method ?? 'OPTIONS'}`}
${o.extra ?? ''}Content-Length: ${o.cl ?? body.length}

${body}`);
}

describe('sanity_check("1511", "7") (outbound.md §1.12, conformance item 122)', () => {
  test('passes a well-formed request', () => {
    assert.equal(sanityCheck(req(), 1511, 7), undefined);
  });

  test('CSeq method differs from the request method -> 400 "CSeq method does not match request method"', () => {
    assert.deepEqual(sanityCheck(req({ cseq: '1 INVITE' }), 1511, 7), {
      check: 'cseq_method',
      status: 400,
      reason: 'CSeq method does not match request method',
    });
  });

  test('CSeq value >= 2^31 -> 400 "CSeq number is illegal"', () => {
    assert.equal(
      sanityCheck(req({ cseq: '2147483648 OPTIONS' }), 1511, 7)?.reason,
      'CSeq number is illegal',
    );
  });

  test('Content-Length: larger than the datagram -> 400 at the transport; extra octets discarded, then sanity passes', () => {
    const big = scanMessage(
      Buffer.from(
        'OPTIONS sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\nContent-Length: 9\r\n\r\nabcd',
      ),
    );
    assert.equal(big.ok, false);
    assert.equal(big.ok ? 0 : big.error.status, 400);
    const r = parse(
      'OPTIONS sip:bob@example.com SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>\nCall-ID: c\nCSeq: 1 OPTIONS\nContent-Length: 2\n\nabcd',
    );
    assert.equal(r.bodyLength, 2);
    assert.equal(sanityCheck(r, 1511, 7), undefined);
  });

  test('Expires not a 32-bit number -> 400 "Expires value is illegal"', () => {
    for (const v of ['abc', '4294967296', '12345678901'])
      assert.equal(
        sanityCheck(req({ extra: `Expires: ${v}\n` }), 1511, 7)?.reason,
        'Expires value is illegal',
        v,
      );
    assert.equal(sanityCheck(req({ extra: 'Expires: 4294967295\n' }), 1511, 7), undefined);
  });

  test('unknown Request-URI scheme -> 416; tel: passes (RFC 4475 §3.3.2)', () => {
    assert.deepEqual(sanityCheck(req({ uri: 'soap.beep://192.0.2.103:3002' }), 1511, 7), {
      check: 'ruri_scheme',
      status: 416,
      reason: 'Unsupported URI Scheme in Request URI',
    });
    assert.equal(sanityCheck(req({ uri: 'tel:+12125550100' }), 1511, 7), undefined);
  });

  test('Proxy-Require with an unknown option tag -> 420 with Unsupported (RFC 3261 §16.3 step 5, check 512)', () => {
    const f = sanityCheck(req({ extra: 'Proxy-Require: foo, outbound\n' }), 512, 0, [
      'outbound',
      'path',
    ]);
    assert.deepEqual(f, {
      check: 'proxy_require',
      status: 420,
      reason: 'Bad Extension',
      unsupported: ['foo'],
    });
  });

  test('through a script: the reply is sent, the check is logged, the script ends (decision Q-T4)', () => {
    const logged: string[] = [];
    const logger = {
      trace() {},
      debug() {},
      info() {},
      warn: (o: unknown, m?: string) => void logged.push(`${m} ${JSON.stringify(o)}`),
      error: (o: unknown, m?: string) => void logged.push(`${m} ${JSON.stringify(o)}`),
      fatal() {},
      child() {
        return logger;
      },
    };
    let after = false;
    const h = harness({
      logger,
      script: defineScript({
        request_route(ctx) {
          if (!ctx.sanity_check('1511', '7')) ctx.xlog('Malformed SIP message from $si:$sp\n');
          after = true;
        },
      }),
    });
    h.inject(req({ cseq: '1 INVITE' }).toString(), '192.0.2.1:5060');
    assert.deepEqual(h.take().map(firstLine), [
      'SIP/2.0 400 CSeq method does not match request method',
    ]);
    assert.equal(after, false, 'the script ended (Kamailio returns 0)');
    assert.ok(
      logged.some((l) => l.includes('sanity check failed') && l.includes('"check":"cseq_method"')),
      logged.join('\n'),
    );
  });
});

describe('RFC 4475 application-layer verdicts (what a proxy answers)', () => {
  const load = (f: string): SipRequest => {
    const r = scanMessage(readFileSync(join(TORTURE, f)));
    assert.ok(r.msg?.isRequest);
    return r.msg as SipRequest;
  };

  test('RFC 4475 §3.3.1 insuf: missing required headers -> 400 at the transport (validateMessage)', () => {
    assert.equal(validateMessage(load('insuf.dat'))?.status, 400);
  });

  test('RFC 4475 §3.3.2 unkscm: unknown Request-URI scheme -> 416', () => {
    assert.equal(sanityCheck(load('unkscm.dat'), 1511, 7)?.status, 416);
  });

  test('RFC 4475 §3.3.5 bext01: Proxy-Require with unknown tags -> 420 listing them', () => {
    const f = sanityCheck(load('bext01.dat'), 512, 0, ['outbound', 'path', 'gruu']);
    assert.equal(f?.status, 420);
    assert.ok((f?.unsupported?.length ?? 0) > 0);
  });

  test('RFC 4475 §3.3.8 multi01 and §3.3.9 mcl01: duplicated single-value headers -> 400', () => {
    assert.equal(validateMessage(load('multi01.dat'))?.status, 400);
    const mcl = scanMessage(readFileSync(join(TORTURE, 'mcl01.dat')));
    assert.equal(mcl.ok, false);
    assert.equal(mcl.ok ? 0 : mcl.error.status, 400);
  });

  test('RFC 4475 §3.3.11 zeromf: Max-Forwards 0 -> 483 (mf_process_maxfwd_header fails)', () => {
    const r = load('zeromf.dat');
    const ctx = new RequestContext(
      r,
      {
        proto: 'udp',
        local: { address: '127.0.0.1', port: 5060 },
        remote: { address: '192.0.2.1', port: 5060 },
        flowId: 'f',
        listener: {
          id: 0,
          proto: 'udp',
          address: '127.0.0.1',
          port: 5060,
          family: 4,
          advertise: undefined,
        },
        secure: false,
      },
      'request',
      {},
    );
    assert.equal(mfProcessMaxfwdHeader(ctx, 10), -1);
  });

  test('RFC 4475 §3.3.14 regescrt: a Contact with an escaped Route header is not stored as a route', () => {
    const r = load('regescrt.dat');
    const c = r.contacts?.contacts[0];
    assert.ok(c);
    assert.equal((c.uri as { headers?: string }).headers, 'Route=%3Csip:sip.example.com%3E');
  });
});
