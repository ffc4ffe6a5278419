import type { SipParseError } from '../errors/sip-error.js';
import { Hdr, headerId, LIST_HEADERS } from './constants.js';
import { bytesOf, matchLower } from './parse/chars.js';
import { type ContactList, parseContactRanges } from './parse/contact.js';
import { type CSeq, readCSeq, uintAt } from './parse/cseq.js';
import {
  NameAddr,
  nameAddrTag,
  parseNameAddrAt,
  parseNameAddrList,
  quickNameAddr,
} from './parse/name-addr.js';
import { splitCommaBytes, splitCommaOffsets } from './parse/split.js';
import { parseUri, type Uri } from './parse/uri.js';
import { parseViaList, readFirstVia, type Via } from './parse/via.js';

/** Header stride in the offset table: [id, nameStart, nameEnd, valueStart, valueEnd]. */
export const HSTRIDE = 5;

/**
 * A value computed on first use: undefined until then, null once computed as absent (so that the
 * checks compare with oddballs, which stay cheap whatever the field has held).
 */
type Lazy<T> = T | null | undefined;

/** A header name to look up: a well-known id or any spelling of a name (compact forms included). */
export type HeaderName = Hdr | string;

/** RFC 3261 §7.3.1: a folded line (CRLF followed by SP/HTAB) is equivalent to a single SP. */
export function unfold(v: string): string {
  return v.includes('\n') ? v.replace(/[ \t]*\r?\n[ \t]+/g, ' ') : v;
}

/** The text of one header value: bytes `b` and the same text `s`, range [a, z). */
export interface ValueText {
  b: Uint8Array;
  s: string;
  a: number;
  z: number;
}
// shared by valueText(): read it right after the call
const TEXT: ValueText = { b: Buffer.alloc(0), s: '', a: 0, z: 0 };

/**
 * Header k's value as bytes + string + range: the raw message text, or, when the value is folded,
 * its unfolded copy (RFC 3261 §7.3.1). Returns one shared object: read it before the next call.
 */
export function valueText(msg: SipMessage, k: number): ValueText {
  const o = k * HSTRIDE;
  const a = msg.hdr[o + 3] ?? 0;
  const z = msg.hdr[o + 4] ?? 0;
  if (msg.folded) {
    const v = msg.raw.slice(a, z);
    if (v.includes('\n')) {
      const u = unfold(v);
      TEXT.b = bytesOf(u);
      TEXT.s = u;
      TEXT.a = 0;
      TEXT.z = u.length;
      return TEXT;
    }
  }
  TEXT.b = msg.buf;
  TEXT.s = msg.raw;
  TEXT.a = a;
  TEXT.z = z;
  return TEXT;
}

/**
 * What {@link validateMessage} found well-formed, handed to the message so that its getters
 * return these objects instead of parsing again. Each function keeps a value the getter has
 * already computed (so a getter keeps returning the same object). Internal to the message layer.
 */
export interface MessageCache {
  /** The cached validation result; `null` when the message has not been validated yet. */
  validated(m: SipMessage): SipParseError | undefined | null;
  setValidated(m: SipMessage, e: SipParseError | undefined): void;
  setVias(m: SipMessage, vias: Via[]): void;
  setFrom(m: SipMessage, na: NameAddr): void;
  setTo(m: SipMessage, na: NameAddr): void;
  setCallId(m: SipMessage, callId: string): void;
  setCSeq(m: SipMessage, cseq: CSeq): void;
  setContacts(m: SipMessage, c: ContactList): void;
  setAddressList(m: SipMessage, id: Hdr, list: NameAddr[]): void;
  /** The first Via, From, To, Call-ID, CSeq and Contact indexes (-1: absent). */
  setIndex(
    m: SipMessage,
    kVia: number,
    kFrom: number,
    kTo: number,
    kCallId: number,
    kCSeq: number,
    kContact: number,
  ): void;
}
/** Filled by the static block of {@link SipMessage}. */
export const messageCache = {} as MessageCache;

