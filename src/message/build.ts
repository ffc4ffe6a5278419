import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, SipError } from '../errors/sip-error.js';
import { Hdr, reasonPhrase } from './constants.js';
import type { SipRequest, SipResponse } from './message.js';
import { splitCommaOffsets } from './parse/split.js';
import { scanMessage } from './scanner.js';

const TAG_PREFIX = randomBytes(4).toString('hex');
let tagCounter = 0;

/** A fresh, globally unique tag (RFC 3261 §19.3: at least 32 bits of randomness). */
export function newTag(): string {
  tagCounter = (tagCounter + 1) >>> 0;
  return `${TAG_PREFIX}${randomBytes(4).toString('hex')}${tagCounter.toString(36)}`;
}

/** FNV-1a over a string, as 8 hex digits. */
export function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The To-tag of a stateless reply: derived from the request (Call-ID, From tag, top Via branch,
 * CSeq number), so a retransmitted request gets the same tag (RFC 3261 §8.2.6.2: the same tag
 * for all responses to one request), and distinct requests get distinct tags.
 */
export function statelessToTag(req: SipRequest): string {
  const branch = req.topVia?.branch ?? '';
  return `${TAG_PREFIX}.${fnv1a(`${req.callId ?? ''}|${req.fromTag ?? ''}|${branch}|${req.cseq?.seq ?? ''}`)}`;
}

/** Options of {@link buildResponseBytes}. */
export interface ResponseOptions {
  /** Reason phrase (wire text); default: the standard phrase of the status. */
  reason?: string | undefined;
  /** To-tag to add when the request's To has none (status > 100). Default: {@link statelessToTag}. */
  toTag?: string | undefined;
  /** Extra header lines (without CRLF), wire text. */
  headers?: readonly string[] | undefined;
  body?: Buffer | undefined;
  /** Replacement value for the top Via value (e.g. with received/rport filled in, RFC 3581 §4). */
  topVia?: string | undefined;
  /** Copy the Record-Route headers (a UAS answering a dialog-creating request, RFC 3261 §12.1.1). */
  recordRoute?: boolean | undefined;
}

/**
 * Builds the bytes of a response to `req` (RFC 3261 §8.2.6): the Via header fields copied in
 * order (a field holding several values stays one field; `topVia` may replace the first value),
 * From, To, Call-ID and CSeq copied, a To tag added when the request had none (except for 100,
 * §8.2.6.2), Timestamp copied into a 100 (§8.2.6.1), then Record-Route if asked, the extra headers
 * and Content-Length. Header values are copied unfolded, under their full names.
 *
 * Throws InvalidArgumentError for a status outside 100..699 or a reason with CR/LF (programmer
 * errors). Never answer an ACK (§17.2.1): that is the caller's rule.
 */
export function buildResponseBytes(
  req: SipRequest,
  status: number,
  opts: ResponseOptions = {},
): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 699)
    throw new InvalidArgumentError(`bad status code ${status}`);
  const reason = opts.reason ?? reasonPhrase(status);
  if (/[\r\n]/.test(reason))
    throw new InvalidArgumentError('the reason phrase must not contain CR or LF');
  let out = `SIP/2.0 ${status} ${reason}\r\n`;
  let firstVia = true;
  const n = req.headerCount;
  for (let k = 0; k < n; k++) {
    if (req.headerIdAt(k) !== Hdr.Via) continue;
    const v = req.headerValueAt(k);
    if (firstVia && opts.topVia !== undefined) {
      // the top Via value may share its header field with others: replace only the first value
      const o = splitCommaOffsets(v);
      const rest = o.length > 2 ? v.slice(o[2]) : '';
      out += `Via: ${opts.topVia}${rest === '' ? '' : `, ${rest}`}\r\n`;
    } else out += `Via: ${v}\r\n`;
    firstVia = false;
  }
  const from = req.indexOf(Hdr.From);
  if (from >= 0) out += `From: ${req.headerValueAt(from)}\r\n`;
  const to = req.indexOf(Hdr.To);
  if (to >= 0) {
    let tv = req.headerValueAt(to);
    // RFC 3261 §8.2.6.2: add a To tag unless the request had one; a 100 need not carry one
    if (status > 100 && req.toTag === undefined) tv += `;tag=${opts.toTag ?? statelessToTag(req)}`;
    out += `To: ${tv}\r\n`;
  }
  const cid = req.indexOf(Hdr.CallId);
  if (cid >= 0) out += `Call-ID: ${req.headerValueAt(cid)}\r\n`;
  const cseq = req.indexOf(Hdr.CSeq);
  if (cseq >= 0) out += `CSeq: ${req.headerValueAt(cseq)}\r\n`;
  // RFC 3261 §8.2.6.1: a 100 Trying copies Timestamp
  if (status === 100) {
    const ts = req.indexOf(Hdr.Timestamp);
    if (ts >= 0) out += `Timestamp: ${req.headerValueAt(ts)}\r\n`;
  }
  if (opts.recordRoute === true)
    for (const v of req.getHeaders(Hdr.RecordRoute)) out += `Record-Route: ${v}\r\n`;
  if (opts.headers) for (const h of opts.headers) out += `${h}\r\n`;
  const body = opts.body;
  out += `Content-Length: ${body?.length ?? 0}\r\n\r\n`;
  if (body === undefined || body.length === 0) return Buffer.from(out, 'latin1');
  const head = Buffer.from(out, 'latin1');
  return Buffer.concat([head, body]);
}

/** Builds a response and scans it back into a {@link SipResponse}. */
export function buildResponse(
  req: SipRequest,
  status: number,
  opts: ResponseOptions = {},
): SipResponse {
  const r = scanMessage(buildResponseBytes(req, status, opts));
  if (!r.ok || r.msg.isRequest) {
    throw new SipError(
      'SIP_ERR_INTERNAL',
      `built an invalid response: ${r.ok ? 'a request' : r.error.message}`,
    );
  }
  return r.msg as SipResponse;
}
