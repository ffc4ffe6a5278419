import { InvalidArgumentError } from '../errors/sip-error.js';
import { HDR_NAMES, Hdr } from './constants.js';
import type { SipMessage } from './message.js';
import { HSTRIDE, SipRequest } from './message.js';
import { WireBuilder } from './wire.js';

/** Throws unless `line` is one header line of wire text: `name: value`, no CR or LF. */
function checkLine(line: string): void {
  if (/[\r\n]/.test(line) || !/^[!%'*+\-.0-9A-Z_`a-z~]+[ \t]*:/.test(line)) {
    throw new InvalidArgumentError(
      `not a single header line: ${JSON.stringify(line.slice(0, 80))}`,
    );
  }
}

function checkText(what: string, text: string): void {
  if (/[\r\n]/.test(text)) throw new InvalidArgumentError(`${what} must not contain CR or LF`);
}

/**
 * Changes to a message, kept apart from its bytes and applied when serializing (Kamailio's
 * "lumps"): headers nobody touched are forwarded byte for byte. Several edit lists can be applied
 * together (message-wide changes from the script plus per-branch changes from the proxy core).
 *
 * Header positions are indexes of the header fields of the original message (see
 * `SipMessage.indexOf`). Text given here is wire text: latin1 strings, one char per byte (see
 * {@link toWire}); lines are checked for CR/LF so that no edit can inject a header or end the
 * header block. Content-Length is owned by {@link serialize}: edits of that header are ignored.
 */
export class EditList {
  /** Headers removed, by index. */
  removed: Set<number> | undefined;
  /** New values for headers, by index (name kept as written). */
  replaced: Map<number, string> | undefined;
  /** Header lines (without CRLF) inserted before header k. */
  before: Map<number, string[]> | undefined;
  /** Header lines inserted before the first header (at the very top of the header block). */
  top: string[] | undefined;
  /** Header lines appended after the last header. */
  end: string[] | undefined;
  /** New Request-URI. */
  requestUri: string | undefined;
  /** New body (Content-Length is recomputed). */
  body: Buffer | undefined;

  /** True when the list changes nothing. */
  get isEmpty(): boolean {
    return (
      this.removed === undefined &&
      this.replaced === undefined &&
      this.before === undefined &&
      this.top === undefined &&
      this.end === undefined &&
      this.requestUri === undefined &&
      this.body === undefined
    );
  }

  /** Removes header k of the original message. */
  removeHeader(k: number): this {
    this.removed ??= new Set();
    this.removed.add(k);
    return this;
  }

  /** Removes every header named `name`; returns how many. */
  removeAll(msg: SipMessage, name: Hdr | string): number {
    const ks = msg.indexesOf(name);
    for (const k of ks) this.removeHeader(k);
    return ks.length;
  }

  /** Replaces the value of header k (its name is kept as written, compact forms included). */
  replaceHeader(k: number, value: string): this {
    checkText('a header value', value);
    this.replaced ??= new Map();
    this.replaced.set(k, value);
    return this;
  }

  /** Inserts a header line (`Name: value`, no CRLF) before header k of the original message. */
  insertBefore(k: number, line: string): this {
    checkLine(line);
    this.before ??= new Map();
    const l = this.before.get(k);
    if (l === undefined) this.before.set(k, [line]);
    else l.push(line);
    return this;
  }

  /** Inserts a header line at the top of the header block (e.g. a Via or Record-Route). */
  insertTop(line: string): this {
    checkLine(line);
    this.top ??= [];
    this.top.push(line);
    return this;
  }

  /** Appends a header line after the last header. */
  append(line: string): this {
    checkLine(line);
    this.end ??= [];
    this.end.push(line);
    return this;
  }

  /** Rewrites the Request-URI (requests only; ignored for responses). */
  setRequestUri(uri: string): this {
    if (/[\s<>]/.test(uri) || uri.length === 0)
      throw new InvalidArgumentError(`bad Request-URI: ${JSON.stringify(uri.slice(0, 80))}`);
    this.requestUri = uri;
    return this;
  }

  /** Replaces the body (Content-Length follows; Content-Type is the caller's business). */
  setBody(body: Buffer): this {
    this.body = body;
    return this;
  }

  /** An independent copy (e.g. per forked branch). */
  clone(): EditList {
    const e = new EditList();
    if (this.removed) e.removed = new Set(this.removed);
    if (this.replaced) e.replaced = new Map(this.replaced);
    if (this.before) e.before = new Map([...this.before].map(([k, v]) => [k, [...v]]));
    if (this.top) e.top = [...this.top];
    if (this.end) e.end = [...this.end];
    e.requestUri = this.requestUri;
    e.body = this.body;
    return e;
  }
}

/** Converts a JavaScript string to wire text (UTF-8 bytes as a latin1 string). */
export function toWire(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  }
  return s;
}

