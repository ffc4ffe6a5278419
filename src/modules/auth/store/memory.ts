import type { CredentialStore, Subscriber, SubscriberPage } from '../credentials.js';
import { CredentialStoreError } from './errors.js';
import {
  type CredentialStoreOptions,
  compareSubscribers,
  listQuery,
  normalizeSubscriber,
  toPage,
} from './subscriber.js';

/** Options of {@link MemoryCredentialStore}. */
export type MemoryCredentialStoreOptions = CredentialStoreOptions;

/**
 * Credentials in process memory (auth_db `backend: memory`), lost on restart: for tests and for
 * set-ups that add users through the management API at start. `get()` is synchronous. Stored
 * subscribers are frozen normalized copies, returned without copying.
 */
export class MemoryCredentialStore implements CredentialStore {
  readonly name = 'memory';
  readonly #useDomain: boolean;
  #open = false;
  /** user name -> lower-case domain -> subscriber */
  readonly #byUser = new Map<string, Map<string, Subscriber>>();
  /** Every subscriber in listing order; rebuilt on the next list() after a change. */
  #sorted: Subscriber[] | undefined;

  constructor(options: MemoryCredentialStoreOptions = {}) {
    this.#useDomain = options.useDomain ?? true;
  }

  async open(): Promise<void> {
    this.#open = true;
  }

  async close(): Promise<void> {
    this.#open = false;
  }

  get(username: string, domain: string): Subscriber | undefined {
    this.#assertOpen();
    const rows = this.#byUser.get(username);
    if (rows === undefined) return undefined;
    if (!this.#useDomain) return rows.size === 1 ? rows.values().next().value : undefined;
    return rows.get(domain.toLowerCase());
  }

  async put(s: Subscriber): Promise<'created' | 'updated'> {
    this.#assertOpen();
    const n = normalizeSubscriber(s);
    const rows = this.#byUser.get(n.username) ?? new Map<string, Subscriber>();
    const cur = this.#useDomain ? rows.get(n.domain) : oldest(rows);
    // a replaced row keeps its creation time: `created` says when the user was added
    const row = cur === undefined ? n : Object.freeze({ ...n, created: cur.created });
    if (!this.#useDomain) rows.clear();
    rows.set(n.domain, row);
    this.#byUser.set(n.username, rows);
    this.#sorted = undefined;
    return cur === undefined ? 'created' : 'updated';
  }

  async remove(username: string, domain: string): Promise<boolean> {
    this.#assertOpen();
    const rows = this.#byUser.get(username);
    if (rows === undefined) return false;
    let removed: boolean;
    if (this.#useDomain) removed = rows.delete(domain.toLowerCase());
    else {
      removed = rows.size > 0;
      rows.clear();
    }
    if (rows.size === 0) this.#byUser.delete(username);
    if (removed) this.#sorted = undefined;
    return removed;
  }

  async list(
    opts: {
      readonly domain?: string | undefined;
      readonly limit?: number | undefined;
      readonly cursor?: string | undefined;
    } = {},
  ): Promise<SubscriberPage> {
    this.#assertOpen();
    const q = listQuery(opts);
    this.#sorted ??= [...this.#byUser.values()]
      .flatMap((m) => [...m.values()])
      .sort(compareSubscribers);
    const all = this.#sorted;
    // binary search: the first row after the cursor
    let lo = 0;
    let hi = all.length;
    if (q.after !== undefined) {
      const after = q.after;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareSubscribers(all[mid] as Subscriber, after) <= 0) lo = mid + 1;
        else hi = mid;
      }
    }
    const rows: Subscriber[] = [];
    for (let i = lo; i < all.length && rows.length <= q.limit; i++) {
      const s = all[i] as Subscriber;
      if (q.domain === undefined || s.domain === q.domain) rows.push(s);
    }
    return toPage(rows, q.limit);
  }

  #assertOpen(): void {
    if (!this.#open) throw new CredentialStoreError('credentials store (memory) is not open');
  }
}

function oldest(rows: ReadonlyMap<string, Subscriber>): Subscriber | undefined {
  let o: Subscriber | undefined;
  for (const s of rows.values()) if (o === undefined || s.created < o.created) o = s;
  return o;
}
