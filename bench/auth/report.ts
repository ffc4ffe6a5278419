// Summary of the `auth` and `pike` suites of bench/chain/run.sh (bench/auth/suites.sh): reads
// OUT/<suite>/r<N>/steps.txt and run.env, prints per-round rates, medians, ratios and CPU per
// operation, the final lines, and writes bench/results/<timestamp>-auth.json (gitignored).
//   node --import tsx bench/auth/report.ts OUT_DIR
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const NAMES: Readonly<Record<string, string>> = {
  ka: 'kamailio+auth',
  fa: 'flowgate-2proc+auth',
  fn: 'flowgate-2proc',
  fp: 'flowgate-2proc+pike',
};

interface Tree {
  readonly cpuAvg: number;
  readonly cpuS: number;
}
interface Step {
  readonly setup: string;
  readonly rate: number;
  readonly pass: boolean;
  readonly succ: number;
  readonly failed: number;
  readonly achieved: number;
  readonly p50: number | null;
  readonly p99: number | null;
  readonly trees: Readonly<Record<string, Tree>>;
}
interface Round {
  readonly round: number;
  readonly env: Readonly<Record<string, string>>;
  readonly steps: readonly Step[];
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

/** `<setup> step rate=R/s m=M: PASS succ=.. failed=.. ... achieved=A/s ... | tree: procs=.. cpu_avg=..% cpu_peak=..% cpu_s=..` */
function parseStep(line: string): Step | undefined {
  const m =
    /^(\w+) step rate=(\d+)\/s [mn]=\d+: (PASS|FAIL) succ=(\d+) failed=(\d+).*?achieved=(\d+)\/s/.exec(
      line,
    );
  if (m === null) return undefined;
  const trees: Record<string, Tree> = {};
  for (const t of line.matchAll(
    /(\w+): procs=\d+ cpu_avg=([\d.]+)% cpu_peak=[\d.]+% cpu_s=([\d.]+)/g,
  ))
    trees[t[1] ?? ''] = { cpuAvg: Number(t[2]), cpuS: Number(t[3]) };
  // the auth client reports its own CPU; bench.sh's driver (sipp) is a procmon tree
  const client = /client_us_per_call=([\d.]+)/.exec(line);
  if (client !== null && trees['driver'] === undefined)
    trees['driver'] = { cpuAvg: Number.NaN, cpuS: (Number(client[1]) * Number(m[4])) / 1e6 };
  const p50 = /p50=([\d.]+)ms/.exec(line);
  const p99 = /p99=([\d.]+)ms/.exec(line);
  return {
    setup: m[1] ?? '',
    rate: Number(m[2]),
    pass: m[3] === 'PASS',
    succ: Number(m[4]),
    failed: Number(m[5]),
    achieved: Number(m[6]),
    p50: p50 === null ? null : Number(p50[1]),
    p99: p99 === null ? null : Number(p99[1]),
    trees,
  };
}

function readRounds(dir: string): Round[] {
  if (!existsSync(dir)) return [];
  const out: Round[] = [];
  for (const d of readdirSync(dir).sort()) {
    const m = /^r(\d+)$/.exec(d);
    if (m === null) continue;
    const f = join(dir, d, 'steps.txt');
    const steps = existsSync(f)
      ? readFileSync(f, 'utf8')
          .split('\n')
          .map(parseStep)
          .filter((s): s is Step => s !== undefined)
      : [];
    out.push({ round: Number(m[1]), env: readEnv(join(dir, d, 'run.env')), steps });
  }
  return out;
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const h = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[h] ?? 0) : ((s[h - 1] ?? 0) + (s[h] ?? 0)) / 2;
}

