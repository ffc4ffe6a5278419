import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SlotMap } from '../../../src/util/slot-map.js';

describe('SlotMap', () => {
  it('gets, sets, replaces and deletes like a Map', () => {
    const m = new SlotMap<{ n: number }>(2);
    assert.equal(m.size, 0);
    assert.equal(m.get('a'), undefined);
    const a = { n: 1 };
    m.set('a', a);
    assert.equal(m.get('a'), a);
    assert.ok(m.has('a'));
    m.set('a', { n: 2 });
    assert.equal(m.size, 1, 'a key set twice is one entry');
    assert.deepEqual(m.get('a'), { n: 2 });
    assert.equal(m.delete('a'), true);
    assert.equal(m.delete('a'), false);
    assert.equal(m.has('a'), false);
    assert.equal(m.get('a'), undefined);
    assert.equal(m.size, 0);
  });

  it('keeps every value through growth and slot reuse', () => {
    const m = new SlotMap<number>(4);
    const live = new Map<string, number>();
    // a churn like a transaction table's: inserts and deletes interleaved, past the first slots
    for (let i = 0; i < 5000; i++) {
      m.set(`k${i}`, i);
      live.set(`k${i}`, i);
      if (i % 3 !== 0) {
        const gone = `k${i - (i % 7)}`;
        assert.equal(m.delete(gone), live.delete(gone));
      }
    }
    assert.equal(m.size, live.size);
    for (const [k, v] of live) assert.equal(m.get(k), v, k);
    assert.deepEqual(
      m.values().sort((x, y) => x - y),
      [...live.values()].sort((x, y) => x - y),
    );
  });

  it('values() is a snapshot: deleting while iterating it is safe', () => {
    const m = new SlotMap<string>();
    for (const k of ['x', 'y', 'z']) m.set(k, k);
    const seen: string[] = [];
    for (const v of m.values()) {
      seen.push(v);
      m.delete(v);
    }
    assert.deepEqual(seen.sort(), ['x', 'y', 'z']);
    assert.equal(m.size, 0);
  });

  it('clear empties it and it can be used again', () => {
    const m = new SlotMap<number>(2);
    for (let i = 0; i < 10; i++) m.set(String(i), i);
    m.clear();
    assert.equal(m.size, 0);
    assert.equal(m.get('3'), undefined);
    m.set('n', 7);
    assert.equal(m.get('n'), 7);
    assert.deepEqual(m.values(), [7]);
  });
});
