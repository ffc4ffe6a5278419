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
import { mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { oneProcessYaml, startRegisterClient } from './register-load.js';

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

const dir = mkdtempSync(join(tmpdir(), 'fg-alloc-'));
const yaml = oneProcessYaml(dir);
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

const client = await startRegisterClient({
  port: edgePort,
  users: USERS,
  window: WINDOW,
  outbound: true,
});
const drive = client.drive;

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
  await client.terminate();
  await inst.stop(0);
  rmSync(dir, { recursive: true, force: true });
}
