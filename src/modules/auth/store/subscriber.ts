import { InvalidArgumentError } from '../../../errors/index.js';
import { compareCodePoints } from '../../location/order.js';
import type { Subscriber, SubscriberPage } from '../credentials.js';

/** Largest page `list()` returns. */
export const MAX_LIST_LIMIT = 1000;
/** Page size of `list()` when none is asked for. */
export const DEFAULT_LIST_LIMIT = 100;

// No '@' (the CLI and API split user@domain at the last '@', and ha1b hashes "user@domain"), no
// whitespace or control characters (they cannot be typed in a UA's settings or shown in a table).
const USERNAME = /^[^\s@\p{Cc}]{1,128}$/u;
// Host names and IP literals only: then a Redis key `subscriber:<domain>:<user>` is unambiguous
// (a host name has no ':', an IPv6 literal ends with ']').
const DOMAIN = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])$/;
// A realm goes into a quoted-string of WWW-Authenticate (RFC 3261 §25.1): no '"', '\' or controls.
const REALM = /^[^"\\\p{Cc}]{1,255}$/u;
const MD5_HEX = /^[0-9a-f]{32}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** Why `username` cannot be a subscriber's user name, or undefined when it can. */
export function usernameProblem(username: unknown): string | undefined {
  if (typeof username !== 'string' || username === '') return 'the user name is empty';
  if (!USERNAME.test(username))
    return `user name ${JSON.stringify(username)}: at most 128 characters, no '@', spaces or control characters`;
  return undefined;
}

/** Why `domain` (already lower-cased) cannot be a subscriber's domain, or undefined when it can. */
export function domainProblem(domain: unknown): string | undefined {
  if (typeof domain !== 'string' || domain === '') return 'the domain is empty';
  if (domain.length > 253 || !DOMAIN.test(domain))
    return `domain ${JSON.stringify(domain)}: expected a host name or IP address, e.g. example.com`;
  return undefined;
}

/** Why `realm` cannot be a realm, or undefined when it can. */
export function realmProblem(realm: unknown): string | undefined {
  if (typeof realm !== 'string' || realm === '') return 'the realm is empty';
  if (!REALM.test(realm))
    return `realm ${JSON.stringify(realm)}: at most 255 characters, no '"', '\\' or control characters`;
  return undefined;
}

/**
 * The domain as stored: lower-case (RFC 3261 §19.1.4 compares host parts case-insensitively).
 * @throws InvalidArgumentError when it is not a host name or IP address.
 */
export function normalizeDomain(domain: string): string {
  const d = typeof domain === 'string' ? domain.toLowerCase() : domain;
  const p = domainProblem(d);
  if (p !== undefined) throw new InvalidArgumentError(`credentials: ${p}`);
  return d;
}

/** @throws InvalidArgumentError when `username` is not a valid user name. */
export function assertUsername(username: string): void {
  const p = usernameProblem(username);
  if (p !== undefined) throw new InvalidArgumentError(`credentials: ${p}`);
}

/**
 * A checked, frozen copy of `s` with the domain lower-cased and only the fields of
 * {@link Subscriber}: whatever else the object carries (a `password`, say) is never stored.
 * @throws InvalidArgumentError naming the first problem; an HA1 that is not lower-case hex of the
 *   right length is refused, so a plaintext password put in its place is never written.
 */
export function normalizeSubscriber(s: Subscriber): Subscriber {
  const fail = (m: string): never => {
    throw new InvalidArgumentError(`credentials: ${m}`);
  };
  if (typeof s !== 'object' || s === null) fail('expected a subscriber object');
  const up = usernameProblem(s.username);
  if (up !== undefined) fail(up);
  const domain = typeof s.domain === 'string' ? s.domain.toLowerCase() : s.domain;
  const dp = domainProblem(domain);
  if (dp !== undefined) fail(dp);
  const rp = realmProblem(s.realm);
  if (rp !== undefined) fail(rp);
  for (const k of ['ha1', 'ha1b'] as const)
    if (typeof s[k] !== 'string' || !MD5_HEX.test(s[k]))
      fail(`${k}: expected 32 lower-case hex digits (an MD5 HA1, never a password)`);
  for (const k of ['ha1_sha256', 'ha1b_sha256'] as const)
    if (typeof s[k] !== 'string' || !SHA256_HEX.test(s[k]))
      fail(`${k}: expected 64 lower-case hex digits (a SHA-256 HA1, never a password)`);
  for (const k of ['created', 'updated'] as const)
    if (!Number.isSafeInteger(s[k]) || s[k] < 0) fail(`${k}: expected epoch milliseconds`);
  return Object.freeze({
    username: s.username,
    domain,
    realm: s.realm,
    ha1: s.ha1,
    ha1b: s.ha1b,
    ha1_sha256: s.ha1_sha256,
    ha1b_sha256: s.ha1b_sha256,
    created: s.created,
    updated: s.updated,
  });
}

/**
 * Reads a subscriber a backend returned (strings from SQLite or Redis); undefined when the stored
 * data is not a valid subscriber (the caller reports it as a store fault).
 */
export function readStoredSubscriber(v: Record<string, unknown>): Subscriber | undefined {
  const num = (x: unknown): number => (typeof x === 'string' ? Number(x) : (x as number));
  try {
    return normalizeSubscriber({
      username: v['username'],
      domain: v['domain'],
      realm: v['realm'],
      ha1: v['ha1'],
      ha1b: v['ha1b'],
      ha1_sha256: v['ha1_sha256'],
      ha1b_sha256: v['ha1b_sha256'],
      created: num(v['created']),
      updated: num(v['updated']),
    } as Subscriber);
  } catch {
    return undefined;
  }
}

/** The listing order: domain, then user name, by code point (SQLite BINARY and Redis BYLEX agree). */
export function compareSubscribers(
  a: { readonly domain: string; readonly username: string },
  b: { readonly domain: string; readonly username: string },
): number {
  return compareCodePoints(a.domain, b.domain) || compareCodePoints(a.username, b.username);
}

/** A position in the listing: after this (domain, username). */
export interface SubscriberPosition {
  readonly domain: string;
  readonly username: string;
}

/** The checked arguments of `list()`. */
export interface ListQuery {
  /** Lower-case, or undefined for every domain. */
  readonly domain: string | undefined;
  readonly limit: number;
  readonly after: SubscriberPosition | undefined;
}

/**
 * Checks the options of `CredentialStore.list()`.
 * @throws InvalidArgumentError for a limit outside 1..1000, a bad domain or a cursor this module
 *   did not produce.
 */
export function listQuery(
  opts: {
    readonly domain?: string | undefined;
    readonly limit?: number | undefined;
    readonly cursor?: string | undefined;
  } = {},
): ListQuery {
  const limit = opts.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT)
    throw new InvalidArgumentError(
      `credentials: list limit must be an integer 1..${MAX_LIST_LIMIT}, got ${limit}`,
    );
  const domain =
    opts.domain === undefined || opts.domain === '' ? undefined : normalizeDomain(opts.domain);
  return { domain, limit, after: decodeCursor(opts.cursor) };
}

/** Encodes the position after `s` as an opaque cursor (base64url JSON). */
export function encodeCursor(s: SubscriberPosition): string {
  return Buffer.from(JSON.stringify([s.domain, s.username]), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined): SubscriberPosition | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string')
    return { domain: v[0], username: v[1] };
  throw new InvalidArgumentError('credentials: malformed list cursor');
}

/** A page from up to `limit + 1` subscribers in listing order: the extra one says more follow. */
export function toPage(rows: readonly Subscriber[], limit: number): SubscriberPage {
  if (rows.length <= limit) return { items: rows, next: undefined };
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next: last === undefined ? undefined : encodeCursor(last) };
}

/** Options every credentials store takes. */
export interface CredentialStoreOptions {
  /**
   * Kamailio auth_db `use_domain` (default true). False: the user name alone identifies a
   * subscriber. `get()` then ignores the domain it is given, `put()` replaces the user's row
   * whatever its domain (so one user name has at most one row), and `remove()` removes the user
   * in every domain. A user name stored under several domains (written while `use_domain` was on)
   * matches nothing: the lookup fails closed rather than pick one of several passwords.
   */
  readonly useDomain?: boolean | undefined;
}
