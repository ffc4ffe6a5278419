// Character classes of RFC 3261 §25.1 as lookup tables indexed by byte, plus the scanning helpers
// every parser shares.
//
// Parsers read a message twice over: as bytes `b` (a Uint8Array; indexing it is about twice as
// fast as String#charCodeAt) and as the same text `s` (a latin1 string, one char per byte) from
// which they slice the values they return. Offsets are the same in both.

function table(chars: string, ranges: [number, number][] = []): Uint8Array {
  const t = new Uint8Array(256);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  for (const [a, b] of ranges) for (let i = a; i <= b; i++) t[i] = 1;
  return t;
}

const ALNUM: [number, number][] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x61, 0x7a],
];
/** mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")" (RFC 3261 §25.1). */
const MARK = "-_.!~*'()";

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);
/** unreserved / user-unreserved: characters of a URI user part besides escapes (RFC 3261 §25.1). */
export const USER = table(`${MARK}&=+$,;?/`, ALNUM);
/** unreserved / "&" / "=" / "+" / "$" / ",": a URI password besides escapes. */
export const PASSWORD = table(`${MARK}&=+$,`, ALNUM);
/** paramchar = param-unreserved / unreserved (escapes checked apart). */
export const PARAMCHAR = table(`${MARK}[]/:&+$`, ALNUM);
/** hnv-unreserved / unreserved (URI headers; escapes checked apart). */
export const HNVCHAR = table(`${MARK}[]/?:+$`, ALNUM);
export const DIGIT = table('', [[0x30, 0x39]]);
export const HEX = table('', [
  [0x30, 0x39],
  [0x41, 0x46],
  [0x61, 0x66],
]);
export const ALPHA = table('', [
  [0x41, 0x5a],
  [0x61, 0x7a],
]);
/** Scheme chars after the first letter. */
export const SCHEME = table('+-.', ALNUM);
/** URI reserved characters: their escaped and plain forms differ (RFC 3261 §19.1.4). */
export const RESERVED = table(';/?:@&=+$,');
/** LWS bytes: SP, HTAB, CR, LF (folding may still be present in raw values). */
export const LWS = table(' \t\r\n');
/**
 * Bytes that end an unquoted header-parameter value: LWS and the separators `;` `,` `"` `<` `>`.
 * gen-value = token / host / quoted-string (RFC 3261 §25.1); other bytes are tolerated inside a
 * value, as Kamailio does.
 */
export const VALUE_END = table(' \t\r\n;,"<>');

// Predicates for the hot loops. A loop that reads a table (TOKEN[c]) reloads and rechecks the
// table on every byte; these compare first (letters, digits and '-' are most bytes of names and
// values) and read a table only for the rest.

/** LWS byte: SP, HTAB, CR, LF. */
export function isLws(c: number): boolean {
  return c <= 0x20 && (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a);
}

/** ALPHA / DIGIT. */
export function isAlnum(c: number): boolean {
  return ((c | 0x20) - 0x61) >>> 0 < 26 || (c - 0x30) >>> 0 < 10;
}

/** `token` byte (RFC 3261 §25.1), see {@link TOKEN}. */
export function isToken(c: number): boolean {
  return ((c | 0x20) - 0x61) >>> 0 < 26 || (c - 0x2d) >>> 0 < 13 ? c !== 0x2f : TOKEN[c] === 1;
}

/** A byte that ends an unquoted header-parameter value, see {@link VALUE_END}. */
export function isValueEnd(c: number): boolean {
  if (c > 0x3e) return false;
  if (c >= 0x2d) return c >= 0x3b && c !== 0x3d;
  if (c <= 0x22) return c === 0x20 || c === 0x22 || c === 0x09 || c === 0x0d || c === 0x0a;
  return c === 0x2c;
}

