import { ok, type ParseResult, SipParseError } from '../../errors/sip-error.js';
import {
  bytesOf,
  isLws,
  isToken,
  isValueEnd,
  matchLower,
  readUint,
  skipLws,
  trimEnd,
} from './chars.js';
import { hostAt, hostnameEnd, ipv4At, ipv6At } from './host.js';
import {
  BAD_PARAM,
  findParam,
  NO_PARAM,
  nextParam,
  PARAM,
  type Params,
  paramsEnd,
  parseParamsAt,
} from './params.js';

const SIP_2_0 = 'SIP/2.0';
const TRANSPORTS = ['UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS', 'TLS-SCTP'];

/** The transport token upper-cased, without allocating for the usual ones. */
function transportName(b: Uint8Array, s: string, x: number, y: number): string {
  if (y - x === 3) {
    const c0 = (b[x] ?? 0) & 0xdf;
    const c1 = (b[x + 1] ?? 0) & 0xdf;
    const c2 = (b[x + 2] ?? 0) & 0xdf;
    if (c0 === 0x55 && c1 === 0x44 && c2 === 0x50) return 'UDP';
    if (c0 === 0x54 && c1 === 0x43 && c2 === 0x50) return 'TCP';
    if (c0 === 0x54 && c1 === 0x4c && c2 === 0x53) return 'TLS';
  }
  outer: for (const t of TRANSPORTS) {
    if (t.length !== y - x) continue;
    for (let k = 0; k < t.length; k++) {
      const c = b[x + k] ?? 0;
      if ((c >= 0x61 && c <= 0x7a ? c - 0x20 : c) !== t.charCodeAt(k)) continue outer;
    }
    return t;
  }
  return s.slice(x, y).toUpperCase();
}

/** Offsets of a special parameter's value in {@link Via}: not located yet / absent / no value. */
const NOT_LOCATED = -3;
const ABSENT = -1;
const NO_VALUE = -2;
/** Slots (start, end pairs) of the special parameters other than branch. */
const RECEIVED = 0;
const RPORT = 2;
const MADDR = 4;
const TTL = 6;
/** The special-parameter table of a value that has none of them. */
const NONE_SPECIAL: readonly number[] = Object.freeze([-1, -1, -1, -1, -1, -1, -1, -1]);

/**
 * One Via value (RFC 3261 §20.42, RFC 3581 rport). {@link parseVia} checks the whole value; the
 * `topVia` getter of a message reads only what it needs (sent-protocol, sent-by) and leaves the
 * parameters to be located on first use, so reading the branch of a received request costs one
 * short scan. The parameter list is built only when {@link params} is read.
 */
export class Via {
  /** Protocol name and version, normally `SIP/2.0`. */
  readonly protocol: string;
  /** Transport in upper case: UDP, TCP, TLS, SCTP, WS, WSS or anything else. */
  readonly transport: string;
  readonly port: number | undefined;
  readonly #b: Uint8Array;
  readonly #src: string;
  readonly #start: number;
  readonly #hs: number;
  readonly #he: number;
  /** Where the parameters start, and the end of the text they may extend to. */
  readonly #ps: number;
  readonly #limit: number;
  /** End of this value; -1 until known. */
  #end: number;
  /** Branch value offsets: start (or NOT_LOCATED, ABSENT, NO_VALUE) and end. */
  #bs: number;
  #be: number;
  /** Value offsets of received, rport, maddr, ttl ([start, end] pairs, ABSENT / NO_VALUE); undefined until located. */
  #special: readonly number[] | undefined;
  #host: string | undefined = undefined;
  #params: Params | undefined = undefined;

  /**
   * b/src[start, …) is the value, [hs, he) its sent-by host, [ps, limit) where its parameters may
   * be; `end` its end when known (else -1). `bs`/`be` locate the branch value and `special` the
   * other special parameters when a caller has already found them.
   */
  constructor(
    protocol: string,
    transport: string,
    hs: number,
    he: number,
    port: number | undefined,
    b: Uint8Array,
    src: string,
    start: number,
    ps: number,
    limit: number,
    end: number,
    special: readonly number[] | undefined,
    bs = NOT_LOCATED,
    be = -1,
  ) {
    this.protocol = protocol;
    this.transport = transport;
    this.port = port;
    this.#b = b;
    this.#src = src;
    this.#start = start;
    this.#hs = hs;
    this.#he = he;
    this.#ps = ps;
    this.#limit = limit;
    this.#end = end;
    this.#bs = bs;
    this.#be = be;
    this.#special = special;
  }

