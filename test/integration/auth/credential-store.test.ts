// The credentials store on every backend: the shared conformance suite against memory, SQLite in a
// temp dir and a real redis-server, then what is particular to each (file modes, schema, keys).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import {
  CredentialStoreError,
  createCredentialStore,
  MemoryCredentialStore,
  RedisCredentialStore,
  SqliteCredentialStore,
  SUBSCRIBER_SCHEMA_VERSION,
} from '../../../src/modules/auth/store/index.js';
import { makeSubscriber, runCredentialStoreSuite } from '../../support/credential-store.case.js';
import { freePort, RedisServer, redisSkipReason } from '../../support/redis-server.js';

let dir = '';
let files = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-cred-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
function dbFile(sub = ''): string {
  return join(dir, sub, `subscriber-${++files}.db`);
}

/** The bytes of a SQLite database and its WAL, as latin1 text (HA1 hex and ASCII survive). */
function sqliteBytes(path: string): string {
  let out = '';
  for (const p of [path, `${path}-wal`])
    if (existsSync(p)) out += readFileSync(p).toString('latin1');
  return out;
}

runCredentialStoreSuite('memory', async ({ useDomain }) => ({
  store: new MemoryCredentialStore({ useDomain }),
  syncGet: true,
}));

runCredentialStoreSuite('sqlite', async ({ useDomain }) => {
  const path = dbFile();
  return {
    store: new SqliteCredentialStore({ path, useDomain }),
    syncGet: true,
    reopen: (o) => new SqliteCredentialStore({ path, useDomain: o.useDomain }),
    raw: async () => sqliteBytes(path),
  };
});

describe('SqliteCredentialStore', () => {
  test('a new file is 0600 (and its WAL), new directories 0700; HA1s are password-equivalent', async () => {
    const path = dbFile(join('fresh', 'nested'));
    const store = new SqliteCredentialStore({ path });
    try {
      await store.open();
      await store.put(makeSubscriber('alice', 'example.com', 'alice password'));
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.equal(statSync(`${path}-wal`).mode & 0o777, 0o600);
      assert.equal(statSync(join(dir, 'fresh')).mode & 0o777, 0o700);
      assert.equal(statSync(join(dir, 'fresh', 'nested')).mode & 0o777, 0o700);
    } finally {
      await store.close();
    }
  });

  test('the subscriber table: Kamailio-shaped columns, UNIQUE(username, domain), WAL, schema version', async () => {
    const path = dbFile();
    const store = new SqliteCredentialStore({ path });
    await store.open();
    await store.put(makeSubscriber('alice', 'example.com', 'alice password'));
    await store.close();
    const db = new Database(path, { readonly: true });
    try {
      const cols = (db.prepare('PRAGMA table_info(subscriber)').all() as { name: string }[]).map(
        (c) => c.name,
      );
      assert.deepEqual(cols, [
        'id',
        'username',
        'domain',
        'realm',
        'ha1',
        'ha1b',
        'ha1_sha256',
        'ha1b_sha256',
        'created',
        'updated',
      ]);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      assert.deepEqual(
        db.prepare("SELECT value FROM meta WHERE key = 'subscriber_schema_version'").get(),
        { value: String(SUBSCRIBER_SCHEMA_VERSION) },
      );
      const row = db.prepare('SELECT id, username, domain FROM subscriber').get();
      assert.deepEqual(row, { id: 1, username: 'alice', domain: 'example.com' });
    } finally {
      db.close();
    }
    const rw = new Database(path);
    try {
      assert.throws(
        () =>
          rw
            .prepare(
              "INSERT INTO subscriber (username, domain, realm, ha1, ha1b, ha1_sha256, ha1b_sha256, created, updated) VALUES ('alice', 'example.com', 'r', '', '', '', '', 0, 0)",
            )
            .run(),
        /UNIQUE constraint failed/,
      );
    } finally {
      rw.close();
    }
  });

  test('a database of a newer schema is refused, not guessed at', async () => {
    const path = dbFile();
    const db = new Database(path);
    db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)');
    db.prepare("INSERT INTO meta VALUES ('subscriber_schema_version', ?)").run(
      String(SUBSCRIBER_SCHEMA_VERSION + 1),
    );
    db.close();
    const store = new SqliteCredentialStore({ path });
    await assert.rejects(store.open(), (e: unknown) => {
      assert.ok(e instanceof CredentialStoreError);
      assert.equal(e.code, 'SIP_ERR_AUTH_STORE');
      assert.match(e.message, /schema version 2 is not one this flowgate knows/);
      return true;
    });
    await store.close();
  });

  test('the file can share a database with other tables (own meta key)', async () => {
    const path = dbFile();
    const db = new Database(path);
    db.exec('CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)');
    db.prepare("INSERT INTO meta VALUES ('schema_version', '7')").run();
    db.close();
    const store = new SqliteCredentialStore({ path });
    await store.open();
    await store.put(makeSubscriber('alice', 'example.com', 'alice password'));
    await store.close();
    const check = new Database(path, { readonly: true });
    try {
      assert.deepEqual(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get(), {
        value: '7',
      });
    } finally {
      check.close();
    }
  });

  test('a writer in another connection is seen by the next get (nothing cached)', async () => {
    const path = dbFile();
    const server = new SqliteCredentialStore({ path });
    const cli = new SqliteCredentialStore({ path });
    await server.open();
    await cli.open();
    try {
      assert.equal(server.get('alice', 'example.com'), undefined);
      await cli.put(makeSubscriber('alice', 'example.com', 'alice password'));
      assert.equal(server.get('alice', 'example.com')?.username, 'alice');
      await cli.remove('alice', 'example.com');
      assert.equal(server.get('alice', 'example.com'), undefined);
    } finally {
      await cli.close();
      await server.close();
    }
  });
});

