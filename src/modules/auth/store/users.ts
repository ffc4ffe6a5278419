// What the user-management surfaces (`flowgate user`, `/v1/users`) share: reading `user@domain`,
// the password policy, and turning a password into a subscriber row.
import type { Subscriber } from '../credentials.js';
import { ha1Set } from '../ha1.js';
import { domainProblem, normalizeSubscriber, realmProblem, usernameProblem } from './subscriber.js';

/** Shortest password `flowgate user` and `/v1/users` accept. */
export const MIN_PASSWORD_LENGTH = 8;
/** Longest password accepted (characters). */
export const MAX_PASSWORD_LENGTH = 1024;

/** A user named as `user@domain`: the user name as given, the domain lower-case. */
export interface UserAddress {
  readonly username: string;
  readonly domain: string;
}

/**
 * Reads `alice@example.com` (or `sip:alice@example.com`): user name case kept, domain lower-cased.
 * The split is at the last '@'.
 */
export function parseUserAddress(
  text: string,
): { ok: true; value: UserAddress } | { ok: false; message: string } {
  const t = text.replace(/^sips?:/i, '');
  const at = t.lastIndexOf('@');
  if (at < 0)
    return {
      ok: false,
      message: `expected user@domain (e.g. alice@example.com), got ${JSON.stringify(text)}`,
    };
  const username = t.slice(0, at);
  const domain = t.slice(at + 1).toLowerCase();
  const p = usernameProblem(username) ?? domainProblem(domain);
  return p === undefined ? { ok: true, value: { username, domain } } : { ok: false, message: p };
}

/** Why `password` is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password === '') return 'the password is empty';
  const n = [...password].length;
  if (n < MIN_PASSWORD_LENGTH)
    return `the password is too short (${n} characters): use at least ${MIN_PASSWORD_LENGTH}`;
  if (n > MAX_PASSWORD_LENGTH)
    return `the password is too long: at most ${MAX_PASSWORD_LENGTH} characters`;
  // a control character cannot be typed into a phone's settings
  if (/\p{Cc}/u.test(password)) return 'the password contains a control character';
  return undefined;
}

/** Why `realm` is refused, or undefined when it is acceptable. */
export { realmProblem };

/**
 * The subscriber row for `username@domain` with this password: every HA1 computed for `realm`
 * (the password itself is not kept). `created` defaults to `now`.
 */
export function newSubscriber(
  user: UserAddress,
  realm: string,
  password: string,
  now: number,
  created = now,
): Subscriber {
  return normalizeSubscriber({
    username: user.username,
    domain: user.domain,
    realm,
    ...ha1Set(user.username, user.domain, realm, password),
    created,
    updated: now,
  });
}

/** A subscriber as `flowgate user list --json` and `/v1/users` show it: never an HA1 value. */
export interface UserJson {
  /** `username@domain` */
  readonly user: string;
  readonly username: string;
  readonly domain: string;
  readonly realm: string;
  /** ISO 8601 */
  readonly created: string;
  readonly updated: string;
}

/** The public view of a subscriber (the HA1 values are password-equivalent: left out). */
export function userJson(s: Subscriber): UserJson {
  return {
    user: `${s.username}@${s.domain}`,
    username: s.username,
    domain: s.domain,
    realm: s.realm,
    created: new Date(s.created).toISOString(),
    updated: new Date(s.updated).toISOString(),
  };
}
