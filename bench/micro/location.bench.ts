// Location store micro-benchmark: get / apply per backend at 100k bindings, and the memory per
// binding the in-memory store holds.
// Run:  node --expose-gc --import tsx bench/micro/location.bench.ts
// Env:  BENCH_BINDINGS (default 100000), BENCH_REDIS=1 to include Redis (needs redis-server).
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Binding, LocationStore } from '../../src/modules/location/binding.js';
import { MemoryLocationStore } from '../../src/modules/location/memory.js';
import { RedisLocationStore } from '../../src/modules/location/redis.js';
import { SqliteLocationStore } from '../../src/modules/location/sqlite.js';
import { ManualClock } from '../../src/util/clock.js';
import { RedisServer } from '../../test/support/redis-server.js';

const N = Number(process.env['BENCH_BINDINGS'] ?? 100_000);
const PER_AOR = 2; // an outbound UA: reg-id 1 and 2
const AORS = Math.ceil(N / PER_AOR);
const clock = new ManualClock();
/** Time base of the generated bindings (the redis run moves it to real time). */
let T0 = clock.wallNow();

/** A flat string, as the parser would produce from the wire (not a rope of concatenations). */
function wire(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

function aorOf(i: number): string {
  return wire(`user${i}`);
}

/** A realistic outbound binding: Path with a flow token, instance, reg-id, GRUU. */
function binding(i: number, reg: number, expires = T0 + 3_600_000): Binding {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  return {
    ruid: wire(`uloc-6b07a0b3-492e-${(i * PER_AOR + reg).toString(16)}`),
    aor: aorOf(i),
    contact: wire(`sip:user${i}@${ip}:49210;transport=tcp;ob`),
    received: undefined,
    path: [
      wire(
        `<sip:${Buffer.from(`token-${i}-${reg}-padding-to-hmac`).toString('base64url')}@edge.example.net:5060;transport=tcp;lr;ob>`,
      ),
    ],
    expires,
    q: undefined,
    callId: wire(`${(i * 7919).toString(36)}-${reg}@${ip}`),
    cseq: 2,
    userAgent: wire('Linphone/5.2.0 (belle-sip/5.2.0)'),
    instance: wire(`<urn:uuid:00000000-0000-1000-8000-${i.toString(16).padStart(12, '0')}>`),
    regId: reg,
    flowId: wire(`w0/c-${ip}:49210`),
    socket: 'tcp:192.0.2.1:5060',
    methods: undefined,
    flags: 0,
    lastModified: T0,
    seq: i * PER_AOR + reg,
    tempGruus: [wire(`tgruu.${(i * 104729).toString(36)}`)],
  };
}

async function fill(store: LocationStore): Promise<void> {
  for (let i = 0; i < AORS; i++) {
    await store.apply(aorOf(i), { upsert: [binding(i, 1), binding(i, 2)], remove: [] });
  }
}

async function time(
  label: string,
  ops: number,
  fn: (i: number) => Promise<unknown>,
): Promise<void> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await fn(i);
  const ns = Number(process.hrtime.bigint() - t0) / ops;
  console.log(
    `  ${label.padEnd(38)} ${(ns / 1000).toFixed(2).padStart(9)} µs/op  ${Math.round(1e9 / ns)
      .toLocaleString('en')
      .padStart(10)} op/s`,
  );
}

function heapUsed(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc !== undefined) for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

