import { Hdr, headerId, LIST_HEADERS } from './constants.js';
import { type ContactList, parseContactValues } from './parse/contact.js';
import { type CSeq, parseCSeq, parseUint } from './parse/cseq.js';
import { type NameAddr, parseNameAddr } from './parse/name-addr.js';
import { splitCommaOffsets } from './parse/split.js';
import { parseUri, type Uri } from './parse/uri.js';
import { parseVia, type Via } from './parse/via.js';

/** Header stride in the offset table: [id, nameStart, nameEnd, valueStart, valueEnd]. */
export const HSTRIDE = 5;

const NOT_YET = Symbol('not-yet');
type Lazy<T> = T | typeof NOT_YET;

/** A header name to look up: a well-known id or any spelling of a name. */
export type HeaderName = Hdr | string;

function unfold(v: string): string {
  // RFC 3261 §7.3.1: folded lines are equivalent to a single SP
  return v.includes('\n') ? v.replace(/[ \t]*\r?\n[ \t]+/g, ' ') : v;
}

/**
 * A received (or built) SIP message: its bytes plus an offset table of the header fields. Header
 * values are parsed on first access and cached. The message itself is immutable; changes for
 * forwarding are kept in an {@link EditList} and applied when serializing.
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
  abstract readonly isRequest: boolean;

  #vias: Lazy<Via[] | undefined> = NOT_YET;
  #topVia: Lazy<Via | undefined> = NOT_YET;
  #from: Lazy<NameAddr | undefined> = NOT_YET;
  #to: Lazy<NameAddr | undefined> = NOT_YET;
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
  ) {
    this.buf = buf;
    this.raw = raw;
    this.hdr = hdr;
    this.startLineStart = startLineStart;
    this.headersStart = headersStart;
    this.headersEnd = headersEnd;
    this.bodyStart = bodyStart;
    this.bodyEnd = bodyEnd;
  }

  /** Number of header fields. */
  get headerCount(): number {
    return this.hdr.length / HSTRIDE;
  }

  headerIdAt(k: number): Hdr {
    return this.hdr[k * HSTRIDE] as Hdr;
  }

  /** Header name as written (may be a compact form). */
  headerNameAt(k: number): string {
    const o = k * HSTRIDE;
    return this.raw.slice(this.hdr[o + 1], this.hdr[o + 2]);
  }

  /** Header value with folding replaced by a single space. */
  headerValueAt(k: number): string {
    const o = k * HSTRIDE;
    return unfold(this.raw.slice(this.hdr[o + 3], this.hdr[o + 4]));
  }

  /** Start of header k's line. */
  headerLineStart(k: number): number {
    return this.hdr[k * HSTRIDE + 1] as number;
  }

  /** End of header k's line, including its CRLF. */
  headerLineEnd(k: number): number {
    const next = (k + 1) * HSTRIDE;
    return next < this.hdr.length ? (this.hdr[next + 1] as number) : this.headersEnd;
  }

  #matches(k: number, id: Hdr, lower: string | undefined): boolean {
    const o = k * HSTRIDE;
    if (id !== Hdr.Other) return this.hdr[o] === id;
    if (this.hdr[o] !== Hdr.Other || lower === undefined) return false;
    const ns = this.hdr[o + 1] as number;
    const ne = this.hdr[o + 2] as number;
    if (ne - ns !== lower.length) return false;
    return this.raw.slice(ns, ne).toLowerCase() === lower;
  }

  /** Index of the first header named `name` at or after `from`, or -1. */
  indexOf(name: HeaderName, from = 0): number {
    const id = typeof name === 'number' ? name : headerId(name);
    const lower = typeof name === 'string' && id === Hdr.Other ? name.toLowerCase() : undefined;
    const n = this.hdr.length / HSTRIDE;
    for (let k = from; k < n; k++) if (this.#matches(k, id, lower)) return k;
    return -1;
  }

  /** Indexes of every header named `name`. */
  indexesOf(name: HeaderName): number[] {
    const out: number[] = [];
    const id = typeof name === 'number' ? name : headerId(name);
    const lower = typeof name === 'string' && id === Hdr.Other ? name.toLowerCase() : undefined;
    const n = this.hdr.length / HSTRIDE;
    for (let k = 0; k < n; k++) if (this.#matches(k, id, lower)) out.push(k);
    return out;
  }

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
   * headers that are not lists (see {@link LIST_HEADERS}) each header field is one value.
   */
  getValues(name: HeaderName): string[] {
    const id = typeof name === 'number' ? name : headerId(name);
    const values = this.getHeaders(name);
    if (id === Hdr.Other ? false : !LIST_HEADERS.has(id)) return values;
    const out: string[] = [];
    for (const v of values) {
      const o = splitCommaOffsets(v);
      for (let i = 0; i < o.length; i += 2) out.push(v.slice(o[i], o[i + 1]));
    }
    return out;
  }

  /** Message body bytes (by Content-Length). */
  get body(): Buffer {
    return this.buf.subarray(this.bodyStart, this.bodyEnd);
  }

  get bodyLength(): number {
    return this.bodyEnd - this.bodyStart;
  }

  /** The message bytes exactly as received (without leading CRLFs or trailing datagram junk). */
  get bytes(): Buffer {
    return this.buf.subarray(this.startLineStart, this.bodyEnd);
  }

  // ---- typed accessors (undefined when the header is absent or malformed)

  /** The first Via value; only that value is parsed (the hot path for transaction matching). */
  get topVia(): Via | undefined {
    if (this.#topVia !== NOT_YET) return this.#topVia;
    let v: Via | undefined;
    const k = this.indexOf(Hdr.Via);
    if (k >= 0) {
      const o = k * HSTRIDE;
      const vs = this.hdr[o + 3] as number;
      const ve = this.hdr[o + 4] as number;
      const raw = this.raw;
      // find the first top-level comma without splitting the whole header
      let end = ve;
      let q = false;
      for (let i = vs; i < ve; i++) {
        const c = raw.charCodeAt(i);
        if (c === 0x22) q = !q;
        else if (c === 0x2c && !q) {
          end = i;
          break;
        }
      }
      const text = unfold(raw.slice(vs, end));
      const r = parseVia(text);
      v = r.ok ? r.value : undefined;
    }
    this.#topVia = v;
    return v;
  }

  /** Every Via value of the message, top first. */
  get vias(): Via[] | undefined {
    if (this.#vias !== NOT_YET) return this.#vias;
    const out: Via[] = [];
    let bad = false;
    for (const v of this.getValues(Hdr.Via)) {
      const r = parseVia(v);
      if (!r.ok) {
        bad = true;
        break;
      }
      out.push(r.value);
    }
    this.#vias = bad || out.length === 0 ? undefined : out;
    return this.#vias;
  }

  /** Number of Via values (comma-separated values counted one by one). */
  get viaCount(): number {
    let n = 0;
    for (const k of this.indexesOf(Hdr.Via)) n += splitCommaOffsets(this.headerValueAt(k)).length / 2;
    return n;
  }

  get from(): NameAddr | undefined {
    if (this.#from === NOT_YET) this.#from = this.#nameAddr(Hdr.From, 'From');
    return this.#from;
  }

  get to(): NameAddr | undefined {
    if (this.#to === NOT_YET) this.#to = this.#nameAddr(Hdr.To, 'To');
    return this.#to;
  }

  #nameAddr(id: Hdr, field: string): NameAddr | undefined {
    const v = this.getHeader(id);
    if (v === undefined) return undefined;
    const r = parseNameAddr(v, field);
    return r.ok ? r.value : undefined;
  }

  get fromTag(): string | undefined {
    const t = this.from?.params.get('tag');
    return typeof t === 'string' ? t : undefined;
  }

  get toTag(): string | undefined {
    const t = this.to?.params.get('tag');
    return typeof t === 'string' ? t : undefined;
  }

  get callId(): string | undefined {
    return this.getHeader(Hdr.CallId);
  }

  get cseq(): CSeq | undefined {
    if (this.#cseq === NOT_YET) {
      const v = this.getHeader(Hdr.CSeq);
      const r = v === undefined ? undefined : parseCSeq(v);
      this.#cseq = r?.ok ? r.value : undefined;
    }
    return this.#cseq;
  }

  /** Max-Forwards; undefined when absent, NaN when malformed. */
  get maxForwards(): number | undefined {
    const v = this.getHeader(Hdr.MaxForwards);
    if (v === undefined) return undefined;
    return parseUint(v, 255) ?? Number.NaN;
  }

  /** Content-Length header value; undefined when absent. */
  get contentLength(): number | undefined {
    const v = this.getHeader(Hdr.ContentLength);
    return v === undefined ? undefined : (parseUint(v) ?? Number.NaN);
  }

  /** Expires header; undefined when absent, NaN when malformed. */
  get expires(): number | undefined {
    const v = this.getHeader(Hdr.Expires);
    if (v === undefined) return undefined;
    return parseUint(v) ?? Number.NaN;
  }

  /** All Contact values, or `*`; undefined when absent or malformed. */
  get contacts(): ContactList | undefined {
    if (this.#contacts === NOT_YET) {
      const values = this.getHeaders(Hdr.Contact);
      const r = values.length === 0 ? undefined : parseContactValues(values);
      this.#contacts = r?.ok ? r.value : undefined;
    }
    return this.#contacts;
  }

  /** Parsed name-addr list of Route / Record-Route / Path (or any address list header); [] when absent, undefined when malformed. */
  addressList(name: HeaderName): NameAddr[] | undefined {
    const key = String(name).toLowerCase();
    this.#lists ??= new Map();
    if (this.#lists.has(key)) return this.#lists.get(key);
    const out: NameAddr[] = [];
    let bad = false;
    for (const v of this.getValues(name)) {
      const r = parseNameAddr(v, String(name));
      if (!r.ok) {
        bad = true;
        break;
      }
      out.push(r.value);
    }
    const res = bad ? undefined : out;
    this.#lists.set(key, res);
    return res;
  }

  get routes(): NameAddr[] | undefined {
    return this.addressList(Hdr.Route);
  }

  get recordRoutes(): NameAddr[] | undefined {
    return this.addressList(Hdr.RecordRoute);
  }

  get paths(): NameAddr[] | undefined {
    return this.addressList(Hdr.Path);
  }

  /** Option tags of Supported / Require / Proxy-Require / Unsupported, lower-cased. */
  optionTags(name: HeaderName): string[] {
    return this.getValues(name).map((t) => t.toLowerCase());
  }

  /** True if any header named `name` lists option tag `tag` (case-insensitive). */
  hasOptionTag(name: HeaderName, tag: string): boolean {
    const t = tag.toLowerCase();
    return this.optionTags(name).includes(t);
  }

  /** `Flow-Timer` (RFC 5626 §11): seconds, undefined when absent or malformed. */
  get flowTimer(): number | undefined {
    const v = this.getHeader(Hdr.FlowTimer);
    return v === undefined ? undefined : parseUint(v);
  }

  /** The method this message is about: request method, or the CSeq method of a response. */
  abstract get cseqMethod(): string | undefined;

  toString(): string {
    return this.raw.slice(this.startLineStart, this.bodyEnd);
  }
}

export class SipRequest extends SipMessage {
  readonly isRequest = true as const;
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
  ) {
    super(buf, raw, hdr, sl, hs, he, bs, be);
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

  get cseqMethod(): string {
    return this.method;
  }
}

export class SipResponse extends SipMessage {
  readonly isRequest = false as const;
  readonly version: string;
  readonly status: number;
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
  ) {
    super(buf, raw, hdr, sl, hs, he, bs, be);
    this.version = version;
    this.status = status;
    this.reason = reason;
  }

  get cseqMethod(): string | undefined {
    return this.cseq?.method;
  }
}
