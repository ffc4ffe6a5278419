/**
 * A string-keyed map for short-lived values (transactions, per-AoR locks) whose values sit in one
 * array that is never replaced while it has room: the JS Map inside holds only the key and a slot
 * number.
 *
 * Why (issue 12): a JS Map with constant inserts and deletes replaces its hash table every few
 * dozen operations, and a replaced table keeps the references it held. Once such a table has
 * lived long enough to reach the old generation, the young objects it still points at survive
 * every scavenge until the next full collection: with the transactions in the table, each one
 * pinned its request, context and closures, and half of all transactions were promoted (~1 KB
 * per REGISTER), so full collections came twice as often. A stale table here pins only key
 * strings; the values' array is cleared in place when a value leaves.
 */
export class SlotMap<V> {
  readonly #slots = new Map<string, number>();
  #values: (V | undefined)[];
  /** Free slot numbers, used as a stack. */
  #free: number[] = [];
  #next = 0;

  constructor(initialSlots = 64) {
    this.#values = new Array(initialSlots).fill(undefined);
  }

  get size(): number {
    return this.#slots.size;
  }

  has(key: string): boolean {
    return this.#slots.has(key);
  }

  get(key: string): V | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#values[slot];
  }

  set(key: string, value: V): void {
    const known = this.#slots.get(key);
    if (known !== undefined) {
      this.#values[known] = value;
      return;
    }
    let slot = this.#free.pop();
    if (slot === undefined) {
      slot = this.#next++;
      if (slot >= this.#values.length) {
        const grown: (V | undefined)[] = new Array(this.#values.length * 2).fill(undefined);
        for (let i = 0; i < this.#values.length; i++) grown[i] = this.#values[i];
        // the old array is dropped with every slot cleared: it pins nothing if it is old
        this.#values.fill(undefined);
        this.#values = grown;
      }
    }
    this.#values[slot] = value;
    this.#slots.set(key, slot);
  }

  delete(key: string): boolean {
    const slot = this.#slots.get(key);
    if (slot === undefined) return false;
    this.#slots.delete(key);
    this.#values[slot] = undefined;
    this.#free.push(slot);
    return true;
  }

  /** The values, in no particular order (a snapshot: safe to change the map while iterating). */
  values(): V[] {
    const out: V[] = [];
    for (const slot of this.#slots.values()) out.push(this.#values[slot] as V);
    return out;
  }

  clear(): void {
    this.#slots.clear();
    this.#values.fill(undefined);
    this.#free = [];
    this.#next = 0;
  }
}
