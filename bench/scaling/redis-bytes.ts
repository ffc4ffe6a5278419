// How much Redis memory and Redis CPU one registered device costs in flowgate's Redis location
// store (docs/scaling.md). Writes N bindings through the real RedisLocationStore (the same Lua
// script a registrar runs for a REGISTER) into an empty Redis, reads `INFO memory` used_memory
// before and after, and reports bytes per binding at checkpoints; then looks up M AoRs (what a call
// to a registered phone costs) and reports Redis CPU (`INFO cpu`) per write and per lookup.
//
//   npx tsx bench/scaling/redis-bytes.ts                      # a throwaway redis-server, 100 000
//   npx tsx bench/scaling/redis-bytes.ts --count 50000 --url redis://127.0.0.1:6379/15
//
// --url must name an EMPTY database (the script refuses one with keys, and removes what it wrote).
// Without --url it starts redis-server (Debian `redis-server`) on a free loopback port, no
// persistence, and stops it. Each binding is shaped like the one a phone registered with RFC 5626
// outbound through a flowgate edge gets (a flow token in its Path, +sip.instance, reg-id, a
// temporary GRUU), with a User-Agent and a 10-digit user, one binding per AoR. Reported figures are
// the marginal cost of a binding in a store that already holds thousands.
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { createClient } from 'redis';
import type { Binding } from '../../src/modules/location/binding.js';
import { RedisLocationStore } from '../../src/modules/location/redis.js';
import { RedisServer } from '../../test/support/redis-server.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '100000' },
    lookups: { type: 'string', default: '20000' },
    url: { type: 'string' },
    concurrency: { type: 'string', default: '64' },
  },
});
const COUNT = Number(values.count);
const LOOKUPS = Number(values.lookups);
const CONCURRENCY = Number(values.concurrency);
if (!(COUNT >= 1000 && LOOKUPS >= 0 && CONCURRENCY >= 1))
  throw new Error('--count >= 1000, --lookups >= 0, --concurrency >= 1');
/** Written first and not counted: the store's own keys and Redis's first table sizes. */
const WARMUP = 1000;
const EXPIRES_S = 3600;

const server = values.url === undefined ? await RedisServer.start() : undefined;
const url = values.url ?? server?.url ?? '';
const admin = createClient({ url });
admin.on('error', () => {});
await admin.connect();

/** Fields of an INFO section as numbers (or text). */
async function info(section: string): Promise<Record<string, string>> {
  const text = await admin.info(section);
  const out: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}
const usedMemory = async (): Promise<number> => Number((await info('memory'))['used_memory']);
async function cpuSeconds(): Promise<number> {
  const c = await info('cpu');
  return Number(c['used_cpu_user']) + Number(c['used_cpu_sys']);
}

if ((await admin.dbSize()) !== 0) {
  await admin.destroy();
  await server?.dispose();
  throw new Error(`${url} is not empty: give an empty database (e.g. redis://host:6379/15)`);
}

const store = new RedisLocationStore({ url, prefix: 'scaling:loc:', sweepIntervalMs: 3_600_000 });
await store.open();

/** A private address and port behind a NAT, from a device number. */
const natAddr = (n: number): string =>
  `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}:${5060 + (n % 2000)}`;

/** The binding device `n` gets when it registers (one flow, reg-id 1). */
function binding(n: number, now: number): Binding {
  const user = String(4_100_000_000 + n);
  const token = randomBytes(24).toString('base64'); // the edge's flow token is 24 bytes in base64
  return {
    ruid: `uloc-${(now / 1000).toString(16).slice(0, 8)}-${randomBytes(3).toString('hex')}-${n}`,
    aor: user,
    contact: `sip:${user}@${natAddr(n)};transport=TCP;ob`,
    received: undefined,
    path: [`<sip:${token}@192.0.2.10;lr;ob>`],
    expires: now + EXPIRES_S * 1000,
    q: undefined,
    callId: `${randomUUID()}`,
    cseq: 1 + (n % 7),
    userAgent: 'Yealink SIP-T46U 108.86.0.45',
    instance: `<urn:uuid:${randomUUID()}>`,
    regId: 1,
    flowId: 'w0/u1/192.0.2.10:5060',
    socket: 'udp:192.0.2.20:5060',
    methods: undefined,
    flags: 0,
    lastModified: now,
    seq: now * 1000 + n,
    tempGruus: [randomBytes(8).toString('hex')],
  };
}

