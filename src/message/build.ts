import { randomBytes } from 'node:crypto';
import { Hdr } from './constants.js';
import { reasonPhrase } from './constants.js';
import type { SipRequest, SipResponse } from './message.js';
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
 * The To-tag of a stateless reply: derived from the request, so a retransmitted request gets the
 * same tag (RFC 3261 §8.2.6.2: the same tag for all responses to one request).
 */
export function statelessToTag(req: SipRequest): string {
  const v = req.topVia;
  const branch = v?.params.get('branch') ?? '';
  return `${TAG_PREFIX}.${fnv1a(`${req.callId ?? ''}|${req.fromTag ?? ''}|${branch}|${req.cseq?.seq ?? ''}`)}`;
}

export interface ResponseOptions {
  reason?: string | undefined;
  /** To-tag to add when the request's To has none (status > 100). Default: {@link statelessToTag}. */
  toTag?: string | undefined;
  /** Extra header lines (without CRLF), wire text. */
  headers?: readonly string[] | undefined;
  body?: Buffer | undefined;
  /** Replacement value for the top Via (e.g. with received/rport filled in). */
  topVia?: string | undefined;
}

/**
 * Builds the bytes of a response to `req` (RFC 3261 §8.2.6.2): Via headers copied in order, From,
 * To (with a tag added for non-100 responses when missing), Call-ID and CSeq copied, then the extra
 * headers and Content-Length.
 */
export function buildResponseBytes(req: SipRequest, status: number, opts: ResponseOptions = {}): Buffer {
  let out = `SIP/2.0 ${status} ${opts.reason ?? reasonPhrase(status)}\r\n`;
  let firstVia = true;
  const n = req.headerCount;
  // Via first, in order, then From, To, Call-ID, CSeq
  for (let k = 0; k < n; k++) {
    if (req.headerIdAt(k) !== Hdr.Via) continue;
    if (firstVia && opts.topVia !== undefined) {
      // the top Via value may share its header field with others: replace only the first value
      const v = req.headerValueAt(k);
      const rest = restAfterFirstValue(v);
      out += `Via: ${opts.topVia}${rest === undefined ? '' : `, ${rest}`}\r\n`;
    } else out += `Via: ${req.headerValueAt(k)}\r\n`;
    firstVia = false;
  }
  const from = req.indexOf(Hdr.From);
  if (from >= 0) out += `From: ${req.headerValueAt(from)}\r\n`;
  const to = req.indexOf(Hdr.To);
  if (to >= 0) {
    let tv = req.headerValueAt(to);
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
  if (opts.headers) for (const h of opts.headers) out += `${h}\r\n`;
  const body = opts.body;
  out += `Content-Length: ${body?.length ?? 0}\r\n\r\n`;
  if (body === undefined || body.length === 0) return Buffer.from(out, 'latin1');
  const head = Buffer.from(out, 'latin1');
  return Buffer.concat([head, body]);
}

/** Builds a response and scans it back into a {@link SipResponse}. */
export function buildResponse(req: SipRequest, status: number, opts: ResponseOptions = {}): SipResponse {
  const r = scanMessage(buildResponseBytes(req, status, opts));
  if (!r.ok || r.msg.isRequest) throw new Error(`built an invalid response: ${r.ok ? 'request' : r.error.message}`);
  return r.msg as SipResponse;
}

function restAfterFirstValue(v: string): string | undefined {
  let q = false;
  let angle = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x22) q = !q;
    else if (!q && c === 0x3c) angle = true;
    else if (!q && c === 0x3e) angle = false;
    else if (!q && !angle && c === 0x2c) {
      const rest = v.slice(i + 1).trim();
      return rest.length > 0 ? rest : undefined;
    }
  }
  return undefined;
}
