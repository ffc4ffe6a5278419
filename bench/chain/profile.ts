// Summarises V8 .cpuprofile files (node --cpu-prof): busy vs idle time, self time by category
// (parsing, serialization, store, transport/syscalls, GC, ...), by file and by function, as % of
// the busy (non-idle) time. Used by bench/chain/run.sh profile.
//   node --import tsx bench/chain/profile.ts [--top N] FILE.cpuprofile...
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** Shortens a script URL to `src/...`, `node_modules/<pkg>/...` or `node:...`. */
export function shortPath(url: string): string {
  if (url === '') return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm);
  const d = url.lastIndexOf('/dist/');
  if (d >= 0) return `src/${url.slice(d + 6).replace(/\.js$/, '.ts')}`;
  return url.replace(/^file:\/\//, '');
}

/** Which part of the work a frame's self time belongs to. */
export function category(fn: string, path: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(program)') return 'V8/native runtime (program)';
  if (fn.startsWith('(')) return fn;
  if (
    path.startsWith('src/message/parse/') ||
    path === 'src/message/scanner.ts' ||
    path === 'src/message/validate.ts'
  )
    return 'SIP parsing (src/message parse/scanner/validate)';
  if (path.startsWith('src/message/')) return 'SIP message build/edit/serialize (src/message)';
  if (
    path.startsWith('src/modules/location/') ||
    path.includes('better-sqlite3') ||
    path.startsWith('src/manage/timed-store')
  )
    return 'location store';
  if (path.startsWith('src/modules/')) return 'modules (registrar, outbound, rr, path, ...)';
  if (path.startsWith('src/transaction/')) return 'transaction layer';
  if (path.startsWith('src/proxy/') || path.startsWith('src/script/')) return 'proxy core + script';
  if (path.startsWith('src/transport/')) return 'transport (JS side)';
  if (path.includes('node_modules/pino') || path.includes('sonic-boom')) return 'logging';
  if (path.startsWith('src/')) return `other src (${path.split('/')[1] ?? ''})`;
  if (
    path.startsWith('node:dgram') ||
    path.startsWith('node:net') ||
    path.startsWith('node:internal/dgram') ||
    path.startsWith('node:internal/stream_base') ||
    path.startsWith('node:internal/net') ||
    path.startsWith('node:internal/streams')
  )
    return 'node I/O (dgram/net/streams, incl. syscalls)';
  if (path.startsWith('node:')) return 'node core (timers, events, buffer, ...)';
  if (fn === '' && path === '') return 'native (no JS frame)';
  return 'other';
}

interface Row {
  readonly key: string;
  us: number;
}

function add(m: Map<string, Row>, key: string, us: number): void {
  const r = m.get(key);
  if (r === undefined) m.set(key, { key, us });
  else r.us += us;
}

function top(m: Map<string, Row>, busy: number, n: number): string[] {
  return [...m.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map(
      (r) =>
        `  ${((100 * r.us) / busy).toFixed(1).padStart(5)}%  ${(r.us / 1000).toFixed(0).padStart(7)} ms  ${r.key}`,
    );
}

const args = process.argv.slice(2);
const ti = args.indexOf('--top');
const n = ti >= 0 ? Number(args[ti + 1]) : 25;
const files = args.filter((_, i) => ti < 0 || (i !== ti && i !== ti + 1));
if (files.length === 0) {
  console.error('usage: profile.ts [--top N] FILE.cpuprofile...');
  process.exit(2);
}
for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((x) => [x.id, x]));
  const selfUs = new Map<number, number>();
  for (const [i, id] of p.samples.entries()) {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  let busy = 0;
  let idle = 0;
  const byFn = new Map<string, Row>();
  const byFile = new Map<string, Row>();
  const byCat = new Map<string, Row>();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id)?.callFrame;
    if (cf === undefined) continue;
    if (cf.functionName === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const path = shortPath(cf.url);
    const fn = cf.functionName || '(anonymous)';
    // the line is of the compiled dist/*.js (profiles carry no source maps)
    add(byFn, path === '' ? fn : `${path}:${fn}:js${cf.lineNumber + 1}`, us);
    add(byFile, path === '' ? fn : path, us);
    add(byCat, category(cf.functionName, path), us);
  }
  if (busy === 0) continue;
  const wall = (p.endTime - p.startTime) / 1e6;
  console.log(
    `== ${basename(file)}: ${wall.toFixed(1)} s profiled, busy ${(busy / 1e6).toFixed(1)} s (${((100 * busy) / (busy + idle)).toFixed(0)}% of the main thread), idle ${(idle / 1e6).toFixed(1)} s`,
  );
  console.log('self time by category (% of busy):');
  for (const l of top(byCat, busy, 20)) console.log(l);
  console.log(`self time by file (top ${n}):`);
  for (const l of top(byFile, busy, n)) console.log(l);
  console.log(`self time by function (top ${n}; jsN = line N of the compiled dist/*.js):`);
  for (const l of top(byFn, busy, n)) console.log(l);
}
