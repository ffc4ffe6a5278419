// Timers for 100k live transactions: flowgate's timer wheel vs one Node setTimeout each.
// Each round arms N timers with transaction-like delays (0.5–32 s), then cancels them all (what
// happens when transactions complete). Reports ns per arm+cancel and heap held while armed.
// Run: npx tsx bench/micro/timers.bench.ts  (or bundle it with esbuild and run with node --expose-gc)
import { TimerWheel } from '../../src/util/timer-wheel.js';

const N = Number(process.env['TIMERS'] ?? 100_000);
const DELAYS = [500, 1000, 2000, 4000, 5000, 32_000];
const gc = (globalThis as { gc?: () => void }).gc;

function heap(): number {
  gc?.();
  return process.memoryUsage().heapUsed;
}

function wheel(): { ns: number; bytes: number } {
  const w = new TimerWheel(5, () => performance.now());
  const h0 = heap();
  let t0 = performance.now();
  const es = new Array(N);
  for (let i = 0; i < N; i++) es[i] = w.add(DELAYS[i % DELAYS.length] as number, () => {});
  let t = performance.now() - t0;
  const armed = heap() - h0;
  t0 = performance.now();
  for (let i = 0; i < N; i++) w.cancel(es[i]);
  t += performance.now() - t0;
  return { ns: (t * 1e6) / N, bytes: armed / N };
}

function node(): { ns: number; bytes: number } {
  const h0 = heap();
  let t0 = performance.now();
  const ts = new Array(N);
  for (let i = 0; i < N; i++) ts[i] = setTimeout(() => {}, DELAYS[i % DELAYS.length]);
  let t = performance.now() - t0;
  const armed = heap() - h0;
  t0 = performance.now();
  for (let i = 0; i < N; i++) clearTimeout(ts[i]);
  t += performance.now() - t0;
  return { ns: (t * 1e6) / N, bytes: armed / N };
}

const rounds: Record<string, { ns: number; bytes: number }[]> = { wheel: [], setTimeout: [] };
for (let r = 0; r < 7; r++) {
  rounds['wheel']?.push(wheel());
  rounds['setTimeout']?.push(node());
}
const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(
  `${N} timers, arm + cancel, median of 7 rounds${gc ? '' : ' (heap figures need --expose-gc)'}`,
);
for (const [k, v] of Object.entries(rounds)) {
  console.log(
    `  ${k.padEnd(11)} ${med(v.map((x) => x.ns))
      .toFixed(0)
      .padStart(6)} ns/timer  ${med(v.map((x) => x.bytes))
      .toFixed(0)
      .padStart(5)} B/timer held while armed`,
  );
}
