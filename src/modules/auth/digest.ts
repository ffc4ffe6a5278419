import { timingSafeEqual } from 'node:crypto';
import { type DigestAlgorithm, digestHash } from './ha1.js';

/** The parameters of one `Digest` credentials value (RFC 3261 §25.1 `digest-response`), names lower-case. */
export type DigestParams = ReadonlyMap<string, string>;

/** Most parameters one credentials value may carry (a real one has about ten). */
const MAX_PARAMS = 32;

const TOKEN = new Uint8Array(128);
for (const c of "!%'*+-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_`abcdefghijklmnopqrstuvwxyz~")
  TOKEN[c.charCodeAt(0)] = 1;

function isToken(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

function isLws(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/**
 * Parses an `Authorization` / `Proxy-Authorization` value: `Digest` then comma-separated
 * `name=value` pairs, each value a token or a quoted string with `\` escapes (RFC 3261 §25.1,
 * RFC 7616 §3.4). Undefined when it is not Digest or is malformed (a repeated parameter, an
 * unterminated string, too many parameters): such credentials are treated as absent.
 */
export function parseDigestCredentials(value: string): DigestParams | undefined {
  let i = 0;
  const n = value.length;
  while (i < n && isLws(value.charCodeAt(i))) i++;
  if (value.slice(i, i + 6).toLowerCase() !== 'digest') return undefined;
  i += 6;
  if (i >= n || !isLws(value.charCodeAt(i))) return undefined;
  const out = new Map<string, string>();
  for (;;) {
    while (i < n && (isLws(value.charCodeAt(i)) || value.charCodeAt(i) === 0x2c)) i++;
    if (i >= n) break;
    const nameStart = i;
    while (i < n && isToken(value.charCodeAt(i))) i++;
    if (i === nameStart) return undefined;
    const name = value.slice(nameStart, i).toLowerCase();
    while (i < n && isLws(value.charCodeAt(i))) i++;
    if (value.charCodeAt(i) !== 0x3d) return undefined; // '='
    i++;
    while (i < n && isLws(value.charCodeAt(i))) i++;
    let v: string;
    if (value.charCodeAt(i) === 0x22) {
      // quoted-string with quoted-pair escapes (RFC 3261 §25.1)
      i++;
      let s = '';
      let closed = false;
      while (i < n) {
        const c = value.charCodeAt(i);
        if (c === 0x5c && i + 1 < n) {
          s += value[i + 1];
          i += 2;
          continue;
        }
        if (c === 0x22) {
          closed = true;
          i++;
          break;
        }
        s += value[i];
        i++;
      }
      if (!closed) return undefined;
      v = s;
    } else {
      const vs = i;
      while (i < n && isToken(value.charCodeAt(i))) i++;
      if (i === vs) return undefined;
      v = value.slice(vs, i);
    }
    if (out.has(name) || out.size >= MAX_PARAMS) return undefined;
    out.set(name, v);
    while (i < n && isLws(value.charCodeAt(i))) i++;
    if (i < n && value.charCodeAt(i) !== 0x2c) return undefined;
  }
  return out;
}

/** What a digest response is computed over (RFC 7616 §3.4.1, RFC 2617 §3.2.2). */
export interface DigestInput {
  readonly algorithm: DigestAlgorithm;
  /** H(username:realm:password), from the credentials store. */
  readonly ha1: string;
  readonly method: string;
  /** The `uri` parameter as the client sent it (RFC 3261 §22.4: not the Request-URI). */
  readonly uri: string;
  readonly nonce: string;
  /** `auth`, or undefined for RFC 2069 clients. */
  readonly qop: string | undefined;
  readonly nc: string | undefined;
  readonly cnonce: string | undefined;
}

/** The expected `response` value (lower-case hex). */
export function expectedResponse(d: DigestInput): string {
  const ha2 = digestHash(d.algorithm, `${d.method}:${d.uri}`);
  if (d.qop === undefined) return digestHash(d.algorithm, `${d.ha1}:${d.nonce}:${ha2}`);
  return digestHash(
    d.algorithm,
    `${d.ha1}:${d.nonce}:${d.nc ?? ''}:${d.cnonce ?? ''}:${d.qop}:${ha2}`,
  );
}

/** Compares the client's `response` with the expected one in constant time (case-insensitive hex). */
export function responseMatches(expected: string, given: string): boolean {
  const g = given.toLowerCase();
  if (g.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(g, 'latin1'));
}

/** Escapes a value for a quoted-string (RFC 3261 §25.1). */
export function quote(s: string): string {
  return `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}
