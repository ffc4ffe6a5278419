import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { InvalidArgumentError } from '../../../errors/index.js';
import { type Logger, noopLogger, RateLimitedLog } from '../../../util/logger.js';
import {
  enableIncrementalVacuum,
  limitJournalSize,
  reclaimFreePages,
} from '../../../util/sqlite-housekeeping.js';
import type { CredentialStore, Subscriber, SubscriberPage } from '../credentials.js';
import { CredentialStoreError } from './errors.js';
import {
  type CredentialStoreOptions,
  listQuery,
  normalizeSubscriber,
  readStoredSubscriber,
  toPage,
} from './subscriber.js';

type Db = BetterSqlite3.Database;
type Stmt = BetterSqlite3.Statement<unknown[], unknown>;

/** Options of {@link SqliteCredentialStore}. */
export interface SqliteCredentialStoreOptions extends CredentialStoreOptions {
  /** Database file (created with mode 0600, its directory 0700, if missing), or `:memory:`. */
  readonly path: string;
  /** How long a write waits for another process's lock (SQLite busy timeout); default 5000 ms. */
  readonly busyTimeoutMs?: number | undefined;
  /** Where housekeeping (the one-time auto-vacuum conversion, reclaimed space) is logged. */
  readonly logger?: Logger | undefined;
}

/**
 * Schema migrations of the `subscriber` table: entry `i` takes the database from version `i` to
 * `i + 1`. The version lives in `meta.subscriber_schema_version` (its own key, so the file may
 * also hold the location store's tables); a database newer than this code is refused.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE subscriber (
     id          INTEGER PRIMARY KEY AUTOINCREMENT,
     username    TEXT NOT NULL,
     domain      TEXT NOT NULL,     -- lower-case
     realm       TEXT NOT NULL,     -- the realm the HA1 values were computed for
     ha1         TEXT NOT NULL,     -- MD5(username:realm:password), hex
     ha1b        TEXT NOT NULL,     -- MD5(username@domain:realm:password), hex
     ha1_sha256  TEXT NOT NULL,     -- SHA-256(username:realm:password), hex
     ha1b_sha256 TEXT NOT NULL,     -- SHA-256(username@domain:realm:password), hex
     created     INTEGER NOT NULL,  -- epoch ms
     updated     INTEGER NOT NULL,  -- epoch ms
     UNIQUE (username, domain)
   );
   CREATE INDEX subscriber_domain ON subscriber (domain, username);`,
];

/** The `subscriber` schema version this code writes. */
export const SUBSCRIBER_SCHEMA_VERSION = MIGRATIONS.length;

const VERSION_KEY = 'subscriber_schema_version';

const COLUMNS = 'username, domain, realm, ha1, ha1b, ha1_sha256, ha1b_sha256, created, updated';

interface Statements {
  get: Stmt;
  byUser: Stmt;
  createdOfUser: Stmt;
  upsert: Stmt;
  remove: Stmt;
  removeUser: Stmt;
  removeOtherDomains: Stmt;
  listFirst: Stmt;
  listAfter: Stmt;
  listDomainFirst: Stmt;
  listDomainAfter: Stmt;
}

/**
 * Credentials in SQLite through `better-sqlite3` (Kamailio's `subscriber` table, HA1 columns only:
 * no password column). `get()` is one prepared statement run synchronously, so authenticating a
 * request needs no promise. WAL journal: a `flowgate user` command writes while the server reads.
 * HA1 values are password-equivalent for their realm, so a new file is created 0600 in a 0700
 * directory (SQLite gives its -wal and -shm files the database file's mode); an existing file
 * keeps the mode its owner gave it. Like the location store, the file uses
 * `auto_vacuum = INCREMENTAL` (an older file is converted once at open) and gives the pages of
 * removed users back to the file system once there are many.
 */
export class SqliteCredentialStore implements CredentialStore {
  readonly name = 'sqlite';
  readonly #path: string;
  readonly #busyTimeoutMs: number;
  readonly #useDomain: boolean;
  readonly #logger: Logger;
  readonly #reclaimErrorLog = new RateLimitedLog(60_000);
  #db: Db | undefined;
  #st: Statements | undefined;
  #putTx: ((s: Subscriber) => 'created' | 'updated') | undefined;

