import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from './logger.js';
import type { PragmaDb } from './sqlite-housekeeping.js';
import { workerReady } from './worker-ready.js';

/**
 * WAL checkpoints off the event loop (issue 12, soak: answers within 10 ms). better-sqlite3 is
 * synchronous, and SQLite runs an automatic checkpoint inside the commit that takes the WAL past
 * 1 000 pages: it copies the WAL back into the database and, with `synchronous = NORMAL` or
 * `FULL`, fsyncs both files. Measured on this project's VM at 2 500 binding refreshes per second,
 * that commit took 5–12 ms about once every four seconds, and every request behind it waited.
 * Here the main connection never checkpoints (`wal_autocheckpoint = 0`); a worker thread with a
 * connection of its own runs `PRAGMA wal_checkpoint(PASSIVE)` every `intervalMs`. PASSIVE never
 * waits for the writer, and in WAL mode the writer never waits for it: the fsyncs happen on the
 * worker's thread. If the worker fails, the main connection checkpoints by itself again, so the
 * WAL never grows without bound.
 */
export const CHECKPOINT_INTERVAL_MS = 1000;

/** SQLite's own `wal_autocheckpoint` default, restored when the worker is gone. */
const AUTOCHECKPOINT_PAGES = 1000;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { timeout: 1000 });
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('journal_size_limit = ' + workerData.journalSizeLimit);
const timer = setInterval(() => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (err) {
    // SQLITE_BUSY: another checkpointer; anything else ends the worker (the owner takes over)
    if (err && err.code !== 'SQLITE_BUSY') throw err;
  }
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  db.close();
  parentPort.close();
});
parentPort.postMessage('ready');
`;

/** Options of {@link startCheckpointer}. */
export interface CheckpointerOptions {
  /** The database file (the main connection is already in WAL mode). */
  readonly path: string;
  /** The main connection: its automatic checkpoints are turned off, and back on if the worker fails. */
  readonly db: PragmaDb;
  readonly synchronous: string;
  readonly journalSizeLimit: number;
  readonly logger: Logger;
  /** What the log lines call the store. */
  readonly what: string;
  readonly intervalMs?: number;
}

/** A running checkpointer. */
export interface Checkpointer {
  /** Stops the worker (its connection closes); resolves when its thread has ended. */
  stop(): Promise<void>;
}

/**
 * Starts the checkpoint worker for a WAL database, or returns undefined (automatic checkpoints
 * stay on) when it cannot run: an in-memory database, or a worker that does not come up.
 */
export async function startCheckpointer(o: CheckpointerOptions): Promise<Checkpointer | undefined> {
  if (o.path === ':memory:' || o.path === '') return undefined;
  let stopping = false;
  let worker: Worker | undefined;
  try {
    worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path: o.path,
        synchronous: o.synchronous,
        journalSizeLimit: o.journalSizeLimit,
        intervalMs: o.intervalMs ?? CHECKPOINT_INTERVAL_MS,
      },
      // a small thread: it only holds a connection and a timer
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
    });
    await workerReady(worker);
  } catch (err) {
    o.logger.warn(
      { err },
      `${o.what}: no checkpoint worker; SQLite checkpoints in the main thread`,
    );
    await worker?.terminate();
    return undefined;
  }
  const w = worker;
  o.db.pragma('wal_autocheckpoint = 0');
  w.on('error', (err) => {
    if (stopping) return;
    o.logger.warn(
      { err },
      `${o.what}: the checkpoint worker failed; SQLite checkpoints in the main thread again`,
    );
  });
  // stopped by us, or failed: the main connection checkpoints by itself again
  const exited = new Promise<void>((resolve) =>
    w.once('exit', () => {
      try {
        o.db.pragma(`wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`);
      } catch {
        // the main connection is already closed
      }
      resolve();
    }),
  );
  // the worker must not keep the process alive
  w.unref();
  return {
    async stop(): Promise<void> {
      if (stopping) return exited;
      stopping = true;
      w.postMessage('stop');
      const bound = setTimeout(() => void w.terminate(), 2000);
      await exited;
      clearTimeout(bound);
    },
  };
}
