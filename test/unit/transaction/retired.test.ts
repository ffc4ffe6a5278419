import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashKey, RetiredTable } from '../../../src/transaction/retired.js';
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

  it('keeps keys of any length and any byte, through the key ring growing and starting over', () => {
    const t = new RetiredTable(false);
    // 64 KB of key bytes to start with: 400 keys of up to 2 KB make it grow several times
    const key = (i: number): string =>
      `z9hG4bK${i}|${String.fromCharCode(i % 256).repeat((i * 37) % 2000)}|REGISTER`;
    for (let i = 0; i < 400; i++) t.add(key(i), 100 + i);
    for (let i = 0; i < 400; i++) assert.ok(t.find(key(i), 0) >= 0, `key ${i}`);
    // a key differing only in its last byte, or one byte shorter, is another key
    assert.equal(t.has(`${key(399).slice(0, -1)}X`), false);
    assert.equal(t.has(key(399).slice(0, -1)), false);
    const dropped: string[] = [];
    t.sweep(100 + 199, (k) => dropped.push(k));
    assert.deepEqual(
      dropped,
      Array.from({ length: 200 }, (_, i) => key(i)),
      'the sweep names each key, oldest first',
    );
    for (let i = 200; i < 400; i++) assert.ok(t.has(key(i)), `key ${i} after the sweep`);
    t.sweep(1000);
    assert.equal(t.size, 0);
    t.add(key(7), 5);
    assert.ok(t.has(key(7)));
    assert.equal(t.unindexed, 0);
  });

  it('a key with characters over one byte (not from message text) is found too', () => {
    const t = new RetiredTable(false);
    t.add('z9hG4bK-\u20ac|a', 10);
    t.add('plain', 10);
    t.add('z9hG4bK-\u20ac|a', 20);
    assert.ok(t.has('z9hG4bK-\u20ac|a'));
    assert.equal(t.has('z9hG4bK-\u00ac|a'), false, 'not the same key with its high byte cut off');
    const dropped: string[] = [];
    t.sweep(10, (k) => dropped.push(k));
    assert.ok(t.find('z9hG4bK-\u20ac|a', 11) >= 0, 'the newer entry stays');
    t.sweep(20, (k) => dropped.push(k));
    assert.equal(t.has('z9hG4bK-\u20ac|a'), false);
    assert.deepEqual(dropped.slice(1), ['plain', 'z9hG4bK-\u20ac|a']);
  });

  it('while only wide keys are held, the byte ring still grows and moves correctly', () => {
    const t = new RetiredTable(false);
    const long = (i: number, n: number): string => `z9hG4bK-${i}|${'p'.repeat(n)}|REGISTER`;
    for (let i = 0; i < 50; i++) t.add(long(i, 1000), 10);
    t.add('wide-\u20ac', 100);
    t.sweep(10); // the byte keys go; the wide one stays, and nothing is in the byte ring
    assert.equal(t.size, 1);
    // 300 KB of new keys: the 64 KB ring has to grow while the oldest entry is the wide key
    for (let i = 100; i < 400; i++) t.add(long(i, 1000), 200);
    for (let i = 100; i < 400; i++) assert.ok(t.has(long(i, 1000)), `key ${i}`);
    assert.ok(t.has('wide-\u20ac'));
    t.sweep(100);
    for (let i = 100; i < 400; i += 37) assert.ok(t.has(long(i, 1000)), `key ${i} after`);
  });

  it('keys crafted to share one place: past MAX_PROBE they are counted, not indexed, and others still work', () => {
    const seed = 12345;
    const t = new RetiredTable(false, seed);
    // the index starts with 2 048 places: keys whose hash ends in the same 11 bits share one
    const same: string[] = [];
    for (let i = 0; same.length < 140; i++) {
      const k = `z9hG4bK-${i}|198.51.100.7:5060|REGISTER`;
      if ((hashKey(k, seed) & 2047) === 0) same.push(k);
    }
    for (const k of same) t.add(k, 100);
    assert.equal(t.unindexed, 140 - 129, 'the place itself and 128 after it');
    for (const k of same.slice(0, 129)) assert.ok(t.has(k), k);
    for (const k of same.slice(129)) assert.equal(t.has(k), false, k);
    // an ordinary key is unaffected, and taking the run out leaves the index whole
    t.add('ordinary', 200);
    assert.ok(t.has('ordinary'));
    t.sweep(100);
    assert.equal(t.size, 1);
    assert.ok(t.has('ordinary'));
    for (const k of same) assert.equal(t.has(k), false);
  });
});
