import type { ErrorCode } from '../errors/codes.js';
import { SipParseError } from '../errors/sip-error.js';
import { HDR_NAMES, Hdr, SINGLE_HEADERS } from './constants.js';
import { type SipMessage, SipRequest, valueText } from './message.js';
import { DIGIT } from './parse/chars.js';
import { parseContactRanges } from './parse/contact.js';
import { readCSeq, uintAt } from './parse/cseq.js';
import { type NameAddr, parseNameAddrAt, parseNameAddrList } from './parse/name-addr.js';
import { checkUri, URI_BAD, URI_SIP_HEADERS } from './parse/uri.js';
import { parseViaList, type Via } from './parse/via.js';

function bad(code: ErrorCode, field: string, detail: string): SipParseError {
  return new SipParseError(code, field, detail);
}

/** Bit of each single-valued header id (RFC 3261 §7.3.1), 0 for the others. */
const SINGLE_BIT = new Uint16Array(HDR_NAMES.length);
{
  let bit = 1;
  for (const id of SINGLE_HEADERS) {
    SINGLE_BIT[id] = bit;
    bit <<= 1;
  }
}

const FROM_TO = [
  [Hdr.From, 'SIP_ERR_PARSE_FROM', 'From'],
  [Hdr.To, 'SIP_ERR_PARSE_TO', 'To'],
] as const;

/** First index of each header id in the message being validated (scratch). */
const FIRST = new Int32Array(HDR_NAMES.length);
/** Name-addr list headers a proxy routes by: Route, Record-Route (RFC 3261 §16), Path (RFC 3327). */
const ADDRESS_LISTS = [Hdr.Route, Hdr.RecordRoute, Hdr.Path];

/** Checks every value of a comma-separated name-addr list header (Route, Record-Route, Path). */
function checkAddressList(msg: SipMessage, id: Hdr): SipParseError | undefined {
  const field = HDR_NAMES[id] ?? '';
  const out: NameAddr[] = [];
  for (let k = msg.indexOf(id); k >= 0; k = msg.indexOf(id, k + 1)) {
    const t = valueText(msg, k);
    const e = parseNameAddrList(t.b, t.s, field, t.a, t.z, out);
    if (e !== undefined) return e;
  }
  return undefined;
}

const WKDAY = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const MONTH = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DATE_DIGITS = [5, 6, 12, 13, 14, 15, 17, 18, 20, 21, 23, 24];

/**
 * RFC 3261 §20.17 / §25.1: `Date = rfc1123-date`, e.g. `Sat, 13 Nov 2010 23:29:00 GMT`; the zone
 * must be GMT (RFC 4475 §3.1.2.12).
 */
export function isSipDate(v: string): boolean {
  if (v.length !== 29) return false;
  if (!WKDAY.includes(v.slice(0, 3)) || v.slice(3, 5) !== ', ' || !MONTH.includes(v.slice(8, 11)))
    return false;
  for (const i of DATE_DIGITS) if (DIGIT[v.charCodeAt(i)] !== 1) return false;
  return (
    v[7] === ' ' &&
    v[11] === ' ' &&
    v[16] === ' ' &&
    v[19] === ':' &&
    v[22] === ':' &&
    v.slice(25) === ' GMT'
  );
}

