import { Hdr, headerId } from '../../message/constants.js';
import type { EditList } from '../../message/edits.js';
import { toWire } from '../../message/edits.js';
import type { SipMessage } from '../../message/message.js';

/**
 * Kamailio textops / siputils functions used by the seed configurations, on a message plus the edit
 * list that will be applied to its forwarded copy. Return codes follow Kamailio: 1 true, -1 false.
 */

/** `is_method("INVITE|SUBSCRIBE")`: the method (CSeq method for replies) is one of the names. */
export function isMethod(msg: SipMessage, methods: string): number {
  const m = msg.isRequest ? (msg as SipMessage & { method: string }).method : msg.cseq?.method;
  if (m === undefined) return -1;
  for (const x of methods.split('|')) if (x.trim().toUpperCase() === m.toUpperCase()) return 1;
  return -1;
}

/** `has_totag()`: the To header has a non-empty tag (an in-dialog request, RFC 3261 §12.2). */
export function hasTotag(msg: SipMessage): number {
  const t = msg.toTag;
  return t !== undefined && t.length > 0 ? 1 : -1;
}

/** `remove_hf("Name")`: removes every header of that name (any spelling, compact form included). */
export function removeHf(msg: SipMessage, edits: EditList, name: string): number {
  return edits.removeAll(msg, name) > 0 ? 1 : -1;
}

function headerLine(text: string): string {
  // Kamailio passes the raw text including CRLF; the edit list wants one line without it
  return toWire(text.replace(/\r?\n$/, ''));
}

/** `insert_hf("H: v\r\n", "Before")`: inserts before the first header named `before`, or before the first header. */
export function insertHf(msg: SipMessage, edits: EditList, text: string, before?: string): number {
  const line = headerLine(text);
  const k = before === undefined ? 0 : msg.indexOf(before);
  if (k >= 0 && msg.headerCount > 0) edits.insertBefore(k, line);
  else edits.insertTop(line);
  return 1;
}

/** `append_hf("H: v\r\n")`: appends after the last header. */
export function appendHf(_msg: SipMessage, edits: EditList, text: string): number {
  edits.append(headerLine(text));
  return 1;
}

/**
 * `$(hdr(Name)[*])` / `$hdr(Name)`: values of the named headers. `index` `'*'` joins all bodies with
 * `,` (undefined when there is none); a number selects the N-th (0-based; -1 = last).
 */
export function hdrValue(
  msg: SipMessage,
  name: string,
  index: number | '*' = 0,
): string | undefined {
  const id = headerId(name);
  const values = msg.getHeaders(id === Hdr.Other ? name : id);
  if (values.length === 0) return undefined;
  if (index === '*') return values.join(',');
  const i = index < 0 ? values.length + index : index;
  return values[i];
}

/** `@via[n]`: the n-th Via value (1-based, comma-separated values counted), trimmed; undefined if absent. */
export function viaSelect(msg: SipMessage, n: number): string | undefined {
  const all = msg.getValues(Hdr.Via);
  return all[n - 1];
}
