// What outlives a REGISTER (issue 12 §1): starts edge + registrar in this process (the
// configuration of bench/chain/one.yaml.in, SQLite store in a temporary data_dir), drives outbound
// REGISTER refreshes over one UDP socket from a worker thread (its own heap), and reports:
//   - real promotion during the measured round: old-space growth across each scavenge (node:v8
//     GCProfiler), per REGISTER. Unlike the sampling heap profiler's "collected by major GC",
//     this does not count young garbage that a mark-compact happened to sweep;
//   - with --allow-natives-syntax, how many transactions were already in old space when they
//     finished, and their mean lifetime;
//   - after --wait ms, a forced full GC and a heap snapshot: the per-request objects still alive
//     and, for a few of each, the shortest chain of strong references from a GC root; the heap
//     by type; what the transaction layers keep for timers J and K.
// A snapshot only sees what is reachable. Objects kept only by dead old objects (V8's scavenger
// treats every old-to-young pointer as a root) are promoted without appearing here: the
// promotion figure is the one to watch. --mid MS takes the snapshot during the round instead.
//   node --allow-natives-syntax --expose-gc --import tsx bench/micro/retention.ts [--users 2000]
//     [--n 4000] [--window 32] [--wait 1000] [--paths 2] [--target edge|registrar]
//     [--classes ServerTransaction,ClientTransaction,...]
import { mkdtempSync, rmSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GCProfiler } from 'node:v8';
import { startInstance } from '../../src/cli/instance.js';
import { parseConfig } from '../../src/config/load.js';
import { TransactionLayer } from '../../src/transaction/layer.js';
import { noopLogger } from '../../src/util/logger.js';
import { oneProcessYaml, startRegisterClient } from './register-load.js';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '2000' },
    n: { type: 'string', default: '4000' },
    wait: { type: 'string', default: '1000' },
    paths: { type: 'string', default: '2' },
    window: { type: 'string', default: '32' },
    // take the snapshot this many ms into the measured round instead of after it (in flight:
    // at most --window REGISTERs; anything beyond that is kept by something)
    mid: { type: 'string' },
    // send the REGISTERs to this element (registrar: without the edge in the way)
    target: { type: 'string', default: 'edge' },
    classes: {
      type: 'string',
      default:
        'ServerTransaction,ClientTransaction,ProxyTransaction,ProxyBranch,RequestContext,ReplyContext,ScriptContext,SipRequest,SipResponse,DestinationSet',
    },
  },
});
const USERS = Number(args.users);
const N = Number(args.n);
const PATHS = Number(args.paths);
const CLASSES = args.classes.split(',');

// --- ages: with --allow-natives-syntax, how old each transaction is when it finishes, and
// whether V8 already moved it to the old generation (it then survived two scavenges)
const young = (() => {
  try {
    return new Function('o', 'return %InYoungGeneration(o)') as (o: object) => boolean;
  } catch {
    return undefined;
  }
})();
const born = new WeakMap<object, number>();
/** Finished transactions, of which already in old space, sum of their lifetimes (ms). */
const ages = { server: { n: 0, old: 0, ms: 0 }, client: { n: 0, old: 0, ms: 0 } };
function finished(kind: 'server' | 'client', tx: object): void {
  const t = born.get(tx);
  if (t === undefined || young === undefined) return;
  born.delete(tx);
  const a = ages[kind];
  a.n++;
  if (!young(tx)) a.old++;
  a.ms += performance.now() - t;
}
if (young !== undefined) {
  const P = TransactionLayer.prototype;
  const createServer = P.createServer;
  P.createServer = function (this: TransactionLayer, ...a: Parameters<typeof createServer>) {
    const tx = createServer.apply(this, a);
    if (tx !== undefined) born.set(tx, performance.now());
    return tx;
  };
  const sendRequest = P.sendRequest;
  P.sendRequest = function (this: TransactionLayer, ...a: Parameters<typeof sendRequest>) {
    const r = sendRequest.apply(this, a);
    born.set(r.tx, performance.now());
    return r;
  };
  for (const [m, kind] of [
    ['retireServer', 'server'],
    ['removeServer', 'server'],
    ['retireClient', 'client'],
    ['removeClient', 'client'],
  ] as const) {
    const f = P[m] as (this: TransactionLayer, tx: object, ...rest: unknown[]) => void;
    (P as unknown as Record<string, unknown>)[m] = function (
      this: TransactionLayer,
      tx: object,
      ...rest: unknown[]
    ) {
      finished(kind, tx);
      return f.call(this, tx, ...rest);
    };
  }
}

