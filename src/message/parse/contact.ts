import { fail, ok, type ParseResult } from '../../errors/sip-error.js';
import { unquote } from './chars.js';
import { type NameAddr, parseNameAddr } from './name-addr.js';
import { splitCommaOffsets } from './split.js';

/** The value of all Contact headers: `*` or a list of addresses (RFC 3261 §20.10). */
export type ContactList = { star: true; contacts: [] } | { star: false; contacts: NameAddr[] };

export function parseContactValues(values: readonly string[]): ParseResult<ContactList> {
  const contacts: NameAddr[] = [];
  let star = false;
  for (const v of values) {
    const offs = splitCommaOffsets(v);
    if (offs.length === 0) return fail('SIP_ERR_PARSE_CONTACT', 'Contact', 'empty Contact');
    for (let k = 0; k < offs.length; k += 2) {
      const a = offs[k] as number;
      const b = offs[k + 1] as number;
      if (b - a === 1 && v.charCodeAt(a) === 0x2a) {
        star = true;
        continue;
      }
      const r = parseNameAddr(v, 'Contact', a, b);
      if (!r.ok) return fail('SIP_ERR_PARSE_CONTACT', 'Contact', r.error.message);
      contacts.push(r.value);
    }
  }
  if (star) {
    // RFC 3261 §10.2.2: "*" is only allowed alone
    if (contacts.length > 0) return fail('SIP_ERR_PARSE_CONTACT', 'Contact', "'*' mixed with other contacts");
    return ok({ star: true, contacts: [] });
  }
  return ok({ star: false, contacts });
}

/** Contact `expires` param as a number; undefined when absent; NaN when not numeric. */
export function contactExpires(c: NameAddr): number | undefined {
  const v = c.params.get('expires');
  if (v === undefined || v === null || v === '') return undefined;
  return /^\d{1,10}$/.test(v) ? Number(v) : Number.NaN;
}

/** `q` in thousandths (0..1000), undefined when absent, NaN when malformed (RFC 3261 §20.10 qvalue). */
export function contactQ(c: NameAddr): number | undefined {
  const v = c.params.get('q');
  if (v === undefined) return undefined;
  if (v === null || !/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) return Number.NaN;
  return Math.round(Number(v) * 1000);
}

/** `+sip.instance` value without quotes (RFC 5626 §4.1), e.g. `<urn:uuid:…>`. */
export function contactInstance(c: NameAddr): string | undefined {
  const v = c.params.get('+sip.instance');
  if (v === undefined || v === null) return undefined;
  return unquote(v);
}

/** `reg-id` value: number, undefined when absent, NaN when present but not a positive integer. */
export function contactRegId(c: NameAddr): number | undefined {
  const v = c.params.get('reg-id');
  if (v === undefined) return undefined;
  if (v === null || !/^\d{1,10}$/.test(v)) return Number.NaN;
  const n = Number(v);
  return n >= 1 && n <= 0xffffffff ? n : Number.NaN;
}
