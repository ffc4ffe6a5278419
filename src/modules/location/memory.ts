import type { Clock } from '../../util/clock.js';
import type { AorChanges, Binding, BindingPage, LocationStore } from './binding.js';
import { LocationStoreError } from './errors.js';
import { type LocationStoreOptions, resolveStoreOptions } from './options.js';
import {
  assertListLimit,
  compareBindings,
  compareCodePoints,
  compareListOrder,
  decodeCursor,
  toPage,
} from './order.js';
import { Sweeper } from './sweeper.js';
import { assertValidChanges, normalizeBinding, ruidTaken } from './validate.js';

/** Options of {@link MemoryLocationStore}. */
export type MemoryLocationStoreOptions = LocationStoreOptions;

/**
 * The default location store: bindings in process memory (Kamailio usrloc `db_mode=0`), lost on
 * restart. Two maps: ruid → binding and AoR → its bindings kept sorted (q descending, then seq).
 * Reads skip bindings whose `expires` has passed; a timer purges them every `sweepIntervalMs`.
 * Stored bindings are frozen normalized copies, returned without copying.
 */
export class MemoryLocationStore implements LocationStore {
  readonly name = 'memory';
  readonly #clock: Clock;
  readonly #sweeper: Sweeper;
  #open = false;
  readonly #byRuid = new Map<string, Binding>();
  readonly #byAor = new Map<string, Binding[]>();
  /** AoRs sorted for list(); rebuilt on the next list() after an AoR appears or disappears. */
  #aorIndex: string[] | undefined;

  constructor(options: MemoryLocationStoreOptions = {}) {
    const o = resolveStoreOptions(options);
    this.#clock = o.clock;
    this.#sweeper = new Sweeper(o, () => this.#purge());
  }

  async open(): Promise<void> {
    this.#open = true;
    this.#sweeper.start();
  }

  async close(): Promise<void> {
    this.#open = false;
    this.#sweeper.stop();
  }

  async get(aor: string): Promise<Binding[]> {
    this.#assertOpen();
    const list = this.#byAor.get(aor);
    if (list === undefined) return [];
    const now = this.#clock.wallNow();
    return list.filter((b) => b.expires > now);
  }

  async getByRuid(ruid: string): Promise<Binding | undefined> {
    this.#assertOpen();
    const b = this.#byRuid.get(ruid);
    return b !== undefined && b.expires > this.#clock.wallNow() ? b : undefined;
  }

  async apply(aor: string, changes: AorChanges): Promise<void> {
    this.#assertOpen();
    assertValidChanges(aor, changes);
    const now = this.#clock.wallNow();
    // Every check before the first change: all or nothing.
    for (const b of changes.upsert) {
      const cur = this.#byRuid.get(b.ruid);
      if (cur !== undefined && cur.aor !== aor && cur.expires > now) {
        throw ruidTaken(b.ruid);
      }
    }
    const upserts = changes.upsert.map(normalizeBinding);
    for (const ruid of changes.remove) this.#delete(aor, ruid);
    for (const b of upserts) {
      // An upsert that has already expired removes the binding.
      if (b.expires <= now) this.#delete(aor, b.ruid);
      else this.#put(b);
    }
  }

  async removeAor(aor: string): Promise<number> {
    this.#assertOpen();
    const list = this.#byAor.get(aor);
    if (list === undefined) return 0;
    const now = this.#clock.wallNow();
    let live = 0;
    for (const b of list) {
      if (b.expires > now) live++;
      this.#byRuid.delete(b.ruid);
    }
    this.#byAor.delete(aor);
    this.#aorIndex = undefined;
    return live;
  }

  async list(cursor: string | undefined, limit: number): Promise<BindingPage> {
    this.#assertOpen();
    assertListLimit(limit);
    const after = decodeCursor(cursor);
    this.#aorIndex ??= [...this.#byAor.keys()].sort(compareCodePoints);
    const index = this.#aorIndex;
    const now = this.#clock.wallNow();
    const rows: Binding[] = [];
    // Binary search: the first AoR not before the cursor's.
    let lo = 0;
    let hi = index.length;
    if (after !== undefined) {
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareCodePoints(index[mid] ?? '', after.aor) < 0) lo = mid + 1;
        else hi = mid;
      }
    }
    for (let i = lo; i < index.length && rows.length <= limit; i++) {
      const list = this.#byAor.get(index[i] ?? '') ?? [];
      const live = list.filter(
        (b) => b.expires > now && (after === undefined || compareListOrder(b, after) > 0),
      );
      live.sort(compareListOrder);
      for (const b of live) {
        rows.push(b);
        if (rows.length > limit) break;
      }
    }
    return toPage(rows, limit);
  }

  async count(): Promise<number> {
    this.#assertOpen();
    const now = this.#clock.wallNow();
    let n = 0;
    for (const b of this.#byRuid.values()) if (b.expires > now) n++;
    return n;
  }

  async purgeExpired(): Promise<number> {
    this.#assertOpen();
    return this.#purge();
  }

  #purge(): number {
    const now = this.#clock.wallNow();
    let n = 0;
    for (const b of this.#byRuid.values()) {
      if (b.expires <= now && this.#delete(b.aor, b.ruid)) n++;
    }
    return n;
  }

  #assertOpen(): void {
    if (!this.#open) throw new LocationStoreError('location store (memory) is not open');
  }

  /** Deletes `ruid` if it belongs to `aor`; true when it did. */
  #delete(aor: string, ruid: string): boolean {
    const cur = this.#byRuid.get(ruid);
    if (cur === undefined || cur.aor !== aor) return false;
    this.#byRuid.delete(ruid);
    const list = this.#byAor.get(aor);
    if (list === undefined) return true;
    const i = list.indexOf(cur);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) {
      this.#byAor.delete(aor);
      this.#aorIndex = undefined;
    }
    return true;
  }

  #put(b: Binding): void {
    const cur = this.#byRuid.get(b.ruid);
    let list = this.#byAor.get(b.aor);
    if (cur !== undefined) {
      if (cur.aor === b.aor && list !== undefined) {
        const i = list.indexOf(cur);
        if (i >= 0) list.splice(i, 1);
      } else {
        // An expired binding with this ruid under another AoR: it goes now.
        this.#delete(cur.aor, cur.ruid);
      }
    }
    if (list === undefined) {
      list = [];
      this.#byAor.set(b.aor, list);
      this.#aorIndex = undefined;
    }
    // usrloc mem_insert_ucontact: insert before the first binding that sorts after it.
    const at = list.findIndex((x) => compareBindings(x, b) > 0);
    list.splice(at < 0 ? list.length : at, 0, b);
    this.#byRuid.set(b.ruid, b);
  }
}
