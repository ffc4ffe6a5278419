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
 *
 * A PASSIVE checkpoint copies the frames the WAL had when it started, and the WAL starts over from
 * its beginning only when a write begins with every frame copied. Under a steady stream of writes
 * that never happens (each second's checkpoint is overtaken by the commits made meanwhile), and
 * the WAL grew by 14 MB a second at 2 500 REGISTER/s: 1.6 GB after two minutes, with a wal-index
 * (mapped, so in the RSS) growing 1.5 MB a minute. So when a checkpoint finds the WAL longer than
 * `restartFrames`, the worker asks the main thread to hold its next commit (a shared flag, read by
 * the store before it commits: {@link Checkpointer.holdWrites}), checkpoints the few frames left,
 * and lets go. The held commit then starts the WAL over: it writes from the file's beginning
 * again, and the file keeps its size (below `journal_size_limit`, see sqlite-housekeeping.ts). The
 * event loop never waits: only the writes of that moment do, for one short checkpoint, at most
 * `MAX_HOLD_MS`.
 */
export const CHECKPOINT_INTERVAL_MS = 1000;

/** WAL length (frames of one page) past which the worker has the WAL start over: ~64 MB. */
export const RESTART_FRAMES = 16_384;

/** Longest a commit waits for the worker (a worker that died or stalls is not waited for). */
const MAX_HOLD_MS = 100;

/** Longest the worker waits for the main thread to hold (it may have nothing to write). */
const ACK_WAIT_MS = 100;

// the shared flags: HOLD = n (> 0) asks for hold number n, 0 lets go; HELD = n: the main thread holds
const HOLD = 0;
const HELD = 1;

/** SQLite's own `wal_autocheckpoint` default, restored when the worker is gone. */
const AUTOCHECKPOINT_PAGES = 1000;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.path, { timeout: 1000 });
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('journal_size_limit = ' + workerData.journalSizeLimit);
const flags = new Int32Array(workerData.flags);
let hold = 0;
const timer = setInterval(() => {
  try {
    let r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    if (r === undefined || r.log <= workerData.restartFrames) return;
    // the WAL is long: catch up until little is left (the commits go on meanwhile), so that the
    // hold below only has that little to copy
    for (let i = 0; i < 8 && r !== undefined && r.log - r.checkpointed > 64; i++)
      r = db.pragma('wal_checkpoint(PASSIVE)')[0];
    // then have the main thread hold its next commit, copy what is left, let go
    hold = (hold % 1000000) + 1;
    Atomics.store(flags, ${HELD}, 0);
    Atomics.store(flags, ${HOLD}, hold);
    Atomics.wait(flags, ${HELD}, 0, workerData.ackWaitMs);
    try {
      db.pragma('wal_checkpoint(PASSIVE)');
    } finally {
      Atomics.store(flags, ${HOLD}, 0);
    }
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
  /** Default {@link RESTART_FRAMES}. */
  readonly restartFrames?: number;
}

/** A running checkpointer. */
export interface Checkpointer {
  /**
   * Whether a commit about to start should wait (try again shortly): the worker is copying the
   * WAL's last frames so that the next commit starts it over. Asking acknowledges the request.
   */
  holdWrites(): boolean;
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
  const flags = new Int32Array(new SharedArrayBuffer(8));
  try {
    worker = new Worker(WORKER, {
      eval: true,
      workerData: {
        module: createRequire(import.meta.url).resolve('better-sqlite3'),
        path: o.path,
        synchronous: o.synchronous,
        journalSizeLimit: o.journalSizeLimit,
        intervalMs: o.intervalMs ?? CHECKPOINT_INTERVAL_MS,
        restartFrames: o.restartFrames ?? RESTART_FRAMES,
        ackWaitMs: ACK_WAIT_MS,
        flags: flags.buffer,
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
  let held = 0;
  let heldSince = 0;
  return {
    holdWrites(): boolean {
      const hold = Atomics.load(flags, HOLD);
      if (hold === 0 || stopping) return false;
      const now = performance.now();
      if (hold !== held) {
        held = hold;
        heldSince = now;
        Atomics.store(flags, HELD, hold);
        Atomics.notify(flags, HELD);
      }
      return now - heldSince < MAX_HOLD_MS;
    },
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
