import { fail, ok, type ParseResult } from '../../errors/sip-error.js';
import {
  ALPHA,
  allEscaped,
  bytesOf,
  HEX,
  HNVCHAR,
  isAlnum,
  PARAMCHAR,
  PASSWORD,
  percentDecode,
  SCHEME,
  USER,
} from './chars.js';
import { hostAt, hostnameEnd } from './host.js';
import { Params, paramsOf } from './params.js';

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
    init?: {
      user?: string | undefined;
      password?: string | undefined;
      port?: number | undefined;
      params?: Params;
      headers?: string | undefined;
    },
  ) {
    this.scheme = scheme;
    this.host = host;
    this.user = init?.user;
    this.password = init?.password;
    this.port = init?.port;
    this.params = init?.params ?? new Params();
    this.headers = init?.headers;
  }

  /** Always true: tells SIP URIs from tel and other URIs. */
  get isSip(): true {
    return true;
  }

  /** Host without IPv6 brackets, lower-cased. */
  get hostname(): string {
    const h = this.host.toLowerCase();
    return h.charCodeAt(0) === 0x5b ? h.slice(1, -1) : h;
  }

  /** The user part with escapes decoded (RFC 3261 §19.1.2); undefined when there is none. */
  get unescapedUser(): string | undefined {
    return this.user === undefined ? undefined : (percentDecode(this.user) ?? this.user);
  }

  /** The `transport` URI parameter, lower-cased. */
  get transport(): string | undefined {
    const t = this.params.get('transport');
    return typeof t === 'string' ? t.toLowerCase() : undefined;
  }

  /** A URI parameter: undefined when absent, null when present without a value. */
  param(name: string): string | null | undefined {
    return this.params.get(name);
  }

  /** True when the URI parameter is present (e.g. `lr`, `ob`). */
  hasParam(name: string): boolean {
    return this.params.has(name);
  }

  /**
   * The URI headers (`?name=value&…`, RFC 3261 §19.1.1) with escapes decoded, in order. A
   * registrar uses this to refuse a Contact that smuggles a Route (RFC 4475 §3.3.14).
   */
  headerList(): { name: string; value: string }[] {
    if (this.headers === undefined) return [];
    const out: { name: string; value: string }[] = [];
    for (const kv of this.headers.split('&')) {
      const eq = kv.indexOf('=');
      const name = eq < 0 ? kv : kv.slice(0, eq);
      const value = eq < 0 ? '' : kv.slice(eq + 1);
      out.push({ name: percentDecode(name) ?? name, value: percentDecode(value) ?? value });
    }
    return out;
  }

  /** An independent copy. */
  clone(): SipUri {
    return new SipUri(this.scheme, this.host, {
      user: this.user,
      password: this.password,
      port: this.port,
      params: this.params.clone(),
      headers: this.headers,
    });
  }

  /** The URI as wire text. */
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
  /** Always false. */
  get isSip(): false {
    return false;
  }
  /** The URI as wire text. */
  toString(): string {
    return `tel:${this.number}${this.params.toString()}`;
  }
}

/** Any other absolute URI (`im:`, `urn:`, `http:`…): kept opaque. */
export class AbsoluteUri {
  /** Lower-cased scheme. */
  readonly scheme: string;
  readonly raw: string;
  constructor(scheme: string, raw: string) {
    this.scheme = scheme;
    this.raw = raw;
  }
  /** Always false. */
  get isSip(): false {
    return false;
  }
  /** The URI as written. */
  toString(): string {
    return this.raw;
  }
}

/** Any URI flowgate can hold. */
export type Uri = SipUri | TelUri | AbsoluteUri;

// ---- URI syntax

/**
 * Offsets found by {@link scanSipUri}: user start/end, password start/end, host start/end,
 * port (-1 when absent), parameters start/end, headers start (-1 when absent). -1 marks an
 * absent part. Shared scratch space: read it right after the call.
 */
const PARTS: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

/** End of `scheme ":"` at `x` (index after the colon), or -1. */
function schemeEnd(b: Uint8Array, x: number, y: number): number {
  if (x >= y || ALPHA[b[x] ?? 0] !== 1) return -1;
  let i = x + 1;
  while (i < y && SCHEME[b[i] ?? 0] === 1) i++;
  return i < y && b[i] === 0x3a ? i + 1 : -1;
}

/** 1 for sip, 2 for sips (either case), else 0; `e` is the index after the colon. */
function schemeKind(b: Uint8Array, x: number, e: number): 0 | 1 | 2 {
  const len = e - x - 1;
  if (len !== 3 && len !== 4) return 0;
  if (
    ((b[x] ?? 0) | 0x20) !== 0x73 ||
    ((b[x + 1] ?? 0) | 0x20) !== 0x69 ||
    ((b[x + 2] ?? 0) | 0x20) !== 0x70
  )
    return 0;
  if (len === 3) return 1;
  return ((b[x + 3] ?? 0) | 0x20) === 0x73 ? 2 : 0;
}

