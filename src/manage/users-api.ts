// `/v1/users`: the management API's side of `flowgate user` (add, change password, remove, list
// the subscribers of the credentials store). HA1 values never leave the process.
import { InvalidArgumentError } from '../errors/index.js';
import type { CredentialStore, Subscriber } from '../modules/auth/credentials.js';
import { CredentialStoreError } from '../modules/auth/store/errors.js';
import { normalizeDomain } from '../modules/auth/store/subscriber.js';
import {
  newSubscriber,
  parseUserAddress,
  passwordProblem,
  realmProblem,
  type UserAddress,
  userJson,
} from '../modules/auth/store/users.js';
import type { Logger } from '../util/logger.js';
import {
  HttpError,
  pageLimit,
  type RouteHandler,
  type RouteRequest,
  readJsonObject,
  sendJson,
} from './http.js';
import type { RouteId } from './routes.js';

/** What the users routes work on: the credentials store of the element that authenticates. */
export interface UsersApiOptions {
  readonly store: CredentialStore;
  /** Realm new HA1 values are computed for (`modules.auth.realm`); undefined: the user's domain. */
  readonly realm?: string | undefined;
}

/** Largest request body the users routes read. */
const MAX_BODY_BYTES = 16 * 1024;

/** The string fields of `body`; unknown or non-string fields are refused. */
function fields<K extends string>(
  body: Record<string, unknown>,
  required: readonly K[],
  optional: readonly K[],
): Record<K, string | undefined> {
  const out = {} as Record<K, string | undefined>;
  for (const k of Object.keys(body))
    if (
      !(required as readonly string[]).includes(k) &&
      !(optional as readonly string[]).includes(k)
    )
      throw new HttpError(
        400,
        'bad_request',
        `unknown field '${k}' (expected ${[...required, ...optional].join(', ')})`,
      );
  for (const k of [...required, ...optional]) {
    const v = body[k];
    if (v === undefined && (optional as readonly string[]).includes(k)) continue;
    if (typeof v !== 'string') throw new HttpError(400, 'bad_request', `${k}: expected a string`);
    out[k] = v;
  }
  return out;
}

function userOf(text: string): UserAddress {
  const r = parseUserAddress(text);
  if (!r.ok) throw new HttpError(400, 'bad_request', `user: ${r.message}`);
  return r.value;
}

function checkPassword(password: string | undefined): string {
  const p = passwordProblem(password ?? '');
  if (p !== undefined) throw new HttpError(400, 'bad_request', `password: ${p}`);
  return password as string;
}

function checkRealm(realm: string | undefined): void {
  const p = realm === undefined ? undefined : realmProblem(realm);
  if (p !== undefined) throw new HttpError(400, 'bad_request', `realm: ${p}`);
}

const name = (s: { username: string; domain: string }): string => `${s.username}@${s.domain}`;

type UsersRoute = 'users.list' | 'users.add' | 'users.get' | 'users.set' | 'users.remove';

/**
 * The handlers of the `/v1/users` routes. Without `credentials` every one answers 404
 * `not_configured`; a store that fails is 503 `unavailable`.
 */
export function usersHandlers(
  credentials: () => UsersApiOptions | undefined,
  log: Logger,
): Record<UsersRoute & RouteId, RouteHandler> {
  /** Runs `f` with the store, mapping the store's errors to HTTP ones. */
  const guard =
    (f: (c: UsersApiOptions, r: RouteRequest) => Promise<void>): RouteHandler =>
    async (r) => {
      const c = credentials();
      if (c === undefined)
        throw new HttpError(
          404,
          'not_configured',
          'authentication is not configured: no element of this process loads the auth module (modules.auth)',
        );
      try {
        await f(c, r);
      } catch (e) {
        if (e instanceof InvalidArgumentError)
          throw new HttpError(400, 'bad_request', e.message.replace(/^credentials: /, ''));
        if (e instanceof CredentialStoreError) {
          log.error({ err: e }, 'credentials store failed');
          throw new HttpError(503, 'unavailable', e.message);
        }
        throw e;
      }
    };

  return {
    'users.list': guard(async ({ store }, r) => sendJson(r.res, 200, await list(store, r.query))),

    'users.add': guard(async (credentials, r) => {
      const { store } = credentials;
      const f = fields(
        await readJsonObject(r.req, MAX_BODY_BYTES),
        ['user', 'password'],
        ['realm'],
      );
      const u = userOf(f.user ?? '');
      checkRealm(f.realm);
      const password = checkPassword(f.password);
      const existing = await store.get(u.username, u.domain);
      if (existing !== undefined)
        throw new HttpError(
          409,
          'conflict',
          `${name(existing)} already exists: change its password with PUT /v1/users/${name(existing)}`,
        );
      const realm = f.realm ?? credentials.realm ?? u.domain;
      const s = newSubscriber(u, realm, password, Date.now());
      await store.put(s);
      log.info({ user: name(s), realm }, 'user added through the management API');
      r.res.setHeader('location', `/v1/users/${encodeURIComponent(name(s))}`);
      sendJson(r.res, 201, { user: userJson(s) });
    }),

    'users.get': guard(async ({ store }, r) => {
      const u = userOf(r.params['user'] ?? '');
      const existing = await store.get(u.username, u.domain);
      if (existing === undefined) throw new HttpError(404, 'not_found', `no user ${name(u)}`);
      sendJson(r.res, 200, { user: userJson(existing) });
    }),

    'users.set': guard(async (credentials, r) => {
      const { store } = credentials;
      const u = userOf(r.params['user'] ?? '');
      const existing: Subscriber | undefined = await store.get(u.username, u.domain);
      const f = fields(await readJsonObject(r.req, MAX_BODY_BYTES), ['password'], ['realm']);
      checkRealm(f.realm);
      const password = checkPassword(f.password);
      if (existing === undefined)
        throw new HttpError(
          404,
          'not_found',
          `no user ${name(u)}: add it with POST /v1/users { "user": "${name(u)}", "password": … }`,
        );
      // with use_domain off the stored row may name another domain: keep it
      const stored = { username: existing.username, domain: existing.domain };
      const realm = f.realm ?? credentials.realm ?? stored.domain;
      const s = newSubscriber(stored, realm, password, Date.now(), existing.created);
      await store.put(s);
      log.info({ user: name(s), realm }, 'password changed through the management API');
      sendJson(r.res, 200, { user: userJson({ ...s, created: existing.created }) });
    }),

    'users.remove': guard(async ({ store }, r) => {
      const u = userOf(r.params['user'] ?? '');
      if (!(await store.remove(u.username, u.domain)))
        throw new HttpError(404, 'not_found', `no user ${name(u)}`);
      log.info({ user: name(u) }, 'user removed through the management API');
      sendJson(r.res, 204, undefined);
    }),
  };
}

async function list(store: CredentialStore, q: URLSearchParams): Promise<unknown> {
  const limit = pageLimit(q);
  const d = q.get('domain');
  let domain: string | undefined;
  if (d !== null && d !== '') {
    try {
      domain = normalizeDomain(d);
    } catch {
      throw new HttpError(400, 'bad_request', `domain: expected a host name, got '${d}'`);
    }
  }
  let page: Awaited<ReturnType<CredentialStore['list']>>;
  try {
    page = await store.list({ domain, limit, cursor: q.get('cursor') ?? undefined });
  } catch (e) {
    if (e instanceof InvalidArgumentError)
      throw new HttpError(400, 'bad_request', 'cursor: not a cursor this API returned');
    throw e;
  }
  return { users: page.items.map(userJson), next: page.next ?? null };
}
