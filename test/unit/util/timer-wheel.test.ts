import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TimerWheel } from '../../../src/util/timer-wheel.js';

function waitFor(p: () => boolean, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const t = setInterval(() => {
      if (p()) {
        clearInterval(t);
        resolve();
      } else if (Date.now() - start > ms) {
        clearInterval(t);
        reject(new Error('timeout'));
      }
    }, 5);
  });
}

describe('TimerWheel', () => {
  test('fires in order, never early, and cancels', async () => {
    const w = new TimerWheel(5, () => performance.now());
    const fired: [string, number][] = [];
    const t0 = performance.now();
    w.add(60, () => fired.push(['b', performance.now() - t0]));
    w.add(20, () => fired.push(['a', performance.now() - t0]));
    const c = w.add(40, () => fired.push(['cancelled', 0]));
    w.add(90, () => fired.push(['c', performance.now() - t0]));
    w.cancel(c);
    await waitFor(() => fired.length === 3, 2000);
    assert.deepEqual(
      fired.map((f) => f[0]),
      ['a', 'b', 'c'],
    );
    assert.ok(
      (fired[0]?.[1] ?? 0) >= 20 - 1 &&
        (fired[1]?.[1] ?? 0) >= 60 - 1 &&
        (fired[2]?.[1] ?? 0) >= 90 - 1,
      'no timer fires early',
    );
    assert.equal(w.size, 0);
  });

  test('timers beyond one rotation (2048 ticks) wait for their round', async () => {
    const w = new TimerWheel(1, () => performance.now());
    const t0 = performance.now();
    let at = -1;
    w.add(2100, () => (at = performance.now() - t0));
    // its slot is first visited after ~52 ms: it must not fire then
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(at, -1);
    await waitFor(() => at >= 0, 5000);
    assert.ok(at >= 2099, `fired at ${at}`);
  });

  test('100k timers: add and cancel stay cheap (bookkeeping only)', () => {
    const w = new TimerWheel(5, () => performance.now());
    const es = [];
    for (let i = 0; i < 100_000; i++) es.push(w.add(1000 + (i % 30_000), () => {}));
    assert.equal(w.size, 100_000);
    for (const e of es) w.cancel(e);
    assert.equal(w.size, 0);
  });
});
