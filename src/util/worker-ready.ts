import type { Worker } from 'node:worker_threads';
import { reapplyHeapTuning } from './heap-tuning.js';

/**
 * Waits until a worker thread posts its first message (its "ready"); rejects with its error if it
 * fails first. Then sets this process's V8 heap flags again: a worker's start resets them to the
 * node command line's (util/heap-tuning.ts). Every worker flowgate starts goes through here.
 */
export async function workerReady(worker: Worker): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    worker.once('error', onError);
    worker.once('message', () => {
      worker.off('error', onError);
      resolve();
    });
  });
  reapplyHeapTuning();
}
