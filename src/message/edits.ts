import { Hdr, HDR_NAMES } from './constants.js';
import type { SipMessage } from './message.js';
import { SipRequest } from './message.js';

/**
 * Changes to a message, kept apart from its bytes and applied when serializing (Kamailio's "lumps"):
 * headers nobody touched are forwarded byte for byte. Several edit lists can be applied together
 * (message-wide changes from the script plus per-branch changes from the proxy core).
 *
 * Header positions refer to the header fields of the original message (see `SipMessage.indexOf`).
 * Text given here is wire text: latin1 strings, one char per byte (see {@link toWire}).
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

  removeHeader(k: number): this {
    (this.removed ??= new Set()).add(k);
    return this;
  }

  /** Removes every header named `name`; returns how many. */
  removeAll(msg: SipMessage, name: Hdr | string): number {
    const ks = msg.indexesOf(name);
    for (const k of ks) this.removeHeader(k);
    return ks.length;
  }

  replaceHeader(k: number, value: string): this {
    (this.replaced ??= new Map()).set(k, value);
    return this;
  }

  insertBefore(k: number, line: string): this {
    this.before ??= new Map();
    const l = this.before.get(k);
    if (l === undefined) this.before.set(k, [line]);
    else l.push(line);
    return this;
  }

  insertTop(line: string): this {
    (this.top ??= []).push(line);
    return this;
  }

  append(line: string): this {
    (this.end ??= []).push(line);
    return this;
  }

  setRequestUri(uri: string): this {
    this.requestUri = uri;
    return this;
  }

  setBody(body: Buffer): this {
    this.body = body;
    return this;
  }

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
  // fast path: pure ASCII needs no conversion
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'utf8').toString('latin1');
  }
  return s;
}

const CL = HDR_NAMES[Hdr.ContentLength] as string;

/**
 * Writes a message with the given edit lists applied, in order. Content-Length is made correct
 * (RFC 3261 §20.14: mandatory on stream transports, so it is added when missing). With no edits
 * and a correct Content-Length, the original bytes are returned without a copy.
 */
export function serialize(msg: SipMessage, ...lists: (EditList | undefined)[]): Buffer {
  const edits = lists.filter((l): l is EditList => l !== undefined && !l.isEmpty);
  const raw = msg.raw;
  let bodyStr: string | undefined;
  let bodyBuf: Buffer | undefined;
  for (const e of edits) if (e.body !== undefined) bodyBuf = e.body;
  const bodyLen = bodyBuf === undefined ? msg.bodyEnd - msg.bodyStart : bodyBuf.length;
  const clK = msg.indexOf(Hdr.ContentLength);
  let clRemoved = false;
  for (const e of edits) if (clK >= 0 && e.removed?.has(clK)) clRemoved = true;
  const clOk = clK >= 0 && !clRemoved && msg.contentLength === bodyLen && !edits.some((e) => e.replaced?.has(clK));
  if (edits.length === 0 && clOk) return msg.bytes;

  // start line
  let out: string;
  let ruri: string | undefined;
  for (const e of edits) if (e.requestUri !== undefined) ruri = e.requestUri;
  if (ruri !== undefined && msg instanceof SipRequest) out = `${msg.method} ${ruri} ${msg.version}\r\n`;
  else out = raw.slice(msg.startLineStart, msg.headersStart);
  for (const e of edits) if (e.top) for (const l of e.top) out += `${l}\r\n`;
  const n = msg.headerCount;
  for (let k = 0; k < n; k++) {
    for (const e of edits) {
      const b = e.before?.get(k);
      if (b) for (const l of b) out += `${l}\r\n`;
    }
    if (k === clK) continue; // written at the end, with the right value
    let removed = false;
    let value: string | undefined;
    for (const e of edits) {
      if (e.removed?.has(k)) removed = true;
      const v = e.replaced?.get(k);
      if (v !== undefined) value = v;
    }
    if (removed) continue;
    if (value !== undefined) out += `${msg.headerNameAt(k)}: ${value}\r\n`;
    else {
      const ls = msg.headerLineStart(k);
      const le = msg.headerLineEnd(k);
      out += raw.slice(ls, le);
      if (raw.charCodeAt(le - 1) !== 0x0a) out += '\r\n';
    }
  }
  for (const e of edits) if (e.end) for (const l of e.end) out += `${l}\r\n`;
  if (clOk) out += raw.slice(msg.headerLineStart(clK), msg.headerLineEnd(clK));
  else if (!clRemoved || bodyLen > 0 || clK < 0) out += `${clK >= 0 && !clRemoved ? msg.headerNameAt(clK) : CL}: ${bodyLen}\r\n`;
  out += '\r\n';
  if (bodyBuf === undefined) {
    bodyStr = raw.slice(msg.bodyStart, msg.bodyEnd);
    return Buffer.from(out + bodyStr, 'latin1');
  }
  const head = Buffer.from(out, 'latin1');
  return Buffer.concat([head, bodyBuf], head.length + bodyBuf.length);
}
