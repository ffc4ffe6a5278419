import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, SipError } from '../errors/sip-error.js';
import { Hdr, reasonPhrase } from './constants.js';
import { HSTRIDE, type SipRequest, type SipResponse } from './message.js';
import { splitCommaOffsets } from './parse/split.js';
import { scanMessage } from './scanner.js';
import { WireBuilder } from './wire.js';

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
  // the pieces go straight into the result (no string per header line, issue 12 §1)
  const w = WIRE.start(req.buf);
  w.text('SIP/2.0 ').text(String(status)).text(' ').text(reason).text('\r\n');
  let firstVia = true;
  const n = req.headerCount;
  for (let k = 0; k < n; k++) {
    if (req.headerIdAt(k) !== Hdr.Via) continue;
    if (firstVia && opts.topVia !== undefined) {
      // the top Via value may share its header field with others: replace only the first value
      const v = req.headerValueAt(k);
      const o = splitCommaOffsets(v);
      const rest = o.length > 2 ? v.slice(o[2]) : '';
      w.text('Via: ').text(opts.topVia);
      if (rest !== '') w.text(', ').text(rest);
      w.text('\r\n');
    } else copyValue(w.text('Via: '), req, k).text('\r\n');
    firstVia = false;
  }
  const from = req.indexOf(Hdr.From);
  if (from >= 0) copyValue(w.text('From: '), req, from).text('\r\n');
  const to = req.indexOf(Hdr.To);
  if (to >= 0) {
    copyValue(w.text('To: '), req, to);
    // RFC 3261 §8.2.6.2: add a To tag unless the request had one; a 100 need not carry one
    if (status > 100 && req.toTag === undefined)
      w.text(';tag=').text(opts.toTag ?? statelessToTag(req));
    w.text('\r\n');
  }
  const cid = req.indexOf(Hdr.CallId);
  if (cid >= 0) copyValue(w.text('Call-ID: '), req, cid).text('\r\n');
  const cseq = req.indexOf(Hdr.CSeq);
  if (cseq >= 0) copyValue(w.text('CSeq: '), req, cseq).text('\r\n');
  // RFC 3261 §8.2.6.1: a 100 Trying copies Timestamp
  if (status === 100) {
    const ts = req.indexOf(Hdr.Timestamp);
    if (ts >= 0) copyValue(w.text('Timestamp: '), req, ts).text('\r\n');
  }
  if (opts.recordRoute === true)
    for (const v of req.getHeaders(Hdr.RecordRoute)) w.text('Record-Route: ').text(v).text('\r\n');
  if (opts.headers) for (const h of opts.headers) w.text(h).text('\r\n');
  const body = opts.body;
  w.text('Content-Length: ')
    .text(String(body?.length ?? 0))
    .text('\r\n\r\n');
  if (body !== undefined) w.bytes(body);
  return w.finish();
}

const WIRE = new WireBuilder();

/** Appends header k's value as `headerValueAt` gives it: its bytes, or the unfolded text. */
function copyValue(w: WireBuilder, req: SipRequest, k: number): WireBuilder {
  if (req.folded) return w.text(req.headerValueAt(k));
  const o = k * HSTRIDE;
  return w.range(req.hdr[o + 3] ?? 0, req.hdr[o + 4] ?? 0);
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
