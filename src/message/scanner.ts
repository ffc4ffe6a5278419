import type { ErrorCode } from '../errors/codes.js';
import { SipParseError } from '../errors/sip-error.js';
import { COMPACT_FORMS, Hdr, HDR_NAMES } from './constants.js';
import { SipRequest, SipResponse, type SipMessage } from './message.js';
import { ALPHA, DIGIT, SCHEME, TOKEN } from './parse/chars.js';

/** Limits applied while scanning; a message over them is rejected (RFC 3261 §18.1.1, §21.4.11). */
export interface MessageLimits {
  /** Bytes in one message (datagram or framed stream message). */
  maxMessageSize: number;
  /** Header fields in one message. */
  maxHeaders: number;
  /** Bytes in one (unfolded) header line or the start line. */
  maxLineLength: number;
}

export const DEFAULT_LIMITS: Readonly<MessageLimits> = Object.freeze({
  maxMessageSize: 65_535,
  maxHeaders: 256,
  maxLineLength: 16_384,
});

export type ScanResult =
  | { ok: true; msg: SipMessage }
  /** `msg` is present when the header block could be delimited, so a reply may still be possible. */
  | { ok: false; error: SipParseError; msg?: SipMessage };

// Well-known names grouped by length, for allocation-free recognition of header names.
const BY_LENGTH: { id: Hdr; lower: string }[][] = [];
for (let id = 1; id < HDR_NAMES.length; id++) {
  const lower = (HDR_NAMES[id] as string).toLowerCase();
  const list = BY_LENGTH[lower.length] ?? [];
  list.push({ id: id as Hdr, lower });
  BY_LENGTH[lower.length] = list;
}
const COMPACT = new Int8Array(128);
for (const [k, id] of Object.entries(COMPACT_FORMS)) {
  COMPACT[k.charCodeAt(0)] = id;
  COMPACT[k.toUpperCase().charCodeAt(0)] = id;
}

/** Identifies a header name written in s[ns, ne) without allocating. */
export function recognizeHeader(s: string, ns: number, ne: number): Hdr {
  const len = ne - ns;
  if (len === 1) return (COMPACT[s.charCodeAt(ns)] ?? 0) as Hdr;
  const cands = BY_LENGTH[len];
  if (cands === undefined) return Hdr.Other;
  outer: for (let c = 0; c < cands.length; c++) {
    const cand = cands[c] as { id: Hdr; lower: string };
    const lower = cand.lower;
    for (let i = 0; i < len; i++) {
      if ((s.charCodeAt(ns + i) | 0x20) !== lower.charCodeAt(i)) continue outer;
    }
    return cand.id;
  }
  return Hdr.Other;
}

function err(code: ErrorCode, field: string, detail: string, status?: number): SipParseError {
  return new SipParseError(code, field, detail, status === undefined ? undefined : { status });
}

/**
 * Scans one SIP message in a single pass: start line, header name/value offsets, body by
 * Content-Length (RFC 3261 §7, §18.3). Header values are not parsed here; accessors parse them on
 * first use. Never throws: problems come back as values.
 *
 * For a datagram, octets after Content-Length are discarded (RFC 3261 §18.3, RFC 4475 §3.1.1.8);
 * a Content-Length larger than the datagram is an error (§18.3: 400).
 */
