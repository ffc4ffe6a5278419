/**
 * Splits a header value at top-level commas (RFC 3261 §7.3.1), ignoring commas inside quoted
 * strings (with backslash escapes) and inside `<...>`. Empty elements are dropped; each element is
 * trimmed. Returns the elements as [start, end) offsets into `s`, so callers can keep raw bytes.
 */
export function splitCommaOffsets(s: string, start = 0, end = s.length): number[] {
  const out: number[] = [];
  let elStart = start;
  let angle = false;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      // quoted string
      i++;
      while (i < end) {
        const d = s.charCodeAt(i);
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
        i++;
      }
    } else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      push(s, elStart, i, out);
      elStart = i + 1;
    }
  }
  push(s, elStart, end, out);
  return out;
}

function push(s: string, a: number, b: number, out: number[]): void {
  while (a < b && isSpace(s.charCodeAt(a))) a++;
  while (b > a && isSpace(s.charCodeAt(b - 1))) b--;
  if (b > a) out.push(a, b);
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

/** Comma-split into trimmed strings. */
export function splitComma(s: string): string[] {
  const o = splitCommaOffsets(s);
  const out: string[] = new Array(o.length / 2);
  for (let k = 0; k < o.length; k += 2) out[k / 2] = s.slice(o[k], o[k + 1]);
  return out;
}
