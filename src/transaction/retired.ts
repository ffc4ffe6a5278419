import type { SendTarget } from '../transport/types.js';

/** Slots a table starts with, and never shrinks below (a power of two). */
const MIN_SLOTS = 1024;
/** Sequence numbers wrap at 2^30 (they stay small integers); ring sizes divide it. */
const SEQ_MASK = 2 ** 30 - 1;
/**
 * Distinct targets remembered for sharing; past it the cache starts again (entries keep the
 * target they got, so forgetting one only costs a duplicate object).
 */
const TARGET_CACHE = 4096;

/** Maps the key index is split into (a power of two), see `RetiredTable.#index`. */
const INDEX_SHARDS = 16;

/**
 * The index map of `key`: a hash of its characters. Keys come from clients, so one who crafts
 * branches can put them all in one map; that only gives back the one big map, with its occasional
 * re-keying, never a wrong answer.
 */
function shardOf(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) | 0;
  return (h ^ (h >>> 16)) & (INDEX_SHARDS - 1);
}

/**
 * Finished non-INVITE transactions waiting out timer J (server) or K (client), without one heap
 * object per transaction (issue 12).
 *
 * Why: at 2 500 REGISTER/s over UDP an edge holds ~80 000 of them for timer J's 32 s. Kept as an
 * object each (its bytes' place, its destination, a boxed deadline and the flow id string in it),
 * they were four of every five objects of the heap, and every full collection had to mark them,
 * and move them when their pages were compacted: the pauses that still delayed answers. Here a
 * transaction is its key (the one string the lookup needs) and one slot of a ring of typed arrays
 * (deadline, offset and length of its final's bytes) and of plain arrays of references to shared
 * objects (the arena slab, a target shared per destination). The ring is in deadline order when every entry
 * waits the same time, which is the case (64*T1 for servers, T4 for clients), so the sweep takes
 * entries off its head.
 */
export class RetiredTable {
  /**
   * key → sequence number, in INDEX_SHARDS maps chosen by a hash of the key. An entry's slot is
   * its sequence number modulo the ring's size, so the ring grows and shrinks by copying typed
   * arrays, without touching these maps (re-keying one map of 80 000 entries took tens of
   * milliseconds). The maps are many and small because a JS Map under constant insert and delete
   * builds a new hash table whenever live and deleted entries fill the old one: one map of
   * 80 000 did that every ~20 s at 2 500 REGISTER/s, 5 ms of copying each time on an idle
   * machine and a burst of slow answers under load; one of 5 000 takes a few hundredths of that.
   */
  readonly #index: Map<string, number>[] = Array.from({ length: INDEX_SHARDS }, () => new Map());
  readonly #withBytes: boolean;
  #mask = MIN_SLOTS - 1;
  /** Sequence number of the oldest entry; the newest is `#head + #size - 1` (mod 2^30). */
  #head = 0;
  #size = 0;
  #keys: (string | undefined)[] = new Array(MIN_SLOTS).fill(undefined);
  #until = new Float64Array(MIN_SLOTS);
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

  /** @param withBytes each entry keeps a final response's bytes and target (server transactions) */
  constructor(withBytes: boolean) {
    this.#withBytes = withBytes;
    if (withBytes) this.#payload(MIN_SLOTS);
  }

  get size(): number {
    return this.#size;
  }

  /** Whether `key` is held (expired or not, until the sweep drops it). */
  has(key: string): boolean {
    return this.#shard(key).has(key);
  }

  /** The slot of `key` while its deadline has not passed, else -1. Valid until the next add. */
  find(key: string, now: number): number {
    const seq = this.#shard(key).get(key);
    if (seq === undefined) return -1;
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
   * go to the same place).
   */
  add(key: string, until: number, kept?: Buffer, target?: SendTarget): void {
    if (this.#size > this.#mask) this.#resize((this.#mask + 1) * 2);
    const seq = (this.#head + this.#size) & SEQ_MASK;
    const slot = seq & this.#mask;
    this.#size++;
    this.#keys[slot] = key;
    this.#until[slot] = until;
    if (this.#withBytes && kept !== undefined) {
      this.#slabs[slot] = kept.buffer as ArrayBuffer;
      this.#offsets[slot] = kept.byteOffset;
      this.#lengths[slot] = kept.length;
      this.#targets[slot] = target === undefined ? undefined : this.#shared(target);
    }
    // a key held twice (not expected): the newer entry wins, the older one's sweep leaves it
    this.#shard(key).set(key, seq);
  }

  /** Drops the entries whose deadline is not after `now`, oldest first; `onDrop` sees each key. */
  sweep(now: number, onDrop?: (key: string) => void): void {
    while (this.#size > 0) {
      const seq = this.#head;
      const slot = seq & this.#mask;
      if ((this.#until[slot] as number) > now) break;
      const key = this.#keys[slot] as string;
      const shard = this.#shard(key);
      if (shard.get(key) === seq) shard.delete(key);
      this.#keys[slot] = undefined;
      if (this.#withBytes) {
        this.#slabs[slot] = undefined;
        this.#targets[slot] = undefined;
      }
      this.#head = (seq + 1) & SEQ_MASK;
      this.#size--;
      onDrop?.(key);
    }
    if (this.#size === 0) this.#targetCache.clear();
    // give back the slots of a burst once it has passed
    const cap = this.#mask + 1;
    if (cap > MIN_SLOTS && this.#size < cap >>> 3) this.#resize(cap >>> 1);
  }

  #shard(key: string): Map<string, number> {
    return this.#index[shardOf(key)] as Map<string, number>;
  }

  clear(): void {
    for (const shard of this.#index) shard.clear();
    this.#targetCache.clear();
    this.#head = 0;
    this.#size = 0;
    this.#resize(MIN_SLOTS);
  }

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
    const keys = this.#keys;
    const until = this.#until;
    const slabs = this.#slabs;
    const offsets = this.#offsets;
    const lengths = this.#lengths;
    const targets = this.#targets;
    const from = this.#mask;
    const to = cap - 1;
    this.#keys = new Array(cap).fill(undefined);
    this.#until = new Float64Array(cap);
    if (this.#withBytes) this.#payload(cap);
    for (let i = 0; i < this.#size; i++) {
      const seq = (this.#head + i) & SEQ_MASK;
      const a = seq & from;
      const b = seq & to;
      this.#keys[b] = keys[a];
      this.#until[b] = until[a] as number;
      if (this.#withBytes) {
        this.#slabs[b] = slabs[a];
        this.#offsets[b] = offsets[a] as number;
        this.#lengths[b] = lengths[a] as number;
        this.#targets[b] = targets[a];
      }
    }
    this.#mask = to;
  }
}
