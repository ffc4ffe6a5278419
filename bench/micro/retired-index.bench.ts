// The longest single operation on the key index of finished transactions, at the soak's steady
// state (2 500 REGISTER/s kept for timer J's 32 s: 80 000 live keys, one added and one dropped per
// REGISTER): one JS Map (what RetiredTable had) against RetiredTable itself (16 maps by key hash).
// A Map under insert and delete builds a new hash table whenever live and deleted entries fill the
// old one, in the operation that fills it: that operation is the one that stalls.
// Run with flowgate's young-generation cap (util/heap-tuning.ts), so that scavenges stay short:
//   node --max-semi-space-size=2 --import tsx bench/micro/retired-index.bench.ts   (LIVE=80000 OPS=400000)
// The longest GC pause of each phase is printed beside it, to tell a pause from the index's work.
import { PerformanceObserver } from 'node:perf_hooks';
import { RetiredTable } from '../../src/transaction/retired.js';

const pauses: { start: number; duration: number }[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push({ start: e.startTime, duration: e.duration });
}).observe({ entryTypes: ['gc'] });

const LIVE = Number(process.env['LIVE'] ?? 80_000);
const OPS = Number(process.env['OPS'] ?? 400_000);

// keys shaped like the transaction layer's (branch, sent-by, method), made before timing
const keys: string[] = [];
for (let i = 0; i < OPS; i++)
  keys.push(`z9hG4bK${(Math.random() * 1e16).toString(36)}${i}\x00127.0.61.63:5060\x00REGISTER`);

interface Result {
  readonly name: string;
  readonly from: number;
  readonly to: number;
  readonly maxMs: number;
  readonly over1ms: number;
  readonly meanNs: number;
}

function run(name: string, op: (i: number) => void): Result {
  let maxMs = 0;
  let over1ms = 0;
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const t = performance.now();
    op(i);
    const d = performance.now() - t;
    if (d > maxMs) maxMs = d;
    if (d > 1) over1ms++;
  }
  const to = performance.now();
  return { name, from: t0, to, maxMs, over1ms, meanNs: ((to - t0) * 1e6) / OPS };
}

const one = new Map<string, number>();
const single = run('one Map', (i) => {
  one.set(keys[i] as string, i);
  if (i >= LIVE) one.delete(keys[i - LIVE] as string);
});

// every entry lives LIVE "ms"; time advances 1 per operation, so the sweep drops one per add
const table = new RetiredTable(false);
const sharded = run('RetiredTable', (i) => {
  table.add(keys[i] as string, i + LIVE);
  table.sweep(i);
});

// gc entries arrive after the synchronous phases
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(`${OPS} operations, ${LIVE} live keys`);
for (const r of [single, sharded]) {
  const gc = Math.max(
    0,
    ...pauses.filter((p) => p.start >= r.from && p.start < r.to).map((p) => p.duration),
  );
  console.log(
    `${r.name.padEnd(14)} longest ${r.maxMs.toFixed(2)} ms, ${r.over1ms} over 1 ms, mean ${r.meanNs.toFixed(0)} ns (longest GC pause meanwhile ${gc.toFixed(2)} ms)`,
  );
}
