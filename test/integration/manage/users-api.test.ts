// /v1/users on a real management server (loopback HTTP) over a memory credentials store: add,
// change password, remove, list with paging; token required; never an HA1 or password out.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ManagementOptions,
  type ManagementServer,
  StoreMetrics,
  startManagementServer,
} from '../../../src/manage/index.js';
import type { CredentialStore } from '../../../src/modules/auth/credentials.js';
import { ha1Set } from '../../../src/modules/auth/ha1.js';
import { MemoryCredentialStore } from '../../../src/modules/auth/store/index.js';
import type { Logger } from '../../../src/util/logger.js';
import { WAIT_MS } from '../../support/net.js';

const TOKEN = 'users-api-token-0123456789abcdef';

/** A logger that keeps every line (to check nothing secret is logged). */
function recordingLogger(lines: string[]): Logger {
  const fn =
    (level: string) =>
    (a: unknown, b?: unknown): void => {
      lines.push(`${level} ${JSON.stringify(a)} ${b === undefined ? '' : JSON.stringify(b)}`);
    };
  const l: Logger = {
    trace: fn('trace'),
    debug: fn('debug'),
    info: fn('info'),
    warn: fn('warn'),
    error: fn('error'),
    fatal: fn('fatal'),
    child: () => l,
  };
  return l;
}

async function start(
  credentials: ManagementOptions['credentials'],
  logs: string[] = [],
): Promise<ManagementServer> {
  return await startManagementServer({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    elements: () => [],
    storeMetrics: new StoreMetrics(),
    info: { version: '9.9.9', startedAt: Date.now() },
    logger: recordingLogger(logs),
    credentials,
  });
}

interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly text: string;
  readonly headers: Headers;
}

async function call(
  api: ManagementServer,
  method: string,
  path: string,
  body?: unknown,
  token: string | null = TOKEN,
): Promise<Reply> {
  const headers = new Headers();
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  if (body !== undefined) headers.set('content-type', 'application/json');
  const init: RequestInit = { method, headers, signal: AbortSignal.timeout(WAIT_MS) };
  if (body !== undefined) init.body = typeof body === 'string' ? body : JSON.stringify(body);
  const r = await fetch(`${api.url}${path}`, init);
  const text = await r.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // 204
  }
  return { status: r.status, body: parsed, text, headers: r.headers };
}