  /** sent-by host as written (IPv6 keeps brackets). */
  get host(): string {
    this.#host ??= this.#src.slice(this.#hs, this.#he);
    return this.#host;
  }

  /** End of the value: where its parameters stop (a top-level `,` or the end of the header). */
  #valueEnd(): number {
    if (this.#end < 0) {
      const pe = paramsEnd(this.#b, this.#ps, this.#limit);
      this.#end = trimEnd(this.#b, this.#start, pe < 0 ? this.#limit : pe);
    }
    return this.#end;
  }

  /** The whole value as written. */
  get raw(): string {
    return this.#src.slice(this.#start, this.#valueEnd());
  }

  /** All Via parameters in order. */
  get params(): Params {
    this.#params ??= parseParamsAt(this.#b, this.#src, this.#ps, this.#valueEnd()).params;
    return this.#params;
  }

  /** One parameter: undefined when absent, null when present without a value. */
  param(name: string): string | null | undefined {
    if (this.#params !== undefined) return this.#params.get(name);
    return findParam(this.#b, this.#src, this.#ps, this.#limit, name);
  }

  /** The value of special parameter `slot`: undefined when absent, null when without a value. */
  #value(slot: number): string | null | undefined {
    this.#special ??= locateSpecial(this.#b, this.#ps, this.#limit);
    const a = this.#special[slot] ?? ABSENT;
    if (a === ABSENT) return undefined;
    if (a === NO_VALUE) return null;
    return this.#src.slice(a, this.#special[slot + 1]);
  }

  /** The `branch` parameter (RFC 3261 §8.1.1.7); undefined when absent or without a value. */
  get branch(): string | undefined {
    if (this.#bs === NOT_LOCATED) {
      // the first `branch` parameter, as param() finds it
      this.#bs = ABSENT;
      let i = this.#ps;
      for (;;) {
        const r = nextParam(this.#b, i, this.#limit);
        if (r < 0) break;
        if (specialSlot(this.#b, PARAM[0] ?? 0, PARAM[1] ?? 0) === BRANCH) {
          const vs = PARAM[2] ?? -1;
          this.#bs = vs < 0 ? NO_VALUE : vs;
          this.#be = PARAM[3] ?? -1;
          break;
        }
        i = r;
      }
    }
    return this.#bs >= 0 ? this.#src.slice(this.#bs, this.#be) : undefined;
  }

  /** The `received` parameter (RFC 3261 §18.2.1). */
  get received(): string | undefined {
    return this.#value(RECEIVED) ?? undefined;
  }

  /** `rport` (RFC 3581): undefined when absent, null when present without a value, else the port. */
  get rport(): number | null | undefined {
    const v = this.#value(RPORT);
    return v === undefined || v === null ? v : Number(v);
  }

  /** The `maddr` parameter. */
  get maddr(): string | undefined {
    return this.#value(MADDR) ?? undefined;
  }

  /** The `ttl` parameter (0..255). */
  get ttl(): number | undefined {
    const v = this.#value(TTL);
    return typeof v === 'string' ? Number(v) : undefined;
  }

  /** `host[:port]` of the sent-by, host lower-cased, for transaction matching (RFC 3261 §17.2.3). */
  get sentBy(): string {
    const h = this.host.toLowerCase();
    return this.port === undefined ? h : `${h}:${this.port}`;
  }

  /** True when the branch starts with the RFC 3261 magic cookie `z9hG4bK` (§8.1.1.7). */
  get rfc3261Branch(): boolean {
    return this.branch?.startsWith('z9hG4bK') === true;
  }

  /**
   * This value as a server writes it into its response (RFC 3261 §18.2.1, RFC 3581 §4):
   * `received` is set when the sent-by host differs from the packet's source address, or whenever
   * `rport` is present; a valueless `rport` gets the source port. Returns undefined when nothing
   * changes. Other parameters keep their order and spelling. `srcAddress` is an IPv4 or IPv6
   * address without brackets.
   */
  withReceived(srcAddress: string, srcPort: number, forceRport = false): string | undefined {
    const rport = this.rport;
    const hostAddr = this.host.charCodeAt(0) === 0x5b ? this.host.slice(1, -1) : this.host;
    // RFC 3581 §4: with rport (or Kamailio force_rport) received is always added; RFC 3261
    // §18.2.1: otherwise only when sent-by differs from the packet's source
    const wantsRport = rport !== undefined || forceRport;
    const needReceived = wantsRport || !sameAddress(hostAddr, srcAddress);
    if (!needReceived) return undefined;
    let out = this.#src.slice(this.#start, trimEnd(this.#b, this.#start, this.#ps));
    const p = this.params;
    let wroteReceived = false;
    let wroteRport = false;
    for (let i = 0; i < p.size; i++) {
      const name = p.names[i] ?? '';
      const value = p.values[i];
      const lower = name.toLowerCase();
      if (lower === 'received') {
        out += `;${name}=${srcAddress}`;
        wroteReceived = true;
      } else if (lower === 'rport') {
        out += `;${name}=${srcPort}`;
        wroteRport = true;
      } else out += value === null || value === undefined ? `;${name}` : `;${name}=${value}`;
    }
    if (!wroteReceived) out += `;received=${srcAddress}`;
    if (forceRport && !wroteRport) out += `;rport=${srcPort}`;
    return out;
  }
}

/** Same IP address in any notation (IPv6 compressed or not), or same host name ignoring case. */
function sameAddress(a: string, b: string): boolean {
  if (a.toLowerCase() === b.toLowerCase()) return true;
  if (!a.includes(':') || !b.includes(':')) return false;
  const expand = (x: string): string => {
    const [h = '', t] = x.toLowerCase().split('::');
    const hs = h === '' ? [] : h.split(':');
    const ts = t === undefined || t === '' ? [] : t.split(':');
    const fill = t === undefined ? [] : new Array(Math.max(0, 8 - hs.length - ts.length)).fill('0');
    return [...hs, ...fill, ...ts].map((g) => g.replace(/^0+(?=.)/, '')).join(':');
  };
  return expand(a) === expand(b);
}

/** The `branch` parameter of a Via. */
export function viaBranch(v: Via): string | undefined {
  return v.branch;
}

/** `host[:port]` of the sent-by, host lower-cased, for transaction matching. */
export function viaSentBy(v: Via): string {
  return v.sentBy;
}

/** What was wrong with the value the last failed {@link readVia} call read. */
let lastError = '';

function bad(detail: string): undefined {
  lastError = detail;
  return undefined;
}

function viaError(detail = lastError): SipParseError {
  return new SipParseError('SIP_ERR_PARSE_VIA', 'Via', detail);
}

/** The error of a bad sent-by host b/s[hs, he); he < 0: it ends at the first HOST_END byte. */
function badHost(b: Uint8Array, s: string, hs: number, he: number, end: number): undefined {
  let i = he;
  if (i < 0) for (i = hs; i < end && HOST_END[b[i] ?? 0] !== 1; ) i++;
  return bad(`bad sent-by host '${s.slice(hs, Math.min(i, hs + 64))}'`);
}

/** Reads a token; returns its end or -1 when empty. */
function protocolToken(b: Uint8Array, i: number, end: number): number {
  const ts = i;
  while (i < end && isToken(b[i] ?? 0)) i++;
  return i === ts ? -1 : i;
}

/** `SIP/2.0/` in any case of the protocol name. */
function isSip20Slash(b: Uint8Array, i: number, end: number): boolean {
  return (
    i + 8 <= end &&
    ((b[i] ?? 0) | 0x20) === 0x73 &&
    ((b[i + 1] ?? 0) | 0x20) === 0x69 &&
    ((b[i + 2] ?? 0) | 0x20) === 0x70 &&
    b[i + 3] === 0x2f &&
    b[i + 4] === 0x32 &&
    b[i + 5] === 0x2e &&
    b[i + 6] === 0x30 &&
    b[i + 7] === 0x2f
  );
}

// Bytes that end a sent-by host name
const HOST_END = new Uint8Array(256);
for (const c of ':;, \t\r\n') HOST_END[c.charCodeAt(0)] = 1;

/**
 * The usual `;branch=` (lower case, unquoted value) right at b[i], the parameters' start: the end of
 * its non-empty value (which starts at i + 8), else -1 and the branch is located on first use.
 */
function leadingBranchEnd(b: Uint8Array, i: number, end: number): number {
  if (
    !(
      i + 8 < end &&
      b[i] === 0x3b &&
      b[i + 1] === 0x62 &&
      b[i + 2] === 0x72 &&
      b[i + 3] === 0x61 &&
      b[i + 4] === 0x6e &&
      b[i + 5] === 0x63 &&
      b[i + 6] === 0x68 &&
      b[i + 7] === 0x3d &&
      b[i + 8] !== 0x22
    )
  )
    return -1;
  let ve = i + 8;
  while (ve < end && !isValueEnd(b[ve] ?? 0)) ve++;
  return ve > i + 8 ? ve : -1;
}

/** End offset of the value read by the last successful {@link readVia}. */
let lastEnd = 0;

/**
 * Reads one via-parm starting at `i`: sent-protocol (LWS allowed around SLASH, RFC 3261 §25.1),
 * sent-by host and port, and parameters, checking ttl (0..255), maddr (host), received (IPv4 or
 * IPv6 address, brackets tolerated, RFC 5118 §4.5), branch (token) and rport (RFC 3581: with or
 * without a port value). It ends at a top-level `,` or `end`; {@link lastEnd} is that position.
 */
function readVia(
  b: Uint8Array,
  s: string,
  i: number,
  end: number,
  strict: boolean,
): Via | undefined {
  i = skipLws(b, i, end);
  const vs = i;
  let protocol: string;
  if (isSip20Slash(b, i, end)) {
    protocol = SIP_2_0;
    i += 8;
  } else {
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport
    const ne = protocolToken(b, i, end);
    if (ne < 0) return bad('bad sent-protocol');
    let k = skipLws(b, ne, end);
    if (b[k] !== 0x2f) return bad("expected '/' in sent-protocol");
    k = skipLws(b, k + 1, end);
    const ve = protocolToken(b, k, end);
    if (ve < 0) return bad('bad sent-protocol version');
    const name = s.slice(i, ne);
    const version = s.slice(k, ve);
    protocol = name.toUpperCase() === 'SIP' && version === '2.0' ? SIP_2_0 : `${name}/${version}`;
    k = skipLws(b, ve, end);
    if (b[k] !== 0x2f) return bad("expected '/' in sent-protocol");
    i = skipLws(b, k + 1, end);
  }
  const ts = i;
  const te = protocolToken(b, i, end);
  if (te < 0) return bad('bad transport');
  const transport = transportName(b, s, ts, te);
  // sent-by = host [ COLON port ], after LWS
  i = skipLws(b, te, end);
  if (i === te) return bad('missing LWS before sent-by');
  const hs = i;
  if (b[i] === 0x5b) {
    while (i < end && b[i] !== 0x5d) i++;
    if (i >= end) return bad('unterminated IPv6 reference');
    i++;
    if (strict && !hostAt(b, hs, i)) return badHost(b, s, hs, i, end);
  } else if (strict) {
    // read and checked in one pass
    i = hostnameEnd(b, i, end, true);
    if (i < 0) return badHost(b, s, hs, -1, end);
  } else {
    while (i < end && HOST_END[b[i] ?? 0] !== 1) i++;
    if (i === hs) return badHost(b, s, hs, i, end);
  }
  const he = i;
  let port: number | undefined;
  let k = skipLws(b, i, end);
  if (b[k] === 0x3a) {
    k = skipLws(b, k + 1, end);
    const ps = k;
    let p = 0;
    while (k < end && ((b[k] ?? 0) - 0x30) >>> 0 < 10) p = p * 10 + (b[k++] ?? 0) - 0x30;
    if (k === ps || k - ps > 5 || p > 65535) return bad('bad sent-by port');
    port = p;
    i = k;
  }
  // via-params: located on first use, unless the value is being checked
  const ps = i;
  if (!strict) {
    // fast path for the usual `;branch=` right after the sent-by
    const be = leadingBranchEnd(b, i, end);
    return be < 0
      ? new Via(protocol, transport, hs, he, port, b, s, vs, ps, end, -1, undefined)
      : new Via(protocol, transport, hs, he, port, b, s, vs, ps, end, -1, undefined, i + 8, be);
  }
  // every parameter checked; the first of each special one located (as param() finds it)
  let special: number[] | undefined;
  let bs = ABSENT;
  let be = -1;
  for (;;) {
    const r = nextParam(b, i, end);
    if (r === NO_PARAM) {
      const pe = PARAM[0] ?? end;
      if (pe !== end && b[pe] !== 0x2c) return bad('bad Via parameters');
      lastEnd = pe;
      const ve = trimEnd(b, vs, pe);
      return new Via(
        protocol,
        transport,
        hs,
        he,
        port,
        b,
        s,
        vs,
        ps,
        end,
        ve,
        special ?? NONE_SPECIAL,
        bs,
        be,
      );
    }
    if (r === BAD_PARAM) return bad('bad Via parameters');
    const ns = PARAM[0] ?? 0;
    const ne = PARAM[1] ?? 0;
    const slot = specialSlot(b, ns, ne);
    if (slot >= 0) {
      const pvs = PARAM[2] ?? -1;
      const pve = PARAM[3] ?? -1;
      if (!specialOk(slot, b, pvs, pve)) return bad(`bad '${s.slice(ns, ne)}' parameter`);
      if (slot === BRANCH) {
        if (bs === ABSENT) {
          bs = pvs < 0 ? NO_VALUE : pvs;
          be = pve;
        }
      } else {
        special ??= [-1, -1, -1, -1, -1, -1, -1, -1];
        if (special[slot] === ABSENT) {
          special[slot] = pvs < 0 ? NO_VALUE : pvs;
          special[slot + 1] = pve;
        }
      }
    }
    i = r;
  }
}

/** Offsets of the special parameters other than branch in b[ps, limit), values not checked. */
function locateSpecial(b: Uint8Array, i: number, limit: number): number[] {
  const special = [-1, -1, -1, -1, -1, -1, -1, -1];
  for (;;) {
    const r = nextParam(b, i, limit);
    if (r < 0) return special;
    const slot = specialSlot(b, PARAM[0] ?? 0, PARAM[1] ?? 0);
    if (slot >= 0 && slot !== BRANCH && special[slot] === ABSENT) {
      const pvs = PARAM[2] ?? -1;
      special[slot] = pvs < 0 ? NO_VALUE : pvs;
      special[slot + 1] = PARAM[3] ?? -1;
    }
    i = r;
  }
}

/** Parses one via-parm occupying b/s[start, end) (see {@link readVia}). */
export function parseViaAt(b: Uint8Array, s: string, start: number, end: number): ParseResult<Via> {
  end = trimEnd(b, start, end);
  const r = readVia(b, s, start, end, true);
  if (r === undefined) return { ok: false, error: viaError() };
  if (lastEnd !== end) return { ok: false, error: viaError("unexpected ',' after the Via value") };
  return ok(r);
}

/** Parses one via-parm occupying `s[start, end)`. */
export function parseVia(s: string, start = 0, end = s.length): ParseResult<Via> {
  return parseViaAt(bytesOf(s), s, start, end);
}

/**
 * Reads the first via-parm of a Via header value in b/s[start, end) (the top Via): sent-protocol
 * and sent-by are checked; the parameters are only located when read (`validateMessage` checks
 * them). Returns undefined when the value is malformed.
 */
export function readFirstVia(
  b: Uint8Array,
  s: string,
  start: number,
  end: number,
): Via | undefined {
  end = trimEnd(b, start, end);
  return quickVia(b, s, start, end) ?? readVia(b, s, start, end, false);
}

/**
 * The usual top Via, read with as few steps as possible: `SIP/2.0/` UDP, TCP or TLS, one SP, a host
 * name or IPv4 address, an optional port right after a ':', and the parameters located on first
 * use (with the branch found at once when `;branch=` comes first). null for anything else (LWS
 * elsewhere, other transports, IPv6, a malformed value…), which {@link readVia} then reads: for
 * the values it accepts, both give the same Via.
 */
function quickVia(b: Uint8Array, s: string, start: number, end: number): Via | null {
  let i = start;
  if (!isSip20Slash(b, i, end) || b[i + 11] !== 0x20) return null;
  const c0 = (b[i + 8] ?? 0) & 0xdf;
  const c1 = (b[i + 9] ?? 0) & 0xdf;
  const c2 = (b[i + 10] ?? 0) & 0xdf;
  let transport: string;
  if (c0 === 0x55 && c1 === 0x44 && c2 === 0x50) transport = 'UDP';
  else if (c0 === 0x54 && c1 === 0x43 && c2 === 0x50) transport = 'TCP';
  else if (c0 === 0x54 && c1 === 0x4c && c2 === 0x53) transport = 'TLS';
  else return null;
  i += 12;
  const hs = i;
  let c = b[i] ?? 0;
  // sent-by host up to ':' ';' ',' or the end; LWS or an IPv6 reference are the general reader's
  // case. (Letters and '-', '.', digits, the usual bytes, take one or two comparisons.)
  while (i < end) {
    if (c > 0x3b) {
      if (c === 0x5b) return null;
    } else if (c < 0x2d || c > 0x39) {
      if (c === 0x3a || c === 0x3b || c === 0x2c) break;
      if (c <= 0x20 && (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a)) return null;
    }
    c = b[++i] ?? 0;
  }
  if (i === hs) return null;
  const he = i;
  let port: number | undefined;
  if (c === 0x3a && i < end) {
    const ds = ++i;
    let p = 0;
    let d = (b[i] ?? 0) - 0x30;
    while (i < end && d >= 0 && d <= 9) {
      p = p * 10 + d;
      d = (b[++i] ?? 0) - 0x30;
    }
    if (i === ds || i - ds > 5 || p > 65535) return null;
    port = p;
  }
  const ps = i;
  // `;branch=` right after the sent-by, else the branch is located on first use
  const be = leadingBranchEnd(b, i, end);
  return new Via(
    'SIP/2.0',
    transport,
    hs,
    he,
    port,
    b,
    s,
    start,
    ps,
    end,
    -1,
    undefined,
    be < 0 ? NOT_LOCATED : i + 8,
    be,
  );
}

/**
 * Parses every via-parm of one Via header value (`via-parm *(COMMA via-parm)`, RFC 3261 §20.42)
 * in b/s[start, end), appending to `out`. Empty elements are errors.
 */
export function parseViaList(
  b: Uint8Array,
  s: string,
  start: number,
  end: number,
  out: Via[],
): SipParseError | undefined {
  end = trimEnd(b, start, end);
  let i = start;
  for (;;) {
    const r = readVia(b, s, i, end, true);
    if (r === undefined) return viaError();
    out.push(r);
    if (lastEnd >= end) return undefined;
    i = lastEnd + 1;
    while (i < end && isLws(b[i] ?? 0)) i++;
  }
}

/** Code of the `branch` parameter in {@link specialSlot}. */
const BRANCH = 8;

/** Slot in the special-parameter table for a parameter name ({@link BRANCH} for branch), or -1. */
function specialSlot(b: Uint8Array, ns: number, ne: number): number {
  switch (ne - ns) {
    case 6:
      return matchLower(b, ns, ne, 'branch') ? BRANCH : -1;
    case 8:
      return matchLower(b, ns, ne, 'received') ? RECEIVED : -1;
    case 5:
      if (matchLower(b, ns, ne, 'rport')) return RPORT;
      return matchLower(b, ns, ne, 'maddr') ? MADDR : -1;
    case 3:
      return matchLower(b, ns, ne, 'ttl') ? TTL : -1;
    default:
      return -1;
  }
}

/** RFC 3261 §20.42 / RFC 3581 value rules of the special Via parameters. */
function specialOk(slot: number, b: Uint8Array, vs: number, ve: number): boolean {
  switch (slot) {
    case BRANCH: // via-branch = "branch" EQUAL token (as nextParam has just seen it)
      return vs >= 0 && PARAM[4] === 1;
    case RECEIVED: // via-received = "received" EQUAL (IPv4address / IPv6address)
      if (vs < 0) return false;
      if (b[vs] === 0x5b) return b[ve - 1] === 0x5d && ipv6At(b, vs + 1, ve - 1);
      return ipv4At(b, vs, ve) || ipv6At(b, vs, ve);
    case RPORT: {
      // response-port = "rport" [EQUAL 1*DIGIT]
      if (vs < 0) return true;
      const p = ve - vs > 5 ? -1 : readUint(b, vs, ve);
      return p >= 0 && p <= 65535;
    }
    case MADDR: // via-maddr = "maddr" EQUAL host
      return vs >= 0 && hostAt(b, vs, ve);
    default: {
      // via-ttl = "ttl" EQUAL ttl (1*3DIGIT, 0-255)
      const t = vs < 0 || ve - vs > 3 ? -1 : readUint(b, vs, ve);
      return t >= 0 && t <= 255;
    }
  }
}

/**
 * The top Via value a server writes into its response (RFC 3261 §18.2.1, RFC 3581 §4); see
 * {@link Via.withReceived}.
 */
export function viaWithReceived(
  v: Via,
  srcAddress: string,
  srcPort: number,
  forceRport = false,
): string | undefined {
  return v.withReceived(srcAddress, srcPort, forceRport);
}