const CL = HDR_NAMES[Hdr.ContentLength] as string;
const WIRE = new WireBuilder();

/** Writes header lines, each with its CRLF. */
function lines(w: WireBuilder, ls: readonly string[] | undefined): void {
  if (ls === undefined) return;
  for (let i = 0; i < ls.length; i++) w.text(ls[i] ?? '').text('\r\n');
}

/**
 * Writes a message with the given edit lists applied, in order: the start line (with a new
 * Request-URI if set), then for each original header the lines inserted before it and the header
 * itself (removed, with a new value, or its original bytes, folding and name spelling included),
 * then the appended lines, the empty line and the body.
 *
 * Content-Length always ends up correct and present exactly once (RFC 3261 §18.3, §20.14: it is
 * mandatory on stream transports): an existing header keeps its place and name (`l:` stays
 * compact) and is rewritten only when its value is wrong; a message without one gets
 * `Content-Length` after the other headers. With no edits and a correct Content-Length the
 * original bytes are returned without a copy.
 */
export function serialize(msg: SipMessage, ...lists: (EditList | undefined)[]): Buffer {
  const edits = lists.filter((l): l is EditList => l !== undefined && !l.isEmpty);
  let bodyBuf: Buffer | undefined;
  let ruri: string | undefined;
  for (const e of edits) {
    if (e.body !== undefined) bodyBuf = e.body;
    if (e.requestUri !== undefined) ruri = e.requestUri;
  }
  const bodyLen = bodyBuf === undefined ? msg.bodyEnd - msg.bodyStart : bodyBuf.length;
  const clK = msg.indexOf(Hdr.ContentLength);
  const clOk = clK >= 0 && msg.contentLength === bodyLen;
  if (edits.length === 0 && clOk) return msg.bytes;

  // the pieces go straight into the result (no string per header line, issue 12 §1)
  const w = WIRE.start(msg.buf);
  if (ruri !== undefined && msg instanceof SipRequest)
    w.text(msg.method).text(' ').text(ruri).text(' ').text(msg.version).text('\r\n');
  else w.range(msg.startLineStart, msg.headersStart);
  // indexed loops: no iterator per header and edit list
  const ne = edits.length;
  for (let x = 0; x < ne; x++) lines(w, edits[x]?.top);
  const n = msg.headerCount;
  const hdr = msg.hdr;
  for (let k = 0; k < n; k++) {
    for (let x = 0; x < ne; x++) lines(w, edits[x]?.before?.get(k));
    const o = k * HSTRIDE;
    if (k === clK) {
      // Content-Length belongs to serialize: kept in place, rewritten when wrong
      if (clOk) w.range(msg.headerLineStart(k), msg.headerLineEnd(k));
      else
        w.range(hdr[o + 1] ?? 0, hdr[o + 2] ?? 0)
          .text(': ')
          .text(String(bodyLen))
          .text('\r\n');
      continue;
    }
    let removed = false;
    let value: string | undefined;
    for (let x = 0; x < ne; x++) {
      const e = edits[x] as EditList;
      if (e.removed?.has(k)) removed = true;
      const v = e.replaced?.get(k);
      if (v !== undefined) value = v;
    }
    if (removed) continue;
    // a new value keeps the name as written
    if (value !== undefined)
      w.range(hdr[o + 1] ?? 0, hdr[o + 2] ?? 0)
        .text(': ')
        .text(value)
        .text('\r\n');
    else w.range(msg.headerLineStart(k), msg.headerLineEnd(k));
  }
  for (let x = 0; x < ne; x++) lines(w, edits[x]?.end);
  if (clK < 0) w.text(CL).text(': ').text(String(bodyLen)).text('\r\n');
  w.text('\r\n');
  if (bodyBuf === undefined) w.range(msg.bodyStart, msg.bodyEnd);
  else w.bytes(bodyBuf);
  return w.finish();
}
