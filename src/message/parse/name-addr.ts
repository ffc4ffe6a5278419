import { fail, ok, type ParseResult } from '../../errors/sip-error.js';
import { scanQuoted, skipLws, TOKEN, trimEnd, unquote } from './chars.js';
import { type Params, parseParams } from './params.js';
import { parseUri, type Uri } from './uri.js';

/**
 * A name-addr or addr-spec with its header parameters (RFC 3261 §20.10, §20.20, §20.39): the value
 * of From, To, Contact, Route, Record-Route, Path and similar headers.
 */
export interface NameAddr {
  /** Display name as written (quoted form keeps its quotes); undefined when absent. */
  readonly displayName: string | undefined;
  readonly uri: Uri;
  /** The URI text exactly as written (inside `<>` or the bare addr-spec). */
  readonly uriText: string;
  /** Header parameters after the address (`;tag=…`, `;expires=…`). */
  readonly params: Params;
  /** True when the URI was enclosed in `<>`. */
  readonly angle: boolean;
}

/** The display name without quotes or escapes. */
export function displayNameText(na: NameAddr): string | undefined {
  return na.displayName === undefined ? undefined : unquote(na.displayName);
}

/** Parses one name-addr / addr-spec with params occupying all of `s[start, end)`. */
export function parseNameAddr(s: string, field: string, start = 0, end = s.length): ParseResult<NameAddr> {
  let i = skipLws(s, start, end);
  end = trimEnd(s, i, end);
  let displayName: string | undefined;
  let uriStart: number;
  let uriEnd: number;
  let angle = false;
  const c0 = s.charCodeAt(i);
  if (c0 === 0x22) {
    const q = scanQuoted(s, i, end);
    if (q < 0) return fail('SIP_ERR_PARSE_NAME_ADDR', field, 'unterminated quoted display name');
    displayName = s.slice(i, q);
    i = skipLws(s, q, end);
    if (s.charCodeAt(i) !== 0x3c) return fail('SIP_ERR_PARSE_NAME_ADDR', field, "expected '<' after display name");
  } else if (c0 !== 0x3c) {
    // Either `token LWS token... <uri>` or a bare addr-spec.
    const lt = s.indexOf('<', i);
    if (lt >= 0 && lt < end) {
      const dn = s.slice(i, trimEnd(s, i, lt));
      // RFC 3261 §25.1: display-name = *(token LWS) / quoted-string
      for (let k = 0; k < dn.length; k++) {
        const c = dn.charCodeAt(k);
        if (TOKEN[c] !== 1 && c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) {
          return fail('SIP_ERR_PARSE_NAME_ADDR', field, 'display name is not a token list or quoted string');
        }
      }
      if (dn.length > 0) displayName = dn;
      i = lt;
    } else {
      // addr-spec: the URI ends at the first ';' (RFC 3261 §20.10: its params are header params)
      uriStart = i;
      let k = i;
      while (k < end) {
        const c = s.charCodeAt(k);
        if (c === 0x3b || c === 0x20 || c === 0x09) break;
        if (c === 0x3f || c === 0x2c) {
          return fail('SIP_ERR_PARSE_NAME_ADDR', field, "a URI with '?' or ',' must be enclosed in <>");
        }
        k++;
      }
      uriEnd = k;
      const uriText = s.slice(uriStart, uriEnd);
      const u = parseUri(uriText);
      if (!u.ok) return fail('SIP_ERR_PARSE_NAME_ADDR', field, u.error.message);
      const p = parseParams(s, uriEnd, end, ',');
      if (p.bad || skipLws(s, p.end, end) !== end) return fail('SIP_ERR_PARSE_NAME_ADDR', field, 'bad header parameters');
      return ok({ displayName: undefined, uri: u.value, uriText, params: p.params, angle: false });
    }
  }
  // at '<'
  angle = true;
  uriStart = i + 1;
  uriEnd = s.indexOf('>', uriStart);
  if (uriEnd < 0 || uriEnd >= end) return fail('SIP_ERR_PARSE_NAME_ADDR', field, "missing '>'");
  const uriText = s.slice(uriStart, uriEnd);
  const u = parseUri(uriText);
  if (!u.ok) return fail('SIP_ERR_PARSE_NAME_ADDR', field, u.error.message);
  const p = parseParams(s, uriEnd + 1, end, ',');
  if (p.bad || skipLws(s, p.end, end) !== end) return fail('SIP_ERR_PARSE_NAME_ADDR', field, 'bad header parameters');
  return ok({ displayName, uri: u.value, uriText, params: p.params, angle });
}

/** Writes a name-addr back: `"Display" <uri>;params` (always with angle brackets). */
export function formatNameAddr(na: { displayName?: string | undefined; uriText: string; params?: Params }): string {
  const dn = na.displayName === undefined ? '' : `${na.displayName} `;
  return `${dn}<${na.uriText}>${na.params === undefined ? '' : na.params.toString()}`;
}
