import type { Ha1Set } from './ha1.js';

/**
 * One row of the credentials store, shaped like Kamailio's `subscriber` table: the user, its
 * domain, the realm its HA1 values were computed for, and those HA1 values. A plaintext password
 * is never stored.
 */
export interface Subscriber extends Ha1Set {
  /** User part, as the UA sends it in `username` (case-sensitive, RFC 3261 §19.1.4). */
  readonly username: string;
  /** Domain, lower-case. */
  readonly domain: string;
  /** Realm the HA1 values were computed for (default: the domain). */
  readonly realm: string;
  /** Wall-clock ms of creation and of the last password change. */
  readonly created: number;
  readonly updated: number;
}

/** A page of subscribers. */
export interface SubscriberPage {
  readonly items: readonly Subscriber[];
  /** Cursor for the next page; undefined on the last one. */
  readonly next: string | undefined;
}

/**
 * Where credentials live (Kamailio `auth_db` over the `subscriber` table). `get` is synchronous
 * where the backend can be (memory, SQLite), so authenticating a request needs no promise there;
 * Redis returns a promise.
 */
export interface CredentialStore {
  /** Backend name for logs and metrics (memory, sqlite, redis). */
  readonly name: string;
  open(): Promise<void>;
  close(): Promise<void>;
  /** The subscriber `username@domain` (domain compared lower-case), or undefined. */
  get(username: string, domain: string): Subscriber | undefined | Promise<Subscriber | undefined>;
  /** Adds or replaces a subscriber; says which. */
  put(s: Subscriber): Promise<'created' | 'updated'>;
  /** Removes `username@domain`; false when there was none. */
  remove(username: string, domain: string): Promise<boolean>;
  /** Subscribers in (domain, username) order, optionally of one domain; `limit` 1..1000. */
  list(opts?: {
    readonly domain?: string | undefined;
    readonly limit?: number | undefined;
    readonly cursor?: string | undefined;
  }): Promise<SubscriberPage>;
}
