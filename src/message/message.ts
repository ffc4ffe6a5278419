import { Hdr, headerId, LIST_HEADERS } from './constants.js';
import { bytesOf, matchLower } from './parse/chars.js';
import { type ContactList, parseContactRanges } from './parse/contact.js';
import { type CSeq, readCSeq, uintAt } from './parse/cseq.js';
import {
  type NameAddr,
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

const NOT_YET = Symbol('not-yet');
type Lazy<T> = T | typeof NOT_YET;

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
const TEXT: ValueText = { b: new Uint8Array(0), s: '', a: 0, z: 0 };

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
 * A received (or built) SIP message: its bytes plus an offset table of the header fields. Header
 * values are parsed on first access and cached. The message itself is immutable; changes for
 * forwarding are kept in an {@link EditList} and applied when serializing.
 *
 * Typed getters read only their own header and only as far as they need: they return undefined
 * when the header is absent or its structure is broken, and leave the URI of a name-addr and the
 * header parameters to be read on first use. `validateMessage` checks the full syntax; the
 * receive path runs it before anything reads the message.
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

  #vias: Lazy<Via[] | undefined> = NOT_YET;
  #topVia: Lazy<Via | undefined> = NOT_YET;
  #from: Lazy<NameAddr | undefined> = NOT_YET;
  #to: Lazy<NameAddr | undefined> = NOT_YET;
  #fromTag: Lazy<string | undefined> = NOT_YET;
  #toTag: Lazy<string | undefined> = NOT_YET;
  #callId: Lazy<string | undefined> = NOT_YET;
  #cseq: Lazy<CSeq | undefined> = NOT_YET;
  #contacts: Lazy<ContactList | undefined> = NOT_YET;
  #lists: Map<string, NameAddr[] | undefined> | undefined;

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

  /** Index of the first header named `name` at or after `from`, or -1. */
  indexOf(name: HeaderName, from = 0): number {
    const hdr = this.hdr;
    const n = hdr.length;
    const id = typeof name === 'number' ? name : headerId(name);
    if (id !== Hdr.Other) {
      for (let o = from * HSTRIDE; o < n; o += HSTRIDE) if (hdr[o] === id) return o / HSTRIDE;
      return -1;
    }
    if (typeof name !== 'string') return -1;
    for (let k = from; k < n / HSTRIDE; k++) if (this.#isNamed(k, name)) return k;
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
    return this.indexesOf(name).map((k) => this.headerValueAt(k));
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
    if (this.#topVia !== NOT_YET) return this.#topVia;
    let v: Via | undefined;
    const k = this.indexOf(Hdr.Via);
    if (k >= 0) {
      const t = valueText(this, k);
      v = readFirstVia(t.b, t.s, t.a, t.z);
    }
    this.#topVia = v;
    return v;
  }

  /** Every Via value of the message, top first; undefined when there is none or one is malformed. */
  get vias(): Via[] | undefined {
    if (this.#vias !== NOT_YET) return this.#vias;
    const out: Via[] = [];
    let bad = false;
    for (let k = this.indexOf(Hdr.Via); k >= 0 && !bad; k = this.indexOf(Hdr.Via, k + 1)) {
      const t = valueText(this, k);
      bad = parseViaList(t.b, t.s, t.a, t.z, out) !== undefined;
    }
    this.#vias = bad || out.length === 0 ? undefined : out;
    return this.#vias;
  }

  /** Number of Via values (comma-separated values counted one by one). */
  get viaCount(): number {
    let n = 0;
    const hdr = this.hdr;
    for (let k = this.indexOf(Hdr.Via); k >= 0; k = this.indexOf(Hdr.Via, k + 1)) {
      n +=
        splitCommaBytes(this.buf, hdr[k * HSTRIDE + 3] ?? 0, hdr[k * HSTRIDE + 4] ?? 0).length / 2;
    }
    return n;
  }

  /** The From header (RFC 3261 §20.20). */
  get from(): NameAddr | undefined {
    if (this.#from === NOT_YET) this.#from = this.#nameAddr(Hdr.From, 'From');
    return this.#from;
  }

  /** The To header (RFC 3261 §20.39). */
  get to(): NameAddr | undefined {
    if (this.#to === NOT_YET) this.#to = this.#nameAddr(Hdr.To, 'To');
    return this.#to;
  }

  #nameAddr(id: Hdr, field: string): NameAddr | undefined {
    const k = this.indexOf(id);
    if (k < 0) return undefined;
    const t = valueText(this, k);
    const r = parseNameAddrAt(t.b, t.s, field, t.a, t.z, false);
    return r.ok ? r.value : undefined;
  }

  /** The header parameter `tag` of header `id`, read without parsing the URI. */
  #tag(id: Hdr): string | undefined {
    const k = this.indexOf(id);
    if (k < 0) return undefined;
    const t = valueText(this, k);
    return nameAddrTag(t.b, t.s, t.a, t.z);
  }

  /**
   * The From tag. Read straight from the header's parameters without checking the rest of the
   * From value ({@link validateMessage} does that on the receive path).
   */
  get fromTag(): string | undefined {
    if (this.#fromTag === NOT_YET) {
      this.#fromTag = this.#from === NOT_YET ? this.#tag(Hdr.From) : this.#from?.tag;
    }
    return this.#fromTag;
  }

  /** The To tag; read like {@link fromTag}. */
  get toTag(): string | undefined {
    if (this.#toTag === NOT_YET)
      this.#toTag = this.#to === NOT_YET ? this.#tag(Hdr.To) : this.#to?.tag;
    return this.#toTag;
  }

  /** The Call-ID value as written. */
  get callId(): string | undefined {
    if (this.#callId === NOT_YET) this.#callId = this.getHeader(Hdr.CallId);
    return this.#callId;
  }

  /** CSeq number and method (RFC 3261 §20.16). */
  get cseq(): CSeq | undefined {
    if (this.#cseq === NOT_YET) {
      const k = this.indexOf(Hdr.CSeq);
      let c: CSeq | undefined;
      if (k >= 0) {
        const t = valueText(this, k);
        const r = readCSeq(t.b, t.s, t.a, t.z);
        c = typeof r === 'string' ? undefined : r;
      }
      this.#cseq = c;
    }
    return this.#cseq;
  }

  #uint(id: Hdr, max?: number): number | undefined {
    const k = this.indexOf(id);
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
    if (this.#contacts === NOT_YET) {
      let r: ReturnType<typeof parseContactRanges> | undefined;
      const k0 = this.indexOf(Hdr.Contact);
      if (k0 >= 0) {
        const ranges: number[] = [];
        const o = k0 * HSTRIDE;
        const x = this.hdr[o + 3] ?? 0;
        const y = this.hdr[o + 4] ?? 0;
        const comma = this.raw.indexOf(',', x);
        if (!this.folded && (comma < 0 || comma >= y) && this.indexOf(Hdr.Contact, k0 + 1) < 0) {
          // one Contact header holding one value: read its structure, its parameters on first use
          if (y - x === 1 && this.buf[x] === 0x2a) this.#contacts = { star: true, contacts: [] };
          else {
            const na = quickNameAddr(this.buf, this.raw, x, y);
            // `*;expires=0` is not the wildcard, nor an address (RFC 3261 §20.10: STAR alone)
            if (na === undefined || (!na.angle && na.uriText === '*')) this.#contacts = undefined;
            else this.#contacts = { star: false, contacts: [na] };
          }
          return this.#contacts;
        }
        if (!this.folded) {
          for (let k = k0; k >= 0; k = this.indexOf(Hdr.Contact, k + 1)) {
            ranges.push(this.hdr[k * HSTRIDE + 3] ?? 0, this.hdr[k * HSTRIDE + 4] ?? 0);
          }
          r = parseContactRanges(this.buf, this.raw, ranges, false);
        } else {
          // parse the unfolded values joined in one string
          let joined = '';
          for (let k = k0; k >= 0; k = this.indexOf(Hdr.Contact, k + 1)) {
            const v = this.headerValueAt(k);
            ranges.push(joined.length, joined.length + v.length);
            joined += v;
          }
          r = parseContactRanges(bytesOf(joined), joined, ranges, false);
        }
      }
      this.#contacts = r?.ok ? r.value : undefined;
    }
    return this.#contacts;
  }

  /**
   * Parsed name-addr list of Route / Record-Route / Path (or any address-list header), in order;
   * [] when absent, undefined when malformed.
   */
  addressList(name: HeaderName): NameAddr[] | undefined {
    const key = typeof name === 'number' ? `#${name}` : name.toLowerCase();
    this.#lists ??= new Map();
    if (this.#lists.has(key)) return this.#lists.get(key);
    const out: NameAddr[] = [];
    let bad = false;
    const field = typeof name === 'number' ? name.toString() : name;
    for (let k = this.indexOf(name); k >= 0 && !bad; k = this.indexOf(name, k + 1)) {
      const t = valueText(this, k);
      bad = parseNameAddrList(t.b, t.s, field, t.a, t.z, out, false) !== undefined;
    }
    const res = bad ? undefined : out;
    this.#lists.set(key, res);
    return res;
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
    return this.optionTags(name).includes(tag.toLowerCase());
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
  #ruri: Lazy<Uri | undefined> = NOT_YET;

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
    if (this.#ruri === NOT_YET) {
      const r = parseUri(this.uri);
      this.#ruri = r.ok ? r.value : undefined;
    }
    return this.#ruri;
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