describe('createCredentialStore', () => {
  test('builds the backend the configuration names, with its use_domain', async () => {
    const mem = createCredentialStore({ backend: 'memory', use_domain: false });
    assert.ok(mem instanceof MemoryCredentialStore);
    await mem.open();
    await mem.put(makeSubscriber('alice', 'example.com', 'alice password'));
    assert.equal((await mem.get('alice', 'elsewhere.example'))?.username, 'alice');
    await mem.close();
    const path = dbFile();
    const sql = createCredentialStore({ backend: 'sqlite', path, use_domain: true });
    assert.ok(sql instanceof SqliteCredentialStore);
    assert.equal(sql.path, path);
    const red = createCredentialStore({
      backend: 'redis',
      url: 'redis://127.0.0.1:1',
      prefix: 'p:',
      use_domain: true,
    });
    assert.ok(red instanceof RedisCredentialStore);
    assert.equal(red.prefix, 'p:');
    assert.throws(
      () => createCredentialStore({ backend: 'ldap', use_domain: true } as never),
      /unknown store backend "ldap"/,
    );
  });
});

const redisSkip = redisSkipReason();

/** A plain node-redis client, to look at the keys the store wrote. */
type RawClient = ReturnType<typeof createClient>;

/** A fresh key prefix, so tests sharing one redis-server never see each other's keys. */
function prefix(): string {
  return `t${randomBytes(6).toString('hex')}:`;
}

