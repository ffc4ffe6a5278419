import { Hdr } from '../../message/constants.js';
import type { SipRequest } from '../../message/message.js';
import { parseNameAddr } from '../../message/parse/name-addr.js';
import { validateMessage } from '../../message/validate.js';
import type { RequestContext } from '../../proxy/context.js';

/**
 * Checks of Kamailio's sanity module, selected by the same bit masks (`sanity_check("1511", "7")`).
 * Each failing check answers with the status and reason listed here (docs/sanity.md lists them).
 */
export const SanityCheck = {
  RuriSipVersion: 1,
  RuriScheme: 2,
  RequiredHeaders: 4,
  ViaSipVersion: 8,
  ViaProtocol: 16,
  CSeqMethod: 32,
  CSeqValue: 64,
  ContentLength: 128,
  Expires: 256,
  ProxyRequire: 512,
  ParseUris: 1024,
} as const;

/** URI checks of the second argument. */
export const SanityUri = { Ruri: 1, From: 2, To: 4 } as const;

export interface SanityFailure {
  readonly check: string;
  readonly status: number;
  readonly reason: string;
  /** Unsupported option tags (Proxy-Require check, RFC 3261 §16.3 step 5). */
  readonly unsupported?: readonly string[];
}

const SCHEMES = new Set(['sip', 'sips', 'tel', 'tels', 'urn']);

const REQUIRED_HEADERS = [
  [Hdr.From, 'From'],
  [Hdr.To, 'To'],
  [Hdr.CallId, 'Call-ID'],
  [Hdr.CSeq, 'CSeq'],
  [Hdr.Via, 'Via'],
] as const;

/**
 * Runs the selected checks on a request; returns the first failure or undefined.
 * `supported` lists the option tags this proxy understands (for Proxy-Require).
 */
export function sanityCheck(
  req: SipRequest,
  msgChecks: number,
  uriChecks: number,
  supported: readonly string[] = [],
): SanityFailure | undefined {
  if (msgChecks & SanityCheck.RuriSipVersion && req.version.toUpperCase() !== 'SIP/2.0') {
    return { check: 'ruri_sip_version', status: 505, reason: 'Version Not Supported (R-URI)' };
  }
  if (msgChecks & SanityCheck.RuriScheme) {
    // the message's parsed Request-URI: parsed once, kept for whoever reads it next
    const r = req.ruri;
    if (r === undefined) return { check: 'ruri_scheme', status: 400, reason: 'Bad Request URI' };
    // RFC 3261 §8.2.2.1 / RFC 4475 §3.3.2: unknown scheme -> 416
    if (!SCHEMES.has(r.scheme))
      return { check: 'ruri_scheme', status: 416, reason: 'Unsupported URI Scheme in Request URI' };
  }
  if (msgChecks & SanityCheck.RequiredHeaders) {
    for (const [id, name] of REQUIRED_HEADERS) {
      if (!req.hasHeader(id))
        return { check: 'required_headers', status: 400, reason: `Missing ${name} Header` };
    }
  }
  if (msgChecks & (SanityCheck.ViaSipVersion | SanityCheck.ViaProtocol)) {
    const v = req.topVia;
    if (v === undefined) return { check: 'via', status: 400, reason: 'Bad Via Header' };
    if (msgChecks & SanityCheck.ViaSipVersion && v.protocol.toUpperCase() !== 'SIP/2.0')
      return { check: 'via_sip_version', status: 505, reason: 'Version Not Supported (Via)' };
  }
  if (msgChecks & (SanityCheck.CSeqMethod | SanityCheck.CSeqValue)) {
    const raw = req.getHeader(Hdr.CSeq);
    const cs = req.cseq;
    if (msgChecks & SanityCheck.CSeqMethod) {
      if (raw === undefined || cs === undefined)
        return { check: 'cseq_method', status: 400, reason: 'Missing method in CSeq header' };
      if (cs.method !== req.method)
        return {
          check: 'cseq_method',
          status: 400,
          reason: 'CSeq method does not match request method',
        };
    }
    if (msgChecks & SanityCheck.CSeqValue && (cs === undefined || cs.seq > 0x7fffffff)) {
      return { check: 'cseq_value', status: 400, reason: 'CSeq number is illegal' };
    }
  }
  if (msgChecks & SanityCheck.ContentLength) {
    const cl = req.contentLength;
    if (cl !== undefined && cl !== req.bodyLength)
      return { check: 'content_length', status: 400, reason: 'Content-Length mis-match' };
  }
  if (msgChecks & SanityCheck.Expires) {
    const e = req.getHeader(Hdr.Expires);
    // RFC 3261 §20.19: delta-seconds, a 32-bit value
    if (e !== undefined && (!/^\s*\d{1,10}\s*$/.test(e) || Number(e) > 0xffffffff))
      return { check: 'expires_value', status: 400, reason: 'Expires value is illegal' };
  }
  if (msgChecks & SanityCheck.ProxyRequire && req.hasHeader(Hdr.ProxyRequire)) {
    // RFC 3261 §16.3 step 5: option tags in Proxy-Require this proxy does not know -> 420
    const known = new Set(supported.map((s) => s.toLowerCase()));
    const unsupported = req.optionTags(Hdr.ProxyRequire).filter((t) => !known.has(t));
    if (unsupported.length > 0)
      return { check: 'proxy_require', status: 420, reason: 'Bad Extension', unsupported };
  }
  if (msgChecks & SanityCheck.ParseUris) {
    if (uriChecks & SanityUri.Ruri && req.ruri === undefined)
      return { check: 'parse_uri', status: 400, reason: 'Bad Request URI' };
    // a message that passed validateMessage (every received one, cached) had its From and To
    // parsed with their URIs checked: they need no second parse
    const valid =
      (uriChecks & (SanityUri.From | SanityUri.To)) !== 0 && validateMessage(req) === undefined;
    if (uriChecks & SanityUri.From && !valid) {
      const f = req.getHeader(Hdr.From);
      if (f !== undefined && !parseNameAddr(f, 'From').ok)
        return { check: 'parse_uri', status: 400, reason: 'Invalid From Header' };
    }
    if (uriChecks & SanityUri.To && !valid) {
      const t = req.getHeader(Hdr.To);
      if (t !== undefined && !parseNameAddr(t, 'To').ok)
        return { check: 'parse_uri', status: 400, reason: 'Invalid To Header' };
    }
  }
  return undefined;
}

/** For the script layer: the check failed for this context. */
export function sanityFailureHeaders(f: SanityFailure): string[] {
  return f.unsupported === undefined ? [] : [`Unsupported: ${f.unsupported.join(', ')}`];
}

export type { RequestContext };
