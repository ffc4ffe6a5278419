// Allocation per REGISTER (issue 12 §1): starts edge + registrar in this process (the
// configuration of bench/chain/one.yaml.in, SQLite store in a temporary data_dir), drives outbound
// REGISTER refreshes for U users over one UDP socket from a worker thread (its own heap, so the
// client's allocations are not counted), and reports, from V8's sampling heap profiler:
//   - bytes allocated per REGISTER (objects collected by minor and major GC included),
//   - bytes promoted per REGISTER (only objects collected by major GC, plus survivors),
//   - the top allocating sites (self and inclusive),
//   - the live heap after two forced GCs.
// Same shape as bench/soak/reg_refresh.xml: a new Call-ID per refresh, the same Contact,
// +sip.instance and reg-id per user, Expires 600. Counts bytes, never time: a busy machine does not
// change the result beyond the profiler's sampling noise (a few %).
//   npx tsx bench/micro/alloc-register.ts [--users 10000] [--n 20000] [--top 25] [--interval 8192]
//     [--dist DIR] [--json]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    n: { type: 'string', default: '20000' },
    top: { type: 'string', default: '25' },
    interval: { type: 'string', default: '8192' },
    window: { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
    // a compiled tree (npx tsc -p tsconfig.build.json --outDir DIR): the code as it runs in
    // production, with real line numbers in the sites (tsx reports line 1 for everything)
    dist: { type: 'string' },
  },
});
const USERS = Number(args.users);
const N = Number(args.n);
const TOP = Number(args.top);
const INTERVAL = Number(args.interval);
const WINDOW = Number(args.window);

