import type { ByteSpan } from './hep.js';

/**
 * Light reads of the header block of SIP bytes that were not scanned (what the transport sends):
 * enough for a capture's correlation id and the live trace's filters, without building a message.
 */

/** End of the header block (the empty line), or the end of the bytes. */
function headerEnd(s: string): number {
  const i = s.indexOf('\r\n\r\n');
  if (i >= 0) return i;
  const j = s.indexOf('\n\n');
  return j >= 0 ? j : s.length;
}

/**
 * The value of the first header named `name` or its compact form (RFC 3261 §7.3.3), trimmed;
 * undefined when absent. Folded continuation lines are not joined (Call-ID, From and To have none
 * in practice).
 */
export function headerValue(bytes: Buffer, name: string, compact?: string): string | undefined {
  // latin1 keeps one character per octet; header names are ASCII
  const s = bytes.toString('latin1', 0, Math.min(bytes.length, 16_384));
  const end = headerEnd(s);
  const want = name.toLowerCase();
  const short = compact?.toLowerCase();
  let line = s.indexOf('\n') + 1; // skip the start line
  while (line > 0 && line < end) {
    const next = s.indexOf('\n', line);
    const stop = next < 0 || next > end ? end : next;
    const colon = s.indexOf(':', line);
    if (colon > line && colon < stop) {
      const n = s.slice(line, colon).trim().toLowerCase();
      if (n === want || n === short) {
        const v = s.slice(colon + 1, stop).trim();
        return Buffer.from(v, 'latin1').toString('utf8');
      }
    }
    line = next < 0 ? -1 : next + 1;
  }
  return undefined;
}

/** The start line (request line or status line), without its line end. */
export function startLine(bytes: Buffer): string {
  const s = bytes.toString('latin1', 0, Math.min(bytes.length, 1024));
  const i = s.indexOf('\n');
  return (i < 0 ? s : s.slice(0, i)).replace(/\r$/, '');
}

const CALL_ID = /\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)/i;
const CALL_ID_LINE = Buffer.from('\r\nCall-ID:', 'latin1');
const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

/**
 * Where the Call-ID's value is in SIP bytes (trimmed), or undefined. On the capture path: the usual
 * spelling `Call-ID:` is found by one native search (and checked to be in the header block), the
 * end of the line by a short loop; other spellings (`call-id`, compact `i`) by a regular expression.
 */
export function callIdSpan(bytes: Buffer): ByteSpan | undefined {
  const i = bytes.indexOf(CALL_ID_LINE);
  if (i >= 0 && bytes.lastIndexOf(CRLFCRLF, i) < 0) {
    let from = i + CALL_ID_LINE.length;
    let end = from;
    while (end < bytes.length && bytes[end] !== 0x0d && bytes[end] !== 0x0a) end++;
    while (from < end && (bytes[from] === 0x20 || bytes[from] === 0x09)) from++;
    while (end > from && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--;
    return { buf: bytes, start: from, end };
  }
  const s = bytes.toString('latin1', 0, Math.min(bytes.length, 16_384));
  const m = CALL_ID.exec(s.slice(0, headerEnd(s)));
  if (m?.[1] === undefined) return undefined;
  const v = m[1];
  const start = m.index + m[0].length - v.length + (v.length - v.trimStart().length);
  return { buf: bytes, start, end: start + v.trim().length };
}

/** The Call-ID of SIP bytes. */
export function callIdOf(bytes: Buffer): string | undefined {
  const span = callIdSpan(bytes);
  return span === undefined ? undefined : bytes.toString('latin1', span.start, span.end);
}
