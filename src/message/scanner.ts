import type { ErrorCode } from '../errors/codes.js';
import { SipParseError } from '../errors/sip-error.js';
import { COMPACT_FORMS, HDR_NAMES, Hdr, knownMethod, methodName } from './constants.js';
import { HSTRIDE, messageCache, type SipMessage, SipRequest, SipResponse } from './message.js';
import { ALPHA, bytesOf, DIGIT, isToken, TOKEN } from './parse/chars.js';

/** Limits applied while scanning; a message over them is rejected (RFC 3261 §18.1.1, §21.4.11). */
export interface MessageLimits {
  /** Bytes in one message (datagram or framed stream message); over it: 513. */
  maxMessageSize: number;
  /** Header fields in one message; over it: 400. */
  maxHeaders: number;
  /** Bytes in one (unfolded) header field or the start line; over it: 400 (414 for a request line). */
  maxLineLength: number;
}

/** The limits used when none are given. */
export const DEFAULT_LIMITS: Readonly<MessageLimits> = Object.freeze({
  maxMessageSize: 65_535,
  maxHeaders: 256,
  maxLineLength: 16_384,
});

/** Outcome of {@link scanMessage}. */
export type ScanResult =
  | { ok: true; msg: SipMessage }
  /** `msg` is present when the header block could be delimited, so a reply may still be possible. */
  | { ok: false; error: SipParseError; msg?: SipMessage };

// ---- header-name recognition without allocating and without reading a byte twice: the scanner
// reads the name as a token (it must, to find where it ends) and packs its bytes, ASCII letters
// folded by `| 0x20`, four to a 32-bit word as it goes; the well-known names of that length and
// first letter are then compared word by word. On token bytes `| 0x20` only folds letters (the
// other token bytes keep their value or, for '_', become 0x7f, which no token byte is), so equal
// words mean equal names ignoring case.

/** Longest well-known name; longer ones are not packed. */
const MAX_NAME = 20;
/**
 * The well-known names in lower case, packed four bytes to a word, the last word of a name
 * holding its remaining 1 to 3 bytes (a name of 4k bytes has k words and no partial one);
 * NAME_WORD_AT[id] is the index of its first word.
 */
const NAME_WORDS = new Int32Array(HDR_NAMES.length * 6);
const NAME_WORD_AT = new Int32Array(HDR_NAMES.length);
/** First id of the names of each (length, first byte & 0x1f) slot; NEXT_IN_SLOT chains the others. */
const SLOT = new Uint8Array(32 * 32);
const NEXT_IN_SLOT = new Uint8Array(HDR_NAMES.length);
function nameSlot(len: number, c0: number): number {
  return (len << 5) | (c0 & 0x1f);
}
{
  let w = 0;
  const last = new Uint8Array(32 * 32);
  for (let id = 1; id < HDR_NAMES.length; id++) {
    const name = (HDR_NAMES[id] ?? '').toLowerCase();
    if (name.length > MAX_NAME) throw new Error(`header name too long for the scanner: ${name}`);
    NAME_WORD_AT[id] = w;
    for (let i = 0; i < name.length; i += 4) {
      let word = 0;
      for (let j = i; j < i + 4 && j < name.length; j++) word = (word << 8) | name.charCodeAt(j);
      NAME_WORDS[w++] = word;
    }
    const k = nameSlot(name.length, name.charCodeAt(0));
    const tail = last[k] ?? 0;
    if (tail === 0) SLOT[k] = id;
    else NEXT_IN_SLOT[tail] = id;
    last[k] = id;
  }
}
/** RFC 3261 §7.3.3 compact forms (and later RFCs'), by byte. */
const COMPACT = new Uint8Array(256);
for (const [k, id] of Object.entries(COMPACT_FORMS)) {
  COMPACT[k.charCodeAt(0)] = id;
  COMPACT[k.toUpperCase().charCodeAt(0)] = id;
}

/**
 * The well-known header whose name is `len` token bytes starting with c0, packed (see above): w0
 * is its last full word, w1 the one before, and so on, and `tail` its remaining bytes; Hdr.Other
 * when none.
 */
