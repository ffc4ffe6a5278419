import { InvalidArgumentError } from '../../errors/index.js';
import type { LocationStore } from './binding.js';
import { MemoryLocationStore } from './memory.js';
import type { LocationStoreOptions } from './options.js';
import { RedisLocationStore } from './redis.js';
import { SqliteLocationStore } from './sqlite.js';

export type { AorChanges, Binding, BindingPage, LocationStore } from './binding.js';
export {
  LOCATION_STORE_ERROR_CODE,
  LOCATION_STORE_ERROR_REASON,
  LocationStoreError,
} from './errors.js';
export { MemoryLocationStore, type MemoryLocationStoreOptions } from './memory.js';
export type { LocationStoreOptions } from './options.js';
export { compareBindings } from './order.js';
export {
  DEFAULT_REDIS_PREFIX,
  RedisLocationStore,
  type RedisLocationStoreOptions,
} from './redis.js';
export { SeqSource } from './seq.js';
export {
  SQLITE_SCHEMA_VERSION,
  SqliteLocationStore,
  type SqliteLocationStoreOptions,
} from './sqlite.js';
export { DEFAULT_SWEEP_INTERVAL_MS } from './sweeper.js';
export { assertValidChanges, checkBinding } from './validate.js';

/** Which backend {@link createLocationStore} builds, with its settings (the config file's shape). */
export type LocationStoreConfig =
  | { readonly backend: 'memory' }
  | { readonly backend: 'sqlite'; readonly path: string; readonly synchronous?: 'NORMAL' | 'FULL' }
  | {
      readonly backend: 'redis';
      readonly url: string;
      readonly prefix?: string;
      readonly commandTimeoutMs?: number;
      readonly connectTimeoutMs?: number;
    };

/**
 * Builds the configured location store (not yet opened: call `open()`). The SQLite and Redis
 * drivers are loaded by `open()`, so a memory-only setup never loads them.
 * @throws InvalidArgumentError for an unknown backend or missing settings.
 */
export function createLocationStore(
  config: LocationStoreConfig,
  options: LocationStoreOptions = {},
): LocationStore {
  switch (config.backend) {
    case 'memory':
      return new MemoryLocationStore(options);
    case 'sqlite':
      return new SqliteLocationStore({ ...options, ...config });
    case 'redis':
      return new RedisLocationStore({ ...options, ...config });
    default: {
      const backend: unknown = (config as { backend?: unknown }).backend;
      throw new InvalidArgumentError(`location: unknown store backend ${JSON.stringify(backend)}`);
    }
  }
}
