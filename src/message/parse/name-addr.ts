import { fail, ok, type ParseResult, SipParseError } from '../../errors/sip-error.js';
import {
  bytesOf,
  isLws,
  isToken,
  isValueEnd,
  scanQuoted,
  skipLws,
  trimEnd,
  unquote,
} from './chars.js';
import { findParam, type Params, paramsEnd, parseParamsAt } from './params.js';
import { AbsoluteUri, checkUri, parseUriAt, URI_BAD, type Uri } from './uri.js';

/**
 * A name-addr or addr-spec with its header parameters (RFC 3261 §20.10, §20.20, §20.39): the value
 * of From, To, Contact, Route, Record-Route, Path and similar headers. {@link parseNameAddr}
 * checks the syntax of the whole value; the message getters (`from`, `contacts`, `routes`…) check
 * its structure and leave the URI to be parsed when {@link uri} is first read (`validateMessage`
 * checks it on the receive path). The parameter list is also built on first use.
 */
export class NameAddr {
  /** True when the URI was enclosed in `<>`. */
  readonly angle: boolean;
  readonly #b: Uint8Array;
  readonly #s: string;
  /** Display name range, when not given as text; #ds < 0 when there is none. */
  readonly #ds: number;
  readonly #de: number;
  readonly #us: number;
  readonly #ue: number;
  readonly #ps: number;
  readonly #pe: number;
  #displayName: string | undefined;
  #uriText: string | undefined = undefined;
  #uri: Uri | undefined = undefined;
  /** 1 valid, 0 invalid, -1 not checked yet. */
  #uriOk: number;
  #params: Params | undefined = undefined;

  /**
   * b/s[us, ue) holds the URI, b/s[ps, pe) the header parameters (`;tag=…`), already checked;
   * `b` and `s` are the same text as bytes and as a latin1 string. The display name is
   * `displayName`, or else b/s[ds, de) when ds >= 0 (sliced on first use). `uriOk` is 1 when the
   * URI is known to be valid, 0 when known not to be, -1 when not checked yet.
   */
  constructor(
    displayName: string | undefined,
    angle: boolean,
    b: Uint8Array,
    s: string,
    us: number,
    ue: number,
    ps: number,
    pe: number,
    ds = -1,
    de = -1,
    uriOk = -1,
  ) {
    this.angle = angle;
    this.#b = b;
    this.#s = s;
    this.#displayName = displayName;
    this.#ds = ds;
    this.#de = de;
    this.#us = us;
    this.#ue = ue;
    this.#ps = ps;
    this.#pe = pe;
    this.#uriOk = uriOk;
  }