// --- the client (a worker: plain JS, its allocations live in another isolate) -------------------
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { createSocket } = require('node:dgram');
const { randomUUID } = require('node:crypto');
const { port, users, window } = workerData;
const sock = createSocket('udp4');
const uuids = [];
for (let i = 0; i < users; i++) uuids.push(randomUUID());
let seq = 0;
const pending = new Map(); // Call-ID -> { bytes, timer }
let todo = 0, done = 0, nextUser = 0, failed = 0;
function request(u) {
  const user = 'ob' + String(u + 1).padStart(5, '0');
  const { address, port: lport } = sock.address();
  const n = ++seq;
  const callId = n + '-' + process.pid + '@' + address;
  const text =
    'REGISTER sip:example.com SIP/2.0\\r\\n' +
    'Via: SIP/2.0/UDP ' + address + ':' + lport + ';branch=z9hG4bK-' + n + '-' + u + ';rport\\r\\n' +
    'Max-Forwards: 70\\r\\n' +
    'From: <sip:' + user + '@example.com>;tag=' + process.pid + 'R' + n + '\\r\\n' +
    'To: <sip:' + user + '@example.com>\\r\\n' +
    'Call-ID: ' + callId + '\\r\\n' +
    'CSeq: 1 REGISTER\\r\\n' +
    'Contact: <sip:' + user + '@' + address + ':' + lport + ';transport=UDP>;reg-id=1;+sip.instance="<urn:uuid:' + uuids[u] + '>"\\r\\n' +
    'Supported: path, outbound\\r\\n' +
    'Expires: 600\\r\\n' +
    'Content-Length: 0\\r\\n\\r\\n';
  return { callId, bytes: Buffer.from(text) };
}
function send(r) {
  sock.send(r.bytes, port, '127.0.0.1');
  // RFC 3261 17.1.2.2 timer E (lengthened): a lost datagram on a busy machine must not stall the run
  r.timer = setTimeout(() => { failed++; send(r); }, 2000);
}
function fill() {
  while (todo > 0 && pending.size < window) {
    todo--;
    const r = request(nextUser);
    nextUser = (nextUser + 1) % users;
    pending.set(r.callId, r);
    send(r);
  }
  if (todo === 0 && pending.size === 0) parentPort.postMessage({ done, retransmitted: failed });
}
sock.on('message', (m) => {
  const s = m.toString('latin1');
  const code = s.slice(8, 11);
  if (code === '100') return;
  const i = s.search(/\\r\\n(Call-ID|i):/i);
  const callId = s.slice(s.indexOf(':', i) + 1, s.indexOf('\\r\\n', i + 2)).trim();
  const r = pending.get(callId);
  if (r === undefined) return;
  if (code !== '200') { console.error('unexpected reply', s); process.exit(1); }
  if (!/\\r\\nRequire: *outbound/i.test(s) || !/\\r\\nFlow-Timer: *[0-9]+/i.test(s)) {
    console.error('200 without Require: outbound / Flow-Timer', s); process.exit(1);
  }
  clearTimeout(r.timer);
  pending.delete(callId);
  done++;
  fill();
});
sock.bind(0, '127.0.0.1', () => {
  parentPort.on('message', (count) => { todo = count; done = 0; failed = 0; fill(); });
  parentPort.postMessage('ready');
});
`;

// --- the server ---
const root = args.dist === undefined ? '../../src' : pathToFileURL(resolve(args.dist)).href;
const { startInstance } = (await import(
  `${root}/cli/instance.js`
)) as typeof import('../../src/cli/instance.js');
const { parseConfig } = (await import(
  `${root}/config/load.js`
)) as typeof import('../../src/config/load.js');
const { noopLogger } = (await import(
  `${root}/util/logger.js`
)) as typeof import('../../src/util/logger.js');

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fg-alloc-'));
const template = readFileSync(join(here, '../chain/one.yaml.in'), 'utf8');
const yaml = `data_dir: ${dir}\n${template}`
  .replace(/^ *registrar: "sip:@REG_IP@:@REG_PORT@"\n/m, '') // default: this file's registrar
  .replace('listen: @MGMT@', 'listen: false')
  .replace('level: info', 'level: silent')
  .replaceAll('@EDGE_IP@', '127.0.0.1')
  .replaceAll('@REG_IP@', '127.0.0.1')
  .replace(/@(EDGE|WS|REG)_PORT@/g, '0')
  .replaceAll('@BACKEND@', 'sqlite');
const inst = await startInstance(parseConfig(yaml, join(dir, 'flowgate.yaml')), {
  logger: noopLogger,
  version: 'alloc-register',
}).catch((e: unknown) => {
  rmSync(dir, { recursive: true, force: true });
  throw e;
});
const edgePort =
  inst.elements.find((e) => e.config.name === 'edge')?.listeners.find((l) => l.proto === 'udp')
    ?.port ?? 0;

const worker = new Worker(CLIENT, {
  eval: true,
  workerData: { port: edgePort, users: USERS, window: WINDOW },
});
await new Promise<void>((resolve) => worker.once('message', () => resolve()));
function drive(count: number): Promise<{ done: number; retransmitted: number }> {
  return new Promise((resolve) => {
    worker.once('message', resolve);
    worker.postMessage(count);
  });
}

const session = new Session();
session.connect();
function post<T>(method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (err, r) => (err ? reject(err) : resolve(r as T))),
  );
}

interface Frame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface Node {
  readonly callFrame: Frame;
  readonly selfSize: number;
  readonly children: readonly Node[];
}
interface Sites {
  readonly total: number;
  readonly self: Map<string, number>;
  /** Self bytes of builtins (Map, push, slice, ...) and node: frames, by their nearest src caller. */
  readonly byCaller: Map<string, number>;
  /** Self bytes by source folder (src/proxy, src/modules/registrar, ...), builtins and node: frames
   * counted with their nearest flowgate caller's folder. */
  readonly byArea: Map<string, number>;
  readonly inclusive: Map<string, number>;
}

const distName = args.dist === undefined ? 'src' : basename(resolve(args.dist));
function key(f: Frame): string {
  const url = f.url.replace(/^file:\/\//, '');
  const src = Math.max(url.lastIndexOf('/src/'), url.lastIndexOf(`/${distName}/`));
  const nm = url.lastIndexOf('node_modules/');
  const short = src >= 0 ? url.slice(src + 1) : nm >= 0 ? url.slice(nm) : url;
  return `${f.functionName || '(anonymous)'} ${short}${short === '' ? '' : `:${f.lineNumber + 1}`}`;
}

/** Self bytes by site, and inclusive bytes (a site counted once per stack, recursion or not). */
function sites(root: Node): Sites {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byCaller = new Map<string, number>();
  const byArea = new Map<string, number>();
  const area = (k: string): string => {
    const path = k.split(' ')[1] ?? '';
    const parts = path.split('/');
    // <root>/<dir>/file or <root>/modules/<module>/file
    return parts[1] === 'modules'
      ? `${parts[1]}/${parts[2]}`
      : (parts[1] ?? '?').replace(/:\d+$/, '');
  };
  const onStack = new Map<string, number>();
  const srcStack: string[] = [];
  let total = 0;
  const walk = (n: Node): number => {
    const k = key(n.callFrame);
    const ours = k.includes(' src/') || k.includes(` ${distName}/`);
    if (ours) srcStack.push(k);
    else if (n.selfSize > 0 && srcStack.length > 0) {
      const c = `${k.split(' ')[0]} <- ${srcStack[srcStack.length - 1]}`;
      byCaller.set(c, (byCaller.get(c) ?? 0) + n.selfSize);
    }
    if (n.selfSize > 0) {
      const top = ours ? k : srcStack[srcStack.length - 1];
      const a = top === undefined ? '(no flowgate frame: node, GC roots)' : area(top);
      byArea.set(a, (byArea.get(a) ?? 0) + n.selfSize);
    }
    onStack.set(k, (onStack.get(k) ?? 0) + 1);
    let sum = n.selfSize;
    for (const c of n.children) sum += walk(c);
    const depth = onStack.get(k) ?? 1;
    if (depth === 1) inclusive.set(k, (inclusive.get(k) ?? 0) + sum);
    onStack.set(k, depth - 1);
    if (ours) srcStack.pop();
    if (n.selfSize > 0) self.set(k, (self.get(k) ?? 0) + n.selfSize);
    total += n.selfSize;
    return sum;
  };
  walk(root);
  return { total, self, byCaller, byArea, inclusive };
}

async function measure(count: number, minor: boolean): Promise<Sites> {
  await post('HeapProfiler.collectGarbage');
  await post('HeapProfiler.startSampling', {
    samplingInterval: INTERVAL,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: minor,
  });
  const r = await drive(count);
  if (r.done !== count) throw new Error(`only ${r.done} of ${count} REGISTERs answered`);
  const { profile } = await post<{ profile: { head: Node } }>('HeapProfiler.stopSampling');
  return sites(profile.head);
}

const kb = (b: number): string => (b / 1024).toFixed(1);
function table(title: string, m: Map<string, number>): string {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, TOP);
  return [title, ...rows.map(([k, b]) => `  ${kb(b / N).padStart(8)} KB/REG  ${k}`)].join('\n');
}

try {
  // initial registrations (new bindings), then refreshes until every user was refreshed once
  await drive(USERS);
  await drive(USERS);
  const all = await measure(N, true);
  const promoted = await measure(N, false);
  await post('HeapProfiler.collectGarbage');
  await post('HeapProfiler.collectGarbage');
  const mem = process.memoryUsage();
  const result = {
    users: USERS,
    registers: N,
    allocatedPerRegister: Math.round(all.total / N),
    promotedPerRegister: Math.round(promoted.total / N),
    liveHeapMB: Number((mem.heapUsed / 2 ** 20).toFixed(1)),
  };
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    process.stdout.write(
      [
        `${N} REGISTER refreshes, ${USERS} users (edge + registrar, UDP, SQLite)`,
        `allocated per REGISTER: ${kb(all.total / N)} KB (minor + major GC garbage included)`,
        `promoted per REGISTER:  ${kb(promoted.total / N)} KB (major GC garbage + survivors)`,
        `live heap after 2 GCs:  ${result.liveHeapMB} MB`,
        '',
        table('top self-allocating sites:', all.self),
        '',
        table('by source folder (builtins with their caller):', all.byArea),
        '',
        table('top builtin/node allocations, by nearest flowgate caller:', all.byCaller),
        '',
        table('top inclusive sites:', all.inclusive),
        '',
        table('top self sites, promoted:', promoted.self),
        '',
      ].join('\n'),
    );
  }
} finally {
  session.disconnect();
  await worker.terminate();
  await inst.stop(0);
  rmSync(dir, { recursive: true, force: true });
}