/** A key written after the warm-up, for MEMORY USAGE. */
let sampleKey = '';

/** Writes devices [from, to) with CONCURRENCY apply() calls in flight. */
async function write(from: number, to: number): Promise<void> {
  let next = from;
  const worker = async (): Promise<void> => {
    while (next < to) {
      const n = next++;
      const b = binding(n, Date.now());
      if (n === WARMUP) sampleKey = store.bindingKey(b.ruid);
      await store.apply(b.aor, { upsert: [b], remove: [] });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

const version = (await info('server'))['redis_version'];
const allocator = (await info('memory'))['mem_allocator'];
console.log(
  `redis ${version} (${allocator}), ${url.replace(/\/\/[^@/]*@/, '//***@')}, ${COUNT} bindings + ${WARMUP} warm-up, ${CONCURRENCY} writes in flight`,
);

await write(0, WARMUP);
const base = await usedMemory();
const cpu0 = await cpuSeconds();
const t0 = performance.now();
const checkpoints = [0.25, 0.5, 1].map((f) => Math.round(COUNT * f));
let done = 0;
for (const cp of checkpoints) {
  await write(WARMUP + done, WARMUP + cp);
  done = cp;
  const used = await usedMemory();
  console.log(
    `  ${String(cp).padStart(8)} bindings: used_memory +${((used - base) / 2 ** 20).toFixed(1)} MiB, ${Math.round((used - base) / cp)} B per binding`,
  );
}
const writeMs = performance.now() - t0;
const cpu1 = await cpuSeconds();
const used = await usedMemory();
const mem = await info('memory');
const keys = await admin.dbSize();

// lookups: what a call to a registered phone costs (the registrar's lookup of its AoR)
let lookedUp = 0;
const l0 = performance.now();
const lookupWorker = async (): Promise<void> => {
  while (lookedUp < LOOKUPS) {
    const n = WARMUP + ((lookedUp++ * 7919) % COUNT);
    const got = await store.get(String(4_100_000_000 + n));
    if (got.length !== 1) throw new Error(`device ${n}: ${got.length} bindings`);
  }
};
await Promise.all(Array.from({ length: CONCURRENCY }, lookupWorker));
const lookupMs = performance.now() - l0;
const cpu2 = await cpuSeconds();

const perBinding = (used - base) / COUNT;
console.log(
  `redis_bytes_per_binding=${Math.round(perBinding)} (used_memory ${(base / 2 ** 20).toFixed(1)} -> ${(used / 2 ** 20).toFixed(1)} MiB for ${COUNT}; used_memory_rss ${(Number(mem['used_memory_rss']) / 2 ** 20).toFixed(1)} MiB; ${keys} keys)`,
);
console.log(`redis_bindings_per_gib=${Math.floor(2 ** 30 / perBinding)}`);
console.log(
  `redis_cpu_us_per_register=${(((cpu1 - cpu0) * 1e6) / COUNT).toFixed(1)} (apply script; ${Math.round(COUNT / (writeMs / 1000))}/s from this one client)`,
);
if (LOOKUPS > 0)
  console.log(
    `redis_cpu_us_per_lookup=${(((cpu2 - cpu1) * 1e6) / LOOKUPS).toFixed(1)} (${LOOKUPS} AoR lookups; ${Math.round(LOOKUPS / (lookupMs / 1000))}/s from this one client)`,
  );
console.log(
  `(a binding key alone: MEMORY USAGE ${String(await admin.memoryUsage(sampleKey))} B for ${sampleKey.length} B of key)`,
);

// leave nothing behind in a database we were given
for await (const batch of admin.scanIterator({ MATCH: 'scaling:loc:*', COUNT: 1000 }))
  if (batch.length > 0) await admin.del(batch);
await store.close();
await admin.destroy();
await server?.dispose();
