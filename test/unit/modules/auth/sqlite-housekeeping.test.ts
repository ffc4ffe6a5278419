import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteCredentialStore } from '../../../../src/modules/auth/store/sqlite.js';
import { AutoVacuum } from '../../../../src/util/sqlite-housekeeping.js';
import { makeSubscriber } from '../../../support/credential-store.case.js';
import { CapturingLogger } from '../../../support/logger.js';

let dir = '';
let files = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-cred-hk-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
function dbFile(): string {
  return join(dir, `subscriber-${++files}.db`);
}

/** auto_vacuum, page_count and freelist_count as another connection sees them (WAL included). */
function inspect(path: string): {
  autoVacuum: number;
  pages: number;
  free: number;
  pageSize: number;
} {
  const db = new Database(path, { readonly: true });
  try {
    const n = (p: string): number => Number(db.pragma(p, { simple: true }));
    return {
      autoVacuum: n('auto_vacuum'),
      pages: n('page_count'),
      free: n('freelist_count'),
      pageSize: n('page_size'),
    };
  } finally {
    db.close();
  }
}

describe('SqliteCredentialStore housekeeping', () => {
  test('users added and removed in bulk: the file gives their pages back', async () => {
    const path = dbFile();
    const store = new SqliteCredentialStore({ path });
    await store.open();
    assert.equal(inspect(path).autoVacuum, AutoVacuum.Incremental);
    const N = 2000;
    for (let i = 0; i < N; i++)
      await store.put(makeSubscriber(`user${i}`, 'example.com', `pw${i}`));
    await store.put(makeSubscriber('keep', 'example.com', 'secret'));
    const { pages: peak, pageSize } = inspect(path);
    for (let i = 0; i < N; i++) assert.equal(await store.remove(`user${i}`, 'example.com'), true);
    const now = inspect(path);
    assert.ok(now.pages < peak / 4, `pages: ${now.pages} now, ${peak} at the peak`);
    assert.ok(now.free < 64, `few free pages left: ${now.free}`);
    // the checkpoint after the reclaim cut the database file itself
    assert.ok(statSync(path).size < (peak * pageSize) / 4, `file: ${statSync(path).size} bytes`);
    assert.equal(store.get('keep', 'example.com')?.username, 'keep');
    await store.close();
  });

  test('a subscriber.db from before (auto_vacuum=NONE) is converted once at open and keeps its users', async () => {
    const path = dbFile();
    const first = new SqliteCredentialStore({ path });
    await first.open();
    await first.put(makeSubscriber('alice', 'example.com', 'pw'));
    await first.close();
    {
      const db = new Database(path);
      db.pragma('auto_vacuum = NONE');
      db.exec('VACUUM');
      db.close();
    }
    assert.equal(inspect(path).autoVacuum, AutoVacuum.None);
    const logger = new CapturingLogger();
    const store = new SqliteCredentialStore({ path, logger });
    await store.open();
    const lines = logger.matching(/credentials store \(sqlite\): converted the database/);
    assert.equal(lines.length, 1);
    assert.match(lines[0]?.msg ?? '', /\d+ ms\)$/);
    assert.equal(store.get('alice', 'example.com')?.username, 'alice');
    await store.close();
    assert.equal(inspect(path).autoVacuum, AutoVacuum.Incremental);
    // converted once: the next open logs nothing
    const logger2 = new CapturingLogger();
    const again = new SqliteCredentialStore({ path, logger: logger2 });
    await again.open();
    await again.close();
    assert.equal(logger2.matching(/converted/).length, 0);
  });
});
