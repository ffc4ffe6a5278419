import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ByteArena } from '../../../src/util/byte-arena.js';

test('ByteArena: a pooled slice is copied out of its pool slab; equal bytes, separate memory', () => {
  const a = new ByteArena(1024);
  const pooled = Buffer.from('SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', 'latin1');
  assert.ok(pooled.buffer.byteLength > pooled.length, 'Node pools small Buffer.from strings');
  const kept = a.keep(pooled);
  assert.deepEqual(kept, pooled);
  assert.notEqual(kept.buffer, pooled.buffer);
  pooled.fill(0x20);
  assert.equal(kept.toString('latin1', 0, 14), 'SIP/2.0 200 OK', 'the copy does not share bytes');
});

test('ByteArena: copies share a slab in order; a new slab when full; big ones get their own', () => {
  const a = new ByteArena(64);
  const part = (s: string): Buffer => Buffer.from(`xx${s}`, 'latin1').subarray(2);
  const one = a.keep(part('a'.repeat(16)));
  const two = a.keep(part('b'.repeat(16)));
  assert.equal(one.buffer, two.buffer);
  assert.equal(two.byteOffset, one.byteOffset + 16);
  a.keep(part('c'.repeat(16)));
  const four = a.keep(part('d'.repeat(16)));
  assert.equal(four.buffer, one.buffer, '4 × 16 fill the 64-byte slab exactly');
  const five = a.keep(part('e'));
  assert.notEqual(five.buffer, one.buffer, 'a full slab: the next copy starts a new one');
  assert.equal(four.toString(), 'd'.repeat(16));
  assert.equal(five.toString(), 'e');
  const big = a.keep(part('f'.repeat(17)));
  assert.equal(big.buffer.byteLength, 17, 'over a quarter of a slab: memory of its own');
  const owned = Buffer.allocUnsafeSlow(5).fill(1);
  assert.equal(a.keep(owned), owned, 'a buffer that owns its memory is kept as it is');
});
