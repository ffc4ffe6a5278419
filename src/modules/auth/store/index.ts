import { InvalidArgumentError } from '../../../errors/index.js';
import type { Logger } from '../../../util/logger.js';
import { redactRedisUrl } from '../../../util/redis-url.js';
import type { CredentialStore } from '../credentials.js';
import { MemoryCredentialStore } from './memory.js';
import { DEFAULT_CREDENTIALS_PREFIX, RedisCredentialStore } from './redis.js';
import { SqliteCredentialStore } from './sqlite.js';

export type { CredentialStore, Subscriber, SubscriberPage } from '../credentials.js';
export { CREDENTIAL_STORE_ERROR_CODE, CredentialStoreError } from './errors.js';
export { MemoryCredentialStore, type MemoryCredentialStoreOptions } from './memory.js';
export {
  DEFAULT_CREDENTIALS_PREFIX,
  RedisCredentialStore,
  type RedisCredentialStoreOptions,
} from './redis.js';
export {
  SqliteCredentialStore,
  type SqliteCredentialStoreOptions,
  SUBSCRIBER_SCHEMA_VERSION,
} from './sqlite.js';
export {
  type CredentialStoreOptions,
  DEFAULT_LIST_LIMIT,
  MAX_LIST_LIMIT,
  normalizeDomain,
} from './subscriber.js';
export {
  MIN_PASSWORD_LENGTH,
  newSubscriber,
  parseUserAddress,
  passwordProblem,
  realmProblem,
  type UserAddress,
  type UserJson,
  userJson,
} from './users.js';

/**
 * Which backend {@link createCredentialStore} builds: the shape of the configuration's
 * `modules.auth_db` (`AuthDbConfig`, paths absolute), declared here because modules sit below
 * config.
 */
export type CredentialStoreConfig = { readonly use_domain: boolean } & (
  | { readonly backend: 'memory' }
  | { readonly backend: 'sqlite'; readonly path: string }
  | { readonly backend: 'redis'; readonly url: string; readonly prefix?: string | undefined }
);

/** Settings {@link createCredentialStore} takes besides the configuration. */
export interface CreateCredentialStoreOptions {
  /** Where connection trouble (redis) and housekeeping (sqlite) are logged; default: nowhere. */
  readonly logger?: Logger | undefined;
  /** redis: reply timeout of one command; default 1000 ms. */
  readonly commandTimeoutMs?: number | undefined;
  /** redis: connect timeout; default 2000 ms. */
  readonly connectTimeoutMs?: number | undefined;
  /** sqlite: how long a write waits for another process's lock; default 5000 ms. */
  readonly busyTimeoutMs?: number | undefined;
}

/**
 * Builds the credentials store an element's `modules.auth_db` names (not yet opened: call
 * `open()`). The SQLite and Redis drivers are loaded by `open()`, so a memory-only set-up never
 * loads them. `use_domain: false` makes the store identify users by user name alone (see
 * {@link CredentialStoreOptions.useDomain}).
 * @throws InvalidArgumentError for an unknown backend or missing settings.
 */
export function createCredentialStore(
  cfg: CredentialStoreConfig,
  opts: CreateCredentialStoreOptions = {},
): CredentialStore {
  const useDomain = cfg.use_domain;
  switch (cfg.backend) {
    case 'memory':
      return new MemoryCredentialStore({ useDomain });
    case 'sqlite':
      return new SqliteCredentialStore({
        path: cfg.path,
        useDomain,
        busyTimeoutMs: opts.busyTimeoutMs,
        logger: opts.logger,
      });
    case 'redis':
      return new RedisCredentialStore({
        url: cfg.url,
        prefix: cfg.prefix,
        useDomain,
        logger: opts.logger,
        commandTimeoutMs: opts.commandTimeoutMs,
        connectTimeoutMs: opts.connectTimeoutMs,
      });
    default: {
      const backend: unknown = (cfg as { backend?: unknown }).backend;
      throw new InvalidArgumentError(`auth_db: unknown store backend ${JSON.stringify(backend)}`);
    }
  }
}

/** Where a store keeps its data, for messages: `sqlite /data/subscriber.db`, `redis redis://h:6379 (prefix p)`. */
export function describeCredentialStore(cfg: CredentialStoreConfig): string {
  switch (cfg.backend) {
    case 'memory':
      return 'memory';
    case 'sqlite':
      return `sqlite ${cfg.path}`;
    case 'redis':
      return `redis ${redactRedisUrl(cfg.url)} (prefix ${cfg.prefix ?? DEFAULT_CREDENTIALS_PREFIX})`;
  }
}
