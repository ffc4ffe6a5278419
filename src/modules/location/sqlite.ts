import type BetterSqlite3 from 'better-sqlite3';
import { InvalidArgumentError } from '../../errors/index.js';
import type { Clock } from '../../util/clock.js';
import { type Logger, RateLimitedLog } from '../../util/logger.js';
import { type Checkpointer, startCheckpointer } from '../../util/sqlite-checkpointer.js';
import {
  enableIncrementalVacuum,
  JOURNAL_SIZE_LIMIT_BYTES,
  limitJournalSize,
  reclaimFreePages,
} from '../../util/sqlite-housekeeping.js';
import type { AorChanges, Binding, BindingPage, LocationStore } from './binding.js';
import { LocationStoreError } from './errors.js';
import { type LocationStoreOptions, resolveStoreOptions } from './options.js';
import { assertListLimit, decodeCursor, toPage } from './order.js';
import { Sweeper } from './sweeper.js';
import { adoptStoredBinding, assertValidChanges, ruidTaken } from './validate.js';

type Db = BetterSqlite3.Database;
type Stmt = BetterSqlite3.Statement<unknown[], unknown>;

/** Options of {@link SqliteLocationStore}. */
export interface SqliteLocationStoreOptions extends LocationStoreOptions {
  /** Database file (created if missing), or `:memory:`. */
  readonly path: string;
  /**
   * SQLite `synchronous` pragma. `NORMAL` (default) with WAL survives a process crash; `FULL` also
   * survives a power loss, at the cost of an fsync per `apply()`.
   */
  readonly synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another process's lock (SQLite busy timeout); default 5000 ms. */
  readonly busyTimeoutMs?: number;
  /** The checkpoint worker's interval and WAL restart length (util/sqlite-checkpointer.ts). */
  readonly checkpoint?: { readonly intervalMs?: number; readonly restartFrames?: number };
}

/**
 * Schema migrations: entry `i` takes the database from version `i` to `i + 1`. The version lives
 * in `meta.schema_version`; a database newer than this code is refused, not guessed at.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE bindings (
     ruid          TEXT PRIMARY KEY NOT NULL,
     aor           TEXT NOT NULL,
     contact       TEXT NOT NULL,
     received      TEXT,
     path          TEXT NOT NULL,   -- JSON array of Path header values
     expires       INTEGER NOT NULL, -- epoch ms
     q             INTEGER,          -- 0..1000, NULL = no q
     call_id       TEXT NOT NULL,
     cseq          INTEGER NOT NULL,
     user_agent    TEXT,
     instance      TEXT,
     reg_id        INTEGER NOT NULL,
     flow_id       TEXT,
     socket        TEXT,
     methods       TEXT,             -- JSON array, NULL = all methods
     flags         INTEGER NOT NULL,
     last_modified INTEGER NOT NULL,
     seq           INTEGER NOT NULL,
     temp_gruus    TEXT NOT NULL     -- JSON array
   );
   CREATE INDEX bindings_aor ON bindings (aor, seq, ruid);
   CREATE INDEX bindings_expires ON bindings (expires);`,
];

/** The schema version this code writes. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

const COLUMNS =
  'ruid, aor, contact, received, path, expires, q, call_id, cseq, user_agent, instance, reg_id, ' +
  'flow_id, socket, methods, flags, last_modified, seq, temp_gruus';

interface Row {
  ruid: string;
  aor: string;
  contact: string;
  received: string | null;
  path: string;
  expires: number;
  q: number | null;
  call_id: string;
  cseq: number;
  user_agent: string | null;
  instance: string | null;
  reg_id: number;
  flow_id: string | null;
  socket: string | null;
  methods: string | null;
  flags: number;
  last_modified: number;
  seq: number;
  temp_gruus: string;
}

type SqlValue = string | number | null;

function toParams(b: Binding): SqlValue[] {
  return [
    b.ruid,
    b.aor,
    b.contact,
    b.received ?? null,
    JSON.stringify(b.path),
    b.expires,
    b.q ?? null,
    b.callId,
    b.cseq,
    b.userAgent ?? null,
    b.instance ?? null,
    b.regId,
    b.flowId ?? null,
    b.socket ?? null,
    b.methods === undefined ? null : JSON.stringify(b.methods),
    b.flags,
    b.lastModified,
    b.seq,
    JSON.stringify(b.tempGruus),
  ];
}

function parseJson(s: string | null): unknown {
  if (s === null) return undefined;
  try {
    return JSON.parse(s);
  } catch {
    return null; // fails the binding check below
  }
}

function fromRow(r: Row): Binding {
  // the row's strings are SQLite's own, not slices of a message: no copy needed
  const b = adoptStoredBinding({
    ruid: r.ruid,
    aor: r.aor,
    contact: r.contact,
    received: r.received ?? undefined,
    path: parseJson(r.path),
    expires: r.expires,
    q: r.q ?? undefined,
    callId: r.call_id,
    cseq: r.cseq,
    userAgent: r.user_agent ?? undefined,
    instance: r.instance ?? undefined,
    regId: r.reg_id,
    flowId: r.flow_id ?? undefined,
    socket: r.socket ?? undefined,
    methods: parseJson(r.methods),
    flags: r.flags,
    lastModified: r.last_modified,
    seq: r.seq,
    tempGruus: parseJson(r.temp_gruus),
  });
  if (b === undefined)
    throw new LocationStoreError(`location store (sqlite): unreadable row for ruid ${r.ruid}`);
  return b;
}

interface Statements {
  get: Stmt;
  getByRuid: Stmt;
  owner: Stmt;
  upsert: Stmt;
  remove: Stmt;
  countAor: Stmt;
  removeAor: Stmt;
  listFirst: Stmt;
  listAfter: Stmt;
  count: Stmt;
  purge: Stmt;
}

/**
 * Location store in SQLite through `better-sqlite3` (Kamailio usrloc `db_mode=1`, write-through):
 * one row per binding in table `bindings`, every `apply()` one immediate transaction, WAL journal.
 * Opening the same file again (after a restart) gives the same bindings. Reads skip expired rows;
 * a timer deletes them. `better-sqlite3` is loaded on `open()`, so it stays optional.
 *
 * Housekeeping: the file uses `auto_vacuum = INCREMENTAL` (a file from before is converted once at
 * open), and after each purge the free pages go back to the file system once there are many of
 * them, so the file shrinks after a load peak instead of keeping its largest size.
 */
