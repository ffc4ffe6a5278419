// RFC 4475 torture messages: every .dat in ../shared/torture/rfc4475 (beside the checkout) asserts
// the verdict of its MANIFEST.tsv row at the message layer. For the application-layer verdicts
// (416, 420, 483…) the test asserts what the message layer hands the proxy so it can decide; the
// proxy-level replies are asserted in the sanity module's tests.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Hdr } from '../../../src/message/constants.js';
import { type SipMessage, SipRequest, SipResponse } from '../../../src/message/message.js';
import { contactExpires, contactQ } from '../../../src/message/parse/contact.js';
import { AbsoluteUri, SipUri } from '../../../src/message/parse/uri.js';
import { scanMessage } from '../../../src/message/scanner.js';
import { validateMessage } from '../../../src/message/validate.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = resolve(repoRoot, '../shared/torture/rfc4475');

interface Row {
  section: string;
  title: string;
  verdict: string;
}

const manifest = new Map<string, Row>();
for (const line of readFileSync(resolve(dir, 'MANIFEST.tsv'), 'latin1')
  .trim()
  .split('\n')
  .slice(1)) {
  const [file = '', section = '', title = '', verdict = ''] = line.split('\t');
  manifest.set(file, { section, title, verdict });
}

function load(file: string): Buffer {
  return readFileSync(resolve(dir, file));
}

/** scanMessage ok and validateMessage undefined. */
function valid(file: string): SipMessage {
  const r = scanMessage(load(file));
  assert.ok(r.ok, `${file}: ${r.ok ? '' : r.error.message}`);
  const e = validateMessage(r.msg);
  assert.equal(e, undefined, `${file}: ${e?.message}`);
  return r.msg;
}

function request(file: string): SipRequest {
  const m = valid(file);
  assert.ok(m instanceof SipRequest);
  return m;
}

/** The scanner refuses the message with this code and status. */
function refusedByScan(file: string, code: string, status: number): SipMessage | undefined {
  const r = scanMessage(load(file));
  assert.equal(r.ok, false, `${file} should not scan`);
  if (r.ok) return undefined;
  assert.equal(r.error.code, code, r.error.message);
  assert.equal(r.error.status, status, r.error.message);
  return r.msg;
}

/** The scanner accepts the message, validateMessage refuses it with this field, code and status. */
function refusedByValidation(file: string, field: string, code: string, status = 400): SipMessage {
  const r = scanMessage(load(file));
  assert.ok(r.ok, `${file}: ${r.ok ? '' : r.error.message}`);
  const e = validateMessage(r.msg);
  assert.ok(e, `${file} should not validate`);
  assert.equal(e.field, field, e.message);
  assert.equal(e.code, code, e.message);
  assert.equal(e.status, status, e.message);
  return r.msg;
}

