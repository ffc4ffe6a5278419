import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryLocationStore } from '../../../../src/modules/location/memory.js';
import { ManualClock } from '../../../../src/util/clock.js';
import { makeBinding, runLocationStoreSuite } from '../../../support/location-store.case.js';

runLocationStoreSuite('MemoryLocationStore', async ({ sweepIntervalMs }) => {
  const clock = new ManualClock();
  return {
    store: new MemoryLocationStore({ clock, sweepIntervalMs }),
    now: () => clock.wallNow(),
    advance: async (ms) => clock.advance(ms),
    shortExpiryMs: 1000,
  };
});

describe('MemoryLocationStore', () => {
  test('open arms one purge timer and close clears it', async () => {
    const clock = new ManualClock();
    const store = new MemoryLocationStore({ clock, sweepIntervalMs: 1000 });
    assert.equal(clock.pending, 0);
    await store.open();
    assert.equal(clock.pending, 1);
    clock.advance(5500); // five runs, one timer pending at a time
    assert.equal(clock.pending, 1);
    await store.close();
    assert.equal(clock.pending, 0);
  });

  test('bindings are stored as frozen copies: later changes to the caller object do not leak in', async () => {
    const clock = new ManualClock();
    const store = new MemoryLocationStore({ clock });
    await store.open();
    const path = ['<sip:edge;lr>'];
    const b = { ...makeBinding(clock.wallNow(), 'amy', 'a1'), path, extra: 'not a binding field' };
    await store.apply('amy', { upsert: [b], remove: [] });
    path.push('<sip:evil;lr>');
    const [got] = await store.get('amy');
    assert.ok(got !== undefined && Object.isFrozen(got) && Object.isFrozen(got.path));
    assert.deepEqual(got.path, ['<sip:edge;lr>']);
    assert.equal('extra' in got, false);
    await store.close();
  });

  test('a closed store can be opened again and keeps its bindings', async () => {
    const clock = new ManualClock();
    const store = new MemoryLocationStore({ clock });
    await store.open();
    await store.apply('bo', { upsert: [makeBinding(clock.wallNow(), 'bo', 'b1')], remove: [] });
    await store.close();
    await store.open();
    assert.equal((await store.get('bo')).length, 1);
    await store.close();
  });
});
