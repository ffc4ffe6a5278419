// Web console benchmark (issue 13: "the console's push must not cost more than 2 % with 10 pages
// open"). flowgate (an edge and a registrar in one process, bench/console/server.ts) takes a steady
// REGISTER load from sipp over UDP (register.xml: users of an injection file refreshing their
// RFC 5626 bindings round robin); phases with 0 and with N open console event streams
// (GET /v1/events, what a page opens) take turns, A B B A per round, so drift hits both alike.
// Per phase: flowgate's CPU time (its own process.cpuUsage) per REGISTER the edge took. The event
// streams are read in this process, so their cost is not counted on flowgate's side.
//   tsx bench/console/run.ts [--rate 500] [--phase 10] [--rounds 4] [--pages 10] [--users 2000]
//                            [--view flows|bindings|transactions|rates|all]
// Prints one line per phase and, at the end:
//   console_cpu_per_register_0=NNus console_cpu_per_register_10=NNus console_push_overhead=+N.N%
// (the overhead is the median over the rounds of each round's pages/no-pages ratio)
// and writes the phases to bench/results/<time>-console.json.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort } from '../../test/support/net.js';
import { openSse, type SseStream } from '../../test/support/sse-client.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '500' },
    phase: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '4' },
    pages: { type: 'string', default: '10' },
    users: { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '5' },
    view: { type: 'string', default: 'flows' },
  },
});
const RATE = Number(values.rate);
const PHASE_S = Number(values.phase);
const ROUNDS = Number(values.rounds);
const PAGES = Number(values.pages);
const USERS = Number(values.users);
const WARMUP_S = Number(values.warmup);
/** The tab the pages show (the page opens on flows); `all` = every list in every state. */
const VIEW = values.view;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Sample {
  cpu_us: number;
  registers: number;
}

interface Phase {
  readonly pages: number;
  readonly seconds: number;
  readonly registers: number;
  readonly cpu_ms: number;
  readonly us_per_register: number;
  readonly cpu_share: number;
  readonly sse_kib_per_page: number;
  /** The console's own accounting (GET /v1/console/stats): ms spent building and writing. */
  readonly console_ms: number;
  /** That, as a share of flowgate's CPU time in the phase (%). */
  readonly console_share: number;
}

const dir = mkdtempSync(join(tmpdir(), 'fg-console-bench-'));
const procs: ChildProcess[] = [];
process.once('exit', () => {
  for (const p of procs) p.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// flowgate
const server = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'server.ts'), dir], {
  cwd: ROOT,
  stdio: ['pipe', 'pipe', 'inherit'],
});
procs.push(server);
const lines = createInterface({ input: server.stdout as NodeJS.ReadableStream })[
  Symbol.asyncIterator
]();
const nextLine = async (): Promise<Record<string, unknown>> => {
  const r = await lines.next();
  if (r.done === true) throw new Error('the flowgate process ended');
  return JSON.parse(r.value) as Record<string, unknown>;
};
const ready = await nextLine();
const url = String(ready['url']);
const token = String(ready['token']);
const edge = String(ready['edge']);
const consoleMs = async (): Promise<number> => {
  const r = await fetch(`${url}/v1/console/stats`, {
    headers: { authorization: `Bearer ${token}` },
  });
  return Number(((await r.json()) as { ms: number }).ms);
};
const sample = async (): Promise<Sample> => {
  server.stdin?.write('cpu\n');
  const s = await nextLine();
  return { cpu_us: Number(s['cpu_us']), registers: Number(s['registers']) };
};