/**
 * Validates the part of a SIP/SIPS URI after `scheme:` (RFC 3261 §25.1 SIP-URI) in b[i, y) and
 * records its offsets in {@link PARTS}. Allocation-free.
 */
function scanSipUri(b: Uint8Array, i: number, y: number): boolean {
  PARTS[0] = -1;
  PARTS[1] = -1;
  PARTS[2] = -1;
  PARTS[3] = -1;
  PARTS[6] = -1;
  PARTS[9] = -1;
  // userinfo: up to the first '@' (user and password cannot hold a plain '@', RFC 3261 §19.1.2)
  let at = -1;
  let colon = -1;
  for (let k = i; k < y; k++) {
    const c = b[k];
    if (c === 0x40) {
      at = k;
      break;
    }
    if (c === 0x3a && colon < 0) colon = k;
  }
  if (at >= 0) {
    const ue = colon < 0 ? at : colon;
    if (ue === i || !allEscaped(USER, b, i, ue)) return false;
    PARTS[0] = i;
    PARTS[1] = ue;
    if (colon >= 0) {
      if (!allEscaped(PASSWORD, b, colon + 1, at)) return false;
      PARTS[2] = colon + 1;
      PARTS[3] = at;
    }
    i = at + 1;
  }
  // host
  const hs = i;
  if (b[i] === 0x5b) {
    while (i < y && b[i] !== 0x5d) i++;
    if (i >= y) return false;
    i++;
    if (!hostAt(b, hs, i)) return false;
  } else {
    // read and checked in one pass, up to ':' ';' '?'
    i = hostnameEnd(b, i, y, false);
    if (i < 0) return false;
  }
  PARTS[4] = hs;
  PARTS[5] = i;
  // port
  if (i < y && b[i] === 0x3a) {
    const ps = ++i;
    let port = 0;
    while (i < y && ((b[i] ?? 0) - 0x30) >>> 0 < 10) {
      port = port * 10 + (b[i] ?? 0) - 0x30;
      i++;
    }
    if (i === ps || i - ps > 5 || port > 65535) return false;
    PARTS[6] = port;
  }
  // uri-parameters = *( ";" uri-parameter ), pname [ "=" pvalue ], both 1*paramchar
  PARTS[7] = i;
  while (i < y && b[i] === 0x3b) {
    const ns = ++i;
    i = escapedRun(PARAMCHAR, b, i, y);
    if (i <= ns) return false;
    if (i < y && b[i] === 0x3d) {
      const vs = ++i;
      i = escapedRun(PARAMCHAR, b, i, y);
      if (i <= vs) return false;
    }
    if (i < y && b[i] !== 0x3b && b[i] !== 0x3f) return false;
  }
  PARTS[8] = i;
  if (i === y) return true;
  // headers = "?" header *( "&" header ); header = hname "=" hvalue
  if (b[i] !== 0x3f) return false;
  PARTS[9] = ++i;
  for (;;) {
    const ns = i;
    i = escapedRun(HNVCHAR, b, i, y);
    if (i <= ns || b[i] !== 0x3d) return false;
    i = escapedRun(HNVCHAR, b, i + 1, y);
    if (i < 0) return false;
    if (i === y) return true;
    if (b[i] !== 0x26) return false;
    i++;
  }
}

/**
 * End of the run of bytes in `tbl` or `%` HEX HEX escapes starting at i (RFC 3261 §25.1
 * `escaped`); -1 when a `%` is not followed by two hex digits inside the range.
 */
function escapedRun(tbl: Uint8Array, b: Uint8Array, i: number, y: number): number {
  while (i < y) {
    const c = b[i] ?? 0;
    // every table here holds the alphanumerics: those first, without reading the table
    if (isAlnum(c) || tbl[c] === 1) i++;
    else if (c === 0x25) {
      if (i + 2 >= y || HEX[b[i + 1] ?? 0] !== 1 || HEX[b[i + 2] ?? 0] !== 1) return -1;
      i += 3;
    } else break;
  }
  return i;
}

/** A byte that may not appear in any URI we accept unescaped: CTL, SP, `"`, `<`, `>`. */
const URI_BREAKER = new Uint8Array(256);
for (let c = 0; c <= 0x20; c++) URI_BREAKER[c] = 1;
for (const c of [0x7f, 0x22, 0x3c, 0x3e]) URI_BREAKER[c] = 1;

function opaqueOk(b: Uint8Array, i: number, y: number): boolean {
  if (i >= y) return false;
  for (let k = i; k < y; k++) if (URI_BREAKER[b[k] ?? 0] === 1) return false;
  return true;
}

