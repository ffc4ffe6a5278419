// Character classes of RFC 3261 §25.1, as lookup tables indexed by char code.

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

/** token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~") */
export const TOKEN = table("-.!%*_+`'~", ALNUM);
/** Characters allowed in a URI user part (unreserved / escaped / user-unreserved). */
export const USER = table("-_.!~*'()%&=+$,;?/", ALNUM);
/** Characters allowed in a URI password. */
export const PASSWORD = table("-_.!~*'()%&=+$,", ALNUM);
/** paramchar: param-unreserved / unreserved / escaped. */
export const PARAMCHAR = table("[]/:&+$-_.!~*'()%", ALNUM);
/** hnv-unreserved / unreserved / escaped (URI headers). */
export const HNVCHAR = table("[]/?:+$-_.!~*'()%", ALNUM);
/** Hostname characters. */
export const HOSTNAME = table('-.', ALNUM);
export const DIGIT = table('', [[0x30, 0x39]]);
export const ALPHA = table('', [
  [0x41, 0x5a],
  [0x61, 0x7a],
]);
/** Scheme chars after the first letter. */
export const SCHEME = table('+-.', ALNUM);
/** word (Call-ID): alphanum / "-" "." "!" "%" "*" "_" "+" "`" "'" "~" "(" ")" "<" ">" ":" "\" DQUOTE "/" "[" "]" "?" "{" "}" */
export const WORD = table('-.!%*_+`\'~()<>:\\"/[]?{}', ALNUM);

export function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Skips SP, HTAB and CR/LF (folding has been normalised by the time values are parsed). */
export function skipLws(s: string, i: number, end = s.length): number {
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
    i++;
  }
  return i;
}

/** Trailing-whitespace trim bound. */
export function trimEnd(s: string, start: number, end: number): number {
  while (end > start) {
    const c = s.charCodeAt(end - 1);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
    end--;
  }
  return end;
}

/** Reads a token starting at i; returns its end (== i when there is none). */
export function scanToken(s: string, i: number, end = s.length): number {
  while (i < end && TOKEN[s.charCodeAt(i)] === 1) i++;
  return i;
}

/**
 * Reads a quoted-string starting at the opening DQUOTE; returns the index after the closing one, or
 * -1 when it is unterminated (RFC 3261 §25.1: quoted-pair = "\" (any char but CR/LF)).
 */
export function scanQuoted(s: string, i: number, end = s.length): number {
  i++;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c === 0x5c) {
      i += 2;
      continue;
    }
    i++;
  }
  return -1;
}

/** Removes the quotes and quoted-pair escapes of a quoted-string. */
export function unquote(q: string): string {
  if (q.length < 2 || q.charCodeAt(0) !== 0x22) return q;
  const inner = q.slice(1, -1);
  return inner.includes('\\') ? inner.replace(/\\(.)/gs, '$1') : inner;
}

/** RFC 3261 §19.1.2 %-unescaping; returns undefined on a broken escape. */
export function unescape(s: string): string | undefined {
  if (!s.includes('%')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '%') {
      const h = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(h)) return undefined;
      out += String.fromCharCode(Number.parseInt(h, 16));
      i += 2;
    } else out += c;
  }
  return out;
}