function nameId(
  len: number,
  c0: number,
  w0: number,
  w1: number,
  w2: number,
  w3: number,
  w4: number,
  tail: number,
): Hdr {
  if (len === 1) return (COMPACT[c0] ?? 0) as Hdr;
  if (len > MAX_NAME) return Hdr.Other;
  const full = len >> 2;
  for (let id = SLOT[nameSlot(len, c0)] ?? 0; id !== 0; id = NEXT_IN_SLOT[id] ?? 0) {
    // words of the candidate from its last full one backwards
    const wl = (NAME_WORD_AT[id] ?? 0) + full - 1;
    if (full > 0 && w0 !== NAME_WORDS[wl]) continue;
    if (full > 1 && w1 !== NAME_WORDS[wl - 1]) continue;
    if (full > 2 && w2 !== NAME_WORDS[wl - 2]) continue;
    if (full > 3 && w3 !== NAME_WORDS[wl - 3]) continue;
    if (full > 4 && w4 !== NAME_WORDS[wl - 4]) continue;
    if ((len & 3) !== 0 && tail !== NAME_WORDS[wl + 1]) continue;
    return id as Hdr;
  }
  return Hdr.Other;
}

/** Id of the name read by the last {@link readName} call. */
let lastNameId: Hdr = Hdr.Other;

/**
 * Reads the token header name starting at b[ns] and returns where it ends, leaving its id in
 * {@link lastNameId}.
 */
function readName(b: Uint8Array, ns: number): number {
  let i = ns;
  let c = b[i] ?? 0;
  let cur = 0;
  let w0 = 0;
  let w1 = 0;
  let w2 = 0;
  let w3 = 0;
  let w4 = 0;
  while (isToken(c)) {
    cur = (cur << 8) | (c | 0x20);
    c = b[++i] ?? 0;
    if (((i - ns) & 3) === 0) {
      // a full word: the previous ones move down
      w4 = w3;
      w3 = w2;
      w2 = w1;
      w1 = w0;
      w0 = cur;
      cur = 0;
    }
  }
  lastNameId = i === ns ? Hdr.Other : nameId(i - ns, b[ns] ?? 0, w0, w1, w2, w3, w4, cur);
  return i;
}

/**
 * Identifies a header name written in src[ns, ne) (any case, compact forms) without allocating;
 * `Hdr.Other` when it is not a well-known name.
 */
export function recognizeHeader(src: string | Uint8Array, ns: number, ne: number): Hdr {
  const b = typeof src === 'string' ? bytesOf(src) : src;
  return readName(b, ns) === ne ? lastNameId : Hdr.Other;
}

/** Scratch offset table of the scan in progress (copied out at the end; packed small integers). */
const SCRATCH: number[] = Array.from({ length: 5 * 1024 }, () => 0);
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
/** Buffer#latin1Slice (no argument checks, unlike Buffer#toString) when this Node.js has it. */
const HAS_LATIN1_SLICE =
  typeof (Buffer.prototype as unknown as Partial<Latin1Slicer>).latin1Slice === 'function';

/** The buffer as a latin1 string: one char per byte, so string and byte offsets agree. */
function latin1(buf: Buffer): string {
  return HAS_LATIN1_SLICE
    ? (buf as unknown as Latin1Slicer).latin1Slice(0, buf.length)
    : buf.toString('latin1');
}

function err(code: ErrorCode, field: string, detail: string, status?: number): SipParseError {
  return new SipParseError(code, field, detail, status === undefined ? undefined : { status });
}

/** True when b[x, y) is `SIP/2.0`, the protocol name in any case (RFC 3261 §7.1, §25.1). */
function isSip20(b: Uint8Array, x: number, y: number): boolean {
  return (
    y - x === 7 &&
    ((b[x] ?? 0) | 0x20) === 0x73 &&
    ((b[x + 1] ?? 0) | 0x20) === 0x69 &&
    ((b[x + 2] ?? 0) | 0x20) === 0x70 &&
    b[x + 3] === 0x2f &&
    b[x + 4] === 0x32 &&
    b[x + 5] === 0x2e &&
    b[x + 6] === 0x30
  );
}

/** True when b[x, y) is `SIP/` 1*DIGIT "." 1*DIGIT (RFC 3261 §25.1 SIP-Version). */
function isSipVersion(b: Uint8Array, x: number, y: number): boolean {
  if (y - x < 7 || ((b[x] ?? 0) | 0x20) !== 0x73 || ((b[x + 1] ?? 0) | 0x20) !== 0x69) return false;
  if (((b[x + 2] ?? 0) | 0x20) !== 0x70 || b[x + 3] !== 0x2f) return false;
  let i = x + 4;
  const d1 = i;
  while (i < y && DIGIT[b[i] ?? 0] === 1) i++;
  if (i === d1 || b[i] !== 0x2e) return false;
  const d2 = ++i;
  while (i < y && DIGIT[b[i] ?? 0] === 1) i++;
  return i > d2 && i === y;
}

