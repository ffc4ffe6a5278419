// Summary of the `cfg` suite of bench/chain/run.sh (bench/cfg/suite.sh, issue 11): the REGISTER
// and call rates of the .cfg form (fc) and the TypeScript form (ft) per round, their medians, the
// ratio fc/ft and whether it is within 10 %; writes bench/results/<timestamp>-cfg.json (gitignored).
//   node --import tsx bench/cfg/report.ts OUT_DIR
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const NAMES: Readonly<Record<string, string>> = { ft: 'TypeScript form', fc: '.cfg form' };
const BENCHES = ['register', 'call'] as const;

interface Run {
  readonly bench: string;
  readonly setup: string;
  readonly round: number;
  readonly status: string;
  readonly rate: number | null;
  readonly failed: number | null;
  /** CPU of the two flowgate processes over the run, seconds. */
  readonly cpuS: number | null;
}

function readEnv(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

function runs(out: string): Run[] {
  const all: Run[] = [];
  for (const bench of BENCHES) {
    const dir = join(out, 'cfg', bench);
    if (!existsSync(dir)) continue;
    for (const d of readdirSync(dir)) {
      const m = /^r(\d+)-(\w+)$/.exec(d);
      if (m === null) continue;
      const env = readEnv(join(dir, d, 'run.env'));
      const r = /=(\d+)\/s failed=(\d+)/.exec(env['result'] ?? '');
      const hz = Number(env['hz'] ?? 100) || 100;
      const ticks = env['setup_ticks'] === undefined ? null : Number(env['setup_ticks']);
      all.push({
        bench,
        setup: m[2] ?? '',
        round: Number(m[1]),
        status: env['status'] ?? 'missing',
        rate: r === null ? null : Number(r[1]),
        failed: r === null ? null : Number(r[2]),
        cpuS: ticks === null ? null : ticks / hz,
      });
    }
  }
  const order = ['ft', 'fc'];
  return all.sort(
    (a, b) =>
      a.bench.localeCompare(b.bench) ||
      a.round - b.round ||
      order.indexOf(a.setup) - order.indexOf(b.setup),
  );
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? null) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

const out = process.argv[2];
if (out === undefined) {
  process.stderr.write('usage: report.ts OUT_DIR\n');
  process.exit(2);
}
const rs = runs(out);
const lines: string[] = [];
const summary: Record<string, unknown> = {};
lines.push(
  '== cfg: the .cfg form (fc) against the TypeScript form (ft), flowgate edge + registrar',
);
for (const bench of BENCHES) {
  const mine = rs.filter((r) => r.bench === bench);
  if (mine.length === 0) continue;
  lines.push(
    `-- ${bench === 'register' ? 'REGISTER/s through the edge (bench.sh udp)' : 'calls/s through the registrar (callbench.sh tcp)'}`,
  );
  for (const r of mine)
    lines.push(
      `   r${r.round} ${NAMES[r.setup] ?? r.setup}: ${r.status === 'done' ? `${r.rate ?? '—'}/s failed=${r.failed ?? '—'} cpu=${r.cpuS?.toFixed(1) ?? '—'}s` : r.status}`,
    );
  const med = (s: string) =>
    median(mine.filter((r) => r.setup === s && r.rate !== null).map((r) => r.rate ?? 0));
  const ts = med('ft');
  const cfg = med('fc');
  const ratio = ts !== null && cfg !== null && ts > 0 ? cfg / ts : null;
  const within = ratio === null ? null : Math.abs(1 - ratio) <= 0.1;
  lines.push(
    `   median: TypeScript ${ts ?? '—'}/s, .cfg ${cfg ?? '—'}/s, .cfg/TypeScript ${ratio === null ? '—' : ratio.toFixed(3)} (${within === null ? 'no figure' : within ? 'within 10 %' : 'NOT within 10 %'})`,
  );
  summary[bench] = { ts_median: ts, cfg_median: cfg, ratio, within_10_pct: within, runs: mine };
}
process.stdout.write(`${lines.join('\n')}\n`);
const results = join(import.meta.dirname, '..', 'results');
mkdirSync(results, { recursive: true });
const file = join(results, `${new Date().toISOString().replace(/[:.]/g, '-')}-cfg.json`);
writeFileSync(file, `${JSON.stringify({ out, ...summary }, null, 2)}\n`);
process.stdout.write(`written ${file}\n`);