/** True when the Call-ID holds no CTL or LWS (callid = word [ "@" word ], RFC 3261 §25.1). */
function callIdOk(b: Uint8Array, x: number, y: number): boolean {
  if (y <= x) return false;
  for (let i = x; i < y; i++) {
    const c = b[i] ?? 0;
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return true;
}

/**
 * The syntax checks every received message must pass before the transaction layer sees it (RFC
 * 3261 §8.1.1, §8.2.2, §16.3 step 1, §18.3; RFC 4475 §3.1.2 and §3.3.1/§3.3.8): a well-formed
 * Request-URI (for SIP URIs: no headers part, §19.1.1), Via present and every value well-formed,
 * single-valued headers not repeated, From/To/Call-ID/CSeq present and well-formed, the CSeq method
 * equal to the request method, Max-Forwards a number ≤ 255, Contact / Route / Record-Route / Path
 * well-formed when present, and Date in RFC 1123 form with GMT when present.
 *
 * Headers a proxy does not need (unknown ones, Expires, Retry-After…) are not judged here (RFC 3261
 * §8.2.2 robustness; RFC 4475 §3.1.2.4 lets an element treat a bad Expires as absent). Call-IDs are
 * opaque: only emptiness, LWS and CTLs are refused. Unknown schemes pass (the proxy answers 416,
 * RFC 4475 §3.3.2). Returns the first problem (with its `field` and `status`), or undefined.
 */
export function validateMessage(msg: SipMessage): SipParseError | undefined {
  const req = msg instanceof SipRequest ? msg : undefined;
  if (req !== undefined) {
    const us = msg.startLineStart + req.method.length + 1;
    const kind = checkUri(msg.buf, us, us + req.uri.length);
    if (kind === URI_BAD) {
      return bad('SIP_ERR_PARSE_URI', 'Request-URI', `bad Request-URI '${req.uri.slice(0, 64)}'`);
    }
    // RFC 3261 §19.1.1 table: no headers component in a Request-URI (RFC 4475 §3.1.2.11)
    if (kind === URI_SIP_HEADERS) {
      return bad('SIP_ERR_PARSE_URI', 'Request-URI', 'headers are not allowed in a Request-URI');
    }
  }
  // one pass: the first header of each id, and the first repeated single-valued one
  FIRST.fill(-1);
  let seen = 0;
  let dup: Hdr = Hdr.Other;
  const n = msg.headerCount;
  for (let k = 0; k < n; k++) {
    const id = msg.headerIdAt(k);
    if ((FIRST[id] ?? -1) < 0) FIRST[id] = k;
    const bit = SINGLE_BIT[id] ?? 0;
    if (bit === 0) continue;
    // RFC 3261 §7.3.1: only list headers may be repeated (RFC 4475 §3.3.8)
    if ((seen & bit) !== 0 && dup === Hdr.Other) dup = id;
    seen |= bit;
  }
  const first = (id: Hdr): number => FIRST[id] ?? -1;
  // Via: at least one, and every value well-formed (responses are routed by Via, RFC 3261 §18.2.2)
  const vias: Via[] = [];
  for (let k = first(Hdr.Via); k >= 0; k = msg.indexOf(Hdr.Via, k + 1)) {
    const t = valueText(msg, k);
    const e = parseViaList(t.b, t.s, t.a, t.z, vias);
    if (e !== undefined) return e;
  }
  if (vias.length === 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', 'Via', 'missing Via header');
  if (dup !== Hdr.Other) {
    const name = HDR_NAMES[dup] ?? '';
    return bad('SIP_ERR_PARSE_DUPLICATE_HEADER', name, `several ${name} headers`);
  }
  for (const [id, code, name] of FROM_TO) {
    const k = first(id);
    if (k < 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', name, `missing ${name} header`);
    const t = valueText(msg, k);
    const r = parseNameAddrAt(t.b, t.s, name, t.a, t.z);
    if (!r.ok) return bad(code, name, r.error.detail);
  }
  const ik = first(Hdr.CallId);
  if (ik < 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', 'Call-ID', 'missing Call-ID header');
  const it = valueText(msg, ik);
  if (!callIdOk(it.b, it.a, it.z)) return bad('SIP_ERR_PARSE_CALL_ID', 'Call-ID', 'bad Call-ID');
  const ck = first(Hdr.CSeq);
  if (ck < 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', 'CSeq', 'missing CSeq header');
  const ct = valueText(msg, ck);
  const c = readCSeq(ct.b, ct.s, ct.a, ct.z);
  if (typeof c === 'string') return bad('SIP_ERR_PARSE_CSEQ', 'CSeq', c);
  if (req !== undefined) {
    // RFC 3261 §8.1.1.5 / RFC 4475 §3.1.2.17: the CSeq method must equal the request method
    if (c.method !== req.method) {
      return bad('SIP_ERR_PARSE_CSEQ', 'CSeq', 'CSeq method does not match request method');
    }
    const mk = first(Hdr.MaxForwards);
    if (mk >= 0) {
      const t = valueText(msg, mk);
      // RFC 3261 §20.22: Max-Forwards is an integer 0..255
      if (uintAt(t.b, t.a, t.z, 255) === undefined) {
        return bad('SIP_ERR_PARSE_MAX_FORWARDS', 'Max-Forwards', 'bad Max-Forwards');
      }
    }
  }
  // Contact (RFC 3261 §20.10; RFC 4475 §3.1.2.13), one header field at a time
  let star = false;
  let contacts = 0;
  for (let k = first(Hdr.Contact); k >= 0; k = msg.indexOf(Hdr.Contact, k + 1)) {
    const t = valueText(msg, k);
    const r = parseContactRanges(t.b, t.s, [t.a, t.z]);
    if (!r.ok) return r.error;
    if (r.value.star) star = true;
    contacts += r.value.contacts.length;
  }
  // RFC 3261 §10.2.2: "*" stands alone
  if (star && contacts > 0) {
    return bad('SIP_ERR_PARSE_CONTACT', 'Contact', "'*' mixed with other contacts");
  }
  for (const id of ADDRESS_LISTS) {
    if (first(id) < 0) continue;
    const e = checkAddressList(msg, id);
    if (e !== undefined) return e;
  }
  const dk = first(Hdr.Date);
  if (dk >= 0 && !isSipDate(msg.headerValueAt(dk))) {
    return bad('SIP_ERR_PARSE_HEADER', 'Date', 'Date is not an RFC 1123 date in GMT');
  }
  return undefined;
}
