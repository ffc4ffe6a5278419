import type {
  AorChanges,
  Binding,
  BindingPage,
  LocationStore,
} from '../modules/location/binding.js';
import { Histogram } from './prometheus.js';

/** Records one operation of a store: its duration (seconds) and whether it failed. */
export type OpRecorder = (seconds: number, failed: boolean) => void;

/** Latency and failures of location-store operations, by store and operation. */
export class StoreMetrics {
  readonly latency = new Histogram();
  readonly #errors = new Map<string, { store: string; op: string; n: number }>();

  /** Records one operation (seconds). */
  record(store: string, op: string, seconds: number, failed: boolean): void {
    this.op(store, op)(seconds, failed);
  }

  /**
   * The recorder of one operation of one store, resolved once: a hot path records without a
   * label object or key string per operation (issue 12 §1).
   */
  op(store: string, op: string): OpRecorder {
    const series = this.latency.series({ store, op });
    const errors = this.#errors;
    const k = `${store}\u0000${op}`;
    return (seconds, failed) => {
      series.observe(seconds);
      if (!failed) return;
      const e = errors.get(k);
      if (e === undefined) errors.set(k, { store, op, n: 1 });
      else e.n++;
    };
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

  readonly #recorders = new Map<string, OpRecorder>();

  #recorder(op: string): OpRecorder {
    let r = this.#recorders.get(op);
    if (r === undefined) {
      r = this.#metrics.op(this.#label, op);
      this.#recorders.set(op, r);
    }
    return r;
  }

  /**
   * Calls `method` of the inner store and records its duration and outcome, with no async frame
   * and no closure around the call (issue 12 §1): what is left per call is the `then` with its two
   * handlers. The series it records into is resolved once per operation name.
   */
  #call<T, A extends unknown[]>(
    op: string,
    method: (this: LocationStore, ...args: A) => Promise<T>,
    ...args: A
  ): Promise<T> {
    const record = this.#recorder(op);
    const t0 = performance.now();
    let p: Promise<T>;
    try {
      p = method.apply(this.#inner, args);
    } catch (e) {
      record((performance.now() - t0) / 1000, true);
      return Promise.reject(e);
    }
    return p.then(
      (r) => {
        record((performance.now() - t0) / 1000, false);
        return r;
      },
      (e: unknown) => {
        record((performance.now() - t0) / 1000, true);
        throw e;
      },
    );
  }

  open(): Promise<void> {
    return this.#call('open', this.#inner.open);
  }
  close(): Promise<void> {
    return this.#call('close', this.#inner.close);
  }
  get(aor: string): Promise<Binding[]> {
    return this.#call('get', this.#inner.get, aor);
  }
  getByRuid(ruid: string): Promise<Binding | undefined> {
    return this.#call('get_by_ruid', this.#inner.getByRuid, ruid);
  }
  apply(aor: string, changes: AorChanges): Promise<void> {
    return this.#call('apply', this.#inner.apply, aor, changes);
  }
  removeAor(aor: string): Promise<number> {
    return this.#call('remove_aor', this.#inner.removeAor, aor);
  }
  list(cursor: string | undefined, limit: number): Promise<BindingPage> {
    return this.#call('list', this.#inner.list, cursor, limit);
  }
  count(): Promise<number> {
    return this.#call('count', this.#inner.count);
  }
  purgeExpired(): Promise<number> {
    return this.#call('purge_expired', this.#inner.purgeExpired);
  }
}
