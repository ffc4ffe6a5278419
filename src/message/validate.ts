import type { ErrorCode } from '../errors/codes.js';
import { SipParseError } from '../errors/sip-error.js';
import { HDR_NAMES, Hdr, SINGLE_HEADERS } from './constants.js';
import {
  HSTRIDE,
  messageCache,
  type SipMessage,
  SipRequest,
  type ValueText,
  valueText,
} from './message.js';
import { DIGIT } from './parse/chars.js';
import { type ContactList, parseContactRanges } from './parse/contact.js';
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

/**
 * Sets `t` to header k's value: the message bytes and text with its range when the message is not
 * folded, else the unfolded copy. `t` is allocated per validation (a young object: no write barrier
 * when it takes the message's fresh text, as a long-lived shared one would have).
 */
function value(msg: SipMessage, k: number, t: ValueText): void {
  if (msg.folded) {
    const u = valueText(msg, k);
    t.b = u.b;
    t.s = u.s;
    t.a = u.a;
    t.z = u.z;
    return;
  }
  const o = k * HSTRIDE;
  t.b = msg.buf;
  t.s = msg.raw;
  t.a = msg.hdr[o + 3] ?? 0;
  t.z = msg.hdr[o + 4] ?? 0;
}

/** Index of the next header of id `id` after k, or -1. */
function nextOf(msg: SipMessage, id: Hdr, k: number): number {
  const hdr = msg.hdr;
  const n = hdr.length;
  for (let j = k + 1, o = (k + 1) * HSTRIDE; o < n; j++, o += HSTRIDE) if (hdr[o] === id) return j;
  return -1;
}

/** Checks every value of a comma-separated name-addr list header (Route, Record-Route, Path). */
function checkAddressList(
  msg: SipMessage,
  id: Hdr,
  k: number,
  t: ValueText,
): SipParseError | undefined {
  const field = HDR_NAMES[id] ?? '';
  const out: NameAddr[] = [];
  for (; k >= 0; k = nextOf(msg, id, k)) {
    value(msg, k, t);
    const e = parseNameAddrList(t.b, t.s, field, t.a, t.z, out);
    if (e !== undefined) return e;
  }
  messageCache.setAddressList(msg, id, out);
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
 *
 * The result is kept with the message (a second call returns it at once), and so is what the
 * checks parsed: the Via list, From, To, CSeq, the Contact list and the Route / Record-Route /
 * Path lists are what the message's getters (`vias`, `topVia`, `from`, `to`, `cseq`, `contacts`,
 * `routes`…) return from then on, without parsing again.
 */
export function validateMessage(msg: SipMessage): SipParseError | undefined {
  const known = messageCache.validated(msg);
  if (known !== null) return known;
  const e = check(msg);
  messageCache.setValidated(msg, e);
  return e;
}

