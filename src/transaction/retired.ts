import type { SendTarget } from '../transport/types.js';
import { fnv1aMix } from '../util/hash.js';

/** Slots a table starts with, and never shrinks below (a power of two). */
const MIN_SLOTS = 1024;
/** Sequence numbers wrap at 2^30 (they stay small integers); ring sizes divide it. */
const SEQ_MASK = 2 ** 30 - 1;
/** Bytes of key text a table starts with, and never shrinks below (a power of two). */
const MIN_KEY_BYTES = 64 * 1024;
/**
 * How far from its hash's own place an index entry may sit. The index is at most half full
 * (a third, typically); there a run of 32 still happened by chance, twice in 750 000 entries of a
 * soak, and one of 128 has odds below 10^-20 per entry. Keys crafted to share hash places make one,
 * and past it a key is not indexed (`unindexed`, a metric): its transaction then does not absorb
 * retransmissions, which the transaction user sees as new requests, instead of every lookup
 * walking the run.
 */
const MAX_PROBE = 128;
/**
 * Distinct targets remembered for sharing; past it the cache starts again (entries keep the
 * target they got, so forgetting one only costs a duplicate object).
 */
const TARGET_CACHE = 4096;

/** Seed of the key hash, per process: where a key lands cannot be computed from outside. */
const SEED = (Math.random() * 0x100000000) | 0;

/** The key's hash as stored (Int32Array): FNV-1a with fmix32 (util/hash.ts), seeded per table. */
export function hashKey(key: string, seed: number): number {
  return fnv1aMix(key, seed ^ key.length) | 0;
}

/** Whether the key has a character that is not one byte (keys from latin1 message text never do). */
function wide(key: string): boolean {
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) return true;
  return false;
}

/**
 * Finished non-INVITE transactions waiting out timer J (server) or K (client), without a heap
 * object per transaction (issue 12).
 *
 * Why: at 2 500 REGISTER/s over UDP an edge holds ~80 000 of them for timer J's 32 s, a registrar
 * as many. Kept as objects, they were four of every five objects of the heap; every full
 * collection had to mark them, and each one outlived the young generation, so it was promoted
 * and later collected by a full collection: the more of them, the more often those came, and
 * each delays answers. Here a transaction is one slot of a ring of typed arrays: its deadline,
 * its key's hash and where its key's bytes are in a byte ring, and (server side) where its final's
 * bytes are, with references to shared objects (the arena slab, a target shared per
 * destination). The lookup is an open-addressing table of sequence numbers in an Int32Array. The
 * ring is in deadline order when every entry waits the same time, which is the case (64*T1 for
 * servers, T4 for clients), so the sweep takes entries off its head, and the key bytes leave the
 * byte ring in the order they came.
 */
export class RetiredTable {
  readonly #withBytes: boolean;
  readonly #seed: number;
  #mask = MIN_SLOTS - 1;
  /** Sequence number of the oldest entry; the newest is `#head + #size - 1` (mod 2^30). */
  #head = 0;
  #size = 0;
  #until = new Float64Array(MIN_SLOTS);
  #hash = new Int32Array(MIN_SLOTS);
  /** Where the key's bytes start in the byte ring: a position that only grows (mod #keyCap). */
  #keyAt = new Float64Array(MIN_SLOTS);
  #keyLen = new Int32Array(MIN_SLOTS);
  #keyBytes = new Uint8Array(MIN_KEY_BYTES);
  #keyCap = MIN_KEY_BYTES;
  /** Where the next key's bytes go (a position, as #keyAt). */
  #keyEnd = 0;
  /**
   * Index: sequence number + 1 (0: empty) at the place of the key's hash or after it (linear
   * probing), twice the ring's slots so that it is at most half full. A sequence number does not
   * move when the ring is resized, so the index is rebuilt only when its own size changes.
   */
  #index = new Int32Array(2 * MIN_SLOTS);
  /** Keys with characters over one byte: not in the byte ring; looked up here (not expected). */
  readonly #wide = new Map<string, number>();
  /** The wide keys by sequence number (every entry of one, the older ones of a key included). */
  readonly #wideBySeq = new Map<number, string>();
  #unindexed = 0;
  // the final's bytes and where they go (server side only)
  #slabs: (ArrayBuffer | undefined)[] = [];
  #offsets = new Int32Array(0);
  #lengths = new Int32Array(0);
  #targets: (SendTarget | undefined)[] = [];
  /**
   * One target object for the finals that go to the same place (over UDP with rport, one per
   * peer: each request's own target, and the flow id string in it, would be kept 32 s).
   */
  readonly #targetCache = new Map<string, SendTarget>();