describe('management API /v1/users', () => {
  let api: ManagementServer;
  let store: CredentialStore;
  const logs: string[] = [];

  before(async () => {
    store = new MemoryCredentialStore();
    await store.open();
    api = await start({ store, realm: undefined }, logs);
  });
  after(async () => {
    await api?.close();
    await store?.close();
  });

  test('a token is required on every users route', async () => {
    for (const [m, p] of [
      ['GET', '/v1/users'],
      ['POST', '/v1/users'],
      ['PUT', '/v1/users/alice@example.com'],
      ['DELETE', '/v1/users/alice@example.com'],
    ] as const) {
      const r = await call(api, m, p, m === 'GET' || m === 'DELETE' ? undefined : {}, null);
      assert.equal(r.status, 401, `${m} ${p}`);
      const w = await call(api, m, p, undefined, 'wrong-token-0123456789abcdef');
      assert.equal(w.status, 401, `${m} ${p} wrong token`);
    }
    assert.deepEqual((await store.list()).items, [], 'nothing was written');
  });

  test('POST adds (201) with the HA1s of the password; a second POST is 409', async () => {
    const r = await call(api, 'POST', '/v1/users', {
      user: 'alice@Example.com',
      password: 'alice-secret-1',
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('location'), '/v1/users/alice%40example.com');
    const u = r.body['user'] as Record<string, unknown>;
    assert.deepEqual(Object.keys(u).sort(), [
      'created',
      'domain',
      'realm',
      'updated',
      'user',
      'username',
    ]);
    assert.equal(u['user'], 'alice@example.com');
    assert.equal(u['realm'], 'example.com');
    const s = await store.get('alice', 'example.com');
    assert.ok(s !== undefined);
    assert.deepEqual(
      { ha1: s.ha1, ha1b: s.ha1b, ha1_sha256: s.ha1_sha256, ha1b_sha256: s.ha1b_sha256 },
      ha1Set('alice', 'example.com', 'example.com', 'alice-secret-1'),
    );
    const again = await call(api, 'POST', '/v1/users', {
      user: 'alice@example.com',
      password: 'another-secret',
    });
    assert.equal(again.status, 409);
    assert.equal(again.body['error'], 'conflict');
    assert.match(String(again.body['message']), /PUT \/v1\/users\/alice@example\.com/);
    assert.equal((await store.get('alice', 'example.com'))?.ha1, s.ha1, 'unchanged');
  });

  test('POST with a realm uses it; bad input is 400 and stores nothing', async () => {
    const r = await call(api, 'POST', '/v1/users', {
      user: 'bob@example.com',
      password: 'bob-secret-1',
      realm: 'voip.example.com',
    });
    assert.equal(r.status, 201, r.text);
    assert.equal((await store.get('bob', 'example.com'))?.realm, 'voip.example.com');
    const bad: [unknown, RegExp][] = [
      [{ user: 'carol@example.com', password: 'short' }, /password: the password is too short/],
      [{ user: 'carol@example.com', password: '' }, /password: the password is empty/],
      [{ user: 'carol@example.com' }, /password: expected a string/],
      [{ user: 'carol', password: 'carol-secret-1' }, /user: expected user@domain/],
      [
        { user: 'carol@example.com', password: 'carol-secret-1', admin: true },
        /unknown field 'admin'/,
      ],
      [{ user: 'carol@example.com', password: 'carol-secret-1', realm: 'a"b' }, /realm: /],
      [['carol@example.com'], /a JSON object/],
      ['{"user": "carol@example.com", "password": "not json', /not JSON/],
    ];
    for (const [body, re] of bad) {
      const b = await call(api, 'POST', '/v1/users', body);
      assert.equal(b.status, 400, JSON.stringify(body));
      assert.equal(b.body['error'], 'bad_request');
      assert.match(String(b.body['message']), re);
      assert.equal(b.text.includes('carol-secret-1'), false, 'the password is not echoed');
    }
    assert.equal(await store.get('carol', 'example.com'), undefined);
  });

  test('PUT changes the password (200), keeps created; 404 for no such user', async () => {
    await call(api, 'POST', '/v1/users', { user: 'dave@example.com', password: 'dave-secret-1' });
    const before = await store.get('dave', 'example.com');
    assert.ok(before !== undefined);
    await new Promise((r) => setTimeout(r, 5));
    const r = await call(api, 'PUT', '/v1/users/dave@example.com', { password: 'dave-secret-2' });
    assert.equal(r.status, 200, r.text);
    const after = await store.get('dave', 'example.com');
    assert.deepEqual(
      after === undefined ? undefined : { ha1: after.ha1, ha1_sha256: after.ha1_sha256 },
      (({ ha1, ha1_sha256 }) => ({ ha1, ha1_sha256 }))(
        ha1Set('dave', 'example.com', 'example.com', 'dave-secret-2'),
      ),
    );
    assert.equal(after?.created, before.created);
    assert.ok((after?.updated ?? 0) > before.updated);
    assert.equal(
      (r.body['user'] as Record<string, unknown>)['created'],
      new Date(before.created).toISOString(),
    );
    const missing = await call(api, 'PUT', '/v1/users/nobody@example.com', {
      password: 'nobody-secret',
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body['error'], 'not_found');
    assert.equal(await store.get('nobody', 'example.com'), undefined, 'PUT does not create');
    const short = await call(api, 'PUT', '/v1/users/dave@example.com', { password: 'x' });
    assert.equal(short.status, 400);
    assert.equal((await store.get('dave', 'example.com'))?.ha1, after?.ha1);
  });

  test('GET one user; DELETE removes (204) then 404', async () => {
    await call(api, 'POST', '/v1/users', { user: 'erin@example.com', password: 'erin-secret-1' });
    const g = await call(api, 'GET', '/v1/users/erin%40example.com');
    assert.equal(g.status, 200);
    assert.equal((g.body['user'] as Record<string, unknown>)['user'], 'erin@example.com');
    const d = await call(api, 'DELETE', '/v1/users/erin@example.com');
    assert.equal(d.status, 204);
    assert.equal(d.text, '');
    assert.equal(await store.get('erin', 'example.com'), undefined);
    assert.equal((await call(api, 'DELETE', '/v1/users/erin@example.com')).status, 404);
    assert.equal((await call(api, 'GET', '/v1/users/erin@example.com')).status, 404);
  });

  test('GET /v1/users lists in (domain, user) order with limit and cursor, filtered by domain', async () => {
    const s2 = new MemoryCredentialStore();
    await s2.open();
    const a2 = await start({ store: s2 });
    try {
      const users = [
        'zed@b.example',
        'amy@b.example',
        'Bob@a.example',
        'cy@a.example',
        'al@c.example',
      ];
      for (const u of users)
        assert.equal(
          (await call(a2, 'POST', '/v1/users', { user: u, password: `${u}-pass` })).status,
          201,
        );
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = `/v1/users?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
        const r = await call(a2, 'GET', q);
        assert.equal(r.status, 200, r.text);
        const list = r.body['users'] as Record<string, unknown>[];
        assert.ok(list.length <= 2);
        seen.push(...list.map((x) => String(x['user'])));
        cursor = r.body['next'] as string | null;
        pages++;
      } while (cursor !== null && pages < 10);
      assert.deepEqual(seen, [
        'Bob@a.example',
        'cy@a.example',
        'amy@b.example',
        'zed@b.example',
        'al@c.example',
      ]);
      assert.equal(pages, 3);
      const f = await call(a2, 'GET', '/v1/users?domain=B.Example');
      assert.deepEqual(
        (f.body['users'] as Record<string, unknown>[]).map((x) => x['user']),
        ['amy@b.example', 'zed@b.example'],
      );
      assert.equal(f.body['next'], null);
      for (const q of ['limit=0', 'limit=1001', 'limit=x', 'cursor=nope', 'domain=a%20b'])
        assert.equal((await call(a2, 'GET', `/v1/users?${q}`)).status, 400, q);
      const all = await call(a2, 'GET', '/v1/users');
      assert.doesNotMatch(all.text, /[0-9a-f]{32}/, 'no HA1 value in a listing');
      assert.doesNotMatch(all.text, /-pass/, 'no password in a listing');
    } finally {
      await a2.close();
      await s2.close();
    }
  });

  test('the realm of the element (modules.auth.realm) is used when the request names none', async () => {
    const s3 = new MemoryCredentialStore();
    await s3.open();
    const a3 = await start({ store: s3, realm: 'realm.example' });
    try {
      assert.equal(
        (await call(a3, 'POST', '/v1/users', { user: 'fay@example.com', password: 'fay-secret-1' }))
          .status,
        201,
      );
      assert.equal(
        (await s3.get('fay', 'example.com'))?.ha1,
        ha1Set('fay', 'example.com', 'realm.example', 'fay-secret-1').ha1,
      );
    } finally {
      await a3.close();
      await s3.close();
    }
  });

  test('wrong methods are 405 with Allow', async () => {
    const r = await call(api, 'PATCH', '/v1/users/alice@example.com', {});
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, PUT, DELETE');
    const l = await call(api, 'DELETE', '/v1/users');
    assert.equal(l.status, 405);
    assert.equal(l.headers.get('allow'), 'GET, POST');
  });

  test('no password or HA1 value is ever logged', () => {
    assert.ok(logs.some((l) => l.includes('user added through the management API')));
    for (const l of logs) {
      assert.doesNotMatch(l, /secret/, l);
      assert.doesNotMatch(l, /[0-9a-f]{32}/, l);
    }
  });
});

describe('management API /v1/users without a credentials store', () => {
  test('every users route answers 404 not_configured (authentication is not configured)', async () => {
    const api = await start(undefined);
    try {
      for (const [m, p] of [
        ['GET', '/v1/users'],
        ['POST', '/v1/users'],
        ['GET', '/v1/users/alice@example.com'],
        ['PUT', '/v1/users/alice@example.com'],
        ['DELETE', '/v1/users/alice@example.com'],
      ] as const) {
        const r = await call(
          api,
          m,
          p,
          m === 'POST' || m === 'PUT' ? { password: 'x' } : undefined,
        );
        assert.equal(r.status, 404, `${m} ${p}`);
        assert.equal(r.body['error'], 'not_configured');
        assert.match(String(r.body['message']), /authentication is not configured/);
      }
      // still behind the token
      assert.equal((await call(api, 'GET', '/v1/users', undefined, null)).status, 401);
    } finally {
      await api.close();
    }
  });
});
