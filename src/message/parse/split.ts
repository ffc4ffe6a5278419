import { bytesOf, isLws } from './chars.js';

/**
 * Splits b[start, end) at top-level commas (RFC 3261 §7.3.1). Commas inside a quoted-string (which
 * may contain `\` quoted-pairs) and inside `<...>` do not split. Each element is trimmed of LWS;
 * empty elements are dropped unless `keepEmpty` is set (then an empty element is an empty range,
 * so a strict caller can reject `a,,b`). Returns [start, end) offset pairs.
 */
export function splitCommaBytes(
  b: Uint8Array,
  start: number,
  end: number,
  keepEmpty = false,
): number[] {
  const out: number[] = [];
  let elStart = start;
  let angle = false;
  for (let i = start; i < end; i++) {
    const c = b[i] ?? 0;
    if (angle) {
      // inside <...> only '>' is special: a URI holds no quotes or commas of the header's own
      if (c === 0x3e) angle = false;
    } else if (c === 0x22) {
      i++;
      while (i < end) {
        const d = b[i] ?? 0;
        if (d === 0x5c) i++;
        else if (d === 0x22) break;
        i++;
      }
    } else if (c === 0x3c) angle = true;
    else if (c === 0x2c) {
      push(b, elStart, i, out, keepEmpty);
      elStart = i + 1;
    }
  }
  push(b, elStart, end, out, keepEmpty);
  return out;
}

function push(b: Uint8Array, x: number, y: number, out: number[], keepEmpty: boolean): void {
  while (x < y && isLws(b[x] ?? 0)) x++;
  while (y > x && isLws(b[y - 1] ?? 0)) y--;
  if (y > x || keepEmpty) out.push(x, y);
}

/** {@link splitCommaBytes} over a string (wire text). */
export function splitCommaOffsets(
  s: string,
  start = 0,
  end = s.length,
  keepEmpty = false,
): number[] {
  return splitCommaBytes(bytesOf(s), start, end, keepEmpty);
}

/** Comma-split into trimmed, non-empty strings. */
export function splitComma(s: string): string[] {
  const o = splitCommaOffsets(s);
  const out: string[] = [];
  for (let k = 0; k < o.length; k += 2) out.push(s.slice(o[k], o[k + 1]));
  return out;
}
