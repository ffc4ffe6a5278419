// scripts/test-processes.ts, the "no process outlives the suite" check of scripts/run-tests.ts
// (issue 11): a process started under a run is found after the run, also when it was re-parented
// to init and also when its environment no longer carries the run's mark (redis-server and
// Chromium's helpers overwrite theirs with their process title; here `env -i` stands in for that).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  processesOfRun,
  RunWatch,
  reapLeftovers,
  TEST_RUN_ENV,
} from '../../../scripts/test-processes.js';

test('leftovers: the mark finds a re-parented process, the watch one without the mark; both are killed', async () => {
  const id = `unit-${process.pid}-${Date.now()}`;
  const watch = new RunWatch(id, 50).start();
  const env = { ...process.env, [TEST_RUN_ENV]: id };
  const marker = `${process.pid}${Date.now() % 1000}`;
  // sh leaves both sleeps behind (re-parented to init when it exits); the second without any
  // environment. Each sleeps a distinct number of seconds so that the test can tell them apart.
  const sh = spawn('sh', ['-c', `sleep 6${marker} & env -i sleep 7${marker} & sleep 0.4`], {
    env,
    stdio: 'ignore',
  });
  let left: Awaited<ReturnType<typeof reapLeftovers>> = [];
  try {
    await new Promise((done) => sh.once('exit', done));
    await sleep(100);
    // the mark alone sees only the first
    assert.deepEqual(
      processesOfRun(id).map((p) => p.command),
      [`sleep 6${marker}`],
    );
    left = await reapLeftovers(id, 0, watch);
    assert.deepEqual(left.map((p) => p.command).sort(), [`sleep 6${marker}`, `sleep 7${marker}`]);
    // killed: nothing of the run is left
    await sleep(200);
    assert.deepEqual(processesOfRun(id), []);
    assert.deepEqual(watch.alive(), []);
  } finally {
    watch.stop();
    for (const p of [...left, ...watch.alive()]) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

test('leftovers: processes that ended, and processes that ran before the run, are not counted', async () => {
  const before = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    await sleep(50);
    const id = `unit-${process.pid}-${Date.now()}-b`;
    const watch = new RunWatch(id, 50).start();
    const env = { ...process.env, [TEST_RUN_ENV]: id };
    const done = spawn('sh', ['-c', 'sleep 0.2'], { env, stdio: 'ignore' });
    await new Promise((ok) => done.once('exit', ok));
    assert.deepEqual(await reapLeftovers(id, 0, watch), []);
    assert.equal(before.exitCode, null, 'the earlier process still runs, untouched');
  } finally {
    before.kill('SIGKILL');
  }
});
