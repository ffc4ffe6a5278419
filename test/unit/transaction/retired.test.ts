import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RetiredTable } from '../../../src/transaction/retired.js';
import { ByteArena } from '../../../src/util/byte-arena.js';

describe('RetiredTable', () => {
  it('finds a key until its deadline, then not; the sweep drops it', () => {
    const t = new RetiredTable(false);
    t.add('a', 100);
    assert.equal(t.size, 1);
    assert.ok(t.find('a', 99) >= 0);
    assert.equal(t.find('a', 100), -1, 'the deadline itself is past');
    assert.equal(t.find('b', 0), -1);
    assert.ok(t.has('a'), 'held (expired) until swept');
    t.sweep(99);
    assert.equal(t.size, 1);
    t.sweep(100);
    assert.equal(t.size, 0);
    assert.equal(t.has('a'), false);
  });

  it('keeps each final: its bytes and its target, through growth and sweeps', () => {
    const t = new RetiredTable(true);
    const arena = new ByteArena(4096);
    const n = 5000; // past the initial 1024 slots, several times
    for (let i = 0; i < n; i++) {
      const bytes = arena.keep(Buffer.from(`SIP/2.0 200 OK\r\nCSeq: ${i} REGISTER\r\n\r\n`));
      t.add(`k${i}`, 1000 + i, bytes, { flowId: `f${i % 7}` });
    }
    assert.equal(t.size, n);
    for (const i of [0, 1, 1023, 1024, 2047, 2048, 4999]) {
      const slot = t.find(`k${i}`, 0);
      assert.ok(slot >= 0, `k${i}`);
      assert.equal(t.bytes(slot).toString(), `SIP/2.0 200 OK\r\nCSeq: ${i} REGISTER\r\n\r\n`);
      assert.deepEqual(t.target(slot), { flowId: `f${i % 7}` });
    }
    // the oldest 4 000 go, in deadline order; the rest stay findable after the ring shrinks
    const dropped: string[] = [];
    t.sweep(1000 + 3999, (k) => dropped.push(k));
    assert.equal(dropped.length, 4000);
    assert.equal(dropped[0], 'k0');
    assert.equal(dropped[3999], 'k3999');
    assert.equal(t.size, 1000);
    assert.equal(t.find('k3999', 0), -1);
    for (const i of [4000, 4500, 4999]) {
      const slot = t.find(`k${i}`, 0);
      assert.ok(slot >= 0, `k${i} after the sweep`);
      assert.equal(t.bytes(slot).toString(), `SIP/2.0 200 OK\r\nCSeq: ${i} REGISTER\r\n\r\n`);
    }
    // and it wraps around its ring: new entries after the head moved on
    for (let i = n; i < n + 3000; i++)
      t.add(`k${i}`, 1000 + i, arena.keep(Buffer.from(`r${i}`)), { flowId: 'x' });
    for (const i of [4000, 4999, 5000, 7999]) assert.ok(t.find(`k${i}`, 0) >= 0, `k${i}`);
    t.sweep(1000 + 7999);
    assert.equal(t.size, 0);
    t.add('again', 1, arena.keep(Buffer.from('z')), { flowId: 'y' });
    assert.equal(t.bytes(t.find('again', 0)).toString(), 'z');
  });

  it('entries that go to the same place share one target object; other places keep their own', () => {
    const t = new RetiredTable(true);
    const bytes = Buffer.from('SIP/2.0 200 OK\r\n\r\n');
    const udp = (port: number) =>
      ({ proto: 'udp', address: '192.0.2.1', port, listenerId: 1 }) as const;
    t.add('a', 10, bytes, { flowId: 'w0/u1/192.0.2.1:5060' });
    t.add('b', 10, bytes, { flowId: 'w0/u1/192.0.2.1:5060' });
    t.add('c', 10, bytes, { flowId: 'w0/u1/192.0.2.2:5060' });
    t.add('d', 10, bytes, udp(5070));
    t.add('e', 10, bytes, udp(5070));
    t.add('f', 10, bytes, udp(5071));
    const target = (k: string) => t.target(t.find(k, 0));
    assert.equal(target('a'), target('b'), 'one object for one flow');
    assert.notEqual(target('a'), target('c'));
    assert.equal(target('d'), target('e'), 'one object for one address');
    assert.notEqual(target('d'), target('f'));
    assert.deepEqual(target('f'), udp(5071));
    assert.deepEqual(target('c'), { flowId: 'w0/u1/192.0.2.2:5060' });
  });

  it('a key added twice: the newer entry is found, and the older one leaves it in place', () => {
    const t = new RetiredTable(false);
    t.add('dup', 10);
    t.add('other', 15);
    t.add('dup', 20);
    t.sweep(10);
    assert.ok(t.find('dup', 11) >= 0, 'the sweep of the older entry kept the newer one');
    t.sweep(20);
    assert.equal(t.has('dup'), false);
    assert.equal(t.size, 0);
  });

  it('clear empties it', () => {
    const t = new RetiredTable(true);
    for (let i = 0; i < 2000; i++) t.add(`k${i}`, 5, Buffer.from('x'), { flowId: 'f' });
    t.clear();
    assert.equal(t.size, 0);
    assert.equal(t.find('k1', 0), -1);
    t.add('n', 5, Buffer.from('y'), { flowId: 'f' });
    assert.equal(t.bytes(t.find('n', 0)).toString(), 'y');
  });
});
