// lowerHelperThreads (src/util/thread-priority.ts) on a real child node process: its helper
// threads get more nice, its main thread keeps its own, and the kernel is what the test reads.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { lowerHelperThreads } from '../../../src/util/thread-priority.js';
import { WAIT_MS, waitFor } from '../../support/net.js';
import { niceOfThreads } from '../../support/threads.js';

const linux = process.platform === 'linux';

describe('lowerHelperThreads', {
  skip: linux ? false : 'Linux only (/proc, per-thread nice)',
}, () => {
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  /** A node process that idles: V8 starts its helper threads at once. */
  const idleNode = async (): Promise<number> => {
    const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    children.push(c);
    const pid = c.pid as number;
    await waitFor(() => niceOfThreads(pid).size >= 5, WAIT_MS, 'the child to start its threads');
    return pid;
  };

  test('adds to every thread but the main one, and clamps at 19', async () => {
    const pid = await idleNode();
    const before = niceOfThreads(pid);
    const base = before.get(pid) as number;
    const r = lowerHelperThreads(10, pid);
    assert.ok(!('skipped' in r), JSON.stringify(r));
    assert.equal(r.failed, 0);
    assert.equal(r.threads, before.size - 1);
    assert.equal(r.nice, Math.min(19, base + 10));
    const after1 = niceOfThreads(pid);
    assert.equal(after1.get(pid), base, 'the main thread keeps its priority');
    for (const [tid, n] of after1)
      if (tid !== pid && before.has(tid))
        assert.equal(n, Math.min(19, (before.get(tid) as number) + 10), `thread ${tid}`);

    // again: added to what each has, up to Linux's lowest priority
    const r2 = lowerHelperThreads(15, pid);
    assert.ok(!('skipped' in r2));
    assert.equal(r2.nice, 19);
    for (const [tid, n] of niceOfThreads(pid)) assert.equal(n, tid === pid ? base : 19);
  });

  test('0 changes nothing; a process that is not there is skipped with the reason', async () => {
    const pid = await idleNode();
    const before = niceOfThreads(pid);
    assert.deepEqual(lowerHelperThreads(0, pid), { skipped: 'off' });
    assert.deepEqual(niceOfThreads(pid), before);
    const r = lowerHelperThreads(10, 2 ** 22 + 12345); // above Linux's pid_max
    assert.ok('skipped' in r && /cannot list threads: .*ENOENT/.test(r.skipped), JSON.stringify(r));
  });
});
