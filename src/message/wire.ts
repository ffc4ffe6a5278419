/**
 * Builds one Buffer from pieces: byte ranges of a source buffer (the received message) and wire
 * text (latin1 strings, one char per byte). The pieces are written straight into the result, with
 * no intermediate strings: concatenating `raw.slice()`s and templates per header line, then
 * flattening and encoding them, allocated several times the message size per forwarded message
 * (issue 12 §1).
 *
 * One builder is reused by its module: `start()` takes it, `finish()` returns the bytes and lets
 * go of every piece. A nested `start()` while one is being filled gets a fresh builder.
 */
export class WireBuilder {
  #src: Buffer | undefined;
  /**
   * Pieces: a string, a Buffer, or (for a range) the start offset followed by the end offset.
   * Filled up to #count and kept at its size (truncating the array would free its storage).
   */
  readonly #parts: (string | number | Buffer | undefined)[] = [];
  #count = 0;
  #length = 0;
  #busy = false;

  /** Takes this builder for `src` (the buffer ranges refer to), or a fresh one when it is busy. */
  start(src: Buffer): WireBuilder {
    const b = this.#busy ? new WireBuilder() : this;
    b.#busy = true;
    b.#src = src;
    return b;
  }

  /** Appends wire text. */
  text(s: string): this {
    if (s.length > 0) {
      this.#parts[this.#count++] = s;
      this.#length += s.length;
    }
    return this;
  }

  /** Appends bytes [a, b) of the source buffer. */
  range(a: number, b: number): this {
    if (b > a) {
      this.#parts[this.#count++] = a;
      this.#parts[this.#count++] = b;
      this.#length += b - a;
    }
    return this;
  }

  /** Appends a buffer (a body). */
  bytes(buf: Buffer): this {
    if (buf.length > 0) {
      this.#parts[this.#count++] = buf;
      this.#length += buf.length;
    }
    return this;
  }

  /** The bytes written so far, as one Buffer; the builder is free again. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.#length);
    const src = this.#src as Buffer;
    const parts = this.#parts;
    const count = this.#count;
    let pos = 0;
    for (let i = 0; i < count; i++) {
      const p = parts[i];
      parts[i] = undefined;
      if (typeof p === 'string') pos += out.write(p, pos, 'latin1');
      else if (typeof p === 'number') {
        // byte by byte: Buffer#copy of a range makes a typed-array view per call
        const end = parts[++i] as number;
        parts[i] = undefined;
        for (let j = p; j < end; j++) out[pos++] = src[j] ?? 0;
      } else if (p !== undefined) {
        out.set(p, pos);
        pos += p.length;
      }
    }
    this.#count = 0;
    this.#length = 0;
    this.#src = undefined;
    this.#busy = false;
    return out;
  }
}