export class SqliteLocationStore implements LocationStore {
  readonly name = 'sqlite';
  readonly #path: string;
  readonly #synchronous: 'NORMAL' | 'FULL';
  readonly #busyTimeoutMs: number;
  readonly #checkpoint: SqliteLocationStoreOptions['checkpoint'];
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #sweeper: Sweeper;
  readonly #reclaimErrorLog = new RateLimitedLog(60_000);
  #db: Db | undefined;
  #checkpointer: Checkpointer | undefined;
  #st: Statements | undefined;
  #applyBatchTx: ((items: PendingApply[]) => void) | undefined;
  /** apply() calls of this event-loop turn, committed together (group commit). */
  #pending: PendingApply[] = [];
  #flushScheduled = false;
  #removeAorTx: ((aor: string, now: number) => number) | undefined;

  constructor(options: SqliteLocationStoreOptions) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new InvalidArgumentError('location (sqlite): path must be a file path or ":memory:"');
    }
    const o = resolveStoreOptions(options);
    this.#path = options.path;
    this.#synchronous = options.synchronous ?? 'NORMAL';
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#checkpoint = options.checkpoint;
    this.#clock = o.clock;
    this.#logger = o.logger;
    this.#sweeper = new Sweeper(o, () => this.#purge());
  }

  async open(): Promise<void> {
    if (this.#db !== undefined) return;
    let Database: typeof BetterSqlite3;
    try {
      Database = (await import('better-sqlite3')).default;
    } catch (err) {
      throw new LocationStoreError('location store (sqlite) needs the better-sqlite3@12 package', {
        cause: err,
      });
    }
    let db: Db | undefined;
    let st: Statements;
    try {
      db = new Database(this.#path, { timeout: this.#busyTimeoutMs });
      // before the journal mode and the first table: a new file records the setting
      enableIncrementalVacuum(db, 'location store (sqlite)', this.#logger);
      db.pragma('journal_mode = WAL');
      limitJournalSize(db);
      db.pragma(`synchronous = ${this.#synchronous}`);
      migrate(db);
      st = prepare(db);
    } catch (err) {
      db?.close();
      if (err instanceof LocationStoreError) throw err;
      throw new LocationStoreError(
        `location store (sqlite): cannot open ${this.#path}: ${String(err)}`,
        { cause: err },
      );
    }
    const applyOne = db.transaction((aor: string, changes: AorChanges, now: number) => {
      for (const ruid of changes.remove) st.remove.run(ruid, aor);
      for (const b of changes.upsert) {
        const owner = st.owner.get(b.ruid) as { aor: string; expires: number } | undefined;
        if (owner !== undefined && owner.aor !== aor && owner.expires > now) {
          // Throwing rolls back everything this transaction wrote so far.
          throw ruidTaken(b.ruid);
        }
        // An upsert that has already expired removes the binding.
        if (b.expires <= now) st.remove.run(b.ruid, aor);
        else st.upsert.run(...toParams(b));
      }
    });
    // one commit for every apply() of an event-loop turn; each apply runs in its own savepoint
    // (a nested transaction), so one that fails rolls back alone: still all or nothing per call
    this.#applyBatchTx = db.transaction((items: PendingApply[]) => {
      for (const it of items) {
        try {
          applyOne(it.aor, it.changes, it.now);
        } catch (err) {
          it.error = err;
        }
      }
    }).immediate;
    this.#removeAorTx = db.transaction((aor: string, now: number): number => {
      const live = (st.countAor.get(aor, now) as { n: number }).n;
      st.removeAor.run(aor);
      return live;
    }).immediate;
    this.#db = db;
    this.#st = st;
    // WAL checkpoints (and their fsyncs) in a worker thread, not inside a commit on the event loop
    this.#checkpointer = await startCheckpointer({
      path: this.#path,
      db,
      synchronous: this.#synchronous,
      journalSizeLimit: JOURNAL_SIZE_LIMIT_BYTES,
      logger: this.#logger,
      what: 'location store (sqlite)',
      ...this.#checkpoint,
    });
    this.#sweeper.start();
  }

  async close(): Promise<void> {
    this.#sweeper.stop();
    const checkpointer = this.#checkpointer;
    this.#checkpointer = undefined;
    await checkpointer?.stop();
    this.#flush();
    const db = this.#db;
    this.#db = undefined;
    this.#st = undefined;
    this.#applyBatchTx = undefined;
    this.#removeAorTx = undefined;
    if (db === undefined) return;
    try {
      db.close();
    } catch (err) {
      throw new LocationStoreError(`location store (sqlite): close failed: ${String(err)}`, {
        cause: err,
      });
    }
  }

  async get(aor: string): Promise<Binding[]> {
    const st = this.#statements();
    let rows: Row[];
    try {
      rows = st.get.all(aor, this.#clock.wallNow()) as Row[];
    } catch (err) {
      throw storeError(err);
    }
    return rows.map(fromRow);
  }

  async getByRuid(ruid: string): Promise<Binding | undefined> {
    const st = this.#statements();
    const row = this.#run(() => st.getByRuid.get(ruid, this.#clock.wallNow()) as Row | undefined);
    return row === undefined ? undefined : fromRow(row);
  }

  apply(aor: string, changes: AorChanges): Promise<void> {
    try {
      this.#statements();
      assertValidChanges(aor, changes);
      if (this.#applyBatchTx === undefined) throw notOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({
        aor,
        changes,
        now: this.#clock.wallNow(),
        resolve,
        reject,
        error: undefined,
      });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** Commits the pending apply() calls in one transaction and settles their promises. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#pending.length === 0) return;
    // the checkpoint worker is letting the WAL start over: this commit waits a moment (see
    // util/sqlite-checkpointer.ts), the event loop does not
    if (this.#checkpointer?.holdWrites() === true) {
      this.#flushScheduled = true;
      setTimeout(() => this.#flush(), 1);
      return;
    }
    const items = this.#pending;
    this.#pending = [];
    const tx = this.#applyBatchTx;
    try {
      if (tx === undefined) throw notOpen();
      this.#run(() => tx(items));
    } catch (err) {
      for (const it of items) it.reject(err);
      return;
    }
    for (const it of items) {
      if (it.error === undefined) it.resolve();
      else
        it.reject(
          it.error instanceof InvalidArgumentError || it.error instanceof LocationStoreError
            ? it.error
            : new LocationStoreError(`location store (sqlite): ${String(it.error)}`, {
                cause: it.error,
              }),
        );
    }
  }

  async removeAor(aor: string): Promise<number> {
    this.#statements();
    const tx = this.#removeAorTx;
    if (tx === undefined) throw notOpen();
    return this.#run(() => tx(aor, this.#clock.wallNow()));
  }

  async list(cursor: string | undefined, limit: number): Promise<BindingPage> {
    const st = this.#statements();
    assertListLimit(limit);
    const after = decodeCursor(cursor);
    const now = this.#clock.wallNow();
    const rows = this.#run(
      () =>
        (after === undefined
          ? st.listFirst.all(now, limit + 1)
          : st.listAfter.all(now, after.aor, after.seq, after.ruid, limit + 1)) as Row[],
    );
    return toPage(rows.map(fromRow), limit);
  }

  async count(): Promise<number> {
    const st = this.#statements();
    return this.#run(() => (st.count.get(this.#clock.wallNow()) as { n: number }).n);
  }

  async purgeExpired(): Promise<number> {
    return this.#purge();
  }

  #purge(): number {
    const st = this.#statements();
    const purged = this.#run(() => st.purge.run(this.#clock.wallNow()).changes);
    this.#reclaim();
    return purged;
  }

  /** Gives the free pages of deleted bindings back to the file system once there are many. */
  #reclaim(): void {
    const db = this.#db;
    if (db === undefined) return;
    try {
      reclaimFreePages(db, 'location store (sqlite)', this.#logger);
    } catch (err) {
      this.#reclaimErrorLog.log(
        this.#logger,
        'warn',
        'reclaim',
        { err },
        'location store (sqlite): could not give free pages back to the file system',
      );
    }
  }

  #statements(): Statements {
    if (this.#st === undefined) throw notOpen();
    return this.#st;
  }

  /** Runs a database call; SQLite failures become {@link LocationStoreError}. */
  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw storeError(err);
    }
  }
}

