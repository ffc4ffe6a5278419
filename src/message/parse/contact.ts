import { fail, ok, type ParseResult } from '../../errors/sip-error.js';
import { bytesOf, readUint, skipLws, trimEnd, unquote } from './chars.js';
import { type NameAddr, parseNameAddrList } from './name-addr.js';
import { SipUri } from './uri.js';

/** The value of all Contact headers: `*` or a list of addresses (RFC 3261 §20.10). */
export type ContactList = { star: true; contacts: [] } | { star: false; contacts: NameAddr[] };

/**
 * Parses the Contact header fields of one message, each given as b/s[ranges[2k], ranges[2k+1]).
 * `*` must stand alone (RFC 3261 §10.2.2, §20.10); empty list elements are errors. `strict`
 * (the default) also checks every URI.
 */
export function parseContactRanges(
  b: Uint8Array,
  s: string,
  ranges: readonly number[],
  strict = true,
): ParseResult<ContactList> {
  const contacts: NameAddr[] = [];
  let star = false;
  for (let r = 0; r < ranges.length; r += 2) {
    const x = skipLws(b, ranges[r] ?? 0, ranges[r + 1] ?? 0);
    const y = trimEnd(b, x, ranges[r + 1] ?? 0);
    if (y - x === 1 && b[x] === 0x2a) {
      star = true;
      continue;
    }
    const from = contacts.length;
    const e = parseNameAddrList(b, s, 'Contact', x, y, contacts, false);
    if (e !== undefined) return fail('SIP_ERR_PARSE_CONTACT', 'Contact', e.detail);
    for (let i = from; i < contacts.length; i++) {
      const c = contacts[i] as NameAddr;
      // a '*' among other values is not a URI (RFC 3261 §10.2.2: it stands alone, unparameterized)
      if (!c.angle && c.uriText === '*') {
        if (c.params.size > 0)
          return fail('SIP_ERR_PARSE_CONTACT', 'Contact', "parameters after '*'");
        star = true;
        continue;
      }
      if (strict && !c.uriValid)
        return fail('SIP_ERR_PARSE_CONTACT', 'Contact', `bad URI '${c.uriText.slice(0, 64)}'`);
    }
  }
  if (star) {
    // RFC 3261 §10.2.2: "*" is only allowed alone
    if (contacts.length > 0)
      return fail('SIP_ERR_PARSE_CONTACT', 'Contact', "'*' mixed with other contacts");
    return ok({ star: true, contacts: [] });
  }
  return ok({ star: false, contacts });
}

/** Parses the values of the Contact header fields of one message (see {@link parseContactRanges}). */
export function parseContactValues(values: readonly string[]): ParseResult<ContactList> {
  let joined = '';
  const ranges: number[] = [];
  for (const v of values) {
    ranges.push(joined.length, joined.length + v.length);
    joined += v;
  }
  return parseContactRanges(bytesOf(joined), joined, ranges);
}

/** Contact `expires` param (RFC 3261 §20.10 delta-seconds): undefined when absent; NaN when not 1*10DIGIT or above 2^32-1. */
export function contactExpires(c: NameAddr): number | undefined {
  const v = c.param('expires');
  if (v === undefined) return undefined;
  if (v === null) return Number.NaN;
  const n = readUint(bytesOf(v), 0, v.length);
  return n < 0 || n > 0xffffffff ? Number.NaN : n;
}

/** `q` in thousandths (0..1000), undefined when absent, NaN when malformed (RFC 3261 §25.1 qvalue). */
export function contactQ(c: NameAddr): number | undefined {
  const v = c.param('q');
  if (v === undefined) return undefined;
  if (v === null || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) return Number.NaN;
  return Math.round(Number(v) * 1000);
}

/** `+sip.instance` value without the quotes (RFC 5626 §4.1), e.g. `<urn:uuid:…>`. */
export function contactInstance(c: NameAddr): string | undefined {
  const v = c.param('+sip.instance');
  if (v === undefined || v === null) return undefined;
  return unquote(v);
}

/** `reg-id` (RFC 5626 §4.2: 1*DIGIT, 1 to 2^31-1): undefined when absent, NaN when present but out of range or not a number. */
export function contactRegId(c: NameAddr): number | undefined {
  const v = c.param('reg-id');
  if (v === undefined) return undefined;
  if (v === null) return Number.NaN;
  const n = readUint(bytesOf(v), 0, v.length);
  return n >= 1 && n <= 0x7fffffff ? n : Number.NaN;
}

/** True when the Contact URI carries the `ob` URI parameter (RFC 5626 §5.4: `<sip:…;ob>`, not a header parameter). */
export function contactHasOb(c: NameAddr): boolean {
  const u = c.uri;
  return u instanceof SipUri && u.hasParam('ob');
}
