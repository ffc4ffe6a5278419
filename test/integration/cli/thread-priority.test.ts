// flowgate start lowers its helper threads' priority once warmed up (helper_threads_nice,
// src/util/thread-priority.ts): what the kernel shows for the running server's threads, and the
// one log line that says so.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { niceOfThreads } from '../../support/threads.js';
import { ensureBuilt, Running } from './helpers.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-nice-test-'));
const linux = process.platform === 'linux';

before(() => ensureBuilt());
after(() => rmSync(DIR, { recursive: true, force: true }));

describe('flowgate start: helper thread priority', { skip: linux ? false : 'Linux only' }, () => {
  const started: Running[] = [];
  after(() => {
    for (const r of started) r.kill();
  });
  const start = async (name: string, extra: string): Promise<Running> => {
    const p = join(DIR, `${name}.yaml`);
    writeFileSync(
      p,
      [
        'management: { listen: 127.0.0.1:0, token: nice-test-token-0123456789 }',
        'warmup: 50',
        extra,
        'elements:',
        '  edge: { listen: [udp:127.0.0.1:0] }',
        '  registrar: { listen: [udp:127.0.0.1:0] }',
        '',
      ].join('\n'),
    );
    const r = await Running.start(['-c', p, '--data-dir', join(DIR, `${name}-data`)]);
    started.push(r);
    return r;
  };

  test('the default: every helper that existed at start gets +10, the event loop keeps its priority', async () => {
    const fg = await start('default', '');
    const pid = fg.proc.pid as number;
    const line = fg.logs().find((l) => /^helper threads at nice/.test(String(l['msg'])));
    assert.ok(line !== undefined, fg.stdout);
    const threads = niceOfThreads(pid);
    const base = threads.get(pid) as number;
    assert.equal(line['nice'], Math.min(19, base + 10));
    assert.equal(line['failed'], 0);
    // V8's four platform workers at least; libuv's pool when it had started
    assert.ok((line['threads'] as number) >= 4, JSON.stringify(line));
    const lowered = [...threads].filter(([tid, n]) => tid !== pid && n === line['nice']).length;
    assert.equal(lowered, line['threads'], `${JSON.stringify([...threads])}`);
    // threads started after it (the SQLite checkpointer's worker) inherit the main thread's
    const rest = [...threads].filter(([tid, n]) => tid !== pid && n !== line['nice']);
    for (const [tid, n] of rest) assert.equal(n, base, `thread ${tid}`);
    assert.equal(await fg.stop(), 0);
  });

  test('helper_threads_nice: 0 leaves every thread as it is, and says nothing', async () => {
    const fg = await start('off', 'helper_threads_nice: 0');
    const pid = fg.proc.pid as number;
    assert.doesNotMatch(fg.stdout, /helper threads/);
    const threads = niceOfThreads(pid);
    const base = threads.get(pid) as number;
    for (const [tid, n] of threads) assert.equal(n, base, `thread ${tid}`);
    assert.equal(await fg.stop(), 0);
  });

  test('a value out of range is refused with the key and the fix', async () => {
    const p = join(DIR, 'bad.yaml');
    writeFileSync(p, 'helper_threads_nice: 25\n');
    const r = await Running.start(['-c', p, '--data-dir', join(DIR, 'bad-data')]);
    started.push(r);
    await r.stop();
    assert.equal(r.exitCode, 1);
    assert.match(r.stderr, /helper_threads_nice/);
    assert.match(r.stderr, /0 to 19/);
  });
});
