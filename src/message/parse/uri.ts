import { fail, ok, type ParseResult } from '../../errors/sip-error.js';
import { ALPHA, DIGIT, HNVCHAR, HOSTNAME, PARAMCHAR, PASSWORD, SCHEME, unescape, USER } from './chars.js';
import { Params } from './params.js';

/** A `sip:` or `sips:` URI (RFC 3261 §19.1). Fields keep their escaped, as-written form. */
export class SipUri {
  scheme: 'sip' | 'sips';
  user: string | undefined;
  password: string | undefined;
  /** As written; an IPv6 reference keeps its brackets. */
  host: string;
  port: number | undefined;
  params: Params;
  /** The raw header part after `?`, without the `?`. */
  headers: string | undefined;

  constructor(
    scheme: 'sip' | 'sips',
    host: string,
    init?: { user?: string | undefined; password?: string | undefined; port?: number | undefined; params?: Params; headers?: string | undefined },
  ) {
    this.scheme = scheme;
    this.host = host;
    this.user = init?.user;
    this.password = init?.password;
    this.port = init?.port;
    this.params = init?.params ?? new Params();
    this.headers = init?.headers;
  }

  get isSip(): true {
    return true;
  }

  /** Host without IPv6 brackets, lower-cased. */
  get hostname(): string {
    const h = this.host.toLowerCase();
    return h.charCodeAt(0) === 0x5b ? h.slice(1, -1) : h;
  }

  /** The `transport` URI parameter, lower-cased. */
  get transport(): string | undefined {
    const t = this.params.get('transport');
    return typeof t === 'string' ? t.toLowerCase() : undefined;
  }

  param(name: string): string | null | undefined {
    return this.params.get(name);
  }

  hasParam(name: string): boolean {
    return this.params.has(name);
  }

  clone(): SipUri {
    return new SipUri(this.scheme, this.host, {
      user: this.user,
      password: this.password,
      port: this.port,
      params: this.params.clone(),
      headers: this.headers,
    });
  }

  toString(): string {
    let s = `${this.scheme}:`;
    if (this.user !== undefined) {
      s += this.user;
      if (this.password !== undefined) s += `:${this.password}`;
      s += '@';
    }
    s += this.host;
    if (this.port !== undefined) s += `:${this.port}`;
    s += this.params.toString();
    if (this.headers !== undefined) s += `?${this.headers}`;
    return s;
  }
}

/** A `tel:` URI (RFC 3966); only the number and parameters are separated. */
export class TelUri {
  readonly scheme = 'tel';
  number: string;
  params: Params;
  constructor(number: string, params = new Params()) {
    this.number = number;
    this.params = params;
  }
  get isSip(): false {
    return false;
  }
  toString(): string {
    return `tel:${this.number}${this.params.toString()}`;
  }
}

/** Any other absolute URI (`im:`, `urn:`, `http:`…): kept opaque. */
export class AbsoluteUri {
  readonly scheme: string;
  readonly raw: string;
  constructor(scheme: string, raw: string) {
    this.scheme = scheme;
    this.raw = raw;
  }
  get isSip(): false {
    return false;
  }
  toString(): string {
    return this.raw;
  }
}

export type Uri = SipUri | TelUri | AbsoluteUri;

function isValidIpv4(h: string): boolean {
  const parts = h.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length === 0 || p.length > 3 || !/^\d+$/.test(p) || Number(p) > 255) return false;
  }
  return true;
}

function isValidIpv6(h: string): boolean {
  // RFC 5118: IPv6reference = "[" IPv6address "]"; an embedded IPv4 tail is allowed.
  if (!/^[0-9a-fA-F:.]+$/.test(h)) return false;
  const dbl = h.split('::');
  if (dbl.length > 2) return false;
  let groups = 0;
  for (const side of dbl) {
    if (side === '') continue;
    const parts = side.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (i === parts.length - 1 && p.includes('.')) {
        if (!isValidIpv4(p)) return false;
        groups += 2;
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return false;
        groups++;
      }
    }
  }
  return dbl.length === 2 ? groups < 8 : groups === 8;
}

