// RetiredTable (src/transaction/retired.ts) against a model made of a Map and an array: random
// runs of add / find / has / sweep / clear, with keys that repeat, long keys that make the byte
// ring grow, keys over one byte, and bursts that make the ring and its index grow and shrink.
// CI: fixed seed, 40 runs of 8 000 steps. FUZZ_RUNS=<n> sets the run count by hand;
// `npm run fuzz:long` scales it (test/fuzz/fuzz-parameters.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { RetiredTable } from '../../src/transaction/retired.js';
import { fuzzParameters } from './fuzz-parameters.js';

const SEED = 0x7e71ed;
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 40);
const STEPS = 8000;

/** A small deterministic generator, so that one fast-check integer replays a whole run. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x100000000;
  };
}

function keyOf(i: number): string {
  if (i % 97 === 0) return `z9hG4bK-${i}-\u20ac|wide|MESSAGE`;
  if (i % 31 === 0) return `2543|sip:u${i}@example.com|${'t'.repeat(300 + (i % 900))}|${i}|INVITE`;
  return `z9hG4bK-${i}|198.51.100.${i % 250}:5060|REGISTER`;
}

interface Entry {
  readonly key: string;
  readonly until: number;
  readonly seq: number;
  readonly body: string;
}

test('RetiredTable answers as the model does', () => {
  const peaks: number[] = [];
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 0x7fffffff }), fc.boolean(), (seed, withBytes) => {
      const r = rng(seed);
      const t = new RetiredTable(withBytes, seed);
      const fifo: Entry[] = [];
      const latest = new Map<string, Entry>();
      let now = 0;
      let seq = 0;
      // a pool of keys that grows now and then: repeats are common, new keys keep coming
      let pool = 50;
      let peak = 0;
      for (let step = 0; step < STEPS; step++) {
        const op = r();
        if (op < 0.5) {
          // mostly the same wait (deadline order), sometimes a shorter one
          const until = now + (r() < 0.9 ? 5000 : Math.floor(r() * 5000));
          const key = keyOf(Math.floor(r() * pool));
          const e = { key, until, seq: seq++, body: `SIP/2.0 200 OK\r\nX: ${seq}\r\n\r\n` };
          fifo.push(e);
          latest.set(key, e);
          if (withBytes) t.add(key, until, Buffer.from(e.body), { flowId: `f${seq % 5}` });
          else t.add(key, until);
          if (r() < 0.02) pool += 500;
        } else if (op < 0.75) {
          const key = keyOf(Math.floor(r() * (pool + 5)));
          const e = latest.get(key);
          const slot = t.find(key, now);
          if (e === undefined || e.until <= now) assert.equal(slot, -1, `find ${key} at ${now}`);
          else {
            assert.ok(slot >= 0, `find ${key} at ${now}`);
            if (withBytes) {
              assert.equal(t.bytes(slot).toString(), e.body);
              assert.deepEqual(t.target(slot), { flowId: `f${(e.seq + 1) % 5}` });
            }
          }
          assert.equal(t.has(key), e !== undefined, `has ${key}`);
        } else if (op < 0.9997) {
          // time passes (sometimes a lot: the table empties), then the sweep
          now += r() < 0.998 ? Math.floor(r() * 3) : Math.floor(r() * 8000);
          const dropped: string[] = [];
          t.sweep(now, (k) => dropped.push(k));
          const want: string[] = [];
          while (fifo.length > 0 && (fifo[0] as Entry).until <= now) {
            const e = fifo.shift() as Entry;
            want.push(e.key);
            if (latest.get(e.key) === e) latest.delete(e.key);
          }
          assert.deepEqual(dropped, want, `sweep at ${now}`);
        } else {
          t.clear();
          fifo.length = 0;
          latest.clear();
        }
        assert.equal(t.size, fifo.length);
        if (t.size > peak) peak = t.size;
      }
      peaks.push(peak);
      assert.equal(t.unindexed, 0);
    }),
    fuzzParameters({ seed: SEED, numRuns: RUNS }),
  );
  // the runs went past the ring's first 1 024 slots (growth, then shrinking as they drained)
  assert.ok(
    peaks.some((p) => p > 2048),
    `peak sizes ${Math.min(...peaks)}..${Math.max(...peaks)}`,
  );
});
