import assert from 'node:assert/strict';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteLocationStore } from '../../../../src/modules/location/sqlite.js';
import { ManualClock } from '../../../../src/util/clock.js';
import { startCheckpointer } from '../../../../src/util/sqlite-checkpointer.js';
import { AutoVacuum } from '../../../../src/util/sqlite-housekeeping.js';
import { makeBinding } from '../../../support/location-store.case.js';
import { CapturingLogger } from '../../../support/logger.js';
import { waitFor } from '../../../support/net.js';

let dir = '';
let files = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'flowgate-sqlite-hk-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
function dbFile(): string {
  return join(dir, `loc-${++files}.db`);
}

/** Bytes on disk: the database file plus its WAL. */
function onDisk(path: string): number {
  const wal = `${path}-wal`;
  return statSync(path).size + (existsSync(wal) ? statSync(wal).size : 0);
}

function pragma(path: string, name: string): unknown {
  const db = new Database(path, { readonly: true });
  try {
    return db.pragma(name, { simple: true });
  } finally {
    db.close();
  }
}

const SWEEP_MS = 60_000;

describe('SqliteLocationStore housekeeping', () => {
  test('a new file is created with auto_vacuum=incremental (and WAL), with no conversion logged', async () => {
    const path = dbFile();
    const logger = new CapturingLogger();
    const store = new SqliteLocationStore({ path, clock: new ManualClock(), logger });
    await store.open();
    await store.close();
    assert.equal(pragma(path, 'auto_vacuum'), AutoVacuum.Incremental);
    assert.equal(pragma(path, 'journal_mode'), 'wal');
    assert.equal(logger.matching(/converted/).length, 0);
  });

  test('50 000 bindings registered, expired and purged: the file (db + WAL) shrinks far below its peak', async () => {
    const path = dbFile();
    const clock = new ManualClock();
    const logger = new CapturingLogger();
    const store = new SqliteLocationStore({ path, clock, sweepIntervalMs: SWEEP_MS, logger });
    await store.open();
    const t = clock.wallNow();
    const N = 50_000;
    const batch: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      const aor = `sip:user${i}@example.com`;
      batch.push(
        store.apply(aor, {
          upsert: [
            makeBinding(t, aor, `ruid-${i}`, {
              expires: t + 30_000,
              path: [`<sip:token${i}@edge.example.com:5060;lr;ob>`],
              instance: `<urn:uuid:00000000-0000-1000-8000-${String(i).padStart(12, '0')}>`,
              regId: 1,
              userAgent: 'housekeeping-test/1.0',
            }),
          ],
          remove: [],
        }),
      );
      if (batch.length === 5000) await Promise.all(batch.splice(0));
    }
    await Promise.all(batch);
    assert.equal(await store.count(), N);
    const peak = onDisk(path);
    assert.ok(peak > 10 * 1024 * 1024, `50k bindings take more than 10 MiB (${peak})`);

    // two of them stay: the file keeps what is live
    await store.apply('sip:keep@example.com', {
      upsert: [
        makeBinding(t, 'sip:keep@example.com', 'keep-1', { expires: t + 3_600_000 }),
        makeBinding(t, 'sip:keep@example.com', 'keep-2', { expires: t + 3_600_000 }),
      ],
      remove: [],
    });

    clock.advance(SWEEP_MS); // everything else has expired: the sweeper purges and reclaims
    assert.equal(await store.count(), 2);
    const afterPurge = onDisk(path);
    assert.ok(
      afterPurge < peak / 20,
      `the file shrank far below its peak: ${afterPurge} bytes after, ${peak} at the peak`,
    );
    const line = logger.matching(/gave \d+ bytes of free pages back/);
    assert.equal(line.length, 1, 'one log line for the reclaim');
    assert.equal(line[0]?.level, 'info');

    // a second sweep with nothing to free does nothing (and logs nothing)
    clock.advance(SWEEP_MS);
    assert.equal(logger.matching(/gave \d+ bytes/).length, 1);
    assert.deepEqual(
      (await store.get('sip:keep@example.com')).map((b) => b.ruid),
      ['keep-1', 'keep-2'],
    );
    await store.close();

    // and what is live survives a restart
    const again = new SqliteLocationStore({ path, clock });
    await again.open();
    assert.equal(await again.count(), 2);
    await again.close();
  });

  test('a file from before (auto_vacuum=NONE) is converted once at open, with one log line saying how long it took', async () => {
    const path = dbFile();
    const clock = new ManualClock();
    const t = clock.wallNow();
    // an old-style file: NONE mode, WAL journal, many free pages (a load peak long gone)
    {
      const db = new Database(path);
      db.pragma('auto_vacuum = NONE');
      db.pragma('journal_mode = WAL');
      db.exec('CREATE TABLE filler (x BLOB)');
      const ins = db.prepare('INSERT INTO filler VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 2000; i++) ins.run(Buffer.alloc(4000));
      })();
      db.exec('DROP TABLE filler');
      db.pragma('wal_checkpoint(TRUNCATE)');
      assert.equal(db.pragma('auto_vacuum', { simple: true }), AutoVacuum.None);
      assert.ok(Number(db.pragma('freelist_count', { simple: true })) > 1500);
      db.close();
    }
    const before = onDisk(path);
    const logger = new CapturingLogger();
    const store = new SqliteLocationStore({ path, clock, logger });
    await store.open();
    await store.apply('sip:alice@example.com', {
      upsert: [makeBinding(t, 'sip:alice@example.com', 'a1')],
      remove: [],
    });
    await store.close();
    assert.equal(pragma(path, 'auto_vacuum'), AutoVacuum.Incremental);
    const converted = logger.matching(/converted the database to auto_vacuum=incremental/);
    assert.equal(converted.length, 1);
    assert.equal(converted[0]?.level, 'info');
    assert.equal(typeof converted[0]?.obj['ms'], 'number');
    assert.match(converted[0]?.msg ?? '', /\d+ ms\)$/);
    assert.ok(
      onDisk(path) < before / 4,
      `the VACUUM dropped the free pages: ${onDisk(path)} < ${before}`,
    );

    // the next open finds it converted: no second VACUUM, no second line
    const logger2 = new CapturingLogger();
    const again = new SqliteLocationStore({ path, clock, logger: logger2 });
    await again.open();
    assert.equal(logger2.matching(/converted/).length, 0);
    assert.deepEqual(
      (await again.get('sip:alice@example.com')).map((b) => b.ruid),
      ['a1'],
    );
    await again.close();
  });

  test('a location.db written with auto_vacuum=NONE keeps its bindings through the conversion', async () => {
    const path = dbFile();
    const clock = new ManualClock();
    const t = clock.wallNow();
    // write bindings with the store, then turn the file back into a NONE-mode file
    const first = new SqliteLocationStore({ path, clock });
    await first.open();
    await first.apply('sip:bob@example.com', {
      upsert: [
        makeBinding(t, 'sip:bob@example.com', 'b1'),
        makeBinding(t, 'sip:bob@example.com', 'b2'),
      ],
      remove: [],
    });
    await first.close();
    {
      const db = new Database(path);
      db.pragma('auto_vacuum = NONE');
      db.exec('VACUUM');
      assert.equal(db.pragma('auto_vacuum', { simple: true }), AutoVacuum.None);
      db.close();
    }
    const logger = new CapturingLogger();
    const store = new SqliteLocationStore({ path, clock, logger });
    await store.open();
    assert.equal(logger.matching(/converted/).length, 1);
    assert.deepEqual(
      (await store.get('sip:bob@example.com')).map((b) => b.ruid),
      ['b1', 'b2'],
    );
    await store.close();
    assert.equal(pragma(path, 'auto_vacuum'), AutoVacuum.Incremental);
  });
});

