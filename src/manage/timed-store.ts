import type {
  AorChanges,
  Binding,
  BindingPage,
  LocationStore,
} from '../modules/location/binding.js';
import { Histogram } from './prometheus.js';

/** Latency and failures of location-store operations, by store and operation. */
export class StoreMetrics {
  readonly latency = new Histogram();
  readonly #errors = new Map<string, { store: string; op: string; n: number }>();

  /** Records one operation (seconds). */
  record(store: string, op: string, seconds: number, failed: boolean): void {
    this.latency.observe({ store, op }, seconds);
    if (!failed) return;
    const k = `${store}\u0000${op}`;
    const e = this.#errors.get(k);
    if (e === undefined) this.#errors.set(k, { store, op, n: 1 });
    else e.n++;
  }

  /** Failed operations by store and op. */
  errors(): { store: string; op: string; n: number }[] {
    return [...this.#errors.values()];
  }
}

/**
 * A {@link LocationStore} decorator that measures every operation (for `flowgate_store_op_seconds`
 * and `flowgate_store_errors_total`); behaviour is the wrapped store's.
 */
export class TimedLocationStore implements LocationStore {
  readonly #inner: LocationStore;
  readonly #metrics: StoreMetrics;
  readonly #label: string;

  /**
   * @param inner the real store
   * @param metrics where measurements go
   * @param label the `store` label (the store's name and backend)
   */
  constructor(inner: LocationStore, metrics: StoreMetrics, label: string = inner.name) {
    this.#inner = inner;
    this.#metrics = metrics;
    this.#label = label;
  }

  get name(): string {
    return this.#inner.name;
  }

  /** The wrapped store. */
  get inner(): LocationStore {
    return this.#inner;
  }

  async #time<T>(op: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      const r = await fn();
      this.#metrics.record(this.#label, op, (performance.now() - t0) / 1000, false);
      return r;
    } catch (e) {
      this.#metrics.record(this.#label, op, (performance.now() - t0) / 1000, true);
      throw e;
    }
  }

  open(): Promise<void> {
    return this.#time('open', () => this.#inner.open());
  }
  close(): Promise<void> {
    return this.#time('close', () => this.#inner.close());
  }
  get(aor: string): Promise<Binding[]> {
    return this.#time('get', () => this.#inner.get(aor));
  }
  getByRuid(ruid: string): Promise<Binding | undefined> {
    return this.#time('get_by_ruid', () => this.#inner.getByRuid(ruid));
  }
  apply(aor: string, changes: AorChanges): Promise<void> {
    return this.#time('apply', () => this.#inner.apply(aor, changes));
  }
  removeAor(aor: string): Promise<number> {
    return this.#time('remove_aor', () => this.#inner.removeAor(aor));
  }
  list(cursor: string | undefined, limit: number): Promise<BindingPage> {
    return this.#time('list', () => this.#inner.list(cursor, limit));
  }
  count(): Promise<number> {
    return this.#time('count', () => this.#inner.count());
  }
  purgeExpired(): Promise<number> {
    return this.#time('purge_expired', () => this.#inner.purgeExpired());
  }
}