/** RFC 3261 §25.1 host = hostname / IPv4address / IPv6reference. */
export function isValidHost(h: string): boolean {
  if (h.length === 0) return false;
  if (h.charCodeAt(0) === 0x5b) return h.charCodeAt(h.length - 1) === 0x5d && isValidIpv6(h.slice(1, -1));
  for (let i = 0; i < h.length; i++) if (HOSTNAME[h.charCodeAt(i)] !== 1) return false;
  if (/^[\d.]+$/.test(h)) return isValidIpv4(h);
  // labels may not start or end with '-'
  return !/(^|\.)-|-($|\.)|\.\./.test(h) && h.charCodeAt(0) !== 0x2e;
}

function allIn(table: Uint8Array, s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (table[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** Returns the scheme (lower-cased) if `s` starts with `scheme ":"`, else undefined. */
export function uriScheme(s: string): string | undefined {
  if (s.length === 0 || ALPHA[s.charCodeAt(0)] !== 1) return undefined;
  let i = 1;
  while (i < s.length && SCHEME[s.charCodeAt(i)] === 1) i++;
  if (i >= s.length || s.charCodeAt(i) !== 0x3a) return undefined;
  return s.slice(0, i).toLowerCase();
}

/** Parses a URI as it appears in a Request-URI or inside `<>`. */
export function parseUri(s: string): ParseResult<Uri> {
  const scheme = uriScheme(s);
  if (scheme === undefined) return fail('SIP_ERR_PARSE_URI', 'uri', `no scheme in '${s.slice(0, 64)}'`);
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(s, scheme);
  if (scheme === 'tel') {
    const rest = s.slice(4);
    const semi = rest.indexOf(';');
    const num = semi < 0 ? rest : rest.slice(0, semi);
    if (num.length === 0 || /[\s<>"]/.test(rest)) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad tel URI');
    const params = new Params();
    if (semi >= 0) {
      for (const p of rest.slice(semi + 1).split(';')) {
        if (p.length === 0) continue;
        const eq = p.indexOf('=');
        if (eq < 0) params.set(p, null);
        else params.set(p.slice(0, eq), p.slice(eq + 1));
      }
    }
    return ok(new TelUri(num, params));
  }
  if (/[\s<>"]/.test(s)) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad character in URI');
  return ok(new AbsoluteUri(scheme, s));
}

function parseSipUri(s: string, scheme: 'sip' | 'sips'): ParseResult<Uri> {
  const n = s.length;
  let i = scheme.length + 1;
  const q = s.indexOf('?', i);
  const limit = q < 0 ? n : q;
  // userinfo ends at the first '@' before the headers part (escaped '@' is %40)
  const at = s.indexOf('@', i);
  let user: string | undefined;
  let password: string | undefined;
  if (at >= 0 && at < limit) {
    const ui = s.slice(i, at);
    const colon = ui.indexOf(':');
    user = colon < 0 ? ui : ui.slice(0, colon);
    if (colon >= 0) {
      password = ui.slice(colon + 1);
      if (!allIn(PASSWORD, password, 0, password.length)) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad password');
    }
    if (user.length === 0 || !allIn(USER, user, 0, user.length)) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad user part');
    if (unescape(user) === undefined) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad escape in user part');
    i = at + 1;
  }
  // host
  let hs = i;
  let he: number;
  if (s.charCodeAt(i) === 0x5b) {
    he = s.indexOf(']', i);
    if (he < 0) return fail('SIP_ERR_PARSE_URI', 'uri', 'unterminated IPv6 reference');
    he++;
  } else {
    he = i;
    while (he < limit) {
      const c = s.charCodeAt(he);
      if (c === 0x3a || c === 0x3b) break;
      he++;
    }
  }
  const host = s.slice(hs, he);
  if (!isValidHost(host)) return fail('SIP_ERR_PARSE_URI', 'uri', `bad host '${host.slice(0, 64)}'`);
  i = he;
  let port: number | undefined;
  if (i < limit && s.charCodeAt(i) === 0x3a) {
    hs = ++i;
    while (i < limit && DIGIT[s.charCodeAt(i)] === 1) i++;
    if (i === hs || i - hs > 5) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad port');
    port = Number(s.slice(hs, i));
    if (port > 65535) return fail('SIP_ERR_PARSE_URI', 'uri', 'port out of range');
  }
  const params = new Params();
  while (i < limit) {
    if (s.charCodeAt(i) !== 0x3b) return fail('SIP_ERR_PARSE_URI', 'uri', `unexpected '${s[i]}'`);
    i++;
    const ps = i;
    while (i < limit && s.charCodeAt(i) !== 0x3b) i++;
    const p = s.slice(ps, i);
    const eq = p.indexOf('=');
    const name = eq < 0 ? p : p.slice(0, eq);
    const value = eq < 0 ? null : p.slice(eq + 1);
    if (name.length === 0 || !allIn(PARAMCHAR, name, 0, name.length)) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad URI parameter');
    if (value !== null && !allIn(PARAMCHAR, value, 0, value.length)) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad URI parameter value');
    params.names.push(name);
    params.values.push(value);
  }
  let headers: string | undefined;
  if (q >= 0) {
    headers = s.slice(q + 1);
    for (let k = 0; k < headers.length; k++) {
      const c = headers.charCodeAt(k);
      if (c !== 0x3d && c !== 0x26 && HNVCHAR[c] !== 1) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad URI headers');
    }
  }
  return ok(new SipUri(scheme, host, { user, password, port, params, headers }));
}

/** Parses and requires a SIP/SIPS URI. */
export function parseSipUriStrict(s: string): ParseResult<SipUri> {
  const r = parseUri(s);
  if (!r.ok) return r;
  if (!(r.value instanceof SipUri)) return fail('SIP_ERR_PARSE_URI', 'uri', `not a SIP URI: ${r.value.scheme}`);
  return ok(r.value);
}

const SPECIAL_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

function unesc(s: string | undefined): string | undefined {
  return s === undefined ? undefined : (unescape(s) ?? s);
}

function normHeaders(h: string | undefined): string[] {
  if (h === undefined) return [];
  return h
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      const k = (eq < 0 ? kv : kv.slice(0, eq)).toLowerCase();
      return `${unesc(k)}=${unesc(eq < 0 ? '' : kv.slice(eq + 1))}`;
    })
    .sort();
}

/** RFC 3261 §19.1.4 URI comparison. */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a instanceof SipUri && b instanceof SipUri) {
    if (a.scheme !== b.scheme) return false;
    if (unesc(a.user) !== unesc(b.user)) return false; // user part is case-sensitive
    if (unesc(a.password) !== unesc(b.password)) return false;
    if (a.hostname !== b.hostname) return false;
    if (a.port !== b.port) return false; // an explicit default port differs from an omitted one
    for (const p of SPECIAL_PARAMS) {
      const va = a.params.get(p);
      const vb = b.params.get(p);
      if ((va === undefined) !== (vb === undefined)) return false;
    }
    for (let i = 0; i < a.params.size; i++) {
      const name = a.params.names[i] as string;
      const vb = b.params.get(name);
      if (vb === undefined) continue;
      const va = a.params.values[i];
      if ((va ?? '').toLowerCase() !== (vb ?? '').toLowerCase()) return false;
    }
    const ha = normHeaders(a.headers);
    const hb = normHeaders(b.headers);
    return ha.length === hb.length && ha.every((x, i) => x === hb[i]);
  }
  if (a instanceof TelUri && b instanceof TelUri) {
    return a.number.replace(/[-.()]/g, '') === b.number.replace(/[-.()]/g, '') && a.params.toString().toLowerCase() === b.params.toString().toLowerCase();
  }
  return a.toString().toLowerCase() === b.toString().toLowerCase();
}
