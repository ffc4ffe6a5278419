/**
 * A copy of a string that shares no storage with the string it came from. Substrings of a
 * received message (V8 "sliced strings") keep the whole message text alive; a value stored for
 * longer than the message (a transaction key, a binding field) is detached first.
 */
export function detach(s: string): string {
  // V8 copies substrings shorter than 13 characters anyway
  if (s.length < 13) return s;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0xff) return Buffer.from(s, 'utf16le').toString('utf16le');
  }
  return Buffer.from(s, 'latin1').toString('latin1');
}