/**
 * A received (or built) SIP message: its bytes plus an offset table of the header fields. Header
 * values are parsed on first access and cached. The message itself is immutable; changes for
 * forwarding are kept in an {@link EditList} and applied when serializing.
 *
 * Typed getters read only their own header and only as far as they need: they return undefined
 * when the header is absent or its structure is broken, and leave the URI of a name-addr and the
 * header parameters to be read on first use. `validateMessage` checks the full syntax; the
 * receive path runs it before anything reads the message, and what it parses (the Via list, From,
 * To, Call-ID, CSeq, Contact, Route, Record-Route, Path) is what the getters return from then on.
 */
export abstract class SipMessage {
  /** The bytes the message was scanned from. */
  readonly buf: Buffer;
  /** The same bytes as a latin1 string (one char per byte), so offsets match the buffer. */
  readonly raw: string;
  /** Offset table, {@link HSTRIDE} numbers per header field. */
  readonly hdr: readonly number[];
  readonly startLineStart: number;
  readonly headersStart: number;
  /** Start of the empty line that ends the header block. */
  readonly headersEnd: number;
  readonly bodyStart: number;
  readonly bodyEnd: number;
  /** True when some header value of the message is folded over several lines. */
  readonly folded: boolean;
  /** True for a request, false for a response. */
  abstract get isRequest(): boolean;

  // index of the first Via, From, To, Call-ID, CSeq and Contact header (-1: absent), found in one
  // pass when a getter first needs one (-2 until then)
  #kVia = -2;
  #kFrom = -2;
  #kTo = -2;
  #kCallId = -2;
  #kCSeq = -2;
  #kContact = -2;
  #vias: Lazy<Via[]> = undefined;
  #topVia: Lazy<Via> = undefined;
  #from: Lazy<NameAddr> = undefined;
  #to: Lazy<NameAddr> = undefined;
  #fromTag: Lazy<string> = undefined;
  #toTag: Lazy<string> = undefined;
  #callId: Lazy<string> = undefined;
  #cseq: Lazy<CSeq> = undefined;
  #contacts: Lazy<ContactList> = undefined;
  /** Route, Record-Route and Path lists, in fields: no Map and no key per message (issue 12 §1). */
  #route: Lazy<NameAddr[]> = undefined;
  #recordRoute: Lazy<NameAddr[]> = undefined;
  #path: Lazy<NameAddr[]> = undefined;
  /** Lists of other headers, by `#id` or lower-cased name. */
  #lists: Map<string, NameAddr[] | undefined> | undefined = undefined;
  #validated: Lazy<SipParseError> = undefined;