describe('SqliteLocationStore checkpoints in a worker thread (issue 12: no fsync inside a commit)', () => {
  /** Bindings readable from the database file alone, as a copy without its WAL would see them. */
  function checkpointedRows(path: string): number {
    const copy = `${path}.copy`;
    copyFileSync(path, copy);
    const db = new Database(copy, { readonly: true });
    try {
      const row = db.prepare('SELECT count(*) AS n FROM bindings').get() as
        | { n: number }
        | undefined;
      return Number(row?.n ?? 0);
    } catch {
      return 0; // the table itself is still only in the WAL
    } finally {
      db.close();
      rmSync(copy, { force: true });
    }
  }

  test('the main connection never checkpoints; the worker copies the WAL into the file within a second or two; close stops it', async () => {
    const path = dbFile();
    const clock = new ManualClock();
    const store = new SqliteLocationStore({ path, clock, sweepIntervalMs: SWEEP_MS });
    await store.open();
    const t = clock.wallNow();
    const before = process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
    for (let i = 0; i < 300; i++) {
      const aor = `sip:user${i}@example.com`;
      await store.apply(aor, { upsert: [makeBinding(t, aor, `ruid-${i}`)], remove: [] });
    }
    // SQLite's default would checkpoint only past 1 000 WAL pages; these 300 commits stay below,
    // so rows in the file itself can only come from the worker's PASSIVE checkpoints
    await waitFor(() => checkpointedRows(path) === 300, 5000, 'the worker to checkpoint');
    await store.close();
    assert.equal(checkpointedRows(path), 300);
    assert.ok(
      process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length <= before,
      'the worker is gone',
    );
  });

  test('under writes that never stop, the WAL still starts over and is cut back: it stays bounded', async (t) => {
    const path = dbFile();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('journal_size_limit = 65536');
    db.exec('CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)');
    const ins = db.prepare('INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)');
    const batch = db.transaction((n: number) => {
      for (let i = 0; i < 20; i++) ins.run((n * 7919 + i * 104_729) % 5000, 'x'.repeat(200));
    });
    const cp = await startCheckpointer({
      path,
      db,
      synchronous: 'NORMAL',
      journalSizeLimit: 65536,
      logger: new CapturingLogger(),
      what: 'test',
      intervalMs: 50,
      restartFrames: 200,
    });
    assert.ok(cp);
    const walBytes = (): number => (existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0);
    // a commit every millisecond or so for 2 s, as the store commits: asking holdWrites() first
    let commits = 0;
    let holds = 0;
    let maxWal = 0;
    let grown = 0; // every byte the WAL grew by: what it would hold if it never started over
    let last = 0;
    const until = performance.now() + 2000;
    try {
      while (performance.now() < until) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (cp.holdWrites()) {
          holds++;
          continue;
        }
        batch(commits++);
        const now = walBytes();
        if (now > last) grown += now - last;
        last = now;
        maxWal = Math.max(maxWal, now);
      }
    } finally {
      await cp.stop();
    }
    const report = `${commits} commits, ${holds} holds, the WAL grew by ${grown} bytes in all, at most ${maxWal} at once`;
    // without the hold the WAL only grows (each checkpoint is overtaken by the commits made
    // meanwhile): its largest size would be all it grew by
    assert.ok(holds > 0 && commits > 200, report);
    assert.ok(maxWal * 4 < grown, report);
    t.diagnostic(report);
    db.close();
  });

  test('the store holds its group commit when the worker asks: under apply() without pause the WAL starts over', async (t) => {
    const path = dbFile();
    const clock = new ManualClock();
    const store = new SqliteLocationStore({
      path,
      clock,
      sweepIntervalMs: SWEEP_MS,
      checkpoint: { intervalMs: 50, restartFrames: 200 },
    });
    await store.open();
    // the WAL header's checkpoint sequence number (bytes 12-15) counts the times it started over;
    // its size does not show them here, since the file keeps its size below journal_size_limit
    const header = Buffer.alloc(16);
    const restarts = (): number => {
      const fd = openSync(`${path}-wal`, 'r');
      try {
        return readSync(fd, header, 0, 16, 0) === 16 ? header.readUInt32BE(12) : 0;
      } finally {
        closeSync(fd);
      }
    };
    const t0 = clock.wallNow();
    let applies = 0;
    let first = -1;
    let lastSeen = 0;
    const until = performance.now() + 2000;
    try {
      // 8 REGISTERs in flight at a time, as a loaded registrar has them: one group commit each turn
      while (performance.now() < until) {
        await Promise.all(
          Array.from({ length: 8 }, () => {
            const i = applies++ % 3000;
            const aor = `sip:user${i}@example.com`;
            return store.apply(aor, { upsert: [makeBinding(t0, aor, `ruid-${i}`)], remove: [] });
          }),
        );
        lastSeen = restarts();
        if (first < 0) first = lastSeen;
      }
    } finally {
      await store.close();
    }
    const report = `${applies} applies, the WAL started over ${lastSeen - first} times`;
    // without the hold in the store's commit, the worker's checkpoints are overtaken every time
    // and the WAL never starts over
    assert.ok(lastSeen - first >= 3, report);
    t.diagnostic(report);
  });

  test('without a worker (it failed) the main connection checkpoints by itself again', async () => {
    const path = dbFile();
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    const cp = await startCheckpointer({
      path,
      db,
      synchronous: 'NORMAL',
      journalSizeLimit: 1 << 20,
      logger: new CapturingLogger(),
      what: 'test',
      intervalMs: 60_000,
    });
    assert.ok(cp);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
    await cp.stop();
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    db.close();
  });
});