const cases: Record<string, (file: string) => void> = {
  // ---- 3.1.1 valid messages
  'wsinv.dat': (f) => {
    const m = request(f);
    assert.equal(m.ruri instanceof SipUri && m.ruri.hasParam('unknownparam'), true);
    assert.equal(m.toTag, '1918181833n');
    assert.equal(m.to?.uriText, 'sip:vivekg@chair-dnrc.example.com');
    assert.equal(m.from?.displayText, 'J Rosenberg \\"');
    assert.equal(m.fromTag, '98asjd8');
    assert.equal(m.maxForwards, 68);
    assert.equal(m.callId, 'wsinv.ndaksdj@192.0.2.1');
    assert.deepEqual(m.cseq, { seq: 9, method: 'INVITE' });
    assert.deepEqual(
      m.vias?.map((v) => [v.transport, v.host, v.branch]),
      [
        ['UDP', '192.0.2.2', '390skdjuw'],
        ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['UDP', '192.168.255.111', 'z9hG4bK30239'],
      ],
    );
    assert.equal(m.getHeader(Hdr.Subject), '');
    assert.equal(m.getHeader('NewFangledHeader'), 'newfangled value continued newfangled value');
    assert.equal(m.getHeader('UnknownHeaderWithUnusualValue'), ';;,,;;,;');
    const r = m.routes?.[0]?.uri;
    assert.ok(r instanceof SipUri);
    assert.equal(r.param('unknownwith'), 'value');
    const c = m.contacts?.contacts[0];
    assert.ok(c);
    assert.equal(c.displayText, 'Quoted string ""');
    assert.equal(c.param('newparam'), 'newvalue');
    assert.equal(contactQ(c), 330);
    assert.equal(m.bodyLength, 150);
  },
  'intmeth.dat': (f) => {
    const m = request(f);
    assert.equal(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    assert.equal(m.cseq?.method, m.method);
    const u = m.ruri;
    assert.ok(u instanceof SipUri);
    assert.equal(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert.equal(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert.equal(m.to?.displayText, 'BEL:\x07 NUL:\x00 DEL:\x7f');
    assert.equal(m.fromTag, "_token~1'+`*%!-.");
    assert.equal(m.callId, 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    assert.equal(
      m.getHeader("extensionHeader-!.%*+_`'~"),
      Buffer.from('\u{FEFF}\u5927\u505C\u96FB', 'utf8').toString('latin1'),
    );
  },
  'esc01.dat': (f) => {
    const m = request(f);
    assert.equal(m.ruri instanceof SipUri && m.ruri.unescapedUser, 'sips:user@example.com');
    const to = m.to?.uri;
    assert.ok(to instanceof SipUri);
    assert.equal(to.unescapedUser, 'user');
    const from = m.from?.uri;
    assert.ok(from instanceof SipUri);
    assert.equal(from.unescapedUser, 'I have spaces');
    const c = m.contacts?.contacts[0]?.uri;
    assert.ok(c instanceof SipUri);
    assert.equal(c.unescapedUser, 'caller');
    assert.equal(c.params.size, 2);
  },
  'escnull.dat': (f) => {
    const m = request(f);
    const to = m.to?.uri;
    assert.ok(to instanceof SipUri);
    assert.equal(to.unescapedUser, 'null-\x00-null');
    assert.deepEqual(
      m.contacts?.contacts.map((c) => (c.uri instanceof SipUri ? c.uri.unescapedUser : '')),
      ['\x00', '\x00\x00'],
    );
  },
  'esc02.dat': (f) => {
    const m = request(f);
    assert.equal(m.method, 'RE%47IST%45R');
    assert.equal(m.topVia?.branch, 'z9hG4bK209%fzsnel234');
    assert.equal(m.to?.displayText, '%Z%45');
    // C%6Fntact is not Contact: the header name is not unescaped
    assert.equal(m.contacts?.contacts.length, 2);
    assert.equal(m.getHeader('C%6Fntact'), '<sip:alias2@host2.example.com>');
  },
  'lwsdisp.dat': (f) => {
    assert.equal(request(f).from?.displayName, 'caller');
  },
  'longreq.dat': (f) => {
    const m = request(f);
    assert.equal(m.viaCount, 34);
    assert.equal(m.vias?.length, 34);
    assert.equal(m.vias?.at(-1)?.received, '192.0.2.5');
    assert.ok((m.fromTag?.length ?? 0) > 100);
    assert.ok(m.to?.displayText?.includes('extremeextreme'));
    assert.equal(m.bodyLength, 150);
  },
  'dblreq.dat': (f) => {
    // first message only: the INVITE after the REGISTER's Content-Length is discarded
    const m = request(f);
    assert.equal(m.method, 'REGISTER');
    assert.equal(m.callId, 'dblreq.0ha0isndaksdj99sdfafnl3lk233412');
    assert.equal(m.bodyLength, 0);
    assert.ok(m.bytes.toString('latin1').endsWith('Content-Length: 0\r\n\r\n'));
    assert.ok(!m.bytes.toString('latin1').includes('INVITE'));
  },
  'semiuri.dat': (f) => {
    const m = request(f);
    const u = m.ruri;
    assert.ok(u instanceof SipUri);
    assert.equal(u.user, 'user;par=u%40example.net');
    assert.equal(u.host, 'example.com');
    assert.equal(u.params.size, 0);
    assert.equal(m.getValues(Hdr.Accept).length, 6);
  },
  'transports.dat': (f) => {
    assert.deepEqual(
      request(f).vias?.map((v) => v.transport),
      ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP'],
    );
  },
  'mpart01.dat': (f) => {
    const m = request(f);
    assert.equal(m.bodyLength, 553);
    assert.equal(m.getHeader(Hdr.ContentType), 'multipart/mixed;boundary=7a9cbec02ceef655');
    assert.ok(m.body.toString('latin1').endsWith('--7a9cbec02ceef655--\r\n'));
  },
  'unreason.dat': (f) => {
    const m = valid(f);
    assert.ok(m instanceof SipResponse);
    assert.equal(m.status, 200);
    assert.ok(m.reasonText.startsWith('= 2**3 * 5**2 но'));
  },
  'noreason.dat': (f) => {
    const m = valid(f);
    assert.ok(m instanceof SipResponse);
    assert.equal(m.status, 100);
    assert.equal(m.reason, '');
  },
  // ---- 3.1.2 invalid messages
  'badinv01.dat': (f) => {
    refusedByValidation(f, 'Via', 'SIP_ERR_PARSE_VIA');
  },
  'clerr.dat': (f) => {
    refusedByScan(f, 'SIP_ERR_PARSE_BODY', 400);
  },
  'ncl.dat': (f) => {
    refusedByScan(f, 'SIP_ERR_PARSE_CONTENT_LENGTH', 400);
  },
  'scalar02.dat': (f) => {
    const m = refusedByValidation(f, 'CSeq', 'SIP_ERR_PARSE_CSEQ');
    // the other overlarge values are visible too
    assert.ok(Number.isNaN(m.maxForwards));
    assert.ok(Number.isNaN(m.expires));
    const c = m.contacts?.contacts[0];
    assert.ok(c);
    assert.ok(Number.isNaN(contactExpires(c)));
  },
  'scalarlg.dat': (f) => {
    // a response: no reply is sent, the error is still detected
    const m = refusedByValidation(f, 'CSeq', 'SIP_ERR_PARSE_CSEQ');
    assert.ok(m instanceof SipResponse);
  },
  'quotbal.dat': (f) => {
    refusedByValidation(f, 'To', 'SIP_ERR_PARSE_TO');
  },
  'ltgtruri.dat': (f) => {
    refusedByScan(f, 'SIP_ERR_PARSE_URI', 400);
  },
  'lwsruri.dat': (f) => {
    refusedByScan(f, 'SIP_ERR_PARSE_START_LINE', 400);
  },
  'lwsstart.dat': (f) => {
    refusedByScan(f, 'SIP_ERR_PARSE_START_LINE', 400);
  },
  'trws.dat': (f) => {
    refusedByScan(f, 'SIP_ERR_PARSE_START_LINE', 400);
  },
  'escruri.dat': (f) => {
    refusedByValidation(f, 'Request-URI', 'SIP_ERR_PARSE_URI');
  },
  'baddate.dat': (f) => {
    refusedByValidation(f, 'Date', 'SIP_ERR_PARSE_HEADER');
  },
  'regbadct.dat': (f) => {
    refusedByValidation(f, 'Contact', 'SIP_ERR_PARSE_CONTACT');
  },
  'badaspec.dat': (f) => {
    refusedByValidation(f, 'To', 'SIP_ERR_PARSE_TO');
  },
  'baddn.dat': (f) => {
    // the archive's file ends after `l: 0` without the empty line, which the scanner refuses
    // first; the display names it is about are refused too
    const m = refusedByScan(f, 'SIP_ERR_PARSE_HEADER', 400);
    assert.ok(m);
    const e = validateMessage(m);
    assert.equal(e?.field, 'From');
    assert.equal(e?.status, 400);
    assert.match(e?.detail ?? '', /display name/);
  },
  'badvers.dat': (f) => {
    refusedByScan(f, 'SIP_ERR_PARSE_VERSION', 505);
  },
  'mismatch01.dat': (f) => {
    refusedByValidation(f, 'CSeq', 'SIP_ERR_PARSE_CSEQ');
  },
  'mismatch02.dat': (f) => {
    // 400 from the message layer; RFC 4475 also allows a 501 for the unknown method
    refusedByValidation(f, 'CSeq', 'SIP_ERR_PARSE_CSEQ');
  },
  'bigcode.dat': (f) => {
    // a response with a status code over 699: detected, never answered
    const m = refusedByScan(f, 'SIP_ERR_PARSE_STATUS', 400);
    assert.ok(m instanceof SipResponse);
  },
  // ---- 3.2 transaction layer
  'badbranch.dat': (f) => {
    // the branch is the bare magic cookie: not a usable RFC 3261 transaction id, so the
    // transaction layer falls back to RFC 2543 matching
    const v = request(f).topVia;
    assert.equal(v?.branch, 'z9hG4bK');
  },
  // ---- 3.3 application layer
  'insuf.dat': (f) => {
    // the proxy answers 400: From, To, Call-ID missing
    refusedByValidation(f, 'From', 'SIP_ERR_PARSE_MISSING_HEADER');
  },
  'unkscm.dat': (f) => {
    // the proxy answers 416 Unsupported URI Scheme
    const u = request(f).ruri;
    assert.ok(u instanceof AbsoluteUri);
    assert.equal(u.scheme, 'nobodyknowsthisscheme');
    assert.equal(u.isSip, false);
  },
  'novelsc.dat': (f) => {
    // a known but atypical scheme: a proxy may forward it (or answer 416)
    const u = request(f).ruri;
    assert.ok(u instanceof AbsoluteUri);
    assert.equal(u.scheme, 'soap.beep');
  },
  'unksm2.dat': (f) => {
    const m = request(f);
    assert.equal(m.to?.uri.scheme, 'isbn');
    assert.equal(m.from?.uri.scheme, 'http');
    assert.equal(m.contacts?.contacts[0]?.uri.scheme, 'name');
  },
  'bext01.dat': (f) => {
    // the proxy answers 420 Bad Extension with Unsupported listing the Proxy-Require tags
    const m = request(f);
    assert.deepEqual(m.optionTags(Hdr.ProxyRequire), [
      'noproxiessupportthis',
      'nordoanyproxiessupportthis',
    ]);
    assert.deepEqual(m.optionTags(Hdr.Require), [
      'nothingsupportsthis',
      'nothingsupportsthiseither',
    ]);
  },
  'invut.dat': (f) => {
    // the UAS answers 415 Unsupported Media Type
    const m = request(f);
    assert.equal(m.getHeader(Hdr.ContentType), 'application/unknownformat');
    assert.equal(m.bodyLength, 40);
  },
  'regaut01.dat': (f) => {
    assert.equal(request(f).getHeader(Hdr.Authorization), 'NoOneKnowsThisScheme opaque-data=here');
  },
  'multi01.dat': (f) => {
    // the proxy answers 400: CSeq, Call-ID, To, From and Max-Forwards each appear twice
    refusedByValidation(f, 'CSeq', 'SIP_ERR_PARSE_DUPLICATE_HEADER');
  },
  'mcl01.dat': (f) => {
    // 400: with two Content-Length values the body length is unknown
    refusedByScan(f, 'SIP_ERR_PARSE_DUPLICATE_HEADER', 400);
  },
  'bcast.dat': (f) => {
    // a response: the proxy removes its own Via and must not send to the broadcast address
    // found in the next one blindly
    const m = valid(f);
    assert.ok(m instanceof SipResponse);
    assert.deepEqual(
      m.vias?.map((v) => v.host),
      ['192.0.2.198', '255.255.255.255'],
    );
  },
  'zeromf.dat': (f) => {
    // the proxy answers 483 Too Many Hops (an OPTIONS may be answered by the proxy itself)
    const m = request(f);
    assert.equal(m.maxForwards, 0);
    assert.equal(m.method, 'OPTIONS');
  },
  'cparam01.dat': (f) => {
    // after an addr-spec, the parameter belongs to the Contact header, not to the URI
    const c = request(f).contacts?.contacts[0];
    assert.ok(c);
    assert.equal(c.angle, false);
    assert.equal(c.param('unknownparam'), null);
    assert.ok(c.uri instanceof SipUri);
    assert.equal(c.uri.params.size, 0);
  },
  'cparam02.dat': (f) => {
    const c = request(f).contacts?.contacts[0];
    assert.ok(c);
    assert.equal(c.params.size, 0);
    assert.ok(c.uri instanceof SipUri);
    assert.equal(c.uri.param('unknownparam'), null);
  },
  'regescrt.dat': (f) => {
    // the registrar must not store the escaped Route: it rejects the REGISTER or strips it
    const u = request(f).contacts?.contacts[0]?.uri;
    assert.ok(u instanceof SipUri);
    assert.deepEqual(u.headerList(), [{ name: 'Route', value: '<sip:sip.example.com>' }]);
  },
  'sdp01.dat': (f) => {
    // the UAS answers 406 Not Acceptable
    assert.deepEqual(request(f).getValues(Hdr.Accept), ['text/nobodyKnowsThis']);
  },
  // ---- 3.4 backward compatibility
  'inv2543.dat': (f) => {
    const m = request(f);
    assert.equal(m.topVia?.branch, undefined);
    assert.equal(m.fromTag, undefined);
    assert.equal(m.maxForwards, undefined);
    assert.equal(m.contentLength, undefined);
    assert.ok(m.body.toString('latin1').startsWith('v=0'));
    const rr = m.recordRoutes?.[0]?.uri;
    assert.ok(rr instanceof SipUri);
    assert.equal(rr.param('maddr'), 'ss1.example.com');
  },
};

/** The verdict class each file's check implements, compared with MANIFEST.tsv. */
function verdictClass(verdict: string): 'valid' | 'invalid' | 'application' {
  if (verdict === 'invalid' || verdict.startsWith('invalid ')) return 'invalid';
  if (verdict === 'valid' || /^valid \((first|RFC 2543|backward)/.test(verdict)) return 'valid';
  return 'application';
}

const INVALID = new Set([
  'badinv01.dat',
  'clerr.dat',
  'ncl.dat',
  'scalar02.dat',
  'scalarlg.dat',
  'quotbal.dat',
  'ltgtruri.dat',
  'lwsruri.dat',
  'lwsstart.dat',
  'trws.dat',
  'escruri.dat',
  'baddate.dat',
  'regbadct.dat',
  'badaspec.dat',
  'baddn.dat',
  'badvers.dat',
  'mismatch01.dat',
  'mismatch02.dat',
  'bigcode.dat',
  'mcl01.dat',
]);
const REJECTED_AT_APPLICATION_LAYER = new Set(['insuf.dat', 'multi01.dat']);

describe('RFC 4475 torture messages', () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.dat'))
    .sort((a, b) =>
      (manifest.get(a)?.section ?? '').localeCompare(manifest.get(b)?.section ?? '', 'en', {
        numeric: true,
      }),
    );

  test('the corpus holds the 49 messages of the manifest, each with a check', () => {
    assert.equal(files.length, 49);
    assert.deepEqual([...manifest.keys()].sort(), [...files].sort());
    assert.deepEqual(Object.keys(cases).sort(), [...files].sort());
  });

  for (const file of files) {
    const row = manifest.get(file);
    const name = file.replace(/\.dat$/, '');
    test(`RFC 4475 §${row?.section ?? '?'} ${name}`, () => {
      assert.ok(row, `${file} is not in MANIFEST.tsv`);
      // the check below implements the manifest's verdict
      const cls = verdictClass(row.verdict);
      if (INVALID.has(file)) assert.equal(cls, 'invalid', row.verdict);
      else if (REJECTED_AT_APPLICATION_LAYER.has(file))
        assert.match(row.verdict, /reject with 400/);
      else assert.notEqual(cls, 'invalid', row.verdict);
      const check = cases[file];
      assert.ok(check, `no check for ${file}`);
      check(file);
    });
  }
});
