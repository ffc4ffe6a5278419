import { ok, type ParseResult, SipParseError } from '../../errors/sip-error.js';
import {
  bytesOf,
  DIGIT,
  LWS,
  matchLower,
  readUint,
  skipLws,
  TOKEN,
  trimEnd,
  VALUE_END,
} from './chars.js';
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
import { hostAt, ipv4At, ipv6At } from './uri.js';

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
  #host: string | undefined;
  readonly #hs: number;
  readonly #he: number;
  readonly #b: Uint8Array;
  readonly #src: string;
  readonly #start: number;
  /** Where the parameters start, and the end of the text they may extend to. */
  readonly #ps: number;
  readonly #limit: number;
  /** End of this value; -1 until known. */
  #end: number;
  /** Offsets of the value of branch, received, rport, maddr, ttl: [start, end] pairs; -1 absent, -2 no value. */
  #special: number[] | undefined;
  /** Branch value offsets found by the fast path of the top-Via read; -1 when not found there. */
  readonly #bs: number;
  readonly #be: number;
  #params: Params | undefined;

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
    special: number[] | undefined,
    bs = -1,
    be = -1,
  ) {
    this.protocol = protocol;
    this.transport = transport;
    this.#hs = hs;
    this.#he = he;
    this.port = port;
    this.#b = b;
    this.#src = src;
    this.#start = start;
    this.#ps = ps;
    this.#limit = limit;
    this.#end = end;
    this.#special = special;
    this.#bs = bs;
    this.#be = be;
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

  #value(k: number): string | null | undefined {
    this.#special ??= locateSpecial(this.#b, this.#ps, this.#limit);
    const a = this.#special[k] ?? -1;
    if (a === -1) return undefined;
    if (a === -2) return null;
    return this.#src.slice(a, this.#special[k + 1]);
  }

  /** The `branch` parameter (RFC 3261 §8.1.1.7); undefined when absent. */
  get branch(): string | undefined {
    if (this.#bs >= 0) return this.#src.slice(this.#bs, this.#be);
    // usually the first parameter: a direct lookup beats locating all special parameters
    if (this.#special === undefined && this.#params === undefined) {
      return findParam(this.#b, this.#src, this.#ps, this.#limit, 'branch') ?? undefined;
    }
    return this.#value(0) ?? undefined;
  }

  /** The `received` parameter (RFC 3261 §18.2.1). */
  get received(): string | undefined {
    return this.#value(2) ?? undefined;
  }

  /** `rport` (RFC 3581): undefined when absent, null when present without a value, else the port. */
  get rport(): number | null | undefined {
    const v = this.#value(4);
    return v === undefined || v === null ? v : Number(v);
  }

  /** The `maddr` parameter. */
  get maddr(): string | undefined {
    return this.#value(6) ?? undefined;
  }

  /** The `ttl` parameter (0..255). */
  get ttl(): number | undefined {
    const v = this.#value(8);
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

/** Reads a token; returns its end or -1 when empty. */
function protocolToken(b: Uint8Array, i: number, end: number): number {
  const ts = i;
  while (i < end && TOKEN[b[i] ?? 0] === 1) i++;
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

/** `branch=` (lower case) at i. */
function isBranchEq(b: Uint8Array, i: number, end: number): boolean {
  return (
    i + 7 < end &&
    b[i] === 0x62 &&
    b[i + 1] === 0x72 &&
    b[i + 2] === 0x61 &&
    b[i + 3] === 0x6e &&
    b[i + 4] === 0x63 &&
    b[i + 5] === 0x68 &&
    b[i + 6] === 0x3d &&
    b[i + 7] !== 0x22
  );
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
  } else {
    while (i < end && HOST_END[b[i] ?? 0] !== 1) i++;
  }
  if (i === hs || (strict && !hostAt(b, hs, i)))
    return bad(`bad sent-by host '${s.slice(hs, Math.min(i, hs + 64))}'`);
  const he = i;
  let port: number | undefined;
  let k = skipLws(b, i, end);
  if (b[k] === 0x3a) {
    k = skipLws(b, k + 1, end);
    const ps = k;
    let p = 0;
    while (k < end && DIGIT[b[k] ?? 0] === 1) p = p * 10 + (b[k++] ?? 0) - 0x30;
    if (k === ps || k - ps > 5 || p > 65535) return bad('bad sent-by port');
    port = p;
    i = k;
  }
  // via-params: located on first use, unless the value is being checked
  const ps = i;
  if (!strict) {
    // fast path for the usual `;branch=` right after the sent-by
    if (b[i] === 0x3b && isBranchEq(b, i + 1, end)) {
      let ve = i + 8;
      while (ve < end && VALUE_END[b[ve] ?? 0] !== 1) ve++;
      if (ve > i + 8)
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
          -1,
          undefined,
          i + 8,
          ve,
        );
    }
    return new Via(protocol, transport, hs, he, port, b, s, vs, ps, end, -1, undefined);
  }
  const special = [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1];
  for (;;) {
    const r = nextParam(b, i, end);
    if (r === NO_PARAM) {
      const pe = PARAM[0] ?? end;
      if (pe !== end && b[pe] !== 0x2c) return bad('bad Via parameters');
      lastEnd = pe;
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
        trimEnd(b, vs, pe),
        special,
      );
    }
    if (r === BAD_PARAM) return bad('bad Via parameters');
    const ns = PARAM[0] ?? 0;
    const ne = PARAM[1] ?? 0;
    const pvs = PARAM[2] ?? -1;
    const pve = PARAM[3] ?? -1;
    const slot = specialSlot(b, ns, ne);
    if (slot >= 0) {
      if (!specialOk(slot, b, pvs, pve)) return bad(`bad '${s.slice(ns, ne)}' parameter`);
      special[slot] = pvs < 0 ? -2 : pvs;
      special[slot + 1] = pve;
    }
    i = r;
  }
}

/** Offsets of the special parameters in b[ps, limit), without checking their values. */
function locateSpecial(b: Uint8Array, i: number, limit: number): number[] {
  const special = [-1, -1, -1, -1, -1, -1, -1, -1, -1, -1];
  for (;;) {
    const r = nextParam(b, i, limit);
    if (r < 0) return special;
    const slot = specialSlot(b, PARAM[0] ?? 0, PARAM[1] ?? 0);
    if (slot >= 0 && special[slot] === -1) {
      const pvs = PARAM[2] ?? -1;
      special[slot] = pvs < 0 ? -2 : pvs;
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
  return readVia(b, s, start, trimEnd(b, start, end), false);
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
    while (i < end && LWS[b[i] ?? 0] === 1) i++;
  }
}

/** Slot in the special-parameter table for a parameter name, or -1. */
function specialSlot(b: Uint8Array, ns: number, ne: number): number {
  switch (ne - ns) {
    case 6:
      return matchLower(b, ns, ne, 'branch') ? 0 : -1;
    case 8:
      return matchLower(b, ns, ne, 'received') ? 2 : -1;
    case 5:
      if (matchLower(b, ns, ne, 'rport')) return 4;
      return matchLower(b, ns, ne, 'maddr') ? 6 : -1;
    case 3:
      return matchLower(b, ns, ne, 'ttl') ? 8 : -1;
    default:
      return -1;
  }
}

/** RFC 3261 §20.42 / RFC 3581 value rules of the special Via parameters. */
function specialOk(slot: number, b: Uint8Array, vs: number, ve: number): boolean {
  switch (slot) {
    case 0: // via-branch = "branch" EQUAL token
      return vs >= 0 && protocolToken(b, vs, ve) === ve;
    case 2: // via-received = "received" EQUAL (IPv4address / IPv6address)
      if (vs < 0) return false;
      if (b[vs] === 0x5b) return b[ve - 1] === 0x5d && ipv6At(b, vs + 1, ve - 1);
      return ipv4At(b, vs, ve) || ipv6At(b, vs, ve);
    case 4: {
      // response-port = "rport" [EQUAL 1*DIGIT]
      if (vs < 0) return true;
      const p = ve - vs > 5 ? -1 : readUint(b, vs, ve);
      return p >= 0 && p <= 65535;
    }
    case 6: // via-maddr = "maddr" EQUAL host
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