  constructor(options: SqliteCredentialStoreOptions) {
    if (typeof options.path !== 'string' || options.path === '') {
      throw new InvalidArgumentError('auth_db (sqlite): path must be a file path or ":memory:"');
    }
    this.#path = options.path;
    this.#busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.#useDomain = options.useDomain ?? true;
    this.#logger = options.logger ?? noopLogger;
  }

  /** The database file. */
  get path(): string {
    return this.#path;
  }

  async open(): Promise<void> {
    if (this.#db !== undefined) return;
    let Database: typeof BetterSqlite3;
    try {
      Database = (await import('better-sqlite3')).default;
    } catch (err) {
      throw new CredentialStoreError(
        'credentials store (sqlite) needs the better-sqlite3@12 package',
        { cause: err },
      );
    }
    let db: Db | undefined;
    try {
      if (this.#path !== ':memory:') createPrivateFile(this.#path);
      db = new Database(this.#path, { timeout: this.#busyTimeoutMs });
      // before the journal mode and the first table: a new file records the setting
      enableIncrementalVacuum(db, 'credentials store (sqlite)', this.#logger);
      db.pragma('journal_mode = WAL');
      limitJournalSize(db);
      // user changes are rare and each matters: survive a power loss too
      db.pragma('synchronous = FULL');
      migrate(db);
      const st = prepare(db);
      this.#putTx = db.transaction((s: Subscriber): 'created' | 'updated' => {
        const rows = (
          this.#useDomain ? [st.get.get(s.username, s.domain)] : st.createdOfUser.all(s.username)
        ).filter((r): r is { created: number } => r !== undefined);
        // a replaced row keeps its creation time: `created` says when the user was added
        const created =
          rows.length === 0 ? s.created : Math.min(...rows.map((r) => Number(r.created)));
        if (!this.#useDomain) st.removeOtherDomains.run(s.username, s.domain);
        st.upsert.run(
          s.username,
          s.domain,
          s.realm,
          s.ha1,
          s.ha1b,
          s.ha1_sha256,
          s.ha1b_sha256,
          created,
          s.updated,
        );
        return rows.length === 0 ? 'created' : 'updated';
      }).immediate;
      this.#st = st;
    } catch (err) {
      db?.close();
      if (err instanceof CredentialStoreError) throw err;
      throw new CredentialStoreError(
        `credentials store (sqlite): cannot open ${this.#path}: ${String(err)}`,
        { cause: err },
      );
    }
    this.#db = db;
  }

  async close(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    this.#st = undefined;
    this.#putTx = undefined;
    if (db === undefined) return;
    try {
      db.close();
    } catch (err) {
      throw new CredentialStoreError(`credentials store (sqlite): close failed: ${String(err)}`, {
        cause: err,
      });
    }
  }

  get(username: string, domain: string): Subscriber | undefined {
    const st = this.#statements();
    if (this.#useDomain) {
      const row = this.#run(() => st.get.get(username, domain.toLowerCase()));
      return row === undefined ? undefined : fromRow(row);
    }
    // LIMIT 2 in the statement: a user name under several domains matches nothing (fail closed)
    const rows = this.#run(() => st.byUser.all(username));
    return rows.length === 1 ? fromRow(rows[0]) : undefined;
  }

  async put(s: Subscriber): Promise<'created' | 'updated'> {
    this.#statements();
    const n = normalizeSubscriber(s);
    const tx = this.#putTx;
    if (tx === undefined) throw notOpen();
    return this.#run(() => tx(n));
  }

  async remove(username: string, domain: string): Promise<boolean> {
    const st = this.#statements();
    const r = this.#run(() =>
      this.#useDomain ? st.remove.run(username, domain.toLowerCase()) : st.removeUser.run(username),
    );
    if (r.changes > 0) this.#reclaim();
    return r.changes > 0;
  }

  /** Gives the pages of removed users back to the file system once there are many. */
  #reclaim(): void {
    const db = this.#db;
    if (db === undefined) return;
    try {
      reclaimFreePages(db, 'credentials store (sqlite)', this.#logger);
    } catch (err) {
      this.#reclaimErrorLog.log(
        this.#logger,
        'warn',
        'reclaim',
        { err },
        'credentials store (sqlite): could not give free pages back to the file system',
      );
    }
  }

  async list(
    opts: {
      readonly domain?: string | undefined;
      readonly limit?: number | undefined;
      readonly cursor?: string | undefined;
    } = {},
  ): Promise<SubscriberPage> {
    const st = this.#statements();
    const q = listQuery(opts);
    const n = q.limit + 1;
    const a = q.after;
    const rows = this.#run(() => {
      if (q.domain === undefined)
        return a === undefined ? st.listFirst.all(n) : st.listAfter.all(a.domain, a.username, n);
      return a === undefined
        ? st.listDomainFirst.all(q.domain, n)
        : st.listDomainAfter.all(q.domain, a.domain, a.username, n);
    });
    return toPage(rows.map(fromRow), q.limit);
  }

  #statements(): Statements {
    if (this.#st === undefined) throw notOpen();
    return this.#st;
  }

  /** Runs a database call; SQLite failures become {@link CredentialStoreError}. */
  #run<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof InvalidArgumentError || err instanceof CredentialStoreError) throw err;
      throw new CredentialStoreError(`credentials store (sqlite): ${String(err)}`, { cause: err });
    }
  }
}

