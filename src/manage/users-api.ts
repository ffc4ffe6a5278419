// `/v1/users`: the management API's side of `flowgate user` (add, change password, remove, list
// the subscribers of the credentials store). HA1 values never leave the process.
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/** What the users routes work on: the credentials store of the element that authenticates. */
export interface UsersApiOptions {
  readonly store: CredentialStore;
  /** Realm new HA1 values are computed for (`modules.auth.realm`); undefined: the user's domain. */
  readonly realm?: string | undefined;
}

/** Largest request body the users routes read. */
const MAX_BODY_BYTES = 16 * 1024;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** A refused request: HTTP status, a stable error word, what is wrong. */
class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  readonly error: string;
  constructor(status: number, error: string, message: string) {
    super(message);
    this.status = status;
    this.error = error;
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (status === 204) {
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
    return;
  }
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** The JSON object in the request body (at most 16 KiB). */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type))
    throw new ApiError(415, 'unsupported_media_type', 'send the body as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new ApiError(413, 'too_large', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    // the body may hold a password: never echo it
    throw new ApiError(400, 'bad_request', 'the body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new ApiError(400, 'bad_request', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

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
      throw new ApiError(
        400,
        'bad_request',
        `unknown field '${k}' (expected ${[...required, ...optional].join(', ')})`,
      );
  for (const k of [...required, ...optional]) {
    const v = body[k];
    if (v === undefined && (optional as readonly string[]).includes(k)) continue;
    if (typeof v !== 'string') throw new ApiError(400, 'bad_request', `${k}: expected a string`);
    out[k] = v;
  }
  return out;
}

function userOf(text: string): UserAddress {
  const r = parseUserAddress(text);
  if (!r.ok) throw new ApiError(400, 'bad_request', `user: ${r.message}`);
  return r.value;
}

function checkPassword(password: string | undefined): string {
  const p = passwordProblem(password ?? '');
  if (p !== undefined) throw new ApiError(400, 'bad_request', `password: ${p}`);
  return password as string;
}

function checkRealm(realm: string | undefined): void {
  const p = realm === undefined ? undefined : realmProblem(realm);
  if (p !== undefined) throw new ApiError(400, 'bad_request', `realm: ${p}`);
}

const name = (s: { username: string; domain: string }): string => `${s.username}@${s.domain}`;

/**
 * Answers the `/v1/users` routes; resolves false when `path` is not one of them (the caller goes
 * on routing). Without `credentials` every users route answers 404 `not_configured`. The caller
 * has checked the token.
 *
 * - `GET /v1/users[?domain=&limit=&cursor=]`: `{ users, next }`
 * - `POST /v1/users` `{ user, password, realm? }`: 201, 409 when the user exists
 * - `GET /v1/users/<user@domain>`: the user, or 404
 * - `PUT /v1/users/<user@domain>` `{ password, realm? }`: 200, 404 when there is no such user
 * - `DELETE /v1/users/<user@domain>`: 204, or 404
 */
export async function handleUsersRequest(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  credentials: UsersApiOptions | undefined,
  log: Logger,
): Promise<boolean> {
  const one = /^\/v1\/users\/([^/]+)$/.exec(path);
  if (path !== '/v1/users' && one === null) return false;
  const method = req.method ?? 'GET';
  try {
    if (credentials === undefined)
      throw new ApiError(
        404,
        'not_configured',
        'authentication is not configured: no element of this process loads the auth module (modules.auth)',
      );
    const { store } = credentials;
    const allow = (methods: readonly string[]): void => {
      if (!methods.includes(method) && !(method === 'HEAD' && methods.includes('GET'))) {
        res.setHeader('allow', methods.join(', '));
        throw new ApiError(
          405,
          'method_not_allowed',
          `${method} ${path}: use ${methods.join(' or ')}`,
        );
      }
    };
    if (one === null) {
      allow(['GET', 'POST']);
      if (method === 'POST') {
        const f = fields(await readJson(req), ['user', 'password'], ['realm']);
        const u = userOf(f.user ?? '');
        checkRealm(f.realm);
        const password = checkPassword(f.password);
        const existing = await store.get(u.username, u.domain);
        if (existing !== undefined)
          throw new ApiError(
            409,
            'conflict',
            `${name(existing)} already exists: change its password with PUT /v1/users/${name(existing)}`,
          );
        const realm = f.realm ?? credentials.realm ?? u.domain;
        const s = newSubscriber(u, realm, password, Date.now());
        await store.put(s);
        log.info({ user: name(s), realm }, 'user added through the management API');
        res.setHeader('location', `/v1/users/${encodeURIComponent(name(s))}`);
        send(res, 201, { user: userJson(s) });
        return true;
      }
      send(res, 200, await list(store, query));
      return true;
    }
    allow(['GET', 'PUT', 'DELETE']);
    const u = userOf(decodeURIComponent(one[1] as string));
    if (method === 'DELETE') {
      if (!(await store.remove(u.username, u.domain)))
        throw new ApiError(404, 'not_found', `no user ${name(u)}`);
      log.info({ user: name(u) }, 'user removed through the management API');
      send(res, 204, undefined);
      return true;
    }
    const existing: Subscriber | undefined = await store.get(u.username, u.domain);
    if (method === 'PUT') {
      const f = fields(await readJson(req), ['password'], ['realm']);
      checkRealm(f.realm);
      const password = checkPassword(f.password);
      if (existing === undefined)
        throw new ApiError(
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
      send(res, 200, { user: userJson({ ...s, created: existing.created }) });
      return true;
    }
    if (existing === undefined) throw new ApiError(404, 'not_found', `no user ${name(u)}`);
    send(res, 200, { user: userJson(existing) });
    return true;
  } catch (e) {
    if (e instanceof ApiError) {
      send(res, e.status, { error: e.error, message: e.message });
      return true;
    }
    if (e instanceof InvalidArgumentError) {
      send(res, 400, { error: 'bad_request', message: e.message.replace(/^credentials: /, '') });
      return true;
    }
    if (e instanceof CredentialStoreError) {
      log.error({ err: e }, 'credentials store failed');
      send(res, 503, { error: 'unavailable', message: e.message });
      return true;
    }
    throw e;
  }
}

async function list(store: CredentialStore, q: URLSearchParams): Promise<unknown> {
  const limitText = q.get('limit');
  const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new ApiError(
      400,
      'bad_request',
      `limit: expected an integer 1..${MAX_LIMIT}, got '${limitText}'`,
    );
  const d = q.get('domain');
  let domain: string | undefined;
  if (d !== null && d !== '') {
    try {
      domain = normalizeDomain(d);
    } catch {
      throw new ApiError(400, 'bad_request', `domain: expected a host name, got '${d}'`);
    }
  }
  let page: Awaited<ReturnType<CredentialStore['list']>>;
  try {
    page = await store.list({ domain, limit, cursor: q.get('cursor') ?? undefined });
  } catch (e) {
    if (e instanceof InvalidArgumentError)
      throw new ApiError(400, 'bad_request', 'cursor: not a cursor this API returned');
    throw e;
  }
  return { users: page.items.map(userJson), next: page.next ?? null };
}
