// A small builder for test messages:
//   req('REGISTER').to('sip:a@x').contact('<sip:a@1.2.3.4>;reg-id=1').build()   -> SipRequest
//   res(200).via('SIP/2.0/UDP h;branch=z9hG4bK1').bytes()                          -> Buffer
// Every header gets a sensible default; `.without(name)` drops one, `.header(name, value)` adds
// any header as written, `.compact()` writes the compact forms. Content-Length follows the body
// unless `.contentLength(n)` or `.without('Content-Length')` says otherwise.

import type { SipMessage, SipRequest, SipResponse } from '../../src/message/message.js';
import { scanMessage } from '../../src/message/scanner.js';

let counter = 0;

const COMPACT: Record<string, string> = {
  via: 'v',
  from: 'f',
  to: 't',
  'call-id': 'i',
  contact: 'm',
  'content-length': 'l',
  'content-type': 'c',
  supported: 'k',
};

/** `sip:a@x` → `<sip:a@x>`; values already holding `<` are kept. */
function addr(v: string): string {
  return v.includes('<') ? v : `<${v}>`;
}

/** Builds the wire text of one test message. */
export class MessageBuilder<T extends SipMessage> {
  readonly #startLine: string;
  readonly #method: string | undefined;
  #headers: [string, string][] = [];
  #body = '';
  #contentLength: number | undefined;
  #compact = false;
  #lineEnd = '\r\n';

  constructor(startLine: string, method: string | undefined, defaults: [string, string][]) {
    this.#startLine = startLine;
    this.#method = method;
    this.#headers = defaults;
  }

  #set(name: string, value: string): this {
    const i = this.#headers.findIndex(([n]) => n.toLowerCase() === name.toLowerCase());
    if (i >= 0) this.#headers[i] = [name, value];
    else this.#headers.push([name, value]);
    return this;
  }

  /** Replaces the (first) Via. */
  via(v: string): this {
    return this.#set('Via', v);
  }

  /** Adds one more Via header field below the existing ones. */
  addVia(v: string): this {
    let last = -1;
    this.#headers.forEach(([n], i) => {
      if (n === 'Via') last = i;
    });
    this.#headers.splice(last + 1, 0, ['Via', v]);
    return this;
  }

  from(v: string): this {
    return this.#set('From', addr(v));
  }

  to(v: string): this {
    return this.#set('To', addr(v));
  }

  callId(v: string): this {
    return this.#set('Call-ID', v);
  }

  cseq(seq: number, method = this.#method ?? 'INVITE'): this {
    return this.#set('CSeq', `${seq} ${method}`);
  }

  maxForwards(n: number): this {
    return this.#set('Max-Forwards', String(n));
  }

  /** Adds a Contact header field (values are written as given). */
  contact(v: string): this {
    this.#headers.push(['Contact', v]);
    return this;
  }

  route(v: string): this {
    this.#headers.push(['Route', v]);
    return this;
  }

  /** Adds any header field as written. */
  header(name: string, value: string): this {
    this.#headers.push([name, value]);
    return this;
  }

  /** Removes every header field with that name (any case). */
  without(name: string): this {
    this.#headers = this.#headers.filter(([n]) => n.toLowerCase() !== name.toLowerCase());
    return this;
  }

  body(text: string, type = 'application/sdp'): this {
    this.#body = text;
    return this.#set('Content-Type', type);
  }

  /** Writes this Content-Length value instead of the body length. */
  contentLength(n: number): this {
    this.#contentLength = n;
    return this;
  }

  /** Writes the compact form of every header that has one. */
  compact(): this {
    this.#compact = true;
    return this;
  }

  /** Ends lines with a bare LF instead of CRLF. */
  bareLf(): this {
    this.#lineEnd = '\n';
    return this;
  }

  /** The message as wire text (latin1). */
  text(): string {
    const eol = this.#lineEnd;
    let out = `${this.#startLine}${eol}`;
    const hasCl = this.#headers.some(([n]) => n.toLowerCase() === 'content-length');
    const headers = hasCl
      ? this.#headers
      : [...this.#headers, ['Content-Length', ''] as [string, string]];
    for (const [n, v] of headers) {
      const name = this.#compact ? (COMPACT[n.toLowerCase()] ?? n) : n;
      const value =
        n.toLowerCase() === 'content-length' && v === ''
          ? String(this.#contentLength ?? Buffer.byteLength(this.#body, 'latin1'))
          : v;
      out += `${name}: ${value}${eol}`;
    }
    return `${out}${eol}${this.#body}`;
  }

  /** The message bytes. */
  bytes(): Buffer {
    return Buffer.from(this.text(), 'latin1');
  }

  /** Scans the message; throws when the scanner refuses it. */
  build(): T {
    const r = scanMessage(this.bytes());
    if (!r.ok) throw new Error(`test message does not scan: ${r.error.message}\n${this.text()}`);
    return r.msg as T;
  }
}

/** A request with Via, Max-Forwards, From (tagged), To, Call-ID, CSeq defaults. */
export function req(method: string, uri = 'sip:bob@example.com'): MessageBuilder<SipRequest> {
  counter++;
  return new MessageBuilder<SipRequest>(`${method} ${uri} SIP/2.0`, method, [
    ['Via', `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-test-${counter}`],
    ['Max-Forwards', '70'],
    ['From', `<sip:alice@example.com>;tag=from-${counter}`],
    ['To', `<${uri.startsWith('sip') ? uri : 'sip:bob@example.com'}>`],
    ['Call-ID', `call-${counter}@192.0.2.1`],
    ['CSeq', `1 ${method}`],
  ]);
}

/** A response with Via, From, To (tagged), Call-ID, CSeq defaults. */
export function res(status: number, reason = 'OK', method = 'INVITE'): MessageBuilder<SipResponse> {
  counter++;
  return new MessageBuilder<SipResponse>(`SIP/2.0 ${status} ${reason}`, undefined, [
    ['Via', `SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK-test-${counter}`],
    ['From', `<sip:alice@example.com>;tag=from-${counter}`],
    ['To', `<sip:bob@example.com>;tag=to-${counter}`],
    ['Call-ID', `call-${counter}@192.0.2.1`],
    ['CSeq', `1 ${method}`],
  ]);
}

/** Scans wire text; throws when the scanner refuses it. */
export function parse(text: string): SipMessage {
  const r = scanMessage(Buffer.from(text, 'latin1'));
  if (!r.ok) throw new Error(`does not scan: ${r.error.message}`);
  return r.msg;
}