/** The bytes of a latin1 (wire text) string. */
export function bytesOf(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

/** Skips LWS (SP, HTAB, CR, LF). */
export function skipLws(b: Uint8Array, i: number, end: number): number {
  while (i < end && isLws(b[i] ?? 0)) i++;
  return i;
}

/** Moves `end` back over trailing LWS, not past `start`. */
export function trimEnd(b: Uint8Array, start: number, end: number): number {
  while (end > start && isLws(b[end - 1] ?? 0)) end--;
  return end;
}

/**
 * Reads a quoted-string whose opening DQUOTE is at i; returns the index after the closing one, or
 * -1 when it is unterminated (RFC 3261 §25.1: quoted-pair = "\" followed by any char but CR/LF).
 */
export function scanQuoted(b: Uint8Array, i: number, end: number): number {
  i++;
  while (i < end) {
    const c = b[i] ?? 0;
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      const d = b[i + 1] ?? 0x0d;
      if (d === 0x0d || d === 0x0a) return -1;
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

/** Removes the quotes and quoted-pair escapes of a quoted-string; other text is returned as is. */
export function unquote(q: string): string {
  if (q.length < 2 || q.charCodeAt(0) !== 0x22 || q.charCodeAt(q.length - 1) !== 0x22) return q;
  const inner = q.slice(1, -1);
  if (!inner.includes('\\')) return inner;
  let out = '';
  for (let i = 0; i < inner.length; i++) {
    if (inner.charCodeAt(i) === 0x5c && i + 1 < inner.length) i++;
    out += inner[i];
  }
  return out;
}

/** Writes `text` as a quoted-string, escaping `"` and `\` (RFC 3261 §25.1 quoted-pair). */
export function quote(text: string): string {
  // the usual case (a +sip.instance, an address) has nothing to escape: one string, not one per
  // character (issue 12 §1)
  if (!text.includes('"') && !text.includes('\\')) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) out += '\\';
    out += text[i];
  }
  return `${out}"`;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** RFC 3261 §19.1.2 %-unescaping; undefined on a broken escape (`%` not followed by 2 HEXDIG). */
export function percentDecode(s: string): string | undefined {
  if (!s.includes('%')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x25) {
      out += s[i];
      continue;
    }
    const h = hexValue(s.charCodeAt(i + 1));
    const l = hexValue(s.charCodeAt(i + 2));
    if (h < 0 || l < 0) return undefined;
    out += String.fromCharCode(h * 16 + l);
    i += 2;
  }
  return out;
}

/**
 * Canonical form for comparing URI components (RFC 3261 §19.1.4): escapes of characters outside
 * the reserved set are decoded, escapes of reserved characters keep an upper-case `%XX`.
 */
export function canonicalEscapes(s: string): string {
  if (!s.includes('%')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const h = c === 0x25 ? hexValue(s.charCodeAt(i + 1)) : -1;
    const l = c === 0x25 ? hexValue(s.charCodeAt(i + 2)) : -1;
    if (h < 0 || l < 0) {
      out += s[i];
      continue;
    }
    const v = h * 16 + l;
    out += RESERVED[v] === 1 ? `%${s.slice(i + 1, i + 3).toUpperCase()}` : String.fromCharCode(v);
    i += 2;
  }
  return out;
}

/**
 * True when every byte of b[from, to) is in `tbl` or starts a valid `%` HEX HEX escape inside the
 * range (RFC 3261 §25.1 `escaped`).
 */
export function allEscaped(tbl: Uint8Array, b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i] ?? 0;
    // every table here holds the alphanumerics: those first, without reading the table
    if (isAlnum(c) || tbl[c] === 1) continue;
    if (c !== 0x25 || i + 2 >= to || HEX[b[i + 1] ?? 0] !== 1 || HEX[b[i + 2] ?? 0] !== 1)
      return false;
    i += 2;
  }
  return true;
}

/** ASCII case-insensitive comparison of b[from, to) with `name` (letters folded on both sides). */
export function matchLower(b: Uint8Array, from: number, to: number, name: string): boolean {
  const n = name.length;
  if (to - from !== n) return false;
  for (let i = 0; i < n; i++) {
    const c = b[from + i] ?? 0;
    const d = name.charCodeAt(i);
    if (c !== d && ((c | 0x20) !== (d | 0x20) || LETTER[c] !== 1)) return false;
  }
  return true;
}

const LETTER = table('', [
  [0x41, 0x5a],
  [0x61, 0x7a],
]);

/** ASCII case-insensitive string equality without allocating. */
export function equalsIgnoreCase(a: string, b: string): boolean {
  if (a === b) return true;
  const n = a.length;
  if (n !== b.length) return false;
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

/** Reads 1 to 10 decimal digits in b[from, to) as a number; -1 if empty, not all digits or longer. */
export function readUint(b: Uint8Array, from: number, to: number): number {
  if (to <= from || to - from > 10) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = (b[i] ?? 0) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Former name of {@link percentDecode}, kept for the modules that import it. */