// sipp: a steady REGISTER load for the whole run
const users = Array.from({ length: USERS }, (_, i) => `bench${i};${randomUUID()}`);
writeFileSync(join(dir, 'users.csv'), `SEQUENTIAL\n${users.join('\n')}\n`);
const totalS = WARMUP_S + ROUNDS * 4 * (PHASE_S + 1) + 10;
const sipp = spawn(
  'sipp',
  [
    edge,
    '-sf',
    join(HERE, 'register.xml'),
    '-inf',
    join(dir, 'users.csv'),
    '-key',
    'expires',
    '3600',
    '-t',
    'u1',
    '-i',
    '127.0.0.1',
    '-p',
    String(await freePort('udp')),
    '-mp',
    String(await freePort('udp')),
    '-cp',
    String(await freePort('udp', '0.0.0.0')),
    '-r',
    String(RATE),
    '-rp',
    '1000',
    '-m',
    String(RATE * totalS),
    '-nostdin',
    '-timeout',
    `${totalS + 10}s`,
  ],
  { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
);
procs.push(sipp);
let sippErr = '';
sipp.stderr?.on('data', (d: Buffer) => {
  sippErr = (sippErr + d.toString()).slice(-2000);
});
sipp.once('exit', (code) => {
  if (code !== 0 && code !== null) process.stderr.write(`sipp exited ${code}: ${sippErr}\n`);
});

console.log(
  `console bench: ${RATE} REGISTER/s over UDP to the edge (${USERS} users), phases of ${PHASE_S} s with 0 and ${PAGES} event streams (view ${VIEW}), ${ROUNDS} rounds (A B B A), warm-up ${WARMUP_S} s`,
);
await sleep(WARMUP_S * 1000);
const first = await sample();
if (first.registers === 0) throw new Error(`no REGISTER reached the edge: ${sippErr}`);

const phases: Phase[] = [];
const order = Array.from({ length: ROUNDS }, () => [0, PAGES, PAGES, 0]).flat();
for (const pages of order) {
  const streams: SseStream[] = [];
  for (let i = 0; i < pages; i++)
    streams.push(
      await openSse(`${url}/v1/events?view=${VIEW}`, { authorization: `Bearer ${token}` }),
    );
  for (const s of streams) if (s.status !== 200) throw new Error(`event stream: ${s.status}`);
  // let the connections settle (first full state) before measuring
  await sleep(1000);
  const bytes0 = streams.reduce((n, s) => n + s.bytes, 0);
  const c0 = await consoleMs();
  const a = await sample();
  const t0 = performance.now();
  await sleep(PHASE_S * 1000);
  const b = await sample();
  const cMs = (await consoleMs()) - c0;
  const seconds = (performance.now() - t0) / 1000;
  const bytes = streams.reduce((n, s) => n + s.bytes, 0) - bytes0;
  for (const s of streams) s.close();
  const registers = b.registers - a.registers;
  const cpuUs = b.cpu_us - a.cpu_us;
  const p: Phase = {
    pages,
    seconds: Math.round(seconds * 10) / 10,
    registers,
    cpu_ms: Math.round(cpuUs / 1000),
    us_per_register: Math.round((cpuUs / Math.max(1, registers)) * 10) / 10,
    cpu_share: Math.round((cpuUs / 1e6 / seconds) * 1000) / 10,
    sse_kib_per_page: pages === 0 ? 0 : Math.round((bytes / 1024 / pages / seconds) * 10) / 10,
    console_ms: Math.round(cMs * 10) / 10,
    console_share: Math.round((cMs / (cpuUs / 1000)) * 1000) / 10,
  };
  phases.push(p);
  console.log(
    `pages=${p.pages} registers=${p.registers} (${Math.round(p.registers / p.seconds)}/s) cpu=${p.cpu_share}% of a core ${p.us_per_register}us/REGISTER${pages === 0 ? '' : ` push ${p.sse_kib_per_page} KiB/s per page, console's own time ${p.console_ms} ms = ${p.console_share}% of flowgate's CPU`}`,
  );
  await sleep(500);
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 === 1 ? (v[m] ?? 0) : ((v[m - 1] ?? 0) + (v[m] ?? 0)) / 2;
};
const base = mean(phases.filter((p) => p.pages === 0).map((p) => p.us_per_register));
const open = mean(phases.filter((p) => p.pages === PAGES).map((p) => p.us_per_register));
// per round (A B B A): the pages' phases over the others, so a slow stretch of the machine
// weighs on both sides of one ratio
const ratios: number[] = [];
for (let i = 0; i + 3 < phases.length; i += 4) {
  const r = phases.slice(i, i + 4);
  const a = mean(r.filter((p) => p.pages === 0).map((p) => p.us_per_register));
  const b = mean(r.filter((p) => p.pages === PAGES).map((p) => p.us_per_register));
  ratios.push((b / a - 1) * 100);
}
const overhead = median(ratios);
const pct = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(1)}%`;
const self = mean(phases.filter((p) => p.pages === PAGES).map((p) => p.console_share));
const summary = `console_push_self=${self.toFixed(2)}% (the console's own time over flowgate's CPU with ${PAGES} pages) console_cpu_per_register_0=${base.toFixed(1)}us console_cpu_per_register_${PAGES}=${open.toFixed(1)}us console_push_overhead=${pct(overhead)} (median of rounds: ${ratios.map(pct).join(' ')})`;
console.log(summary);
const results = join(ROOT, 'bench', 'results');
mkdirSync(results, { recursive: true });
const file = join(
  results,
  `${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}-console.json`,
);
writeFileSync(
  file,
  `${JSON.stringify({ rate: RATE, users: USERS, pages: PAGES, view: VIEW, phase_s: PHASE_S, phases, base_us: base, open_us: open, round_overheads_pct: ratios, overhead_pct: overhead, console_self_pct: self }, null, 2)}\n`,
);
console.log(`written: ${file}`);
server.stdin?.end();
sipp.kill('SIGTERM');
await sleep(300);
process.exit(0);
