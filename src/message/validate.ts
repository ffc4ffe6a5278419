import { SipParseError } from '../errors/sip-error.js';
import { Hdr, SINGLE_HEADERS, HDR_NAMES } from './constants.js';
import type { SipMessage } from './message.js';
import { parseCSeq, parseUint } from './parse/cseq.js';
import { parseNameAddr } from './parse/name-addr.js';
import { parseVia } from './parse/via.js';
import { splitCommaOffsets } from './parse/split.js';

/**
 * The checks every received message must pass before the transaction layer sees it (RFC 3261
 * §8.1.1, §16.3 step 1, RFC 4475 §3.3.1/§3.3.8): Via, From, To, Call-ID and CSeq present and
 * well-formed, single-valued headers not repeated, the CSeq method equal to the request method.
 * Returns the first problem, or undefined.
 */
export function validateMessage(msg: SipMessage): SipParseError | undefined {
  // Via: every value must parse (responses are routed by Via, RFC 3261 §18.2.2)
  const vias = msg.indexesOf(Hdr.Via);
  if (vias.length === 0) return new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Via', 'missing Via header');
  for (const k of vias) {
    const v = msg.headerValueAt(k);
    const o = splitCommaOffsets(v);
    if (o.length === 0) return new SipParseError('SIP_ERR_PARSE_VIA', 'Via', 'empty Via header');
    for (let i = 0; i < o.length; i += 2) {
      const r = parseVia(v, o[i], o[i + 1]);
      if (!r.ok) return r.error;
    }
  }
  // single-valued headers
  const seen = new Uint8Array(HDR_NAMES.length);
  const n = msg.headerCount;
  for (let k = 0; k < n; k++) {
    const id = msg.headerIdAt(k);
    if (!SINGLE_HEADERS.has(id)) continue;
    if (seen[id] === 1) return new SipParseError('SIP_ERR_PARSE_DUPLICATE_HEADER', HDR_NAMES[id] as string, `several ${HDR_NAMES[id]} headers`);
    seen[id] = 1;
  }
  for (const [id, code, name] of [
    [Hdr.From, 'SIP_ERR_PARSE_FROM', 'From'],
    [Hdr.To, 'SIP_ERR_PARSE_TO', 'To'],
  ] as const) {
    const v = msg.getHeader(id);
    if (v === undefined) return new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', name, `missing ${name} header`);
    const r = parseNameAddr(v, name);
    if (!r.ok) return new SipParseError(code, name, r.error.message);
  }
  const cid = msg.getHeader(Hdr.CallId);
  if (cid === undefined) return new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'Call-ID', 'missing Call-ID header');
  if (cid.length === 0 || /\s/.test(cid)) return new SipParseError('SIP_ERR_PARSE_CALL_ID', 'Call-ID', 'bad Call-ID');
  const cs = msg.getHeader(Hdr.CSeq);
  if (cs === undefined) return new SipParseError('SIP_ERR_PARSE_MISSING_HEADER', 'CSeq', 'missing CSeq header');
  const c = parseCSeq(cs);
  if (!c.ok) return c.error;
  if (msg.isRequest) {
    const req = msg as SipMessage & { method: string };
    // RFC 3261 §8.2.2 / RFC 4475 §3.1.2.17: the CSeq method must match the request method
    if (c.value.method !== req.method && !(req.method === 'ACK' && c.value.method === 'ACK')) {
      return new SipParseError('SIP_ERR_PARSE_CSEQ', 'CSeq', 'CSeq method does not match request method');
    }
    if (c.value.seq > 0x7fffffff) return new SipParseError('SIP_ERR_PARSE_CSEQ', 'CSeq', 'CSeq number is illegal');
    const mf = msg.getHeader(Hdr.MaxForwards);
    if (mf !== undefined && parseUint(mf, 255) === undefined) {
      return new SipParseError('SIP_ERR_PARSE_MAX_FORWARDS', 'Max-Forwards', 'bad Max-Forwards');
    }
  }
  return undefined;
}
