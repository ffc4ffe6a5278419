import { fail, ok, type ParseResult } from '../../errors/sip-error.js';
import { knownMethod, methodName } from '../constants.js';
import { bytesOf, isLws, isToken, readUint, skipLws, trimEnd } from './chars.js';

/** CSeq (RFC 3261 §20.16). */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/**
 * Reads `CSeq = 1*DIGIT LWS Method` in b/s[start, end) (RFC 3261 §20.16: the number MUST be
 * expressible as a 32-bit unsigned integer; RFC 4475 §3.1.2.4/§3.1.2.5 send larger ones). Returns
 * the CSeq, or a description of what is wrong.
 */
export function readCSeq(b: Uint8Array, s: string, start: number, end: number): CSeq | string {
  let i = start;
  while (i < end && isLws(b[i] ?? 0)) i++;
  while (end > i && isLws(b[end - 1] ?? 0)) end--;
  const ds = i;
  let seq = 0;
  let d = (b[i] ?? 0) - 0x30;
  while (i < end && d >= 0 && d <= 9) {
    seq = seq * 10 + d;
    d = (b[++i] ?? 0) - 0x30;
  }
  if (i === ds) return 'missing sequence number';
  if (i - ds > 10 || seq > 0xffffffff) return 'sequence number too large';
  // the usual single SP, else LWS
  const j = i < end && b[i] === 0x20 && !isLws(b[i + 1] ?? 0) ? i + 1 : skipLws(b, i, end);
  if (j === i) return 'missing method';
  // the usual well-known method up to the end (a token, so the loop below would agree)
  const known = knownMethod(b, j, end);
  if (known !== undefined) return { seq, method: known };
  let k = j;
  while (k < end && isToken(b[k] ?? 0)) k++;
  if (k === j || k !== end) return 'bad method';
  return { seq, method: methodName(b, s, j, k) };
}

/** Parses `CSeq = 1*DIGIT LWS Method` in b/s[start, end) (see {@link readCSeq}). */
export function parseCSeqAt(
  b: Uint8Array,
  s: string,
  start: number,
  end: number,
): ParseResult<CSeq> {
  const r = readCSeq(b, s, start, end);
  return typeof r === 'string' ? fail('SIP_ERR_PARSE_CSEQ', 'CSeq', r) : ok(r);
}

/** Parses a CSeq value (see {@link parseCSeqAt}). */
export function parseCSeq(s: string, start = 0, end = s.length): ParseResult<CSeq> {
  return parseCSeqAt(bytesOf(s), s, start, end);
}

/**
 * Reads a decimal integer header value (Max-Forwards, Content-Length, Expires, Flow-Timer…) in
 * b[start, end): undefined if not 1*DIGIT (LWS around it allowed), longer than 10 digits or above `max`.
 */
export function uintAt(
  b: Uint8Array,
  start: number,
  end: number,
  max = 0xffffffff,
): number | undefined {
  const x = skipLws(b, start, end);
  const n = readUint(b, x, trimEnd(b, x, end));
  return n < 0 || n > max ? undefined : n;
}

/** {@link uintAt} over a string value. */
export function parseUint(s: string, max = 0xffffffff): number | undefined {
  return uintAt(bytesOf(s), 0, s.length, max);
}