/** True when b[x, y) holds a ':' (the end of a URI scheme, usually within a few bytes). */
function hasColon(b: Uint8Array, x: number, y: number): boolean {
  for (let i = x; i < y; i++) if (b[i] === 0x3a) return true;
  return false;
}

/**
 * Scans one SIP message in a single pass: start line, header name/value offsets, body by
 * Content-Length (RFC 3261 §7, §18.3). Header values are not parsed here; accessors parse them on
 * first use, and `validateMessage` checks their syntax. Never throws: problems come back as values.
 *
 * For a datagram (`stream` false), octets after Content-Length are discarded (RFC 3261 §18.3, RFC
 * 4475 §3.1.1.8) and a missing Content-Length means "body to the end"; a Content-Length larger
 * than the datagram is an error (§18.3: 400). On a stream, Content-Length is mandatory.
 */
export function scanMessage(
  buf: Buffer,
  limits: Readonly<MessageLimits> = DEFAULT_LIMITS,
  stream = false,
): ScanResult {
  const n = buf.length;
  const s = latin1(buf);
  let error: SipParseError | undefined;
  let pos = 0;
  // RFC 3261 §7.5: ignore CRLFs before the start line
  while (pos < n && (buf[pos] === 0x0d || buf[pos] === 0x0a)) pos++;
  if (pos >= n)
    return { ok: false, error: err('SIP_ERR_PARSE_START_LINE', 'start-line', 'empty message') };
  const lf = s.indexOf('\n', pos);
  if (lf < 0)
    return {
      ok: false,
      error: err('SIP_ERR_PARSE_START_LINE', 'start-line', 'no end of start line'),
    };
  const slStart = pos;
  const slEnd = buf[lf - 1] === 0x0d ? lf - 1 : lf;
  const isResponse =
    buf[slStart] === 0x53 &&
    buf[slStart + 1] === 0x49 &&
    buf[slStart + 2] === 0x50 &&
    buf[slStart + 3] === 0x2f;
  // ---- start line
  let method = '';
  let uri = '';
  let version = 'SIP/2.0';
  let status = 0;
  let reason = '';
  if (isResponse) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (RFC 3261 §7.2)
    let sp1 = s.indexOf(' ', slStart);
    if (sp1 < 0 || sp1 > slEnd) sp1 = slEnd;
    if (!isSip20(buf, slStart, sp1)) {
      version = s.slice(slStart, sp1);
      error = isSipVersion(buf, slStart, sp1)
        ? err('SIP_ERR_PARSE_VERSION', 'start-line', `unsupported version ${version.slice(0, 16)}`)
        : err('SIP_ERR_PARSE_STATUS', 'start-line', 'bad SIP-Version');
    }
    let i = sp1 + 1;
    const ds = i;
    while (i < slEnd && DIGIT[buf[i] ?? 0] === 1) i++;
    // Status-Code = 3DIGIT, 100..699 (RFC 3261 §7.2, §21; RFC 4475 §3.1.2.19)
    if (sp1 >= slEnd || i - ds !== 3 || (i < slEnd && buf[i] !== 0x20)) {
      error ??= err('SIP_ERR_PARSE_STATUS', 'start-line', 'status code is not 3 digits');
    } else {
      status =
        ((buf[ds] ?? 0) - 0x30) * 100 +
        ((buf[ds + 1] ?? 0) - 0x30) * 10 +
        (buf[ds + 2] ?? 0) -
        0x30;
      if (status < 100 || status > 699)
        error ??= err('SIP_ERR_PARSE_STATUS', 'start-line', `status code ${status} out of range`);
      reason = i < slEnd ? s.slice(i + 1, slEnd) : '';
    }
    if (slEnd - slStart > limits.maxLineLength)
      error ??= err('SIP_ERR_LIMIT_LINE', 'start-line', 'status line too long');
  } else {
    // Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1): single SPs, no LWS
    // a well-known method (a token) up to the first SP, else the token read byte by byte
    let me = s.indexOf(' ', slStart);
    const known = me > slStart && me < slEnd ? knownMethod(buf, slStart, me) : undefined;
    if (known === undefined) {
      me = slStart;
      while (me < slEnd && TOKEN[buf[me] ?? 0] === 1) me++;
      method = methodName(buf, s, slStart, me);
    } else method = known;
    const us = me + 1;
    let ue = s.indexOf(' ', us);
    if (ue < 0 || ue > slEnd) ue = slEnd;
    if (me === slStart || buf[me] !== 0x20) {
      error = err('SIP_ERR_PARSE_START_LINE', 'start-line', 'bad method or missing SP');
    } else if (ue >= slEnd || ue === us) {
      error = err('SIP_ERR_PARSE_START_LINE', 'start-line', 'malformed request line');
    } else {
      uri = s.slice(us, ue);
      const vs = ue + 1;
      const sip20 = isSip20(buf, vs, slEnd);
      if (!sip20) version = s.slice(vs, slEnd);
      // the Request-URI is an absolute URI without LWS or <> (RFC 3261 §25.1); validateMessage
      // checks the rest of its grammar. (`SIP/2.0` itself holds no SP.)
      const sp = sip20 ? -1 : s.indexOf(' ', vs);
      if (sp >= 0 && sp < slEnd) {
        error = err('SIP_ERR_PARSE_START_LINE', 'start-line', 'extra whitespace in request line');
      } else if (ALPHA[buf[us] ?? 0] !== 1 || !hasColon(buf, us, ue)) {
        error = err('SIP_ERR_PARSE_URI', 'Request-URI', 'Request-URI is not an absolute URI');
      } else if (version !== 'SIP/2.0') {
        // RFC 3261 §8.2.2 / RFC 4475 §3.1.2.16: a well-formed other version gets 505
        error = isSipVersion(buf, vs, slEnd)
          ? err(
              'SIP_ERR_PARSE_VERSION',
              'start-line',
              `unsupported version ${version.slice(0, 16)}`,
            )
          : err('SIP_ERR_PARSE_START_LINE', 'start-line', 'bad SIP-Version');
      }
    }
    // RFC 3261 §21.4.15: an over-long Request-URI is answered 414
    if (slEnd - slStart > limits.maxLineLength)
      error ??= err('SIP_ERR_LIMIT_LINE', 'start-line', 'request line too long', 414);
  }
  // ---- headers (bytes from `buf`; line ends by the native string search on `s`)
  const hdr = SCRATCH;
  let clIndex = -1;
  let kVia = -1;
  let kFrom = -1;
  let kTo = -1;
  let kCallId = -1;
  let kCSeq = -1;
  let kContact = -1;
  let h = 0;
  const maxLine = limits.maxLineLength;
  const maxHeaders = limits.maxHeaders;
  pos = lf + 1;
  const headersStart = pos;
  let headersEnd = -1;
  let bodyStart = -1;
  let count = 0;
  let folded = false;
  while (pos < n) {
    const c0 = buf[pos] ?? 0;
    if (c0 === 0x0d && buf[pos + 1] === 0x0a) {
      headersEnd = pos;
      bodyStart = pos + 2;
      break;
    }
    if (c0 === 0x0a) {
      headersEnd = pos;
      bodyStart = pos + 1;
      break;
    }
    // the end of this header field, following folded continuation lines (RFC 3261 §7.3.1)
    let le = s.indexOf('\n', pos);
    if (le < 0) break;
    let nx = buf[le + 1];
    if (nx === 0x20 || nx === 0x09) {
      folded = true;
      do {
        le = s.indexOf('\n', le + 1);
        nx = le < 0 ? 0 : buf[le + 1];
      } while (nx === 0x20 || nx === 0x09);
      if (le < 0) break;
    }
    const lineEnd = le + 1;
    if (le - pos > maxLine) error ??= err('SIP_ERR_LIMIT_LINE', 'headers', 'header line too long');
    if (++count > maxHeaders) {
      error ??= err('SIP_ERR_LIMIT_HEADERS', 'headers', `more than ${maxHeaders} header fields`);
      pos = lineEnd;
      continue;
    }
    // header-name HCOLON: token *(SP / HTAB) ":" (RFC 3261 §7.3.1, §25.1); the line end is no
    // token byte, so the name stops before it
    const ne = readName(buf, pos);
    let colon = ne;
    let cc = buf[colon];
    while (cc === 0x20 || cc === 0x09) cc = buf[++colon];
    if (ne === pos || cc !== 0x3a) {
      error ??= err(
        'SIP_ERR_PARSE_HEADER',
        'headers',
        `malformed header line '${s.slice(pos, Math.min(le, pos + 40)).trim()}'`,
      );
      pos = lineEnd;
      continue;
    }
    const id = lastNameId;
    // value: LWS around it is not part of it (SWS after HCOLON); usually one SP before, CRLF after
    let ve = buf[le - 1] === 0x0d ? le - 1 : le;
    let i = colon + 1;
    let c = buf[i] ?? 0;
    if (c === 0x20 && i < ve) c = buf[++i] ?? 0;
    while (i < ve && (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a)) c = buf[++i] ?? 0;
    c = buf[ve - 1] ?? 0;
    while (ve > i && (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a)) c = buf[--ve - 1] ?? 0;
    // the first header of the ids the getters read most (handed to the message)
    switch (id) {
      case Hdr.Via:
        if (kVia < 0) kVia = h / HSTRIDE;
        break;
      case Hdr.From:
        if (kFrom < 0) kFrom = h / HSTRIDE;
        break;
      case Hdr.To:
        if (kTo < 0) kTo = h / HSTRIDE;
        break;
      case Hdr.CallId:
        if (kCallId < 0) kCallId = h / HSTRIDE;
        break;
      case Hdr.CSeq:
        if (kCSeq < 0) kCSeq = h / HSTRIDE;
        break;
      case Hdr.Contact:
        if (kContact < 0) kContact = h / HSTRIDE;
        break;
    }
    if (id === Hdr.ContentLength) {
      // RFC 4475 §3.3.9: several Content-Length values leave the body length unknown
      if (clIndex >= 0)
        error ??= err(
          'SIP_ERR_PARSE_DUPLICATE_HEADER',
          'Content-Length',
          'several Content-Length headers',
        );
      else clIndex = h;
    }
    hdr[h] = id;
    hdr[h + 1] = pos;
    hdr[h + 2] = ne;
    hdr[h + 3] = i;
    hdr[h + 4] = ve;
    h += HSTRIDE;
    pos = lineEnd;
  }
  if (headersEnd < 0) {
    headersEnd = pos;
    bodyStart = pos;
    error ??= err(
      'SIP_ERR_PARSE_HEADER',
      'headers',
      'header block not terminated by an empty line',
    );
  }
  // ---- body (RFC 3261 §18.3, §20.14)
  let bodyEnd = n;
  if (clIndex >= 0) {
    const vs = hdr[clIndex + 3] ?? 0;
    const ve = hdr[clIndex + 4] ?? 0;
    let cl = 0;
    let okCl = ve > vs && ve - vs <= 10;
    for (let i = vs; okCl && i < ve; i++) {
      const d = (buf[i] ?? 0) - 0x30;
      if (d < 0 || d > 9) okCl = false;
      else cl = cl * 10 + d;
    }
    if (!okCl)
      error ??= err(
        'SIP_ERR_PARSE_CONTENT_LENGTH',
        'Content-Length',
        'Content-Length is not a number',
      );
    else if (bodyStart + cl > n)
      error ??= err(
        'SIP_ERR_PARSE_BODY',
        'Content-Length',
        'Content-Length larger than the message',
      );
    else bodyEnd = bodyStart + cl;
  } else if (stream) {
    // RFC 3261 §18.3: Content-Length is mandatory on stream transports
    error ??= err(
      'SIP_ERR_TRANSPORT_FRAMING',
      'Content-Length',
      'missing Content-Length on a stream transport',
    );
  }
  // RFC 3261 §21.5.14: 513 Message Too Large (scanned anyway, so that the reply can be built)
  if (n > limits.maxMessageSize)
    error = err(
      'SIP_ERR_LIMIT_SIZE',
      'message',
      `message larger than ${limits.maxMessageSize} bytes`,
    );
  const table = hdr.slice(0, h);
  const msg: SipMessage = isResponse
    ? new SipResponse(
        buf,
        s,
        table,
        slStart,
        headersStart,
        headersEnd,
        bodyStart,
        bodyEnd,
        version,
        status,
        reason,
        folded,
      )
    : new SipRequest(
        buf,
        s,
        table,
        slStart,
        headersStart,
        headersEnd,
        bodyStart,
        bodyEnd,
        method,
        uri,
        version,
        folded,
      );
  messageCache.setIndex(msg, kVia, kFrom, kTo, kCallId, kCSeq, kContact);
  if (error !== undefined) return { ok: false, error, msg };
  return { ok: true, msg };
}