/** An error of the driver as a store error (flowgate's own errors pass unchanged). */
function storeError(err: unknown): Error {
  if (err instanceof InvalidArgumentError || err instanceof LocationStoreError) return err;
  return new LocationStoreError(`location store (sqlite): ${String(err)}`, { cause: err });
}

interface PendingApply {
  readonly aor: string;
  readonly changes: AorChanges;
  readonly now: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  error: unknown;
}

function notOpen(): LocationStoreError {
  return new LocationStoreError('location store (sqlite) is not open');
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)');
  db.transaction(() => {
    const row = db.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get() as
      | { value: string }
      | undefined;
    const version = row === undefined ? 0 : Number(row.value);
    if (!Number.isSafeInteger(version) || version < 0 || version > SQLITE_SCHEMA_VERSION) {
      throw new LocationStoreError(
        `location store (sqlite): schema version ${row?.value} is not one this flowgate knows (<= ${SQLITE_SCHEMA_VERSION})`,
      );
    }
    for (let v = version; v < SQLITE_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] ?? '');
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)").run(
      String(SQLITE_SCHEMA_VERSION),
    );
  }).immediate();
}

function prepare(db: Db): Statements {
  const order = 'ORDER BY coalesce(q, -1) DESC, seq, ruid';
  const p = (sql: string): Stmt => db.prepare<unknown[], unknown>(sql);
  return {
    get: p(`SELECT ${COLUMNS} FROM bindings WHERE aor = ? AND expires > ? ${order}`),
    getByRuid: p(`SELECT ${COLUMNS} FROM bindings WHERE ruid = ? AND expires > ?`),
    owner: p('SELECT aor, expires FROM bindings WHERE ruid = ?'),
    upsert: p(
      `INSERT OR REPLACE INTO bindings (${COLUMNS}) VALUES (${COLUMNS.split(',')
        .map(() => '?')
        .join(', ')})`,
    ),
    remove: p('DELETE FROM bindings WHERE ruid = ? AND aor = ?'),
    countAor: p('SELECT count(*) AS n FROM bindings WHERE aor = ? AND expires > ?'),
    removeAor: p('DELETE FROM bindings WHERE aor = ?'),
    listFirst: p(
      `SELECT ${COLUMNS} FROM bindings WHERE expires > ? ORDER BY aor, seq, ruid LIMIT ?`,
    ),
    listAfter: p(
      `SELECT ${COLUMNS} FROM bindings WHERE expires > ? AND (aor, seq, ruid) > (?, ?, ?) ORDER BY aor, seq, ruid LIMIT ?`,
    ),
    count: p('SELECT count(*) AS n FROM bindings WHERE expires > ?'),
    purge: p('DELETE FROM bindings WHERE expires <= ?'),
  };
}