const dir = mkdtempSync(join(tmpdir(), 'fg-retain-'));
const yaml = oneProcessYaml(dir);
const inst = await startInstance(parseConfig(yaml, join(dir, 'flowgate.yaml')), {
  logger: noopLogger,
  version: 'retention',
});
const client = await startRegisterClient({
  port:
    inst.elements
      .find((e) => e.config.name === args.target)
      ?.listeners.find((l) => l.proto === 'udp')?.port ?? 0,
  users: USERS,
  window: Number(args.window),
  // through the edge every 200 carries Require: outbound and a Flow-Timer; straight to the
  // registrar there is no Flow-Timer
  outbound: args.target === 'edge',
});
try {
  const drive = client.drive;
  // a first round creates every binding (inserts); the measured round refreshes them
  await drive(USERS);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (args.mid !== undefined) {
    const running = drive(N);
    await new Promise((resolve) => setTimeout(resolve, Number(args.mid)));
    gc?.();
    gc?.();
    const snap = await snapshot();
    const r = await running;
    report(snap, r);
  } else {
    // real promotion: what each scavenge moved to the old generation (old-space growth across
    // scavenges; unlike the sampling heap profiler's "collected by major GC", this does not count
    // young garbage that a mark-compact happened to sweep)
    const prof = new GCProfiler();
    prof.start();
    const r = await drive(N);
    const stats = prof.stop()?.statistics ?? [];
    for (const e of inst.elements as unknown as {
      config: { name: string };
      server: { layer: { clock: { pending?: number } } };
    }[])
      console.log(`${e.config.name}: ${e.server.layer.clock.pending} timers pending`);
    const old = (h: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] }) =>
      h.heapSpaceStatistics
        .filter((x) => x.spaceName === 'old_space' || x.spaceName === 'lo_space')
        .reduce((a, x) => a + x.spaceUsedSize, 0);
    const newUsed = (h: { heapSpaceStatistics: { spaceName: string; spaceUsedSize: number }[] }) =>
      h.heapSpaceStatistics.find((x) => x.spaceName === 'new_space')?.spaceUsedSize ?? 0;
    let promoted = 0;
    let scavenges = 0;
    let survived = 0;
    let marks = 0;
    for (const g of stats) {
      if (g.gcType === 'Scavenge') {
        scavenges++;
        promoted += old(g.afterGC) - old(g.beforeGC);
        survived += newUsed(g.afterGC);
      } else marks++;
    }
    console.log(
      `measured round: ${scavenges} scavenges, ${marks} other GCs; promoted by scavenges ${(promoted / r.done).toFixed(0)} B/REGISTER; new-space survivors ${(survived / Math.max(1, scavenges) / 1024).toFixed(0)} KB per scavenge`,
    );
    await new Promise((resolve) => setTimeout(resolve, Number(args.wait)));
    gc?.();
    gc?.();
    report(await snapshot(), r);
  }
} finally {
  await client.terminate();
  await inst.stop(0);
  rmSync(dir, { recursive: true, force: true });
}