function check(msg: SipMessage): SipParseError | undefined {
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
  // one pass: the first header of each id checked below, and the first repeated single-valued one
  let kVia = -1;
  let kFrom = -1;
  let kTo = -1;
  let kCallId = -1;
  let kCSeq = -1;
  let kMaxForwards = -1;
  let kContact = -1;
  let kRoute = -1;
  let kRecordRoute = -1;
  let kPath = -1;
  let kDate = -1;
  let seen = 0;
  let dup: Hdr = Hdr.Other;
  const hdr = msg.hdr;
  const n = hdr.length;
  for (let k = 0, o = 0; o < n; k++, o += HSTRIDE) {
    const id = (hdr[o] ?? 0) as Hdr;
    switch (id) {
      case Hdr.Via:
        if (kVia < 0) kVia = k;
        break;
      case Hdr.Contact:
        if (kContact < 0) kContact = k;
        break;
      case Hdr.Route:
        if (kRoute < 0) kRoute = k;
        break;
      case Hdr.RecordRoute:
        if (kRecordRoute < 0) kRecordRoute = k;
        break;
      case Hdr.Path:
        if (kPath < 0) kPath = k;
        break;
      case Hdr.Date:
        if (kDate < 0) kDate = k;
        break;
      case Hdr.From:
        if (kFrom < 0) kFrom = k;
        break;
      case Hdr.To:
        if (kTo < 0) kTo = k;
        break;
      case Hdr.CallId:
        if (kCallId < 0) kCallId = k;
        break;
      case Hdr.CSeq:
        if (kCSeq < 0) kCSeq = k;
        break;
      case Hdr.MaxForwards:
        if (kMaxForwards < 0) kMaxForwards = k;
        break;
    }
    // RFC 3261 §7.3.1: only list headers may be repeated (RFC 4475 §3.3.8)
    const bit = SINGLE_BIT[id] ?? 0;
    if (bit === 0) continue;
    if ((seen & bit) !== 0 && dup === Hdr.Other) dup = id;
    seen |= bit;
  }
  messageCache.setIndex(msg, kVia, kFrom, kTo, kCallId, kCSeq, kContact);
  const t: ValueText = { b: msg.buf, s: msg.raw, a: 0, z: 0 };
  // Via: at least one, and every value well-formed (responses are routed by Via, RFC 3261 §18.2.2)
  const vias: Via[] = [];
  for (let k = kVia; k >= 0; k = nextOf(msg, Hdr.Via, k)) {
    value(msg, k, t);
    const e = parseViaList(t.b, t.s, t.a, t.z, vias);
    if (e !== undefined) return e;
  }
  if (vias.length === 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', 'Via', 'missing Via header');
  messageCache.setVias(msg, vias);
  if (dup !== Hdr.Other) {
    const name = HDR_NAMES[dup] ?? '';
    return bad('SIP_ERR_PARSE_DUPLICATE_HEADER', name, `several ${name} headers`);
  }
  if (kFrom < 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', 'From', 'missing From header');
  value(msg, kFrom, t);
  const from = parseNameAddrAt(t.b, t.s, 'From', t.a, t.z);
  if (!from.ok) return bad('SIP_ERR_PARSE_FROM', 'From', from.error.detail);
  messageCache.setFrom(msg, from.value);
  if (kTo < 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', 'To', 'missing To header');
  value(msg, kTo, t);
  const to = parseNameAddrAt(t.b, t.s, 'To', t.a, t.z);
  if (!to.ok) return bad('SIP_ERR_PARSE_TO', 'To', to.error.detail);
  messageCache.setTo(msg, to.value);
  if (kCallId < 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', 'Call-ID', 'missing Call-ID header');
  value(msg, kCallId, t);
  if (!callIdOk(t.b, t.a, t.z)) return bad('SIP_ERR_PARSE_CALL_ID', 'Call-ID', 'bad Call-ID');
  messageCache.setCallId(msg, msg.folded ? msg.headerValueAt(kCallId) : t.s.slice(t.a, t.z));
  if (kCSeq < 0) return bad('SIP_ERR_PARSE_MISSING_HEADER', 'CSeq', 'missing CSeq header');
  value(msg, kCSeq, t);
  const c = readCSeq(t.b, t.s, t.a, t.z);
  if (typeof c === 'string') return bad('SIP_ERR_PARSE_CSEQ', 'CSeq', c);
  messageCache.setCSeq(msg, c);
  if (req !== undefined) {
    // RFC 3261 §8.1.1.5 / RFC 4475 §3.1.2.17: the CSeq method must equal the request method
    if (c.method !== req.method) {
      return bad('SIP_ERR_PARSE_CSEQ', 'CSeq', 'CSeq method does not match request method');
    }
    if (kMaxForwards >= 0) {
      value(msg, kMaxForwards, t);
      // RFC 3261 §20.22: Max-Forwards is an integer 0..255
      if (uintAt(t.b, t.a, t.z, 255) === undefined) {
        return bad('SIP_ERR_PARSE_MAX_FORWARDS', 'Max-Forwards', 'bad Max-Forwards');
      }
    }
  }
  // Contact (RFC 3261 §20.10; RFC 4475 §3.1.2.13), one header field at a time
  let star = false;
  let contacts: NameAddr[] | undefined;
  const range = [0, 0];
  for (let k = kContact; k >= 0; k = nextOf(msg, Hdr.Contact, k)) {
    value(msg, k, t);
    range[0] = t.a;
    range[1] = t.z;
    const r = parseContactRanges(t.b, t.s, range);
    if (!r.ok) return r.error;
    if (r.value.star) star = true;
    else if (contacts === undefined) contacts = r.value.contacts;
    else contacts.push(...r.value.contacts);
  }
  // RFC 3261 §10.2.2: "*" stands alone
  if (star && contacts !== undefined && contacts.length > 0) {
    return bad('SIP_ERR_PARSE_CONTACT', 'Contact', "'*' mixed with other contacts");
  }
  if (star || contacts !== undefined) {
    const list: ContactList = star
      ? { star: true, contacts: [] }
      : { star: false, contacts: contacts ?? [] };
    messageCache.setContacts(msg, list);
  }
  // Route, Record-Route (RFC 3261 §16), Path (RFC 3327)
  if (kRoute >= 0) {
    const e = checkAddressList(msg, Hdr.Route, kRoute, t);
    if (e !== undefined) return e;
  }
  if (kRecordRoute >= 0) {
    const e = checkAddressList(msg, Hdr.RecordRoute, kRecordRoute, t);
    if (e !== undefined) return e;
  }
  if (kPath >= 0) {
    const e = checkAddressList(msg, Hdr.Path, kPath, t);
    if (e !== undefined) return e;
  }
  if (kDate >= 0 && !isSipDate(msg.headerValueAt(kDate))) {
    return bad('SIP_ERR_PARSE_HEADER', 'Date', 'Date is not an RFC 1123 date in GMT');
  }
  return undefined;
}