export function scanMessage(buf: Buffer, limits: Readonly<MessageLimits> = DEFAULT_LIMITS, stream = false): ScanResult {
  const n = buf.length;
  const s = buf.toString('latin1', 0, n);
  let error: SipParseError | undefined;
  let pos = 0;
  // RFC 3261 §7.5: ignore CRLFs before the start line
  while (pos < n) {
    const c = s.charCodeAt(pos);
    if (c !== 0x0d && c !== 0x0a) break;
    pos++;
  }
  if (pos >= n) return { ok: false, error: err('SIP_ERR_PARSE_START_LINE', 'start-line', 'empty message') };
  let lf = s.indexOf('\n', pos);
  if (lf < 0) return { ok: false, error: err('SIP_ERR_PARSE_START_LINE', 'start-line', 'no end of start line') };
  const slStart = pos;
  const slEnd = lf > pos && s.charCodeAt(lf - 1) === 0x0d ? lf - 1 : lf;
  if (slEnd - slStart > limits.maxLineLength) error = err('SIP_ERR_LIMIT_LINE', 'start-line', 'start line too long', 414);
  const isResponse = slEnd - slStart >= 4 && s.startsWith('SIP/', slStart);
  // ---- start line
  let method = '';
  let uri = '';
  let version = '';
  let status = 0;
  let reason = '';
  if (isResponse) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    const sp1 = s.indexOf(' ', slStart);
    version = s.slice(slStart, sp1 < 0 || sp1 > slEnd ? slEnd : sp1);
    if (sp1 < 0 || sp1 >= slEnd) error ??= err('SIP_ERR_PARSE_STATUS', 'start-line', 'no status code');
    else {
      let i = sp1 + 1;
      const ds = i;
      while (i < slEnd && DIGIT[s.charCodeAt(i)] === 1) i++;
      if (i - ds !== 3 || (i < slEnd && s.charCodeAt(i) !== 0x20)) error ??= err('SIP_ERR_PARSE_STATUS', 'start-line', 'status code is not 3 digits');
      else {
        status = Number(s.slice(ds, i));
        if (status < 100) error ??= err('SIP_ERR_PARSE_STATUS', 'start-line', 'status code below 100');
        reason = i < slEnd ? s.slice(i + 1, slEnd) : '';
      }
    }
    if (version.toUpperCase() !== 'SIP/2.0') error ??= err('SIP_ERR_PARSE_VERSION', 'start-line', `unsupported version ${version.slice(0, 16)}`);
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1): exactly single SPs
    const sp1 = s.indexOf(' ', slStart);
    const sp2 = sp1 < 0 ? -1 : s.indexOf(' ', sp1 + 1);
    if (sp1 < 0 || sp1 >= slEnd || sp2 < 0 || sp2 >= slEnd) {
      method = s.slice(slStart, sp1 < 0 || sp1 > slEnd ? slEnd : sp1);
      error ??= err('SIP_ERR_PARSE_START_LINE', 'start-line', 'malformed request line');
    } else {
      method = s.slice(slStart, sp1);
      uri = s.slice(sp1 + 1, sp2);
      version = s.slice(sp2 + 1, slEnd);
      if (method.length === 0 || !allToken(method)) error ??= err('SIP_ERR_PARSE_START_LINE', 'start-line', 'bad method');
      else if (uri.length === 0 || version.includes(' ')) error ??= err('SIP_ERR_PARSE_START_LINE', 'start-line', 'extra whitespace in request line');
      else if (!looksLikeUri(uri)) error ??= err('SIP_ERR_PARSE_URI', 'Request-URI', 'Request-URI is not an absolute URI');
      else if (version.toUpperCase() !== 'SIP/2.0') {
        error ??= /^SIP\/\d+\.\d+$/i.test(version)
          ? err('SIP_ERR_PARSE_VERSION', 'start-line', `unsupported version ${version.slice(0, 16)}`)
          : err('SIP_ERR_PARSE_START_LINE', 'start-line', 'bad SIP-Version');
      }
    }
  }
  // ---- headers
  const hdr: number[] = [];
  pos = lf + 1;
  const headersStart = pos;
  let headersEnd = -1;
  let bodyStart = -1;
  let count = 0;
  let clIndex = -1;
  while (pos < n) {
    const c0 = s.charCodeAt(pos);
    if (c0 === 0x0d && s.charCodeAt(pos + 1) === 0x0a) {
      headersEnd = pos;
      bodyStart = pos + 2;
      break;
    }
    if (c0 === 0x0a) {
      headersEnd = pos;
      bodyStart = pos + 1;
      break;
    }
    // find the end of this header field, following folded continuation lines (RFC 3261 §7.3.1)
    let le = s.indexOf('\n', pos);
    while (le >= 0 && le + 1 < n) {
      const nx = s.charCodeAt(le + 1);
      if (nx !== 0x20 && nx !== 0x09) break;
      le = s.indexOf('\n', le + 1);
    }
    if (le < 0) {
      error ??= err('SIP_ERR_PARSE_HEADER', 'headers', 'header block not terminated by an empty line');
      break;
    }
    const lineEnd = le + 1;
    if (le - pos > limits.maxLineLength) error ??= err('SIP_ERR_LIMIT_LINE', 'headers', 'header line too long');
    if (++count > limits.maxHeaders) {
      error ??= err('SIP_ERR_LIMIT_HEADERS', 'headers', `more than ${limits.maxHeaders} header fields`);
      pos = lineEnd;
      continue;
    }
    // name
    let i = pos;
    while (i < le && TOKEN[s.charCodeAt(i)] === 1) i++;
    const ne = i;
    while (i < le && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
    if (ne === pos || s.charCodeAt(i) !== 0x3a) {
      error ??= err('SIP_ERR_PARSE_HEADER', 'headers', `malformed header line '${s.slice(pos, Math.min(le, pos + 40)).trim()}'`);
      pos = lineEnd;
      continue;
    }
    i++;
    // value: skip leading LWS (including folding)
    while (i < le) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
      i++;
    }
    let ve = le;
    while (ve > i) {
      const c = s.charCodeAt(ve - 1);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
      ve--;
    }
    const id = recognizeHeader(s, pos, ne);
    if (id === Hdr.ContentLength) {
      if (clIndex >= 0) error ??= err('SIP_ERR_PARSE_DUPLICATE_HEADER', 'Content-Length', 'several Content-Length headers');
      else clIndex = hdr.length;
    }
    hdr.push(id, pos, ne, i, ve);
    pos = lineEnd;
  }
  if (headersEnd < 0) {
    headersEnd = pos;
    bodyStart = pos;
    error ??= err('SIP_ERR_PARSE_HEADER', 'headers', 'header block not terminated by an empty line');
  }
  // ---- body
  let bodyEnd = n;
  if (clIndex >= 0) {
    const vs = hdr[clIndex + 3] as number;
    const ve = hdr[clIndex + 4] as number;
    let cl = 0;
    let okCl = ve > vs && ve - vs <= 10;
    for (let i = vs; okCl && i < ve; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) okCl = false;
      else cl = cl * 10 + (c - 0x30);
    }
    if (!okCl) error ??= err('SIP_ERR_PARSE_CONTENT_LENGTH', 'Content-Length', 'Content-Length is not a number');
    else if (bodyStart + cl > n) error ??= err('SIP_ERR_PARSE_BODY', 'Content-Length', 'Content-Length larger than the message');
    else bodyEnd = bodyStart + cl;
  } else if (stream) {
    // RFC 3261 §18.3: Content-Length is mandatory on stream transports
    error ??= err('SIP_ERR_TRANSPORT_FRAMING', 'Content-Length', 'missing Content-Length on a stream transport');
  }
  if (n > limits.maxMessageSize) error ??= err('SIP_ERR_LIMIT_SIZE', 'message', `message larger than ${limits.maxMessageSize} bytes`);
  const msg: SipMessage = isResponse
    ? new SipResponse(buf, s, hdr, slStart, headersStart, headersEnd, bodyStart, bodyEnd, version, status, reason)
    : new SipRequest(buf, s, hdr, slStart, headersStart, headersEnd, bodyStart, bodyEnd, method, uri, version);
  if (error !== undefined) return { ok: false, error, msg };
  return { ok: true, msg };
}

function allToken(t: string): boolean {
  for (let i = 0; i < t.length; i++) if (TOKEN[t.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Request-URI must be an absolute URI: scheme ":" … (RFC 3261 §25.1), no `<>`. */
function looksLikeUri(u: string): boolean {
  if (ALPHA[u.charCodeAt(0)] !== 1) return false;
  let i = 1;
  while (i < u.length && SCHEME[u.charCodeAt(i)] === 1) i++;
  return i < u.length && u.charCodeAt(i) === 0x3a && !u.includes('<') && !u.includes('>');
}