  /**
   * @param withBytes each entry keeps a final response's bytes and target (server transactions)
   * @param seed of the key hash (tests; by default one random per process)
   */
  constructor(withBytes: boolean, seed = SEED) {
    this.#withBytes = withBytes;
    this.#seed = seed;
    if (withBytes) this.#payload(MIN_SLOTS);
  }

  get size(): number {
    return this.#size;
  }

  /** Entries the index had no room for near their hash's place (see MAX_PROBE); never found. */
  get unindexed(): number {
    return this.#unindexed;
  }

  /** Whether `key` is held (expired or not, until the sweep drops it). */
  has(key: string): boolean {
    return this.#lookup(key) >= 0;
  }

  /** The slot of `key` while its deadline has not passed, else -1. Valid until the next add. */
  find(key: string, now: number): number {
    const seq = this.#lookup(key);
    if (seq < 0) return -1;
    const slot = seq & this.#mask;
    return (this.#until[slot] as number) > now ? slot : -1;
  }

  /** The final's bytes of a slot `find` returned (a view made again for each retransmission). */
  bytes(slot: number): Buffer {
    return Buffer.from(this.#slabs[slot] as ArrayBuffer, this.#offsets[slot], this.#lengths[slot]);
  }

  target(slot: number): SendTarget {
    return this.#targets[slot] as SendTarget;
  }

  /**
   * Holds `key` until `until`; with bytes, also the final (`kept`: a Buffer that may stay
   * referenced as long as the entry, see ByteArena) and its target (shared with the entries that
   * go to the same place). The key's characters are copied: the string is not kept.
   */
  add(key: string, until: number, kept?: Buffer, target?: SendTarget): void {
    if (this.#size > this.#mask) this.#resize((this.#mask + 1) * 2);
    const seq = (this.#head + this.#size) & SEQ_MASK;
    const slot = seq & this.#mask;
    const h = hashKey(key, this.#seed);
    this.#hash[slot] = h;
    this.#until[slot] = until;
    if (wide(key)) {
      // a key held twice (not expected): the newer entry wins, the older one's sweep leaves it
      this.#keyAt[slot] = -1;
      this.#keyLen[slot] = 0;
      this.#wide.set(key, seq);
      this.#wideBySeq.set(seq, key);
    } else {
      this.#keyAt[slot] = this.#storeKey(key);
      this.#keyLen[slot] = key.length;
    }
    this.#size++;
    if (this.#withBytes && kept !== undefined) {
      this.#slabs[slot] = kept.buffer as ArrayBuffer;
      this.#offsets[slot] = kept.byteOffset;
      this.#lengths[slot] = kept.length;
      this.#targets[slot] = target === undefined ? undefined : this.#shared(target);
    }
    if (this.#keyAt[slot] !== -1 && !this.#indexSet(key, h, seq)) this.#unindexed++;
  }

  /** Drops the entries whose deadline is not after `now`, oldest first; `onDrop` sees each key. */
  sweep(now: number, onDrop?: (key: string) => void): void {
    while (this.#size > 0) {
      const seq = this.#head;
      const slot = seq & this.#mask;
      if ((this.#until[slot] as number) > now) break;
      if (onDrop !== undefined) onDrop(this.#keyOf(slot, seq));
      if (this.#keyAt[slot] === -1) {
        const key = this.#keyOf(slot, seq);
        this.#wideBySeq.delete(seq);
        if (this.#wide.get(key) === seq) this.#wide.delete(key);
      } else this.#indexDelete(this.#hash[slot] as number, seq);
      if (this.#withBytes) {
        this.#slabs[slot] = undefined;
        this.#targets[slot] = undefined;
      }
      this.#head = (seq + 1) & SEQ_MASK;
      this.#size--;
    }
    if (this.#size === 0) {
      this.#targetCache.clear();
      this.#keyEnd = 0; // nothing refers to the byte ring: start it over, shrunk
      if (this.#keyCap > MIN_KEY_BYTES) this.#newKeyRing(MIN_KEY_BYTES);
    }
    // give back the slots of a burst once it has passed
    const cap = this.#mask + 1;
    if (cap > MIN_SLOTS && this.#size < cap >>> 3) this.#resize(cap >>> 1);
  }

  clear(): void {
    this.#wide.clear();
    this.#wideBySeq.clear();
    this.#targetCache.clear();
    this.#head = 0;
    this.#size = 0;
    this.#keyEnd = 0;
    this.#newKeyRing(MIN_KEY_BYTES);
    this.#resize(MIN_SLOTS);
    this.#index.fill(0);
  }

  // ---- keys

  /** The key of a slot as a string (for `onDrop`; wide keys are found in #wide by sequence). */
  #keyOf(slot: number, seq: number): string {
    const at = this.#keyAt[slot] as number;
    if (at === -1) return this.#wideBySeq.get(seq) ?? '';
    const off = at % this.#keyCap;
    return Buffer.from(this.#keyBytes.buffer, off, this.#keyLen[slot]).toString('latin1');
  }

  #keyEquals(slot: number, key: string): boolean {
    const len = this.#keyLen[slot] as number;
    if (len !== key.length || this.#keyAt[slot] === -1) return false;
    const bytes = this.#keyBytes;
    const off = (this.#keyAt[slot] as number) % this.#keyCap;
    for (let i = 0; i < len; i++) if (bytes[off + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  /** Copies the key into the byte ring (no key crosses its end) and returns its position. */
  #storeKey(key: string): number {
    const len = key.length;
    let at = this.#keyEnd;
    let off = at % this.#keyCap;
    if (off + len > this.#keyCap) {
      at += this.#keyCap - off;
      off = 0;
    }
    // the oldest key still held (this one is not counted yet)
    const oldest = this.#oldestByteSlot();
    const first = oldest < 0 ? at : (this.#keyAt[oldest] as number);
    if (at + len - first > this.#keyCap) {
      this.#growKeyRing(first, len);
      at = this.#keyEnd;
      off = at % this.#keyCap;
      if (off + len > this.#keyCap) {
        at += this.#keyCap - off;
        off = 0;
      }
    }
    const bytes = this.#keyBytes;
    for (let i = 0; i < len; i++) bytes[off + i] = key.charCodeAt(i);
    this.#keyEnd = at + len;
    return at;
  }

  /** The oldest slot whose key is in the byte ring (wide keys are not), or -1 when none is. */
  #oldestByteSlot(): number {
    for (let i = 0; i < this.#size; i++) {
      const slot = (this.#head + i) & SEQ_MASK & this.#mask;
      if (this.#keyAt[slot] !== -1) return slot;
    }
    return -1;
  }

  /**
   * A byte ring of at least twice what is held and `len` more. Positions stay as they are: the
   * held span is copied in pieces that end at the old size's boundaries, which are boundaries of
   * the new one too, so no key comes to cross the end.
   */
  #growKeyRing(first: number, len: number): void {
    const old = this.#keyBytes;
    const oldCap = this.#keyCap;
    const end = this.#keyEnd;
    let cap = oldCap * 2;
    while (cap < 2 * (end - first + len) + len) cap *= 2;
    const bytes = new Uint8Array(cap);
    for (let p = first; p < end; ) {
      const o = p % oldCap;
      const n = Math.min(oldCap - o, end - p);
      bytes.set(old.subarray(o, o + n), p % cap);
      p += n;
    }
    this.#keyBytes = bytes;
    this.#keyCap = cap;
  }

  #newKeyRing(cap: number): void {
    this.#keyBytes = new Uint8Array(cap);
    this.#keyCap = cap;
  }

  // ---- index

  /** The sequence number held for `key`, or -1. */
  #lookup(key: string): number {
    if (this.#size === 0) return -1;
    if (this.#wide.size > 0) {
      const w = this.#wide.get(key);
      if (w !== undefined) return w;
    }
    const h = hashKey(key, this.#seed);
    const index = this.#index;
    const imask = index.length - 1;
    let i = h & imask;
    for (let d = 0; d <= MAX_PROBE; d++) {
      const e = index[i] as number;
      if (e === 0) return -1;
      const slot = (e - 1) & this.#mask;
      if (this.#hash[slot] === h && this.#keyEquals(slot, key)) return e - 1;
      i = (i + 1) & imask;
    }
    return -1;
  }

  /** Points `key` at `seq` (replacing an older entry of the same key); false: no room near its place. */
  #indexSet(key: string, h: number, seq: number): boolean {
    const index = this.#index;
    const imask = index.length - 1;
    let i = h & imask;
    for (let d = 0; d <= MAX_PROBE; d++) {
      const e = index[i] as number;
      if (e === 0) {
        index[i] = seq + 1;
        return true;
      }
      const slot = (e - 1) & this.#mask;
      if (e - 1 !== seq && this.#hash[slot] === h && this.#keyEquals(slot, key)) {
        // a key held twice (not expected): the newer entry wins, the older one's sweep leaves it
        index[i] = seq + 1;
        return true;
      }
      i = (i + 1) & imask;
    }
    return false;
  }

  /** Takes `seq` out of the index (when it is there), moving later entries of the run back. */
  #indexDelete(h: number, seq: number): void {
    const index = this.#index;
    const imask = index.length - 1;
    let i = h & imask;
    for (let d = 0; d <= MAX_PROBE; d++) {
      const e = index[i] as number;
      if (e === 0) return;
      if (e === seq + 1) break;
      i = (i + 1) & imask;
      if (d === MAX_PROBE) return;
    }
    // backward-shift deletion (linear probing): an entry after the hole moves into it unless its
    // own place lies cyclically after the hole and at or before where it is
    let hole = i;
    let j = i;
    for (;;) {
      j = (j + 1) & imask;
      const e = index[j] as number;
      if (e === 0) break;
      const home = (this.#hash[(e - 1) & this.#mask] as number) & imask;
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (!stays) {
        index[hole] = e;
        hole = j;
      }
    }
    index[hole] = 0;
  }

  /** An index for `cap` ring slots holding every entry of the ring (after the ring was resized). */
  #rebuildIndex(cap: number): void {
    const index = new Int32Array(2 * cap);
    const imask = index.length - 1;
    this.#index = index;
    for (let k = 0; k < this.#size; k++) {
      const seq = (this.#head + k) & SEQ_MASK;
      const slot = seq & this.#mask;
      if (this.#keyAt[slot] === -1) continue;
      // later entries of a key held twice replace earlier ones, as in #indexSet
      let i = (this.#hash[slot] as number) & imask;
      for (let d = 0; ; d++) {
        const e = index[i] as number;
        if (e === 0) {
          index[i] = seq + 1;
          break;
        }
        const other = (e - 1) & this.#mask;
        if (
          this.#hash[other] === this.#hash[slot] &&
          this.#keyLen[other] === this.#keyLen[slot] &&
          this.#sameKey(other, slot)
        ) {
          index[i] = seq + 1;
          break;
        }
        if (d >= MAX_PROBE) {
          this.#unindexed++;
          break;
        }
        i = (i + 1) & imask;
      }
    }
  }

  #sameKey(a: number, b: number): boolean {
    const bytes = this.#keyBytes;
    const oa = (this.#keyAt[a] as number) % this.#keyCap;
    const ob = (this.#keyAt[b] as number) % this.#keyCap;
    const len = this.#keyLen[a] as number;
    for (let i = 0; i < len; i++) if (bytes[oa + i] !== bytes[ob + i]) return false;
    return true;
  }

  // ---- ring

  #shared(target: SendTarget): SendTarget {
    const id =
      'flowId' in target
        ? target.flowId
        : `${target.proto}|${target.address}|${target.port}|${target.listenerId ?? ''}`;
    const known = this.#targetCache.get(id);
    if (known !== undefined) return known;
    if (this.#targetCache.size >= TARGET_CACHE) this.#targetCache.clear();
    this.#targetCache.set(id, target);
    return target;
  }

  #payload(cap: number): void {
    this.#slabs = new Array(cap).fill(undefined);
    this.#offsets = new Int32Array(cap);
    this.#lengths = new Int32Array(cap);
    this.#targets = new Array(cap).fill(undefined);
  }

  /** Rings of `cap` slots (a power of two): each entry moves to its sequence number's slot. */
  #resize(cap: number): void {
    const until = this.#until;
    const hash = this.#hash;
    const keyAt = this.#keyAt;
    const keyLen = this.#keyLen;
    const slabs = this.#slabs;
    const offsets = this.#offsets;
    const lengths = this.#lengths;
    const targets = this.#targets;
    const from = this.#mask;
    const to = cap - 1;
    this.#until = new Float64Array(cap);
    this.#hash = new Int32Array(cap);
    this.#keyAt = new Float64Array(cap);
    this.#keyLen = new Int32Array(cap);
    if (this.#withBytes) this.#payload(cap);
    for (let i = 0; i < this.#size; i++) {
      const seq = (this.#head + i) & SEQ_MASK;
      const a = seq & from;
      const b = seq & to;
      this.#until[b] = until[a] as number;
      this.#hash[b] = hash[a] as number;
      this.#keyAt[b] = keyAt[a] as number;
      this.#keyLen[b] = keyLen[a] as number;
      if (this.#withBytes) {
        this.#slabs[b] = slabs[a];
        this.#offsets[b] = offsets[a] as number;
        this.#lengths[b] = lengths[a] as number;
        this.#targets[b] = targets[a];
      }
    }
    const shrunk = to < from;
    this.#mask = to;
    // after a burst: the byte ring too, when it is mostly empty
    if (shrunk && this.#keyCap > MIN_KEY_BYTES) {
      const oldest = this.#oldestByteSlot();
      const held = oldest < 0 ? 0 : this.#keyEnd - (this.#keyAt[oldest] as number);
      if (held < this.#keyCap >>> 3) this.#repackKeys(Math.max(MIN_KEY_BYTES, this.#keyCap >>> 1));
    }
    if (this.#index.length !== 2 * cap) this.#rebuildIndex(cap);
  }

  /** Copies the held keys, oldest first, to the start of a new byte ring of `cap` bytes. */
  #repackKeys(cap: number): void {
    const old = this.#keyBytes;
    const oldCap = this.#keyCap;
    const bytes = new Uint8Array(cap);
    let end = 0;
    for (let i = 0; i < this.#size; i++) {
      const slot = (this.#head + i) & SEQ_MASK & this.#mask;
      const at = this.#keyAt[slot] as number;
      if (at === -1) continue;
      const len = this.#keyLen[slot] as number;
      if ((end % cap) + len > cap) end += cap - (end % cap);
      const o = at % oldCap;
      bytes.set(old.subarray(o, o + len), end % cap);
      this.#keyAt[slot] = end;
      end += len;
    }
    this.#keyBytes = bytes;
    this.#keyCap = cap;
    this.#keyEnd = end;
  }
}