async function operations(store: LocationStore, opsScale: number): Promise<void> {
  const ops = Math.max(1000, Math.floor(20_000 * opsScale));
  // Inputs are built before the timed loops, so only the store is measured.
  const POOL = 1024;
  const picks = Array.from({ length: POOL }, (_, i) => (i * 2_654_435_761) % AORS);
  const aors = picks.map(aorOf);
  const ruids = picks.map((i) => binding(i, 1).ruid);
  const refreshes = picks.map((i, k) => ({
    ...binding(i, 1),
    expires: T0 + 7_200_000,
    cseq: 3 + k,
  }));
  const fresh = Array.from({ length: POOL }, (_, k) => ({
    ...binding(k, 1),
    aor: `bench-new-${k}`,
    ruid: `bn-${k}`,
  }));
  await time('get(aor) hit, 2 bindings', ops, (i) => store.get(aors[i % POOL] ?? ''));
  await time('get(aor) miss', ops, () => store.get('nobody'));
  await time('getByRuid', ops, (i) => store.getByRuid(ruids[i % POOL] ?? ''));
  await time('apply: refresh one binding', ops, (i) => {
    const b = refreshes[i % POOL] as Binding;
    return store.apply(b.aor, { upsert: [b], remove: [] });
  });
  await time('apply: insert, then remove (new AoR)', ops, async (i) => {
    const b = fresh[i % POOL] as Binding;
    await store.apply(b.aor, { upsert: [b], remove: [] });
    await store.apply(b.aor, { upsert: [], remove: [b.ruid] });
  });
  await time('count()', Math.max(5, Math.floor(50 * opsScale)), () => store.count());
  await time('purgeExpired() (nothing expired)', Math.max(5, Math.floor(50 * opsScale)), () =>
    store.purgeExpired(),
  );
  await time('list(cursor, 100) page', Math.max(50, Math.floor(500 * opsScale)), () =>
    store.list(undefined, 100),
  );
}

console.log(
  `location stores, ${N.toLocaleString('en')} bindings (${AORS.toLocaleString('en')} AoRs x ${PER_AOR}), node ${process.version}`,
);

// ---- memory
{
  if ((globalThis as { gc?: unknown }).gc === undefined)
    console.log('  (run with node --expose-gc for a precise memory figure)');
  const before = heapUsed();
  const rssBefore = process.memoryUsage().rss;
  // No purge timer during the run: the purge is timed explicitly below.
  const store = new MemoryLocationStore({ clock, sweepIntervalMs: 1e12 });
  await store.open();
  const t0 = performance.now();
  await fill(store);
  const fillMs = performance.now() - t0;
  const after = heapUsed();
  console.log('memory');
  console.log(`  fill ${N.toLocaleString('en')} bindings: ${fillMs.toFixed(0)} ms`);
  console.log(
    `  heap per binding: ${((after - before) / N).toFixed(0)} B (strings included; heap +${((after - before) / 2 ** 20).toFixed(1)} MiB, rss +${((process.memoryUsage().rss - rssBefore) / 2 ** 20).toFixed(1)} MiB)`,
  );
  await operations(store, 1);
  clock.advance(3_700_000);
  const tp = performance.now();
  const purged = await store.purgeExpired();
  console.log(
    `  purge of ${purged.toLocaleString('en')} expired bindings: ${(performance.now() - tp).toFixed(1)} ms`,
  );
  await store.close();
}

// ---- sqlite
{
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-bench-'));
  const path = join(dir, 'location.db');
  const sclock = new ManualClock();
  const store = new SqliteLocationStore({ path, clock: sclock, sweepIntervalMs: 1e12 });
  await store.open();
  const t0 = performance.now();
  await fill(store);
  console.log('sqlite (file, WAL, synchronous=NORMAL)');
  console.log(
    `  fill ${N.toLocaleString('en')} bindings (one transaction each): ${(performance.now() - t0).toFixed(0)} ms, file ${(statSync(path).size / 2 ** 20).toFixed(1)} MiB`,
  );
  await operations(store, 0.5);
  sclock.advance(3_700_000);
  const tp = performance.now();
  const purged = await store.purgeExpired();
  console.log(
    `  purge of ${purged.toLocaleString('en')} expired bindings: ${(performance.now() - tp).toFixed(1)} ms`,
  );
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

// ---- redis (optional)
if (process.env['BENCH_REDIS'] === '1') {
  const server = await RedisServer.start();
  try {
    T0 = Date.now(); // redis enforces the TTLs on its own clock
    const store = new RedisLocationStore({ url: server.url, prefix: 'bench:' });
    await store.open();
    const t0 = performance.now();
    await fill(store);
    console.log('redis (loopback, one round trip per call)');
    console.log(
      `  fill ${N.toLocaleString('en')} bindings: ${(performance.now() - t0).toFixed(0)} ms`,
    );
    await operations(store, 0.25);
    await store.close();
  } finally {
    await server.dispose();
  }
}