describe('RedisCredentialStore', { skip: redisSkip }, () => {
  let server: RedisServer | undefined;
  let rawClient: RawClient | undefined;
  function srv(): RedisServer {
    if (server === undefined) throw new Error('redis-server not started');
    return server;
  }
  function client(): RawClient {
    if (rawClient === undefined) throw new Error('no raw client');
    return rawClient;
  }
  before(async () => {
    server = await RedisServer.start();
    rawClient = createClient({ url: server.url });
    rawClient.on('error', () => {});
    await rawClient.connect();
  });
  after(async () => {
    rawClient?.destroy();
    await server?.dispose();
  });

  /** Every key under `p` with its type and content, as text. */
  async function dump(p: string): Promise<string> {
    const c = client();
    const out: string[] = [];
    for (const k of (await c.sendCommand(['KEYS', `${p}*`])) as string[]) {
      const type = (await c.sendCommand(['TYPE', k])) as string;
      const v =
        type === 'hash'
          ? await c.sendCommand(['HGETALL', k])
          : type === 'zset'
            ? await c.sendCommand(['ZRANGE', k, '0', '-1'])
            : type === 'set'
              ? await c.sendCommand(['SMEMBERS', k])
              : await c.sendCommand(['DUMP', k]);
      out.push(`${k} ${type} ${JSON.stringify(v)}`);
    }
    return out.join('\n');
  }

  runCredentialStoreSuite('redis', async ({ useDomain }) => {
    const p = prefix();
    return {
      store: new RedisCredentialStore({ url: srv().url, prefix: p, useDomain }),
      syncGet: false,
      reopen: (o) =>
        new RedisCredentialStore({ url: srv().url, prefix: p, useDomain: o.useDomain }),
      raw: () => dump(p),
    };
  });

  test('one hash per subscriber at <prefix>subscriber:<domain>:<user>, a sorted set to list', async () => {
    const p = prefix();
    const store = new RedisCredentialStore({ url: srv().url, prefix: p });
    await store.open();
    try {
      const s = makeSubscriber('Alice', 'Example.com', 'alice password');
      await store.put(s);
      const key = `${p}subscriber:example.com:Alice`;
      assert.equal(store.subscriberKey('Alice', 'example.com'), key);
      const c = client();
      assert.equal(await c.sendCommand(['TYPE', key]), 'hash');
      assert.deepEqual(await c.hGetAll(key), {
        username: 'Alice',
        domain: 'example.com',
        realm: 'example.com',
        ha1: s.ha1,
        ha1b: s.ha1b,
        ha1_sha256: s.ha1_sha256,
        ha1b_sha256: s.ha1b_sha256,
        created: String(s.created),
        updated: String(s.updated),
      });
      assert.deepEqual(await c.sendCommand(['ZRANGE', `${p}subscribers`, '0', '-1']), [
        'example.com\0Alice',
      ]);
      assert.equal(await c.sendCommand(['TTL', key]), -1, 'credentials do not expire');
      // removal leaves no key behind
      assert.equal(await store.remove('Alice', 'EXAMPLE.COM'), true);
      assert.deepEqual(await c.sendCommand(['KEYS', `${p}*`]), []);
    } finally {
      await store.close();
    }
  });

  test('two processes sharing a server and prefix see each other at once', async () => {
    const p = prefix();
    const a = new RedisCredentialStore({ url: srv().url, prefix: p });
    const b = new RedisCredentialStore({ url: srv().url, prefix: p });
    await a.open();
    await b.open();
    try {
      await a.put(makeSubscriber('alice', 'example.com', 'alice password'));
      assert.equal((await b.get('alice', 'example.com'))?.username, 'alice');
      await b.remove('alice', 'example.com');
      assert.equal(await a.get('alice', 'example.com'), undefined);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('an unreachable server: open() fails with CredentialStoreError, the URL password redacted', async () => {
    const port = await freePort();
    const store = new RedisCredentialStore({
      url: `redis://u:s3cret@127.0.0.1:${port}`,
      connectTimeoutMs: 500,
    });
    await assert.rejects(store.open(), (e: unknown) => {
      assert.ok(e instanceof CredentialStoreError);
      assert.match(e.message, /cannot connect to redis:\/\/u:\*\*\*@127\.0\.0\.1/);
      assert.equal(e.message.includes('s3cret'), false);
      return true;
    });
    await store.close();
  });

  test('a server that stops answering: get rejects within the command timeout', async () => {
    const s = await RedisServer.start();
    const store = new RedisCredentialStore({ url: s.url, prefix: prefix(), commandTimeoutMs: 300 });
    try {
      await store.open();
      await store.put(makeSubscriber('alice', 'example.com', 'alice password'));
      s.pause();
      const t0 = Date.now();
      await assert.rejects(store.get('alice', 'example.com'), CredentialStoreError);
      assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    } finally {
      s.resume();
      await store.close();
      await s.dispose();
    }
  });
});
