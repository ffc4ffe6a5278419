import { fail, ok, type ParseResult } from '../../errors/sip-error.js';
import { skipLws, TOKEN, trimEnd } from './chars.js';

/** CSeq (RFC 3261 §20.16). */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** RFC 3261 §8.1.1.5: the sequence number MUST be expressible as a 32-bit unsigned integer; it must be below 2^31 when chosen. */
export function parseCSeq(s: string): ParseResult<CSeq> {
  let i = skipLws(s, 0);
  const end = trimEnd(s, i, s.length);
  const ds = i;
  while (i < end && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
  if (i === ds) return fail('SIP_ERR_PARSE_CSEQ', 'CSeq', 'missing sequence number');
  if (i - ds > 10) return fail('SIP_ERR_PARSE_CSEQ', 'CSeq', 'sequence number too large');
  const seq = Number(s.slice(ds, i));
  if (seq > 0xffffffff) return fail('SIP_ERR_PARSE_CSEQ', 'CSeq', 'sequence number too large');
  const j = skipLws(s, i, end);
  if (j === i) return fail('SIP_ERR_PARSE_CSEQ', 'CSeq', 'missing method');
  let k = j;
  while (k < end && TOKEN[s.charCodeAt(k)] === 1) k++;
  if (k === j || k !== end) return fail('SIP_ERR_PARSE_CSEQ', 'CSeq', 'bad method');
  return ok({ seq, method: s.slice(j, k) });
}

/** Parses a decimal integer header (Max-Forwards, Content-Length, Expires…); undefined if not 1*DIGIT or above `max`. */
export function parseUint(s: string, max = 0xffffffff): number | undefined {
  const a = skipLws(s, 0);
  const b = trimEnd(s, a, s.length);
  if (b === a || b - a > 10) return undefined;
  let n = 0;
  for (let i = a; i < b; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n > max ? undefined : n;
}