  /** Display name as written (a quoted one keeps its quotes); undefined when absent. */
  get displayName(): string | undefined {
    if (this.#displayName === undefined && this.#ds >= 0)
      this.#displayName = this.#s.slice(this.#ds, this.#de);
    return this.#displayName;
  }

  /** The URI text exactly as written (inside `<>`, or the bare addr-spec). */
  get uriText(): string {
    this.#uriText ??= this.#s.slice(this.#us, this.#ue);
    return this.#uriText;
  }

  /**
   * The parsed URI. When its text is not a valid URI (possible only for a message that
   * `validateMessage` rejects), an {@link AbsoluteUri} with an empty scheme holding the text, and
   * {@link uriValid} is false.
   */
  get uri(): Uri {
    if (this.#uri === undefined) {
      const r = parseUriAt(this.#b, this.#s, this.#us, this.#ue);
      this.#uriOk = r.ok ? 1 : 0;
      this.#uri = r.ok ? r.value : new AbsoluteUri('', this.uriText);
    }
    return this.#uri;
  }

  /** False when the URI text does not parse (see {@link uri}); checked without building the URI. */
  get uriValid(): boolean {
    if (this.#uriOk < 0) this.#uriOk = checkUri(this.#b, this.#us, this.#ue) === URI_BAD ? 0 : 1;
    return this.#uriOk === 1;
  }

  /** Header parameters after the address (`;tag=…`, `;expires=…`, `;reg-id=…`). */
  get params(): Params {
    this.#params ??= parseParamsAt(this.#b, this.#s, this.#ps, this.#pe).params;
    return this.#params;
  }

  /**
   * One header parameter: undefined when absent, null when present without a value. Reads the
   * wire text directly until {@link params} has been built.
   */
  param(name: string): string | null | undefined {
    if (this.#params !== undefined) return this.#params.get(name);
    return findParam(this.#b, this.#s, this.#ps, this.#pe, name);
  }

  /** The `tag` parameter (RFC 3261 §19.3); undefined when absent or without a value. */
  get tag(): string | undefined {
    if (this.#params === undefined) {
      // the usual `;tag=value` first: what param('tag') finds, read directly
      const v = firstTag(this.#b, this.#s, this.#ps, this.#pe);
      if (v !== undefined) return v;
    }
    const t = this.param('tag');
    return typeof t === 'string' ? t : undefined;
  }

  /** The display name without quotes or escapes. */
  get displayText(): string | undefined {
    return this.displayName === undefined ? undefined : unquote(this.displayName);
  }

  /** Writes the name-addr back (always with angle brackets). */
  toString(): string {
    return formatNameAddr(this);
  }
}

/** The display name without quotes or escapes. */
export function displayNameText(na: NameAddr): string | undefined {
  return na.displayText;
}

/**
 * Offsets found by {@link scanNameAddr}: display name start/end (-1 when absent), URI start/end,
 * angle (1/0), parameters start, and an error code (0 = fine). Scratch space: read it right after
 * the call.
 */
const NA: number[] = [0, 0, 0, 0, 0, 0, 0];
const NA_ERR_EMPTY = 1;
const NA_ERR_QUOTE = 2;
const NA_ERR_LAQUOT = 3;
const NA_ERR_DISPLAY = 4;
const NA_ERR_RAQUOT = 5;
const NA_ERR_ADDR_SPEC = 6;
const NA_MESSAGES = [
  'bad address',
  'empty address',
  'unterminated quoted display name',
  "expected '<' after display name",
  'display name is not a token list or quoted string',
  "missing '>'",
  "a URI with '?' or ',' must be enclosed in <>",
];

// Bytes that end a bare addr-spec URI: ';' (header parameters follow, RFC 3261 §20.10), LWS, ','
const ADDR_SPEC_END = new Uint8Array(256);
for (const c of ';, \t\r\n') ADDR_SPEC_END[c.charCodeAt(0)] = 1;
// Bytes that may not appear in a bare addr-spec at all (RFC 3261 §20.10: such URIs need <>)
const ADDR_SPEC_BAD = new Uint8Array(256);
for (const c of '?<>"') ADDR_SPEC_BAD[c.charCodeAt(0)] = 1;

/**
 * Finds the parts of the name-addr / addr-spec starting at `i` (before `end`) up to the start of
 * its header parameters, without checking the URI. A bare addr-spec ends at `;`, `,` or LWS.
 */
function scanNameAddr(b: Uint8Array, s: string, i: number, end: number): boolean {
  i = skipLws(b, i, end);
  NA[0] = -1;
  NA[1] = -1;
  NA[6] = 0;
  if (i >= end || b[i] === 0x2c) return error(NA_ERR_EMPTY);
  const c0 = b[i];
  if (c0 === 0x22) {
    // display-name = quoted-string
    const q = scanQuoted(b, i, end);
    if (q < 0) return error(NA_ERR_QUOTE);
    NA[0] = i;
    NA[1] = q;
    i = skipLws(b, q, end);
    if (i >= end || b[i] !== 0x3c) return error(NA_ERR_LAQUOT);
  } else if (c0 !== 0x3c) {
    // display-name = *(token LWS) before '<' (RFC 4475 §3.1.1.6 tolerates no LWS before '<'),
    // else the value is an addr-spec
    let j = i;
    for (;;) {
      while (j < end && isToken(b[j] ?? 0)) j++;
      const k = skipLws(b, j, end);
      if (k === j || k >= end || !isToken(b[k] ?? 0)) {
        j = k;
        break;
      }
      j = k;
    }
    if (j < end && b[j] === 0x3c && j > i) {
      NA[0] = i;
      NA[1] = trimEnd(b, i, j);
      i = j;
    } else {
      let k = i;
      while (k < end && ADDR_SPEC_END[b[k] ?? 0] !== 1) {
        if (ADDR_SPEC_BAD[b[k] ?? 0] === 1) {
          // text before a later '<' was meant as a display name, but is not one
          let lt = k;
          while (lt < end && b[lt] !== 0x3c) lt++;
          return error(lt < end ? NA_ERR_DISPLAY : NA_ERR_ADDR_SPEC);
        }
        k++;
      }
      NA[2] = i;
      NA[3] = k;
      NA[4] = 0;
      NA[5] = k;
      return true;
    }
  }
  // at '<': LAQUOT, the URI, RAQUOT (no LWS inside the brackets, RFC 3261 §25.1)
  const ue = s.indexOf('>', i + 1);
  if (ue < 0 || ue >= end) return error(NA_ERR_RAQUOT);
  NA[2] = i + 1;
  NA[3] = ue;
  NA[4] = 1;
  NA[5] = ue + 1;
  return true;
}

function error(code: number): false {
  NA[6] = code;
  return false;
}

/**
 * The value of a `;tag=` written exactly so (lower case, no LWS, not quoted, not empty) at b[i],
 * up to `z`: the first parameter, so the one any lookup finds. undefined otherwise.
 */
function firstTag(b: Uint8Array, s: string, i: number, z: number): string | undefined {
  if (
    i + 5 < z &&
    b[i] === 0x3b &&
    b[i + 1] === 0x74 &&
    b[i + 2] === 0x61 &&
    b[i + 3] === 0x67 &&
    b[i + 4] === 0x3d &&
    b[i + 5] !== 0x22
  ) {
    let e = i + 5;
    while (e < z && !isValueEnd(b[e] ?? 0)) e++;
    if (e > i + 5) return s.slice(i + 5, e);
  }
  return undefined;
}

/**
 * The `tag` header parameter (RFC 3261 §19.3) of the name-addr / addr-spec in b/s[a, z): the fast
 * path of the From/To tag getters. Only the structure needed to find the header parameters is
 * read (quoted display name, `<…>`, or the first `;` of an addr-spec); undefined when absent.
 */
export function nameAddrTag(b: Uint8Array, s: string, a: number, z: number): string | undefined {
  let i = a;
  for (; i < z; i++) {
    const c = b[i];
    if (c === 0x3b) break;
    if (c === 0x3c) {
      const gt = s.indexOf('>', i + 1);
      if (gt < 0 || gt >= z) return undefined;
      i = gt + 1;
      break;
    }
    if (c === 0x22) {
      const q = scanQuoted(b, i, z);
      if (q < 0) return undefined;
      i = q - 1;
    }
  }
  // no parameters at all (a To without tag), else the usual `;tag=value` first
  if (i >= z) return undefined;
  const quick = firstTag(b, s, i, z);
  if (quick !== undefined) return quick;
  const t = findParam(b, s, i, z, 'tag');
  return typeof t === 'string' ? t : undefined;
}

/**
 * Reads the single name-addr in b/s[start, end) (the caller knows the value holds no comma) up to
 * its header parameters, which are left to be read on first use: the fast path of the Contact
 * getter. undefined when the structure is broken.
 */
export function quickNameAddr(
  b: Uint8Array,
  s: string,
  start: number,
  end: number,
): NameAddr | undefined {
  if (!scanNameAddr(b, s, start, end)) return undefined;
  const ds = NA[0] ?? -1;
  const us = NA[2] ?? 0;
  const ue = NA[3] ?? 0;
  if (us === ue) return undefined;
  return new NameAddr(undefined, NA[4] === 1, b, s, us, ue, NA[5] ?? end, end, ds, NA[1]);
}

/** End offset of the element read by the last successful {@link readNameAddr}. */
let lastEnd = 0;
/** What was wrong with the element the last failed {@link readNameAddr} call read. */
let lastError = '';

/**
 * Reads one name-addr with its header parameters starting at `i`; it ends at a top-level `,` or
 * at `end`, and {@link lastEnd} is then that position. The URI syntax is checked when `strict`.
 */
function readNameAddr(
  b: Uint8Array,
  s: string,
  i: number,
  end: number,
  strict: boolean,
): NameAddr | undefined {
  if (!scanNameAddr(b, s, i, end)) {
    lastError = NA_MESSAGES[NA[6] ?? 0] ?? 'bad address';
    return undefined;
  }
  const ds = NA[0] ?? -1;
  const de = NA[1] ?? -1;
  const us = NA[2] ?? 0;
  const ue = NA[3] ?? 0;
  const angle = NA[4] === 1;
  const ps = NA[5] ?? 0;
  if (us === ue || (strict && checkUri(b, us, ue) === URI_BAD)) {
    // the leading token of a broken display name reads as a URI: say what was meant
    let lt = ue;
    while (!angle && lt < end && b[lt] !== 0x3c) lt++;
    lastError =
      !angle && lt < end
        ? (NA_MESSAGES[NA_ERR_DISPLAY] ?? '')
        : `bad URI '${s.slice(us, Math.min(ue, us + 64))}'`;
    return undefined;
  }
  const pe = paramsEnd(b, ps, end);
  if (pe < 0 || (pe < end && b[pe] !== 0x2c)) {
    lastError = 'bad header parameters';
    return undefined;
  }
  lastEnd = pe;
  return new NameAddr(undefined, angle, b, s, us, ue, ps, pe, ds, de, strict ? 1 : -1);
}

/**
 * Parses one name-addr / addr-spec with header params occupying all of b/s[start, end) (the
 * value of From, To, or one list element). `strict` (the default) also checks the URI syntax.
 */
export function parseNameAddrAt(
  b: Uint8Array,
  s: string,
  field: string,
  start: number,
  end: number,
  strict = true,
): ParseResult<NameAddr> {
  end = trimEnd(b, start, end);
  const r = readNameAddr(b, s, start, end, strict);
  if (r === undefined) return fail('SIP_ERR_PARSE_NAME_ADDR', field, lastError);
  if (lastEnd !== end)
    return fail('SIP_ERR_PARSE_NAME_ADDR', field, "unexpected ',' after the address");
  return ok(r);
}

/** Parses one name-addr / addr-spec with header params occupying all of `s[start, end)`, URI checked. */
export function parseNameAddr(
  s: string,
  field: string,
  start = 0,
  end = s.length,
): ParseResult<NameAddr> {
  return parseNameAddrAt(bytesOf(s), s, field, start, end);
}

/**
 * Parses a comma-separated list of name-addrs (Contact, Route, Record-Route, Path; RFC 3261
 * §7.3.1) in b/s[start, end) in one pass, appending to `out`. Empty elements are errors. `strict`
 * (the default) also checks every URI.
 */
export function parseNameAddrList(
  b: Uint8Array,
  s: string,
  field: string,
  start: number,
  end: number,
  out: NameAddr[],
  strict = true,
): SipParseError | undefined {
  end = trimEnd(b, start, end);
  let i = start;
  for (;;) {
    const r = readNameAddr(b, s, i, end, strict);
    if (r === undefined) return new SipParseError('SIP_ERR_PARSE_NAME_ADDR', field, lastError);
    out.push(r);
    if (lastEnd >= end) return undefined;
    i = lastEnd + 1;
    while (i < end && isLws(b[i] ?? 0)) i++;
  }
}

/** Writes a name-addr back: `"Display" <uri>;params` (always with angle brackets). */
export function formatNameAddr(na: {
  displayName?: string | undefined;
  uriText: string;
  params?: Params;
}): string {
  const dn = na.displayName === undefined ? '' : `${na.displayName} `;
  return `${dn}<${na.uriText}>${na.params === undefined ? '' : na.params.toString()}`;
}
