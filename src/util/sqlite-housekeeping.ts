import type { Logger } from './logger.js';

/** The part of a `better-sqlite3` database the housekeeping helpers use. */
export interface PragmaDb {
  pragma(source: string, options?: { simple?: boolean }): unknown;
  exec(source: string): unknown;
}

/** SQLite `auto_vacuum` values as `PRAGMA auto_vacuum` reads them. */
export const AutoVacuum = { None: 0, Full: 1, Incremental: 2 } as const;
export type AutoVacuum = (typeof AutoVacuum)[keyof typeof AutoVacuum];

/**
 * `journal_size_limit`: the WAL file is cut back to this size whenever it restarts from the
 * beginning, so one large write (a purge, a VACUUM) does not leave a WAL of that size behind. It is
 * above the ~64 MB the checkpoint worker lets the WAL reach under load before it has it start over
 * (`RESTART_FRAMES`, util/sqlite-checkpointer.ts), so that those restarts do not cut the file:
 * at 8 MB, each one truncated a WAL the kernel was still writing back, inside a commit on the
 * event loop, and held it ~20 ms every few seconds at 2 500 REGISTER/s. A large purge still cuts
 * the WAL to nothing itself (`wal_checkpoint(TRUNCATE)`).
 */
export const JOURNAL_SIZE_LIMIT_BYTES = 96 * 1024 * 1024;

/** Free pages above which a purge gives them back to the file system (4 MiB with 4 KiB pages). */
export const RECLAIM_FREE_PAGES = 1024;

function num(db: PragmaDb, pragma: string): number {
  return Number(db.pragma(pragma, { simple: true }));
}

/**
 * Turns on incremental auto-vacuum. Call it right after opening the file, before the journal mode
 * is set and before any table exists: a new database (no page written yet) just records the
 * setting. An existing database still in `auto_vacuum = NONE` (files written by flowgate 0.1) is
 * converted once with a VACUUM, which rewrites the whole file; the time it took is logged. A
 * conversion that fails (another process holds the file, the disk is full) is logged and the
 * database stays usable, unconverted: the next open tries again.
 * @returns the auto-vacuum mode the database has afterwards.
 */
export function enableIncrementalVacuum(db: PragmaDb, what: string, logger: Logger): AutoVacuum {
  const mode = num(db, 'auto_vacuum') as AutoVacuum;
  if (mode === AutoVacuum.Incremental) return mode;
  const pages = num(db, 'page_count');
  db.pragma('auto_vacuum = INCREMENTAL');
  if (pages === 0) return num(db, 'auto_vacuum') as AutoVacuum;
  const pageSize = num(db, 'page_size');
  const t0 = performance.now();
  try {
    db.exec('VACUUM');
    // in WAL mode the VACUUM wrote the whole database into the WAL: copy it back and cut the WAL
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch (err) {
    logger.warn(
      { err },
      `${what}: could not convert the database to auto_vacuum=incremental (it keeps its size; retried at the next start)`,
    );
    return num(db, 'auto_vacuum') as AutoVacuum;
  }
  const ms = Math.round(performance.now() - t0);
  const after = num(db, 'page_count');
  logger.info(
    {
      ms,
      bytesBefore: pages * pageSize,
      bytesAfter: after * pageSize,
    },
    `${what}: converted the database to auto_vacuum=incremental (one-time VACUUM, ${pages * pageSize} -> ${after * pageSize} bytes, ${ms} ms)`,
  );
  return num(db, 'auto_vacuum') as AutoVacuum;
}

/** Sets {@link JOURNAL_SIZE_LIMIT_BYTES}; call once the journal mode is set. */
export function limitJournalSize(db: PragmaDb): void {
  db.pragma(`journal_size_limit = ${JOURNAL_SIZE_LIMIT_BYTES}`);
}

/** What {@link reclaimFreePages} did. */
export interface Reclaimed {
  /** Pages given back to the file system (0 when the free list was below the threshold). */
  readonly pages: number;
  /** Bytes the file shrank by. */
  readonly bytes: number;
}

/**
 * Gives free pages back to the file system after deletes (`PRAGMA incremental_vacuum`) when the
 * free list holds more than {@link RECLAIM_FREE_PAGES} pages or more than a quarter of the file,
 * then checkpoints, since WAL mode shrinks the database file only at a checkpoint: after a large
 * reclaim with `wal_checkpoint(TRUNCATE)`, so the WAL does not stay at its peak size either (it
 * waits up to the busy timeout for readers), after a small one with a passive checkpoint, which
 * waits for nobody. A database not in incremental mode (conversion failed) is left alone.
 */
export function reclaimFreePages(db: PragmaDb, what: string, logger: Logger): Reclaimed {
  if (num(db, 'auto_vacuum') !== AutoVacuum.Incremental) return { pages: 0, bytes: 0 };
  const free = num(db, 'freelist_count');
  const pages = num(db, 'page_count');
  if (free === 0 || (free <= RECLAIM_FREE_PAGES && free * 4 <= pages))
    return { pages: 0, bytes: 0 };
  const t0 = performance.now();
  db.pragma('incremental_vacuum');
  const reclaimed = free - num(db, 'freelist_count');
  const bytes = reclaimed * num(db, 'page_size');
  if (reclaimed < RECLAIM_FREE_PAGES) {
    // WAL mode cuts the database file at a checkpoint: one that waits for nobody
    db.pragma('wal_checkpoint(PASSIVE)');
    return { pages: reclaimed, bytes };
  }
  truncateWal(db);
  const ms = Math.round(performance.now() - t0);
  logger.info(
    { pages: reclaimed, bytes, ms },
    `${what}: gave ${bytes} bytes of free pages back to the file system (${ms} ms)`,
  );
  return { pages: reclaimed, bytes };
}

/** Tries of {@link truncateWal} while another connection's checkpoint holds the WAL, 5 ms apart. */
const TRUNCATE_TRIES = 20;
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * `wal_checkpoint(TRUNCATE)`, again while it reports busy: the location store's checkpoint worker
 * (util/sqlite-checkpointer.ts) runs passive checkpoints of its own, and a TRUNCATE that meets one
 * gives up at once and leaves the WAL at its peak size. Used only after a large reclaim, which
 * already holds the thread for its incremental vacuum; at most ~100 ms more.
 */
function truncateWal(db: PragmaDb): void {
  for (let i = 0; i < TRUNCATE_TRIES; i++) {
    const r = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[] | undefined;
    if (r?.[0]?.busy !== 1) return;
    Atomics.wait(pause, 0, 0, 5);
  }
}
