import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { LocationStoreError } from '../../../../src/modules/location/errors.js';
import {
  SQLITE_SCHEMA_VERSION,
  SqliteLocationStore,
} from '../../../../src/modules/location/sqlite.js';
import { ManualClock } from '../../../../src/util/clock.js';
import { makeBinding, runLocationStoreSuite } from '../../../support/location-store.case.js';

let dir = '';
let files = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-sqlite-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
function dbFile(): string {
  return join(dir, `loc-${++files}.db`);
}

runLocationStoreSuite('SqliteLocationStore', async ({ sweepIntervalMs }) => {
  const clock = new ManualClock();
  return {
    store: new SqliteLocationStore({ path: dbFile(), clock, sweepIntervalMs }),
    now: () => clock.wallNow(),
    advance: async (ms) => clock.advance(ms),
    shortExpiryMs: 1000,
  };
});

runLocationStoreSuite('SqliteLocationStore :memory:', async ({ sweepIntervalMs }) => {
  const clock = new ManualClock();
  return {
    store: new SqliteLocationStore({ path: ':memory:', clock, sweepIntervalMs }),
    now: () => clock.wallNow(),
    advance: async (ms) => clock.advance(ms),
    shortExpiryMs: 1000,
  };
});

describe('SqliteLocationStore', () => {
  test('group commit: the apply() calls of one turn share a transaction, yet each is all or nothing', async () => {
    const path = dbFile();
    const clock = new ManualClock();
    const t = clock.wallNow();
    const store = new SqliteLocationStore({ path, clock });
    await store.open();
    await store.apply('bob', { upsert: [makeBinding(t, 'bob', 'taken')], remove: [] });
    const results = await Promise.allSettled([
      store.apply('alice', { upsert: [makeBinding(t, 'alice', 'a1')], remove: [] }),
      // the ruid belongs to a live binding of another AoR: this one call fails
      store.apply('carol', {
        upsert: [makeBinding(t, 'carol', 'c1'), makeBinding(t, 'carol', 'taken')],
        remove: [],
      }),
      store.apply('dave', { upsert: [makeBinding(t, 'dave', 'd1')], remove: [] }),
    ]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.deepEqual(
      (await store.get('alice')).map((b) => b.ruid),
      ['a1'],
    );
    assert.deepEqual(await store.get('carol'), [], 'the failed call left nothing (not even c1)');
    assert.deepEqual(
      (await store.get('dave')).map((b) => b.ruid),
      ['d1'],
    );
    await store.close();
    // and everything committed is on disk
    const again = new SqliteLocationStore({ path, clock });
    await again.open();
    assert.equal(await again.count(), 3);
    await again.close();
  });

  test('bindings survive a restart: reopening the file gives the same bindings in order', async () => {
    const path = dbFile();
    const clock = new ManualClock();
    const t = clock.wallNow();
    const first = new SqliteLocationStore({ path, clock });
    await first.open();
    const bs = [
      makeBinding(t, 'alice', 'a-low', { q: 100, seq: 1 }),
      makeBinding(t, 'alice', 'a-high', {
        q: 900,
        seq: 2,
        path: ['<sip:edge;lr;ob>'],
        instance: '<urn:uuid:1>',
        regId: 1,
      }),
      makeBinding(t, 'alice', 'a-none', { seq: 0, methods: ['INVITE'] }),
    ];
    await first.apply('alice', { upsert: bs, remove: [] });
    await first.apply('bob', {
      upsert: [makeBinding(t, 'bob', 'b1', { expires: t + 1000 })],
      remove: [],
    });
    await first.close();

    clock.advance(2000); // bob's binding expires while the registrar is down
    const second = new SqliteLocationStore({ path, clock });
    await second.open();
    assert.deepEqual(await second.get('alice'), [bs[1], bs[0], bs[2]]);
    assert.deepEqual(await second.get('bob'), []);
    assert.equal(await second.count(), 3);
    assert.equal(await second.purgeExpired(), 1);
    await second.close();
  });

  test('schema: meta version, one row per binding, indexes on aor, ruid and expires, WAL journal', async () => {
    const path = dbFile();
    const clock = new ManualClock();
    const store = new SqliteLocationStore({ path, clock });
    await store.open();
    const t = clock.wallNow();
    await store.apply('carl', {
      upsert: [makeBinding(t, 'carl', 'c1'), makeBinding(t, 'carl', 'c2')],
      remove: [],
    });
    await store.apply('carl', { upsert: [makeBinding(t, 'carl', 'c1', { cseq: 2 })], remove: [] });
    const db = new Database(path, { readonly: true });
    try {
      assert.deepEqual(db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get(), {
        value: String(SQLITE_SCHEMA_VERSION),
      });
      assert.deepEqual(db.prepare('SELECT ruid, cseq FROM bindings ORDER BY ruid').all(), [
        { ruid: 'c1', cseq: 2 },
        { ruid: 'c2', cseq: 1 },
      ]);
      const indexed = (
        db.prepare("SELECT name FROM pragma_index_list('bindings')").all() as { name: string }[]
      ).map((r) => {
        const cols = db.prepare('SELECT name FROM pragma_index_info(?)').all(r.name) as {
          name: string;
        }[];
        return cols[0]?.name;
      });
      for (const col of ['aor', 'ruid', 'expires'])
        assert.ok(indexed.includes(col), `an index starts with ${col}: ${indexed.join(',')}`);
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    } finally {
      db.close();
      await store.close();
    }
  });

  test('a database with a newer schema version is refused, not guessed at', async () => {
    const path = dbFile();
    const store = new SqliteLocationStore({ path });
    await store.open();
    await store.close();
    const db = new Database(path);
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema_version'").run(
      String(SQLITE_SCHEMA_VERSION + 1),
    );
    db.close();
    await assert.rejects(
      new SqliteLocationStore({ path }).open(),
      (err: unknown) => err instanceof LocationStoreError && /schema version/.test(err.message),
    );
  });

  test('a file that cannot be opened gives LocationStoreError', async () => {
    const store = new SqliteLocationStore({ path: join(dir, 'no-such-dir', 'x.db') });
    await assert.rejects(store.open(), LocationStoreError);
  });

  test('a failing write inside apply rolls the whole change back', async () => {
    const path = dbFile();
    const clock = new ManualClock();
    const store = new SqliteLocationStore({ path, clock });
    await store.open();
    const t = clock.wallNow();
    await store.apply('dora', { upsert: [makeBinding(t, 'dora', 'd1')], remove: [] });
    // Another connection makes the second insert fail inside the transaction (SQLite error).
    const db = new Database(path);
    db.exec(
      "CREATE TRIGGER no_d3 BEFORE INSERT ON bindings WHEN NEW.ruid = 'd3' BEGIN SELECT RAISE(ABORT, 'refused'); END",
    );
    await assert.rejects(
      store.apply('dora', {
        upsert: [makeBinding(t, 'dora', 'd2'), makeBinding(t, 'dora', 'd3')],
        remove: ['d1'],
      }),
      LocationStoreError,
    );
    db.exec('DROP TRIGGER no_d3');
    db.close();
    assert.deepEqual(
      (await store.get('dora')).map((b) => b.ruid),
      ['d1'],
    );
    await store.close();
  });
});
