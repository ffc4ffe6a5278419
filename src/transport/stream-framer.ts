/**
 * Content-Length framing of SIP over a byte stream (TCP, TLS), RFC 3261 §18.3, with the RFC 5626
 * §3.5.1 CRLF keep-alive: an explicit state loop over the bytes buffered so far. It never looks
 * past what it holds, never runs a regular expression over the stream, and copies only the part of
 * a message that spans chunks.
 *
 * The verdict (messages, pings, and which error after which message) is the same for every split
 * of the stream: each limit is checked against the current message's own bytes, measured from its
 * first byte, never against how much happens to be buffered. In order, for one message:
 * 1. its header block must end within `min(maxMessageSize, maxBufferedBytes)` bytes, else
 *    `header-too-large` (or `overflow` when `maxBufferedBytes` is the smaller cap): decided as soon
 *    as that many bytes are held, so its Content-Length is never judged;
 * 2. Content-Length present and readable (`missing-content-length`, `bad-content-length`);
 * 3. header + body within `maxMessageSize` (`message-too-large`), then within `maxBufferedBytes`
 *    (`overflow`): decided when the header block ends.
 */

/** What the framer reports as wrong with a stream; every one ends the connection. */
export const FramingErrorCode = {
  /** A header block without Content-Length (RFC 3261 §18.3: mandatory on streams). */
  MissingContentLength: 'missing-content-length',
  /** Content-Length is not a number, or several differ. */
  BadContentLength: 'bad-content-length',
  /** The header block ended, but header + body exceed `maxMessageSize`. */
  MessageTooLarge: 'message-too-large',
  /** No end of the header block within `maxMessageSize` bytes. */
  HeaderTooLarge: 'header-too-large',
  /**
   * A message that would need more than `maxBufferedBytes` buffered (only when that is below
   * `maxMessageSize`): no end of its header block within `maxBufferedBytes` bytes, or header +
   * body larger than `maxBufferedBytes`.
   */
  Overflow: 'overflow',
} as const;
export type FramingErrorCode = (typeof FramingErrorCode)[keyof typeof FramingErrorCode];

/** A framing failure. `header` is the complete header block when one was delimited (a reply may be possible). */
export interface FramingError {
  readonly code: FramingErrorCode;
  /** SIP status for a reply, when one can be sent (400 or 513). */
  readonly status: number;
  readonly detail: string;
  readonly header: Buffer | undefined;
}

/** Receives the framer's output, synchronously, in stream order. */
export interface FramerSink {
  /** One complete SIP message (header block and Content-Length bytes of body). */
  onFrame(message: Buffer): void;
  /** A `\r\n\r\n` keep-alive ping at a message boundary (RFC 5626 §3.5.1): answer one `\r\n`. */
  onPing(): void;
  /** The stream cannot be framed any more; the framer stops. */
  onFramingError(error: FramingError): void;
}

export interface FramerLimits {
  /** Largest message (header block + body), bytes. */
  readonly maxMessageSize: number;
  /** Most bytes held while waiting for the rest of a message. */
  readonly maxBufferedBytes: number;
}

const CR = 0x0d;
const LF = 0x0a;

// States of the loop (const numbers: compared on every byte run, not per byte).
const BOUNDARY = 0; // between messages: CRLF keep-alives, stray CRLF
const HEADERS = 1; // inside a header block, looking for the empty line
const BODY = 2; // header block done, waiting for Content-Length bytes
const STOPPED = 3; // after an error or stop(): ignore everything

/**
 * Splits a SIP byte stream into messages. Feed it every chunk with {@link push}; it calls the sink
 * once per message, once per CRLF ping, or once with an error (then it stops).
 */
export class StreamFramer {
  readonly #sink: FramerSink;
  readonly #maxMessage: number;
  readonly #maxBuffered: number;
  /** The header block must end within this many bytes of the message's start. */
  readonly #headerCap: number;
  #state: number = BOUNDARY;
  /** Pending bytes live in #store[#off, #off + #len). */
  #store: Buffer = EMPTY;
  #off = 0;
  #len = 0;
  /** Within the current message: where to resume the search for the header end. */
  #scanFrom = 0;
  /** Within the current message: its total length, once known. */
  #total = 0;

