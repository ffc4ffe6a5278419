/**
 * Copies of small byte strings that are kept for about the same time, packed one after another
 * into shared slabs.
 *
 * Why: `Buffer.from(string)` under 4 KB hands out a slice of Node's shared 8 KB pool, and a slice
 * keeps its whole slab alive. A finished UDP transaction keeps its final response for 32 s (RFC
 * 3261 timer J) while every other slice of that slab (requests, other responses) died within
 * milliseconds, so at a few hundred requests a second most of the retained memory was slabs
 * held by one small slice each. Copies that all live the same time, in order, free their slab
 * together: at most one slab is partly wasted.
 */
export class ByteArena {
  readonly #slabSize: number;
  #slab: Buffer | undefined;
  #used = 0;

  /** @param slabSize bytes per slab; a copy larger than a quarter of it gets its own memory */
  constructor(slabSize = 64 * 1024) {
    this.#slabSize = slabSize;
  }

  /** `bytes` itself when it owns all of its memory, else a copy in the current slab. */
  keep(bytes: Buffer): Buffer {
    const n = bytes.length;
    if (bytes.byteOffset === 0 && bytes.buffer.byteLength === n) return bytes;
    if (n > this.#slabSize >>> 2) {
      const own = Buffer.allocUnsafeSlow(n);
      own.set(bytes);
      return own;
    }
    let slab = this.#slab;
    if (slab === undefined || this.#used + n > slab.length) {
      slab = Buffer.allocUnsafeSlow(this.#slabSize);
      this.#slab = slab;
      this.#used = 0;
    }
    const out = slab.subarray(this.#used, this.#used + n);
    // TypedArray#set: a V8 builtin, no call into Node's C++
    out.set(bytes);
    this.#used += n;
    return out;
  }
}