function table(
  head: readonly string[],
  rows: readonly (readonly (string | number | null)[])[],
): string {
  const cells = [head, ...rows.map((r) => r.map((c) => (c === null ? '—' : String(c))))];
  const w = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    `| ${r.map((c, i) => c.padEnd(w[i] ?? 0)).join(' | ')} |`;
  return [
    line(cells[0] ?? []),
    `| ${w.map((x) => '-'.repeat(x)).join(' | ')} |`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

const fix = (x: number | null, d = 0): string => (x === null ? '—' : x.toFixed(d));
const ratio = (a: number | null, b: number | null): number | null =>
  a === null || b === null || b === 0 ? null : a / b;

/** The best rate of a set-up in a round (run.env best_<s>), null when the round did not run it. */
function best(r: Round, s: string): number | null {
  const v = r.env[`best_${s}`];
  return v === undefined || v === '' ? null : Number(v);
}

/** CPU µs per successful operation of each tree at `rate`, median over the rounds that passed it. */
function cpuAt(rounds: readonly Round[], s: string, rate: number): Record<string, number | null> {
  const per: Record<string, number[]> = {};
  for (const r of rounds)
    for (const st of r.steps)
      if (st.setup === s && st.rate === rate && st.pass)
        for (const [t, v] of Object.entries(st.trees)) {
          const a = per[t] ?? [];
          a.push((v.cpuS * 1e6) / Math.max(1, st.succ));
          per[t] = a;
        }
  return Object.fromEntries(Object.entries(per).map(([t, a]) => [t, median(a)]));
}

function summarize(suite: 'auth' | 'pike', rounds: readonly Round[]): Record<string, unknown> {
  // the set-ups that ran (AUTH_SETUPS / PIKE_SETUPS may name one alone), in their usual order
  const ran = new Set(rounds.flatMap((r) => (r.env['setups'] ?? '').split(' ')));
  const setups = (suite === 'auth' ? ['ka', 'fa'] : ['fn', 'fp']).filter((s) => ran.has(s));
  const what =
    suite === 'auth'
      ? 'authenticated REGISTER (401 + authorized REGISTER), bench/auth/client.ts'
      : 'unauthenticated REGISTER, bench.sh udp, without and with pike on the edge';
  console.log(`\n### ${suite}: ${what}; best passing step per round (/s)`);
  const meds: Record<string, number | null> = {};
  const rows = setups.map((s) => {
    const per = rounds.map((r) => best(r, s));
    const med = median(per.filter((x): x is number => x !== null));
    meds[s] = med;
    return [NAMES[s] ?? s, ...per, med];
  });
  console.log(table(['set-up', ...rounds.map((r) => `round ${r.round}`), 'median'], rows));

  // the highest rate each set-up passed in at least one round
  const rates = [...new Set(rounds.flatMap((r) => r.steps.map((s) => s.rate)))].sort(
    (x, y) => x - y,
  );
  const passedBy = (s: string, rate: number): boolean =>
    rounds.some((r) => r.steps.some((st) => st.setup === s && st.rate === rate && st.pass));
  const common = rates.filter((rate) => setups.every((s) => passedBy(s, rate))).pop();
  const cpu: Record<string, Record<string, number | null>> = {};
  for (const s of setups) cpu[s] = common === undefined ? {} : cpuAt(rounds, s, common);
  const lat = (s: string, k: 'p50' | 'p99'): number | null =>
    median(
      rounds
        .flatMap((r) =>
          r.steps.filter((st) => st.setup === s && st.rate === common && st.pass && st[k] !== null),
        )
        .map((st) => st[k] ?? 0),
    );
  console.log(
    `\nCPU µs per ${suite === 'auth' ? 'authenticated registration (2 requests)' : 'REGISTER'} at ${common ?? '—'}/s, the highest rate both passed (procmon.py, median over rounds)`,
  );
  console.log(
    table(
      [
        'set-up',
        'edge',
        'registrar',
        'edge + registrar',
        'driver',
        ...(suite === 'auth' ? ['p50 ms', 'p99 ms'] : []),
      ],
      setups.map((s) => {
        const c = cpu[s] ?? {};
        const e = c['edge'] ?? null;
        const g = c['registrar'] ?? null;
        return [
          NAMES[s] ?? s,
          fix(e),
          fix(g),
          e === null || g === null ? null : fix(e + g),
          fix(c['driver'] ?? null),
          ...(suite === 'auth' ? [fix(lat(s, 'p50'), 2), fix(lat(s, 'p99'), 2)] : []),
        ];
      }),
    ),
  );
  const sum = (s: string): number | null => {
    const c = cpu[s] ?? {};
    const e = c['edge'];
    const g = c['registrar'];
    return e === undefined || g === undefined || e === null || g === null ? null : e + g;
  };
  const out: Record<string, unknown> = {
    rounds: rounds.map((r) => ({
      round: r.round,
      quiet: r.env['quiet'],
      ...Object.fromEntries(setups.map((s) => [NAMES[s] ?? s, best(r, s)])),
    })),
    median: Object.fromEntries(setups.map((s) => [NAMES[s] ?? s, meds[s]])),
    common_rate: common ?? null,
    cpu_us_per_op_at_common_rate: Object.fromEntries(setups.map((s) => [NAMES[s] ?? s, cpu[s]])),
  };
  console.log('');
  if (suite === 'auth') {
    const r = ratio(meds['fa'] ?? null, meds['ka'] ?? null);
    const names = { ka: 'kamailio', fa: 'flowgate' } as const;
    for (const s of setups)
      console.log(`${names[s as 'ka' | 'fa']}_auth_register_rate=${fix(meds[s] ?? null)}/s`);
    if (setups.length === 2)
      console.log(`auth_ratio=${fix(r, 2)} (flowgate / kamailio, medians of the rounds)`);
    for (const s of setups) {
      const n = names[s as 'ka' | 'fa'];
      const c = cpu[s] ?? {};
      console.log(
        `${n}_cpu_per_auth_register=${fix(sum(s))}us (edge ${fix(c['edge'] ?? null)} + registrar ${fix(c['registrar'] ?? null)}, at ${common ?? '—'}/s)`,
      );
    }
    out['ratio'] = r;
  } else {
    // the rate steps are coarse (500-2000/s): the edge CPU per REGISTER over every rate both
    // set-ups passed in the same round is the finer measure of what pike costs
    let eN = 0;
    let eP = 0;
    let nN = 0;
    let nP = 0;
    let pairs = 0;
    for (const r of rounds)
      for (const st of r.steps.filter((x) => x.setup === 'fn' && x.pass)) {
        const other = r.steps.find((x) => x.setup === 'fp' && x.pass && x.rate === st.rate);
        const t1 = st.trees['edge'];
        const t2 = other?.trees['edge'];
        if (other === undefined || t1 === undefined || t2 === undefined) continue;
        eN += t1.cpuS;
        nN += st.succ;
        eP += t2.cpuS;
        nP += other.succ;
        pairs++;
      }
    const usN = nN > 0 ? (eN * 1e6) / nN : null;
    const usP = nP > 0 ? (eP * 1e6) / nP : null;
    const rateCost = ratio(
      meds['fn'] === null || meds['fp'] === null ? null : (meds['fn'] ?? 0) - (meds['fp'] ?? 0),
      meds['fn'] ?? null,
    );
    const cpuCost = usN === null || usP === null ? null : (usP - usN) / usN;
    console.log(`register_rate_udp_without_pike=${fix(meds['fn'] ?? null)}/s`);
    console.log(`register_rate_udp_with_pike=${fix(meds['fp'] ?? null)}/s`);
    console.log(
      `pike_rate_cost=${rateCost === null ? '—' : (100 * rateCost).toFixed(1)}% ((without - with) / without, medians; steps are 500-2000/s apart)`,
    );
    console.log(
      `pike_edge_cpu_cost=${cpuCost === null ? '—' : (100 * cpuCost).toFixed(1)}% (edge CPU per REGISTER with pike ${fix(usP, 1)}us vs without ${fix(usN, 1)}us, over ${pairs} rate steps both passed in the same round)`,
    );
    out['edge_cpu_us_per_register'] = { without_pike: usN, with_pike: usP, steps: pairs };
    out['rate_cost'] = rateCost;
    out['edge_cpu_cost'] = cpuCost;
  }
  return out;
}

const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: report.ts OUT_DIR');
  process.exit(2);
}
const result: Record<string, unknown> = { machine: readEnv(join(dir, 'machine.env')), out: dir };
for (const suite of ['auth', 'pike'] as const) {
  const rounds = readRounds(join(dir, suite));
  if (rounds.length > 0) result[suite] = summarize(suite, rounds);
}
const root = join(import.meta.dirname, '../..');
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
mkdirSync(join(root, 'bench/results'), { recursive: true });
const resFile = join(root, 'bench/results', `${stamp}-auth.json`);
writeFileSync(resFile, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nresults: ${resFile}`);