/** {@link checkUri} result: the text is not a URI we accept. */
export const URI_BAD = 0;
/** {@link checkUri} result: a well-formed URI. */
export const URI_OK = 1;
/** {@link checkUri} result: a well-formed SIP/SIPS URI with a headers part (`?…`). */
export const URI_SIP_HEADERS = 2;

/**
 * Checks the syntax of an absolute URI in b[x, y) without allocating: SIP/SIPS URIs strictly
 * (RFC 3261 §25.1), any other scheme as an opaque run of printable characters. Returns
 * {@link URI_BAD}, {@link URI_OK} or {@link URI_SIP_HEADERS}.
 */
export function checkUri(b: Uint8Array, x: number, y: number): number {
  const e = schemeEnd(b, x, y);
  if (e < 0) return URI_BAD;
  if (schemeKind(b, x, e) !== 0) {
    if (!scanSipUri(b, e, y)) return URI_BAD;
    return PARTS[9] === -1 ? URI_OK : URI_SIP_HEADERS;
  }
  return opaqueOk(b, e, y) ? URI_OK : URI_BAD;
}

/** Returns the scheme (lower-cased) if `s` starts with `scheme ":"`, else undefined. */
export function uriScheme(s: string): string | undefined {
  const e = schemeEnd(bytesOf(s), 0, s.length);
  return e < 0 ? undefined : s.slice(0, e - 1).toLowerCase();
}

function uriParams(b: Uint8Array, s: string, x: number, y: number): Params {
  // offsets first, then lists of the exact size (pushing grows a list's storage to 16 slots)
  let n = 0;
  let i = x;
  while (i < y) {
    const ns = i + 1;
    let j = ns;
    while (j < y && b[j] !== 0x3b) j++;
    let eq = ns;
    while (eq < j && b[eq] !== 0x3d) eq++;
    URI_PARAMS[n++] = ns;
    URI_PARAMS[n++] = eq;
    URI_PARAMS[n++] = eq < j ? eq + 1 : -1;
    URI_PARAMS[n++] = j;
    i = j;
  }
  return paramsOf(s, URI_PARAMS, n / 4);
}

/** Scratch offsets of {@link uriParams}, as {@link paramsOf} reads them. */
const URI_PARAMS: number[] = [];

/** Parses the URI in b/s[x, y) (wire text as in a Request-URI or inside `<>`). */
export function parseUriAt(b: Uint8Array, s: string, x: number, y: number): ParseResult<Uri> {
  const e = schemeEnd(b, x, y);
  if (e < 0)
    return fail('SIP_ERR_PARSE_URI', 'uri', `no scheme in '${s.slice(x, Math.min(y, x + 64))}'`);
  const kind = schemeKind(b, x, e);
  if (kind !== 0) {
    if (!scanSipUri(b, e, y))
      return fail('SIP_ERR_PARSE_URI', 'uri', `bad SIP URI '${s.slice(x, Math.min(y, x + 64))}'`);
    const us = PARTS[0] ?? -1;
    const ps = PARTS[2] ?? -1;
    const port = PARTS[6] ?? -1;
    const hd = PARTS[9] ?? -1;
    const host = s.slice(PARTS[4], PARTS[5]);
    const user = us < 0 ? undefined : s.slice(us, PARTS[1]);
    const password = ps < 0 ? undefined : s.slice(ps, PARTS[3]);
    const headers = hd < 0 ? undefined : s.slice(hd, y);
    const params = uriParams(b, s, PARTS[7] ?? y, PARTS[8] ?? y);
    return ok(
      new SipUri(kind === 1 ? 'sip' : 'sips', host, {
        user,
        password,
        port: port < 0 ? undefined : port,
        params,
        headers,
      }),
    );
  }
  const scheme = s.slice(x, e - 1).toLowerCase();
  if (!opaqueOk(b, e, y)) return fail('SIP_ERR_PARSE_URI', 'uri', `bad ${scheme} URI`);
  if (scheme === 'tel') {
    // RFC 3966: telephone-subscriber *( ";" par ); the number is kept as written
    let semi = e;
    while (semi < y && b[semi] !== 0x3b) semi++;
    if (semi === e) return fail('SIP_ERR_PARSE_URI', 'uri', 'bad tel URI');
    return ok(new TelUri(s.slice(e, semi), uriParams(b, s, semi, y)));
  }
  return ok(new AbsoluteUri(scheme, s.slice(x, y)));
}

/** Parses a URI as it appears in a Request-URI or inside `<>`. */
export function parseUri(s: string): ParseResult<Uri> {
  return parseUriAt(bytesOf(s), s, 0, s.length);
}

/** Parses and requires a SIP/SIPS URI. */
export function parseSipUriStrict(s: string): ParseResult<SipUri> {
  const r = parseUri(s);
  if (!r.ok) return r;
  if (!(r.value instanceof SipUri))
    return fail('SIP_ERR_PARSE_URI', 'uri', `not a SIP URI: ${r.value.scheme}`);
  return ok(r.value);
}