  constructor(sink: FramerSink, limits: FramerLimits) {
    this.#sink = sink;
    this.#maxMessage = limits.maxMessageSize;
    this.#maxBuffered = limits.maxBufferedBytes;
    this.#headerCap = Math.min(this.#maxMessage, this.#maxBuffered);
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.#len;
  }

  /** True once an error was reported or {@link stop} was called. */
  get stopped(): boolean {
    return this.#state === STOPPED;
  }

  /** Stops framing (the connection is closing): later chunks and remaining bytes are ignored. */
  stop(): void {
    this.#state = STOPPED;
    this.#store = EMPTY;
    this.#off = 0;
    this.#len = 0;
  }

  /** Consumes one chunk; may call the sink any number of times before it returns. */
  push(chunk: Buffer): void {
    if (this.#state === STOPPED || chunk.length === 0) return;
    // Pending bytes never exceed the caps: an incomplete header block holds fewer than
    // #headerCap bytes and an incomplete message fewer than its total (≤ both limits), or they are
    // at most 3 bytes of an undecided CRLF run. So no separate check of the buffered length.
    if (this.#len === 0) {
      // Fast path: nothing pending, frame straight from the chunk (no copy for whole messages).
      const used = this.#run(chunk, 0, chunk.length, false);
      if (this.#state !== STOPPED && used < chunk.length) this.#keep(chunk, used);
      return;
    }
    this.#append(chunk);
    const used = this.#run(this.#store, this.#off, this.#off + this.#len, true);
    if (this.#state === STOPPED) return;
    this.#len -= used - this.#off;
    this.#off = used;
    if (this.#len === 0) {
      // Drop a large store once it is empty so one big message does not pin memory.
      if (this.#store.length > 16_384) this.#store = EMPTY;
      this.#off = 0;
    }
  }

  /**
   * The loop. Works on buf[pos, end); returns the position of the first byte not consumed (the
   * start of the incomplete message, or of an undecided CRLF run). `pending` tells whether `buf`
   * is the reused store (emitted messages must then be copied).
   */
  #run(buf: Buffer, pos: number, end: number, pending: boolean): number {
    const sink = this.#sink;
    while (pos < end) {
      switch (this.#state) {
        case BOUNDARY: {
          const c = buf[pos];
          if (c === CR) {
            // RFC 5626 §3.5.1: CRLFCRLF is a ping, a single CRLF a pong (or stray CRLF, RFC 3261 §7.5)
            if (pos + 1 >= end) return pos;
            if (buf[pos + 1] !== LF) {
              pos += 1; // stray CR
              continue;
            }
            if (pos + 2 >= end) return pos;
            if (buf[pos + 2] !== CR) {
              pos += 2; // lone CRLF before a message: skipped silently
              continue;
            }
            if (pos + 3 >= end) return pos;
            if (buf[pos + 3] === LF) {
              pos += 4;
              sink.onPing();
              if (this.stopped) return end; // the sink closed the connection
            } else pos += 2;
            continue;
          }
          if (c === LF) {
            pos += 1; // stray LF
            continue;
          }
          this.#state = HEADERS;
          this.#scanFrom = 0;
          this.#total = 0;
          break;
        }
        case HEADERS: {
          // The header block ends at an empty line: LF followed by CRLF or by LF (RFC 3261 §7).
          // Only an end within #headerCap bytes counts, so every byte looked at, the peeks after
          // an LF included, stays below `limit`: looking further when more happens to be held
          // would find an end that a split stream cannot reach before the cap.
          const cap = this.#headerCap;
          const limit = Math.min(end, pos + cap);
          let i = pos + this.#scanFrom;
          let headerEnd = -1;
          while (i < limit) {
            const lf = buf.indexOf(LF, i);
            if (lf < 0 || lf >= limit) {
              i = limit;
              break;
            }
            const n1 = lf + 1 < limit ? buf[lf + 1] : -1;
            if (n1 === LF) {
              headerEnd = lf + 2;
              break;
            }
            if (n1 === CR) {
              const n2 = lf + 2 < limit ? buf[lf + 2] : -1;
              if (n2 === LF) {
                headerEnd = lf + 3;
                break;
              }
              if (n2 === -1) {
                i = lf;
                break;
              }
            } else if (n1 === -1) {
              i = lf;
              break;
            }
            i = lf + 1;
          }
          if (headerEnd < 0) {
            // The cap is checked before the header's contents: a block that has not ended within
            // it is refused whatever its Content-Length says.
            if (end - pos >= cap) {
              if (cap < this.#maxMessage) {
                return this.#fail(
                  FramingErrorCode.Overflow,
                  0,
                  `no end of header block within ${cap} bytes (maxBufferedBytes)`,
                  undefined,
                );
              }
              return this.#fail(
                FramingErrorCode.HeaderTooLarge,
                513,
                `no end of header block within ${cap} bytes`,
                undefined,
              );
            }
            this.#scanFrom = i - pos;
            return pos;
          }
          const cl = findContentLength(buf, pos, headerEnd);
          if (cl === NO_CL) {
            // RFC 3261 §18.3: on stream transports Content-Length MUST be present
            const header = Buffer.from(buf.subarray(pos, headerEnd));
            return this.#fail(
              FramingErrorCode.MissingContentLength,
              400,
              'missing Content-Length on a stream transport',
              header,
            );
          }
          if (cl === BAD_CL) {
            const header = Buffer.from(buf.subarray(pos, headerEnd));
            return this.#fail(
              FramingErrorCode.BadContentLength,
              400,
              'unreadable Content-Length',
              header,
            );
          }
          const total = headerEnd - pos + cl;
          if (total > this.#maxMessage) {
            // RFC 3261 §21.5.14: 513 Message Too Large
            const header = Buffer.from(buf.subarray(pos, headerEnd));
            return this.#fail(
              FramingErrorCode.MessageTooLarge,
              513,
              `message of ${total} bytes exceeds ${this.#maxMessage}`,
              header,
            );
          }
          if (total > this.#maxBuffered) {
            // Judged by the message's size, not by what is buffered now, so that a message
            // delivered in one chunk gets the same verdict as one delivered in pieces.
            return this.#fail(
              FramingErrorCode.Overflow,
              0,
              `message of ${total} bytes exceeds maxBufferedBytes ${this.#maxBuffered}`,
              undefined,
            );
          }
          this.#total = total;
          this.#state = BODY;
          break;
        }
        case BODY: {
          const total = this.#total;
          if (end - pos < total) return pos;
          const msg = buf.subarray(pos, pos + total);
          pos += total;
          this.#state = BOUNDARY;
          sink.onFrame(pending ? Buffer.from(msg) : detach(msg));
          if (this.stopped) return end; // the sink closed the connection
          break;
        }
        default:
          return end;
      }
    }
    return pos;
  }

  #fail(
    code: FramingErrorCode,
    status: number,
    detail: string,
    header: Buffer | undefined,
  ): number {
    this.stop();
    this.#sink.onFramingError({ code, status, detail, header });
    return Number.MAX_SAFE_INTEGER;
  }

  /** Keeps chunk[from..] as the pending bytes (first call after an empty store). */
  #keep(chunk: Buffer, from: number): void {
    const n = chunk.length - from;
    if (this.#store.length < n) this.#store = Buffer.allocUnsafe(Math.max(n * 2, 1024));
    chunk.copy(this.#store, 0, from);
    this.#off = 0;
    this.#len = n;
  }

  #append(chunk: Buffer): void {
    const need = this.#len + chunk.length;
    if (this.#off + need > this.#store.length) {
      if (need <= this.#store.length) {
        // compact in place
        this.#store.copy(this.#store, 0, this.#off, this.#off + this.#len);
      } else {
        // grow geometrically: appending n small chunks costs O(total), not O(n²)
        const grown = Buffer.allocUnsafe(Math.max(need, this.#store.length * 2));
        this.#store.copy(grown, 0, this.#off, this.#off + this.#len);
        this.#store = grown;
      }
      this.#off = 0;
    }
    chunk.copy(this.#store, this.#off + this.#len);
    this.#len = need;
  }
}

const EMPTY = Buffer.alloc(0);
const NO_CL = -1;
const BAD_CL = -2;

/**
 * A message cut from a socket chunk shares the chunk's memory. Keep the view when it covers most
 * of it; copy a small message out of a big read buffer so it does not pin the whole buffer.
 */
function detach(msg: Buffer): Buffer {
  return msg.buffer.byteLength > 2 * msg.length + 4096 ? Buffer.from(msg) : msg;
}

/**
 * Finds Content-Length (any case) or its compact form `l` (RFC 3261 §7.3.3, §20.14) in the header
 * block buf[start, end) and returns its value, {@link NO_CL} when absent or {@link BAD_CL} when a
 * value is not a number or two values differ. Skips the start line.
 */
export function findContentLength(buf: Buffer, start: number, end: number): number {
  let value = NO_CL;
  let line = buf.indexOf(LF, start);
  if (line < 0 || line >= end) return NO_CL;
  line += 1;
  while (line < end) {
    let nl = buf.indexOf(LF, line);
    if (nl < 0 || nl >= end) nl = end;
    const c0 = buf[line] ?? 0;
    // 'C'/'c' (Content-Length) or 'L'/'l' (compact form); continuation lines start with SP/HT.
    const lower = c0 | 0x20;
    if (lower === 0x63 || lower === 0x6c) {
      const v = contentLengthValue(buf, line, nl, end);
      if (v === BAD_CL) return BAD_CL;
      if (v !== NO_CL) {
        if (value !== NO_CL && value !== v) return BAD_CL;
        value = v;
      }
    }
    line = nl + 1;
  }
  return value;
}

const CONTENT_LENGTH = 'content-length';

/** Value of the header line buf[ls, le) if it is Content-Length / l, else NO_CL. */
function contentLengthValue(buf: Buffer, ls: number, le: number, blockEnd: number): number {
  let i = ls;
  if (((buf[i] ?? 0) | 0x20) === 0x6c) {
    i += 1; // compact 'l'
  } else {
    if (le - ls < CONTENT_LENGTH.length) return NO_CL;
    for (let k = 0; k < CONTENT_LENGTH.length; k++) {
      const b = buf[ls + k] ?? 0;
      const want = CONTENT_LENGTH.charCodeAt(k);
      if ((want === 0x2d ? b : b | 0x20) !== want) return NO_CL;
    }
    i = ls + CONTENT_LENGTH.length;
  }
  while (i < le && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  if (buf[i] !== 0x3a) return NO_CL; // another header whose name starts the same way
  i++;
  // the value may continue on folded lines (RFC 3261 §7.3.1)
  let v = 0;
  let digits = 0;
  let end = le;
  for (;;) {
    for (; i < end; i++) {
      const b = buf[i] ?? 0;
      if (b >= 0x30 && b <= 0x39) {
        if (digits > 0 && (buf[i - 1] === 0x20 || buf[i - 1] === 0x09)) return BAD_CL;
        v = v * 10 + (b - 0x30);
        if (++digits > 10) return BAD_CL;
      } else if (b !== 0x20 && b !== 0x09 && b !== CR) return BAD_CL;
    }
    const next = end + 1;
    if (next < blockEnd && (buf[next] === 0x20 || buf[next] === 0x09)) {
      i = next;
      const nl = buf.indexOf(LF, next);
      end = nl < 0 || nl >= blockEnd ? blockEnd : nl;
      continue;
    }
    break;
  }
  return digits === 0 ? BAD_CL : v;
}