async function snapshot(): Promise<Snapshot> {
  const session = new Session();
  session.connect();
  const chunks: string[] = [];
  session.on('HeapProfiler.addHeapSnapshotChunk', (m) => chunks.push(m.params.chunk));
  await new Promise<void>((resolve, reject) =>
    session.post('HeapProfiler.takeHeapSnapshot', { reportProgress: false }, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
  session.disconnect();
  return JSON.parse(chunks.join('')) as Snapshot;
}

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      edge_fields: string[];
      node_types: [string[]];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

function report(s: Snapshot, run: { done: number; resent: number }): void {
  const nf = s.snapshot.meta.node_fields.length;
  const ef = s.snapshot.meta.edge_fields.length;
  const nTypes = s.snapshot.meta.node_types[0];
  const eTypes = s.snapshot.meta.edge_types[0];
  const F = (n: string) => s.snapshot.meta.node_fields.indexOf(n);
  const E = (n: string) => s.snapshot.meta.edge_fields.indexOf(n);
  const [fType, fName, fEdges, fSize] = [F('type'), F('name'), F('edge_count'), F('self_size')];
  const [eType, eName, eTo] = [E('type'), E('name_or_index'), E('to_node')];
  const count = s.nodes.length / nf;
  const firstEdge = new Uint32Array(count + 1);
  const nd = (i: number): number => s.nodes[i] ?? 0;
  const ed = (i: number): number => s.edges[i] ?? 0;
  const fe = (i: number): number => firstEdge[i] ?? 0;
  const str = (i: number): string => s.strings[i] ?? '';
  // reverse edges (strong only), for the retainer walk
  for (let i = 0; i < count; i++) firstEdge[i + 1] = fe(i) + nd(i * nf + fEdges);
  const retainers: number[][] = Array.from({ length: count }, () => []);
  for (let i = 0; i < count; i++) {
    for (let e = fe(i); e < fe(i + 1); e++) {
      const t = eTypes[ed(e * ef + eType)];
      if (t === 'weak' || t === 'shortcut') continue;
      retainers[ed(e * ef + eTo) / nf]?.push(i, e);
    }
  }
  const name = (i: number) => str(nd(i * nf + fName));
  const type = (i: number): string => nTypes[nd(i * nf + fType)] ?? '';
  const edgeLabel = (e: number) => {
    const t = eTypes[ed(e * ef + eType)];
    const n = ed(e * ef + eName);
    return t === 'element' || t === 'hidden' ? `[${n}]` : String(str(n));
  };
  const isRoot = (i: number) => i === 0 || type(i) === 'synthetic';
  /** Shortest strong path from a root to `target` (BFS over retainers). */
  function path(target: number): string {
    const prev = new Map<number, [number, number]>();
    const queue = [target];
    prev.set(target, [-1, -1]);
    for (let q = 0; q < queue.length && q < 2_000_000; q++) {
      const n = queue[q] ?? 0;
      if (isRoot(n)) {
        const out: string[] = [];
        let cur = n;
        while (cur !== target) {
          const [next, e] = prev.get(cur) as [number, number];
          out.push(
            `${type(cur) === 'object' ? name(cur) : `(${type(cur)}) ${name(cur).slice(0, 40)}`} .${edgeLabel(e)}`,
          );
          cur = next;
        }
        out.push(name(target));
        return out.join('\n      -> ');
      }
      const r = retainers[n] ?? [];
      for (let k = 0; k < r.length; k += 2) {
        const from = r[k] ?? 0;
        if (prev.has(from)) continue;
        prev.set(from, [n, r[k + 1] ?? 0]);
        queue.push(from);
      }
    }
    return '(no strong path from a root)';
  }
  let total = 0;
  for (let i = 0; i < count; i++) total += nd(i * nf + fSize);
  for (const [k, { n, old, ms: sum }] of Object.entries(ages))
    if (n > 0)
      console.log(
        `${k} transactions finished: ${n}, already in old space then: ${old} (${((100 * old) / n).toFixed(1)} %), mean life ${(sum / n).toFixed(2)} ms`,
      );
  console.log(
    `REGISTERs: ${run.done} (resent ${run.resent}); heap after GC ${(total / 1048576).toFixed(1)} MB`,
  );
  // what the heap holds, by node type and by constructor (objects)
  const byType = new Map<string, [number, number]>();
  for (let i = 0; i < count; i++) {
    const k = type(i) === 'object' ? `object ${name(i)}` : type(i);
    const v = byType.get(k) ?? [0, 0];
    v[0]++;
    v[1] += nd(i * nf + fSize);
    byType.set(k, v);
  }
  for (const [k, [n, b]] of [...byType].sort((a, b) => b[1][1] - a[1][1]).slice(0, 25))
    console.log(`  ${(b / 1024).toFixed(0).padStart(8)} KB ${String(n).padStart(8)}  ${k}`);
  // what the transaction layers keep for finished transactions (timers J and K): everything
  // reachable from their retired maps that nothing else holds, by node type
  for (let i = 0; i < count; i++) {
    if (name(i) !== 'TransactionLayer') continue;
    for (let e = fe(i); e < fe(i + 1); e++) {
      const label = edgeLabel(e);
      if (!label.startsWith('#retired')) continue;
      const start = ed(e * ef + eTo) / nf;
      const seen = new Set<number>([start]);
      const q = [start];
      const kept = new Map<string, [number, number]>();
      for (let k = 0; k < q.length; k++) {
        const n = q[k] ?? 0;
        const key = type(n) === 'object' ? name(n) : type(n);
        const v = kept.get(key) ?? [0, 0];
        v[0]++;
        v[1] += nd(n * nf + fSize);
        kept.set(key, v);
        for (let c = fe(n); c < fe(n + 1); c++) {
          const t = eTypes[ed(c * ef + eType)];
          if (t === 'weak' || t === 'shortcut') continue;
          const to = ed(c * ef + eTo) / nf;
          // shared objects (held from elsewhere too) are not this map's cost
          if (seen.has(to) || (retainers[to]?.length ?? 0) > 2) continue;
          seen.add(to);
          q.push(to);
        }
      }
      let tot = 0;
      for (const [, [, b]] of kept) tot += b;
      console.log(`  ${label} of a TransactionLayer: ${(tot / 1024).toFixed(0)} KB`);
      for (const [k, [n, b]] of [...kept].sort((a, b) => b[1][1] - a[1][1]).slice(0, 8))
        console.log(`      ${(b / 1024).toFixed(0).padStart(8)} KB ${String(n).padStart(8)}  ${k}`);
    }
  }
  for (const t of ['sliced string', 'concatenated string']) {
    const hits: number[] = [];
    for (let i = 0; i < count; i++) if (type(i) === t) hits.push(i);
    for (const h of hits.slice(0, PATHS))
      console.log(`  ${t}: ${JSON.stringify(name(h).slice(0, 60))}\n    ${path(h)}`);
  }
  for (const cls of CLASSES) {
    const hits: number[] = [];
    for (let i = 0; i < count; i++) if (type(i) === 'object' && name(i) === cls) hits.push(i);
    console.log(`${cls}: ${hits.length} alive`);
    for (const h of hits.slice(0, PATHS)) console.log(`    ${path(h)}`);
  }
}