  static {
    messageCache.validated = (m) =>
      m.#validated === undefined ? null : (m.#validated ?? undefined);
    messageCache.setValidated = (m, e) => {
      m.#validated = e ?? null;
    };
    messageCache.setVias = (m, vias) => {
      if (m.#vias === undefined) m.#vias = vias;
      if (m.#topVia === undefined) m.#topVia = vias[0] ?? null;
    };
    messageCache.setFrom = (m, na) => {
      if (m.#from === undefined) m.#from = na;
    };
    messageCache.setTo = (m, na) => {
      if (m.#to === undefined) m.#to = na;
    };
    messageCache.setCallId = (m, callId) => {
      if (m.#callId === undefined) m.#callId = callId;
    };
    messageCache.setCSeq = (m, cseq) => {
      if (m.#cseq === undefined) m.#cseq = cseq;
    };
    messageCache.setContacts = (m, c) => {
      if (m.#contacts === undefined) m.#contacts = c;
    };
    messageCache.setIndex = (m, kVia, kFrom, kTo, kCallId, kCSeq, kContact) => {
      m.#kVia = kVia;
      m.#kFrom = kFrom;
      m.#kTo = kTo;
      m.#kCallId = kCallId;
      m.#kCSeq = kCSeq;
      m.#kContact = kContact;
    };
    messageCache.setAddressList = (m, id, list) => {
      if (m.#listSlot(id) === undefined) {
        if (m.#setListSlot(id, list)) return;
        m.#lists ??= new Map();
        const key = `#${id}`;
        if (!m.#lists.has(key)) m.#lists.set(key, list);
      }
    };
  }

  constructor(
    buf: Buffer,
    raw: string,
    hdr: number[],
    startLineStart: number,
    headersStart: number,
    headersEnd: number,
    bodyStart: number,
    bodyEnd: number,
    folded = true,
  ) {
    this.buf = buf;
    this.raw = raw;
    this.hdr = hdr;
    this.startLineStart = startLineStart;
    this.headersStart = headersStart;
    this.headersEnd = headersEnd;
    this.bodyStart = bodyStart;
    this.bodyEnd = bodyEnd;
    this.folded = folded;
  }

  /** Number of header fields. */
  get headerCount(): number {
    return this.hdr.length / HSTRIDE;
  }

  /** Well-known id of header k (`Hdr.Other` for the rest). */
  headerIdAt(k: number): Hdr {
    return this.hdr[k * HSTRIDE] as Hdr;
  }

  /** Header name as written (may be a compact form). */
  headerNameAt(k: number): string {
    const o = k * HSTRIDE;
    return this.raw.slice(this.hdr[o + 1], this.hdr[o + 2]);
  }

  /** Header value with folding replaced by a single space (RFC 3261 §7.3.1). */
  headerValueAt(k: number): string {
    const o = k * HSTRIDE;
    const v = this.raw.slice(this.hdr[o + 3], this.hdr[o + 4]);
    return this.folded ? unfold(v) : v;
  }

  /** Start of header k's line. */
  headerLineStart(k: number): number {
    return this.hdr[k * HSTRIDE + 1] ?? this.headersEnd;
  }

  /** End of header k's line, including its line end. */
  headerLineEnd(k: number): number {
    const next = (k + 1) * HSTRIDE;
    return next < this.hdr.length ? (this.hdr[next + 1] ?? this.headersEnd) : this.headersEnd;
  }

  #isNamed(k: number, name: string): boolean {
    const o = k * HSTRIDE;
    return (
      this.hdr[o] === Hdr.Other &&
      matchLower(this.buf, this.hdr[o + 1] ?? 0, this.hdr[o + 2] ?? 0, name)
    );
  }

  /** Finds the first Via, From, To, Call-ID, CSeq and Contact headers in one pass. */
  #index(): void {
    let kVia = -1;
    let kFrom = -1;
    let kTo = -1;
    let kCallId = -1;
    let kCSeq = -1;
    let kContact = -1;
    const hdr = this.hdr;
    const n = hdr.length;
    for (let k = 0, o = 0; o < n; k++, o += HSTRIDE) {
      switch (hdr[o]) {
        case Hdr.Via:
          if (kVia < 0) kVia = k;
          break;
        case Hdr.From:
          if (kFrom < 0) kFrom = k;
          break;
        case Hdr.To:
          if (kTo < 0) kTo = k;
          break;
        case Hdr.CallId:
          if (kCallId < 0) kCallId = k;
          break;
        case Hdr.CSeq:
          if (kCSeq < 0) kCSeq = k;
          break;
        case Hdr.Contact:
          if (kContact < 0) kContact = k;
          break;
      }
    }
    this.#kVia = kVia;
    this.#kFrom = kFrom;
    this.#kTo = kTo;
    this.#kCallId = kCallId;
    this.#kCSeq = kCSeq;
    this.#kContact = kContact;
  }

  #firstVia(): number {
    if (this.#kVia === -2) this.#index();
    return this.#kVia;
  }

  #firstFrom(): number {
    if (this.#kFrom === -2) this.#index();
    return this.#kFrom;
  }

  #firstTo(): number {
    if (this.#kTo === -2) this.#index();
    return this.#kTo;
  }

  #firstCallId(): number {
    if (this.#kCallId === -2) this.#index();
    return this.#kCallId;
  }

  #firstCSeq(): number {
    if (this.#kCSeq === -2) this.#index();
    return this.#kCSeq;
  }

  #firstContact(): number {
    if (this.#kContact === -2) this.#index();
    return this.#kContact;
  }

  /** Index of the first header of well-known id `id` at or after `from`, or -1. */
  #find(id: Hdr, from = 0): number {
    const hdr = this.hdr;
    const n = hdr.length;
    // k counts headers, so that no division is needed
    for (let k = from, o = from * HSTRIDE; o < n; k++, o += HSTRIDE) if (hdr[o] === id) return k;
    return -1;
  }

  /** Index of the first header named `name` at or after `from`, or -1. */
  indexOf(name: HeaderName, from = 0): number {
    const id = typeof name === 'number' ? name : headerId(name);
    if (id !== Hdr.Other) return this.#find(id, from);
    if (typeof name !== 'string') return -1;
    const n = this.headerCount;
    for (let k = from; k < n; k++) if (this.#isNamed(k, name)) return k;
    return -1;
  }

  /** Indexes of every header named `name`. */
  indexesOf(name: HeaderName): number[] {
    const out: number[] = [];
    for (let k = this.indexOf(name); k >= 0; k = this.indexOf(name, k + 1)) out.push(k);
    return out;
  }

  /** True when at least one header named `name` is present. */
  hasHeader(name: HeaderName): boolean {
    return this.indexOf(name) >= 0;
  }

  /** Value of the first header named `name`. */
  getHeader(name: HeaderName): string | undefined {
    const k = this.indexOf(name);
    return k < 0 ? undefined : this.headerValueAt(k);
  }

  /** Values of every header named `name`, one per header field. */
  getHeaders(name: HeaderName): string[] {
    const out: string[] = [];
    for (let k = this.indexOf(name); k >= 0; k = this.indexOf(name, k + 1))
      out.push(this.headerValueAt(k));
    return out;
  }

  /**
   * Every comma-separated value of the headers named `name`, in order (RFC 3261 §7.3.1). For
   * headers that are not lists (see {@link LIST_HEADERS}; unknown headers included) each header
   * field is one value.
   */
  getValues(name: HeaderName): string[] {
    const id = typeof name === 'number' ? name : headerId(name);
    const values = this.getHeaders(name);
    if (!LIST_HEADERS.has(id)) return values;
    const out: string[] = [];
    for (const v of values) {
      const o = splitCommaOffsets(v);
      for (let i = 0; i < o.length; i += 2) out.push(v.slice(o[i], o[i + 1]));
    }
    return out;
  }

  /** Message body bytes (by Content-Length, or to the end of a datagram without one). */
  get body(): Buffer {
    return this.buf.subarray(this.bodyStart, this.bodyEnd);
  }

  /** Body length in bytes. */
  get bodyLength(): number {
    return this.bodyEnd - this.bodyStart;
  }

  /** The message bytes exactly as received (without leading CRLFs or trailing datagram octets). */
  get bytes(): Buffer {
    return this.buf.subarray(this.startLineStart, this.bodyEnd);
  }

  // ---- typed accessors (undefined when the header is absent or malformed)

  /**
   * The first Via value (the hot path for transaction matching): sent-protocol and sent-by are
   * read, the parameters located on first use; `validateMessage` checks the whole header.
   */
  get topVia(): Via | undefined {
    if (this.#topVia !== undefined) return this.#topVia ?? undefined;
    let v: Via | undefined;
    const k = this.#firstVia();
    if (k >= 0) {
      if (this.folded) {
        const t = valueText(this, k);
        v = readFirstVia(t.b, t.s, t.a, t.z);
      } else {
        const o = k * HSTRIDE;
        v = readFirstVia(this.buf, this.raw, this.hdr[o + 3] ?? 0, this.hdr[o + 4] ?? 0);
      }
    }
    this.#topVia = v ?? null;
    return v;
  }

  /** Every Via value of the message, top first; undefined when there is none or one is malformed. */
  get vias(): Via[] | undefined {
    if (this.#vias !== undefined) return this.#vias ?? undefined;
    const out: Via[] = [];
    let bad = false;
    for (let k = this.#firstVia(); k >= 0 && !bad; k = this.#find(Hdr.Via, k + 1)) {
      const t = valueText(this, k);
      bad = parseViaList(t.b, t.s, t.a, t.z, out) !== undefined;
    }
    this.#vias = bad || out.length === 0 ? null : out;
    return this.#vias ?? undefined;
  }

  /** Number of Via values (comma-separated values counted one by one). */
  get viaCount(): number {
    if (this.#vias !== undefined && this.#vias !== null) return this.#vias.length;
    let n = 0;
    const hdr = this.hdr;
    for (let k = this.#firstVia(); k >= 0; k = this.#find(Hdr.Via, k + 1)) {
      n +=
        splitCommaBytes(this.buf, hdr[k * HSTRIDE + 3] ?? 0, hdr[k * HSTRIDE + 4] ?? 0).length / 2;
    }
    return n;
  }

  /** The From header (RFC 3261 §20.20). */
  get from(): NameAddr | undefined {
    if (this.#from === undefined) this.#from = this.#nameAddr(this.#firstFrom(), 'From') ?? null;
    return this.#from ?? undefined;
  }

  /** The To header (RFC 3261 §20.39). */
  get to(): NameAddr | undefined {
    if (this.#to === undefined) this.#to = this.#nameAddr(this.#firstTo(), 'To') ?? null;
    return this.#to ?? undefined;
  }

  #nameAddr(k: number, field: string): NameAddr | undefined {
    if (k < 0) return undefined;
    const t = valueText(this, k);
    const r = parseNameAddrAt(t.b, t.s, field, t.a, t.z, false);
    return r.ok ? r.value : undefined;
  }

  /** The header parameter `tag` of header k, read without parsing the URI. */
  #tag(k: number): string | undefined {
    if (k < 0) return undefined;
    if (this.folded) {
      const t = valueText(this, k);
      return nameAddrTag(t.b, t.s, t.a, t.z);
    }
    const o = k * HSTRIDE;
    return nameAddrTag(this.buf, this.raw, this.hdr[o + 3] ?? 0, this.hdr[o + 4] ?? 0);
  }

  /**
   * The From tag. Read straight from the header's parameters without checking the rest of the
   * From value ({@link validateMessage} does that on the receive path).
   */
  get fromTag(): string | undefined {
    if (this.#fromTag === undefined) {
      const from = this.#from;
      this.#fromTag = (from === undefined ? this.#tag(this.#firstFrom()) : from?.tag) ?? null;
    }
    return this.#fromTag ?? undefined;
  }

  /** The To tag; read like {@link fromTag}. */
  get toTag(): string | undefined {
    if (this.#toTag === undefined) {
      const to = this.#to;
      this.#toTag = (to === undefined ? this.#tag(this.#firstTo()) : to?.tag) ?? null;
    }
    return this.#toTag ?? undefined;
  }

  /** The Call-ID value as written. */
  get callId(): string | undefined {
    if (this.#callId === undefined) {
      const k = this.#firstCallId();
      this.#callId = k < 0 ? null : this.headerValueAt(k);
    }
    return this.#callId ?? undefined;
  }

  /** CSeq number and method (RFC 3261 §20.16). */
  get cseq(): CSeq | undefined {
    if (this.#cseq === undefined) {
      const k = this.#firstCSeq();
      let c: CSeq | undefined;
      if (k >= 0) {
        let r: CSeq | string;
        if (this.folded) {
          const t = valueText(this, k);
          r = readCSeq(t.b, t.s, t.a, t.z);
        } else {
          const o = k * HSTRIDE;
          r = readCSeq(this.buf, this.raw, this.hdr[o + 3] ?? 0, this.hdr[o + 4] ?? 0);
        }
        c = typeof r === 'string' ? undefined : r;
      }
      this.#cseq = c ?? null;
    }
    return this.#cseq ?? undefined;
  }

  #uint(id: Hdr, max?: number): number | undefined {
    const k = this.#find(id);
    if (k < 0) return undefined;
    const o = k * HSTRIDE;
    return uintAt(this.buf, this.hdr[o + 3] ?? 0, this.hdr[o + 4] ?? 0, max) ?? Number.NaN;
  }

  /** Max-Forwards (RFC 3261 §20.22, 0..255); undefined when absent, NaN when malformed. */
  get maxForwards(): number | undefined {
    return this.#uint(Hdr.MaxForwards, 255);
  }

  /** Content-Length header value; undefined when absent, NaN when malformed. */
  get contentLength(): number | undefined {
    return this.#uint(Hdr.ContentLength);
  }

  /** Expires header (delta-seconds, RFC 3261 §20.19); undefined when absent, NaN when malformed or above 2^32-1. */
  get expires(): number | undefined {
    return this.#uint(Hdr.Expires);
  }

  /** `Flow-Timer` (RFC 5626 §11: 1*DIGIT seconds); undefined when absent, NaN when malformed. */
  get flowTimer(): number | undefined {
    return this.#uint(Hdr.FlowTimer);
  }

  /** All Contact values, or `*`; undefined when absent or malformed. */
  get contacts(): ContactList | undefined {
    if (this.#contacts === undefined) this.#contacts = this.#readContacts() ?? null;
    return this.#contacts ?? undefined;
  }

  #readContacts(): ContactList | undefined {
    const k0 = this.#firstContact();
    if (k0 < 0) return undefined;
    const o = k0 * HSTRIDE;
    const x = this.hdr[o + 3] ?? 0;
    const y = this.hdr[o + 4] ?? 0;
    const comma = this.raw.indexOf(',', x);
    if (!this.folded && (comma < 0 || comma >= y) && this.#find(Hdr.Contact, k0 + 1) < 0) {
      // one Contact header holding one value: read its structure, its parameters on first use
      const c0 = this.buf[x];
      if (c0 === 0x3c) {
        // the usual `<URI>` first (what quickNameAddr reads, without its other cases)
        const ue = this.raw.indexOf('>', x + 1);
        if (ue < 0 || ue >= y || ue === x + 1) return undefined;
        return {
          star: false,
          contacts: [new NameAddr(undefined, true, this.buf, this.raw, x + 1, ue, ue + 1, y)],
        };
      }
      if (y - x === 1 && c0 === 0x2a) return { star: true, contacts: [] };
      const na = quickNameAddr(this.buf, this.raw, x, y);
      // `*;expires=0` is not the wildcard, nor an address (RFC 3261 §20.10: STAR alone)
      if (na === undefined || (!na.angle && na.uriText === '*')) return undefined;
      return { star: false, contacts: [na] };
    }
    const ranges: number[] = [];
    let r: ReturnType<typeof parseContactRanges>;
    if (!this.folded) {
      for (let k = k0; k >= 0; k = this.#find(Hdr.Contact, k + 1)) {
        ranges.push(this.hdr[k * HSTRIDE + 3] ?? 0, this.hdr[k * HSTRIDE + 4] ?? 0);
      }
      r = parseContactRanges(this.buf, this.raw, ranges, false);
    } else {
      // parse the unfolded values joined in one string
      let joined = '';
      for (let k = k0; k >= 0; k = this.#find(Hdr.Contact, k + 1)) {
        const v = this.headerValueAt(k);
        ranges.push(joined.length, joined.length + v.length);
        joined += v;
      }
      r = parseContactRanges(bytesOf(joined), joined, ranges, false);
    }
    return r.ok ? r.value : undefined;
  }

  /**
   * Parsed name-addr list of Route / Record-Route / Path (or any address-list header), in order;
   * [] when absent, undefined when malformed.
   */
  addressList(name: HeaderName): NameAddr[] | undefined {
    const id = typeof name === 'number' ? name : headerId(name);
    const slot = this.#listSlot(id);
    if (slot !== undefined) return slot ?? undefined;
    if (id === Hdr.Route || id === Hdr.RecordRoute || id === Hdr.Path) {
      const res = this.#parseList(name);
      this.#setListSlot(id, res);
      return res;
    }
    const key = id !== Hdr.Other ? `#${id}` : (name as string).toLowerCase();
    this.#lists ??= new Map();
    if (this.#lists.has(key)) return this.#lists.get(key);
    const res = this.#parseList(name);
    this.#lists.set(key, res);
    return res;
  }

  /** The list of a header that has a field: undefined when not parsed yet, null when malformed. */
  #listSlot(id: Hdr): NameAddr[] | null | undefined {
    switch (id) {
      case Hdr.Route:
        return this.#route;
      case Hdr.RecordRoute:
        return this.#recordRoute;
      case Hdr.Path:
        return this.#path;
      default:
        return undefined;
    }
  }

  /** Keeps a parsed list in its field; false when the header has none. */
  #setListSlot(id: Hdr, list: NameAddr[] | undefined): boolean {
    const v = list ?? null;
    switch (id) {
      case Hdr.Route:
        this.#route = v;
        return true;
      case Hdr.RecordRoute:
        this.#recordRoute = v;
        return true;
      case Hdr.Path:
        this.#path = v;
        return true;
      default:
        return false;
    }
  }

  #parseList(name: HeaderName): NameAddr[] | undefined {
    const out: NameAddr[] = [];
    let bad = false;
    const field = typeof name === 'number' ? name.toString() : name;
    for (let k = this.indexOf(name); k >= 0 && !bad; k = this.indexOf(name, k + 1)) {
      const t = valueText(this, k);
      bad = parseNameAddrList(t.b, t.s, field, t.a, t.z, out, false) !== undefined;
    }
    return bad ? undefined : out;
  }

  /** Route values (RFC 3261 §20.34). */
  get routes(): NameAddr[] | undefined {
    return this.addressList(Hdr.Route);
  }

  /** Record-Route values (RFC 3261 §20.30). */
  get recordRoutes(): NameAddr[] | undefined {
    return this.addressList(Hdr.RecordRoute);
  }

  /** Path values (RFC 3327 §4). */
  get paths(): NameAddr[] | undefined {
    return this.addressList(Hdr.Path);
  }

  /**
   * Option tags of Supported / Require / Proxy-Require / Unsupported, lower-cased (RFC 3261
   * §7.3.1: tokens are case-insensitive).
   */
  optionTags(name: HeaderName): string[] {
    const out: string[] = [];
    for (let k = this.indexOf(name); k >= 0; k = this.indexOf(name, k + 1)) {
      const t = valueText(this, k);
      const o = splitCommaBytes(t.b, t.a, t.z);
      for (let i = 0; i < o.length; i += 2) out.push(t.s.slice(o[i], o[i + 1]).toLowerCase());
    }
    return out;
  }

  /** True if any header named `name` lists option tag `tag` (case-insensitive). */
  hasOptionTag(name: HeaderName, tag: string): boolean {
    // most messages have no such header: no list of tags to build then
    return this.indexOf(name) >= 0 && this.optionTags(name).includes(tag.toLowerCase());
  }

  /** The method this message is about: request method, or the CSeq method of a response. */
  abstract get cseqMethod(): string | undefined;

  /** The message text (latin1) without leading CRLFs or trailing datagram octets. */
  toString(): string {
    return this.raw.slice(this.startLineStart, this.bodyEnd);
  }
}

/** A SIP request (RFC 3261 §7.1). */
export class SipRequest extends SipMessage {
  /** Always true. */
  get isRequest(): true {
    return true;
  }
  readonly method: string;
  /** Request-URI as written. */
  readonly uri: string;
  readonly version: string;
  #ruri: Lazy<Uri> = undefined;

  constructor(
    buf: Buffer,
    raw: string,
    hdr: number[],
    sl: number,
    hs: number,
    he: number,
    bs: number,
    be: number,
    method: string,
    uri: string,
    version: string,
    folded = true,
  ) {
    super(buf, raw, hdr, sl, hs, he, bs, be, folded);
    this.method = method;
    this.uri = uri;
    this.version = version;
  }

  /** Parsed Request-URI; undefined when malformed. */
  get ruri(): Uri | undefined {
    if (this.#ruri === undefined) {
      const r = parseUri(this.uri);
      this.#ruri = r.ok ? r.value : null;
    }
    return this.#ruri ?? undefined;
  }

  /** The request method. */
  get cseqMethod(): string {
    return this.method;
  }
}

/** A SIP response (RFC 3261 §7.2). */
export class SipResponse extends SipMessage {
  /** Always false. */
  get isRequest(): false {
    return false;
  }
  readonly version: string;
  readonly status: number;
  /** Reason phrase as wire text (latin1; may hold UTF-8 bytes, RFC 3261 §25.1). */
  readonly reason: string;

  constructor(
    buf: Buffer,
    raw: string,
    hdr: number[],
    sl: number,
    hs: number,
    he: number,
    bs: number,
    be: number,
    version: string,
    status: number,
    reason: string,
    folded = true,
  ) {
    super(buf, raw, hdr, sl, hs, he, bs, be, folded);
    this.version = version;
    this.status = status;
    this.reason = reason;
  }

  /** The reason phrase decoded as UTF-8 (RFC 3261 §25.1 allows UTF8-NONASCII in it). */
  get reasonText(): string {
    return Buffer.from(this.reason, 'latin1').toString('utf8');
  }

  /** The CSeq method: which request this response answers. */
  get cseqMethod(): string | undefined {
    return this.cseq?.method;
  }
}
