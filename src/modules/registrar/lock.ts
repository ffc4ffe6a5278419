import { SlotMap } from '../../util/slot-map.js';

/**
 * Runs async work one at a time per key (Kamailio locks the usrloc hash slot of an AoR): two
 * REGISTERs for one AoR in this process never read-modify-write the store at once.
 */
export class KeyedMutex {
  // a lock per REGISTER in flight: SlotMap, not Map (see util/slot-map.ts)
  readonly #tails = new SlotMap<Promise<void>>();

  /**
   * Runs `fn` after every earlier task of `key` has settled; resolves or rejects with it. With no
   * earlier task, `fn` starts at once: the common case (one REGISTER per AoR at a time) costs one
   * promise and one closure besides `fn`'s own (issue 12 §1).
   */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#tails.get(key);
    let p: Promise<T>;
    if (prev === undefined) {
      try {
        p = fn();
      } catch (e) {
        p = Promise.reject(e);
      }
    } else p = prev.then(fn);
    // the tail never rejects: the next task waits for this one to settle, whatever its outcome;
    // the last task of a key removes it
    const settled = (): void => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    };
    const tail = p.then(settled, settled);
    this.#tails.set(key, tail);
    return p;
  }

  /** Number of keys with a task running or waiting. */
  get size(): number {
    return this.#tails.size;
  }

  /** Resolves once every task started so far has settled. */
  async idle(): Promise<void> {
    while (this.#tails.size > 0) await Promise.allSettled(this.#tails.values());
  }
}
