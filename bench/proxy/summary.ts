// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by file, as % of the
// profile's non-idle time. Used by bench/proxy/run.sh PROFILE=1.
//   node --import tsx bench/proxy/summary.ts FILE.cpuprofile... [--top N]   (default 25)
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const args = process.argv.slice(2);
const limitArg = args.indexOf('--top');
const limit = limitArg >= 0 ? Number(args[limitArg + 1]) : 25;
const files = args.filter((_, i) => i !== limitArg && i !== limitArg + 1);
if (files.length === 0) {
  console.error('usage: summary.ts FILE.cpuprofile... [--top N]');
  process.exit(2);
}

const where = (cf: CallFrame): string => {
  if (cf.url === '') return '(native)';
  let p = cf.url;
  if (p.startsWith('file://')) p = relative(process.cwd(), fileURLToPath(p));
  if (p.includes('node_modules/')) p = `node_modules/${p.split('node_modules/').pop()}`;
  return p;
};

interface Summary {
  readonly file: string;
  readonly busy: number;
  readonly idle: number;
  readonly byFunction: Map<string, number>;
  readonly byFile: Map<string, number>;
}

function summarise(file: string): Summary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  prof.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
  });
  let busy = 0;
  let idle = 0;
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += us;
      continue;
    }
    busy += us;
    const w = where(n.callFrame);
    const key = name.startsWith('(') ? name : `${w}:${name}:${n.callFrame.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    const fk = name.startsWith('(') ? name : w;
    byFile.set(fk, (byFile.get(fk) ?? 0) + us);
  }
  return { file, busy, idle, byFunction, byFile };
}

// node --cpu-prof writes one profile per thread (the main thread, tsx's loader thread): print the
// busy ones, busiest first
const all = files.map(summarise).sort((a, b) => b.busy - a.busy);
const most = all[0]?.busy ?? 0;
for (const p of all) {
  if (p.busy < 0.1 * most) {
    console.log(`profile ${p.file}: busy ${(p.busy / 1e6).toFixed(2)} s (another thread; skipped)`);
    continue;
  }
  const pct = (x: number): string => `${((100 * x) / (p.busy || 1)).toFixed(1).padStart(5)}%`;
  console.log(
    `profile ${p.file}: busy ${(p.busy / 1e6).toFixed(2)} s, idle ${(p.idle / 1e6).toFixed(2)} s (percentages are of busy time)`,
  );
  console.log('  self time by file:');
  for (const [k, v] of [...p.byFile].sort((a, b) => b[1] - a[1]).slice(0, 15))
    console.log(`  ${pct(v)}  ${k}`);
  console.log('  self time by function:');
  for (const [k, v] of [...p.byFunction].sort((a, b) => b[1] - a[1]).slice(0, limit))
    console.log(`  ${pct(v)}  ${k}`);
}