function fromRow(row: unknown): Subscriber {
  const s = readStoredSubscriber(row as Record<string, unknown>);
  if (s === undefined)
    throw new CredentialStoreError('credentials store (sqlite): unreadable subscriber row');
  return s;
}

function notOpen(): CredentialStoreError {
  return new CredentialStoreError('credentials store (sqlite) is not open');
}

/** Creates the file 0600 and missing directories 0700 before SQLite would create it 0644. */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', 0o600));
}

function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)');
  db.transaction(() => {
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(VERSION_KEY) as
      | { value: string }
      | undefined;
    const version = row === undefined ? 0 : Number(row.value);
    if (!Number.isSafeInteger(version) || version < 0 || version > SUBSCRIBER_SCHEMA_VERSION) {
      throw new CredentialStoreError(
        `credentials store (sqlite): subscriber schema version ${row?.value} is not one this flowgate knows (<= ${SUBSCRIBER_SCHEMA_VERSION})`,
      );
    }
    for (let v = version; v < SUBSCRIBER_SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v] ?? '');
    db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)').run(
      VERSION_KEY,
      String(SUBSCRIBER_SCHEMA_VERSION),
    );
  }).immediate();
}

function prepare(db: Db): Statements {
  const p = (sql: string): Stmt => db.prepare<unknown[], unknown>(sql);
  const order = 'ORDER BY domain, username LIMIT ?';
  return {
    get: p(`SELECT ${COLUMNS} FROM subscriber WHERE username = ? AND domain = ?`),
    byUser: p(`SELECT ${COLUMNS} FROM subscriber WHERE username = ? LIMIT 2`),
    createdOfUser: p('SELECT created FROM subscriber WHERE username = ?'),
    upsert: p(
      `INSERT INTO subscriber (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (username, domain) DO UPDATE SET realm = excluded.realm, ha1 = excluded.ha1,
         ha1b = excluded.ha1b, ha1_sha256 = excluded.ha1_sha256, ha1b_sha256 = excluded.ha1b_sha256,
         created = excluded.created, updated = excluded.updated`,
    ),
    remove: p('DELETE FROM subscriber WHERE username = ? AND domain = ?'),
    removeUser: p('DELETE FROM subscriber WHERE username = ?'),
    removeOtherDomains: p('DELETE FROM subscriber WHERE username = ? AND domain <> ?'),
    listFirst: p(`SELECT ${COLUMNS} FROM subscriber ${order}`),
    listAfter: p(`SELECT ${COLUMNS} FROM subscriber WHERE (domain, username) > (?, ?) ${order}`),
    listDomainFirst: p(`SELECT ${COLUMNS} FROM subscriber WHERE domain = ? ${order}`),
    listDomainAfter: p(
      `SELECT ${COLUMNS} FROM subscriber WHERE domain = ? AND (domain, username) > (?, ?) ${order}`,
    ),
  };
}
