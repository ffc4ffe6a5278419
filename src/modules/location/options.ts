import { InvalidArgumentError } from '../../errors/index.js';
import { type Clock, RealClock } from '../../util/clock.js';
import { type Logger, noopLogger } from '../../util/logger.js';
import { DEFAULT_SWEEP_INTERVAL_MS } from './sweeper.js';

/** Options every location store takes. */
export interface LocationStoreOptions {
  /**
   * Time source: `wallNow()` decides what has expired, `setTimer()` drives the purge timer.
   * Default: a {@link RealClock} with a 1 s tick. Tests pass a `ManualClock`.
   */
  readonly clock?: Clock;
  /** How often expired bindings are purged (Kamailio `timer_interval`); default 60 000 ms. */
  readonly sweepIntervalMs?: number;
  /** Where purge failures and backend connection trouble are logged; default: nowhere. */
  readonly logger?: Logger;
}

/** The resolved common options. */
export interface ResolvedStoreOptions {
  readonly clock: Clock;
  readonly sweepIntervalMs: number;
  readonly logger: Logger;
}

/** Applies the defaults of {@link LocationStoreOptions}; rejects a non-positive sweep interval. */
export function resolveStoreOptions(o: LocationStoreOptions): ResolvedStoreOptions {
  const sweepIntervalMs = o.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS;
  if (!(Number.isFinite(sweepIntervalMs) && sweepIntervalMs > 0)) {
    throw new InvalidArgumentError(`location: sweepIntervalMs must be > 0, got ${sweepIntervalMs}`);
  }
  return {
    clock: o.clock ?? new RealClock(1000),
    sweepIntervalMs,
    logger: o.logger ?? noopLogger,
  };
}
