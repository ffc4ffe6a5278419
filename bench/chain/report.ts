// Reads the output folder of bench/chain/run.sh, prints the per-round and median tables, the
// flowgate/Kamailio ratios, the CPU per operation and the memory per binding, writes
// bench/results/<timestamp>-chain.json (gitignored) and, with BASELINE=1, merges the figures into
// bench/baseline.json (key "chain", one entry per suite, so separate invocations add up).
//   node --import tsx bench/chain/report.ts OUT_DIR
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SETUP_NAMES: Readonly<Record<string, string>> = {
  kk: 'kamailio',
  kf: 'kamailio-edge+flowgate-registrar',
  ff: 'flowgate-2proc',
  f1: 'flowgate-1proc',
};

/** One process tree's figures over one sipp step (procmon.py). */
interface TreeStep {
  readonly cpuAvg: number;
  readonly cpuPeak: number;
  readonly cpuS: number;
  readonly rssMiB: number | null;
}
interface Step {
  readonly rate: number;
  readonly pass: boolean;
  readonly succ: number;
  readonly failed: number;
  readonly achieved: number;
  readonly trees: Readonly<Record<string, TreeStep>>;
  readonly line: string;
}
interface Run {
  readonly suite: string;
  readonly setup: string;
  readonly round: number;
  readonly status: string;
  readonly rate: number | null;
  readonly result: string;
  readonly steps: readonly Step[];
  readonly env: Readonly<Record<string, string>>;
  readonly backgroundCpuPct: number | null;
  readonly stats: Readonly<Record<string, unknown>>;
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

function num(s: string | undefined): number {
  return s === undefined ? Number.NaN : Number(s.replace(/[%/a-zA-Z]+$/, ''));
}

/** Parses a `step rate=...` line of bench.sh or callbench.sh, with the procmon trees after `|`. */
export function parseStep(line: string): Step | undefined {
  const m =
    /^step rate=(\d+)\/s [mn]=\d+: (PASS|FAIL) (?:caller )?succ=(\d+) failed=(\d+).*?achieved=(\d+)\/s/.exec(
      line,
    );
  if (m === null) return undefined;
  const trees: Record<string, TreeStep> = {};
  for (const t of line.matchAll(
    /(\w+): procs=\d+ cpu_avg=([\d.]+)% cpu_peak=([\d.]+)% cpu_s=([\d.]+)(?: rss_sum_max=([\d.]+)MiB)?/g,
  )) {
    trees[t[1] ?? ''] = {
      cpuAvg: num(t[2]),
      cpuPeak: num(t[3]),
      cpuS: num(t[4]),
      rssMiB: t[5] === undefined ? null : num(t[5]),
    };
  }
  return {
    rate: Number(m[1]),
    pass: m[2] === 'PASS',
    succ: Number(m[3]),
    failed: Number(m[4]),
    achieved: Number(m[5]),
    trees,
    line,
  };
}

function readRuns(out: string): Run[] {
  const runs: Run[] = [];
  for (const suite of ['udp', 'tcp', 'call']) {
    const sdir = join(out, suite);
    if (!existsSync(sdir)) continue;
    for (const d of readdirSync(sdir).sort()) {
      const m = /^r(\d+)-(\w+)$/.exec(d);
      if (m === null) continue;
      const env = readEnv(join(sdir, d, 'run.env'));
      const benchFile = join(sdir, d, 'bench.txt');
      const text = existsSync(benchFile) ? readFileSync(benchFile, 'utf8') : '';
      const steps = text
        .split('\n')
        .map(parseStep)
        .filter((s): s is Step => s !== undefined);
      const rm = /=(\d+)\/s failed=(\d+)/.exec(env['result'] ?? '');
      const stats: Record<string, unknown> = {};
      for (const f of readdirSync(join(sdir, d)).filter((x) => /^stats-.*\.json$/.test(x))) {
        try {
          stats[f.slice(6, -5)] = JSON.parse(readFileSync(join(sdir, d, f), 'utf8'));
        } catch {
          /* empty or cut: the process was gone */
        }
      }
      const wall = num(env['wall_s']);
      const busy = num(env['busy_ticks']);
      const setupTicks = num(env['setup_ticks']);
      const driverS = steps.reduce((a, s) => a + (s.trees['driver']?.cpuS ?? 0), 0);
      const bg = wall > 0 ? (100 * (busy / 100 - setupTicks / 100 - driverS)) / wall : Number.NaN;
      runs.push({
        suite,
        setup: m[2] ?? '',
        round: Number(m[1]),
        status: env['status'] ?? 'missing',
        rate: rm === null ? null : Number(rm[1]),
        result: env['result'] ?? '',
        steps,
        env,
        backgroundCpuPct: Number.isFinite(bg) ? Math.round(bg) : null,
        stats,
      });
    }
  }
  return runs;
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

const round1 = (x: number | null): number | null => (x === null ? null : Math.round(10 * x) / 10);

const ratio = (a: number | null, b: number | null): number | null =>
  a === null || b === null || b === 0 ? null : Math.round((100 * a) / b) / 100;

const out = process.argv[2];
if (out === undefined) {
  console.error('usage: report.ts OUT_DIR');
  process.exit(2);
}
const machine = readEnv(join(out, 'machine.env'));
const runs = readRuns(out);
const result: Record<string, unknown> = { machine, out };
const opName: Readonly<Record<string, string>> = {
  udp: 'register_rate_udp',
  tcp: 'register_rate_tcp',
  call: 'call_rate',
};

for (const suite of ['udp', 'tcp', 'call']) {
  const rs = runs.filter((r) => r.suite === suite);
  if (rs.length === 0) continue;
  const setups = [...new Set(rs.map((r) => r.setup))].sort(
    (a, b) => Object.keys(SETUP_NAMES).indexOf(a) - Object.keys(SETUP_NAMES).indexOf(b),
  );
  const rounds = [...new Set(rs.map((r) => r.round))].sort((a, b) => a - b);
  console.log(
    `\n### ${opName[suite]} (${suite === 'call' ? 'callbench.sh tcp' : `bench.sh ${suite}`}), per round (/s)`,
  );
  console.log(
    table(
      ['set-up', ...rounds.map((r) => `round ${r}`), 'median', 'ratio to kamailio'],
      setups.map((s) => {
        const per = rounds.map((r) => rs.find((x) => x.setup === s && x.round === r));
        const vals = per.flatMap((x) =>
          x?.rate === null || x?.rate === undefined ? [] : [x.rate],
        );
        const med = median(vals);
        const kmed = median(
          rs.filter((x) => x.setup === 'kk' && x.rate !== null).map((x) => x.rate ?? 0),
        );
        return [
          SETUP_NAMES[s] ?? s,
          ...per.map((x) => (x === undefined ? null : x.rate === null ? x.status : x.rate)),
          med,
          ratio(med, kmed),
        ];
      }),
    ),
  );
  const summary: Record<string, unknown> = {};
  const kmed = median(
    rs.filter((x) => x.setup === 'kk' && x.rate !== null).map((x) => x.rate ?? 0),
  );
  const parts: string[] = [];
  for (const s of setups) {
    const med = median(rs.filter((x) => x.setup === s && x.rate !== null).map((x) => x.rate ?? 0));
    summary[SETUP_NAMES[s] ?? s] = {
      median: med,
      rounds: rs.filter((x) => x.setup === s).map((x) => x.rate),
      ratio_to_kamailio: s === 'kk' ? 1 : ratio(med, kmed),
    };
    parts.push(`${SETUP_NAMES[s] ?? s}=${med ?? '—'}`);
  }
  const line = `${opName[suite]} kamailio=${kmed ?? '—'} ${setups
    .filter((s) => s !== 'kk')
    .map((s) => {
      const med = median(
        rs.filter((x) => x.setup === s && x.rate !== null).map((x) => x.rate ?? 0),
      );
      return `${SETUP_NAMES[s]}=${med ?? '—'} ratio=${ratio(med, kmed) ?? '—'}`;
    })
    .join(' ')}`;
  console.log(`\n${line}`);

  // CPU per operation at the highest rate that every set-up passed in every round (cpu_s / successes)
  const passed = (r: Run, rate: number): Step | undefined =>
    r.steps.find((st) => st.rate === rate && st.pass);
  const allRates = [...new Set(rs.flatMap((r) => r.steps.map((s) => s.rate)))].sort(
    (a, b) => a - b,
  );
  // highest rate that at least one run of every set-up passed (a run that failed a lower step for a
  // sporadic error does not hide the others); per set-up, the median over its runs that passed it
  const setupsDone = [...new Set(rs.filter((r) => r.status === 'done').map((r) => r.setup))];
  const common = allRates
    .filter((rate) =>
      setupsDone.every((s) => rs.some((r) => r.setup === s && passed(r, rate) !== undefined)),
    )
    .pop();
  const cpuRows: (string | number | null)[][] = [];
  const cpu: Record<string, unknown> = {};
  for (const s of setups) {
    const mine = rs.filter((r) => r.setup === s && r.status === 'done');
    const trees = [...new Set(mine.flatMap((r) => r.steps.flatMap((st) => Object.keys(st.trees))))];
    const perTree: Record<string, unknown> = {};
    for (const t of trees) {
      const atCommon =
        common === undefined
          ? []
          : mine.flatMap((r) => {
              const st = passed(r, common);
              const tr = st?.trees[t];
              return st === undefined || tr === undefined
                ? []
                : [{ us: (tr.cpuS * 1e6) / Math.max(1, st.succ), avg: tr.cpuAvg }];
            });
      // at each run's best passing step and its first failing one: is the process at 100 % of a core?
      const best = mine.flatMap((r) => {
        const st = r.steps.filter((x) => x.pass && x.rate === r.rate).pop();
        const tr = st?.trees[t];
        return tr === undefined ? [] : [tr.cpuAvg];
      });
      const fail = mine.flatMap((r) => {
        const st = r.steps.find((x) => !x.pass);
        const tr = st?.trees[t];
        return tr === undefined ? [] : [tr.cpuPeak];
      });
      const usMed = median(atCommon.map((x) => x.us));
      perTree[t] = {
        cpu_us_per_op_at_common_rate: usMed === null ? null : Math.round(usMed),
        cpu_avg_pct_at_common_rate: round1(median(atCommon.map((x) => x.avg))),
        cpu_avg_pct_at_best_step: round1(median(best)),
        cpu_peak_pct_at_first_failing_step: round1(median(fail)),
      };
      cpuRows.push([
        SETUP_NAMES[s] ?? s,
        t,
        usMed === null ? null : Math.round(usMed),
        round1(median(atCommon.map((x) => x.avg))),
        round1(median(best)),
        round1(median(fail)),
      ]);
    }
    cpu[SETUP_NAMES[s] ?? s] = perTree;
  }
  console.log(
    `\nCPU per process tree (procmon.py, % of ONE core; 2 cores = 200 %). common rate = ${common ?? 'none'}/s (passed by a run of every set-up)`,
  );
  console.log(
    table(
      [
        'set-up',
        'process',
        `CPU µs per op @${common ?? '—'}/s`,
        `cpu_avg % @${common ?? '—'}/s`,
        'cpu_avg % @best step',
        'cpu_peak % @1st failing step',
      ],
      cpuRows,
    ),
  );
  const noise = rs.map((r) => `${SETUP_NAMES[r.setup]} r${r.round}: ${r.backgroundCpuPct ?? '—'}%`);
  console.log(
    `\nother CPU on the machine during each run (busy in /proc/stat - set-up - sipp driver, % of one core; /proc/stat ticks vs per-process accounting differ by ~15 %, so only large values mean contention): ${noise.join(', ')}`,
  );
  const drops = rs.map((r) => `${SETUP_NAMES[r.setup]} r${r.round}: ${r.env['sock_drops'] ?? ''}`);
  console.log(`UDP receive-buffer drops per listening socket (ss skmem d): ${drops.join('; ')}`);
  const errs = rs
    .filter((r) => /(warn|error)=[1-9]/.test(r.env['log_errors'] ?? ''))
    .map((r) => `${SETUP_NAMES[r.setup]} r${r.round}: ${r.env['log_errors']}`);
  if (errs.length > 0) console.log(`log warnings/errors: ${errs.join('; ')}`);
  result[suite] = {
    summary,
    line,
    common_rate: common ?? null,
    cpu,
    runs: rs.map((r) => ({
      setup: SETUP_NAMES[r.setup] ?? r.setup,
      round: r.round,
      status: r.status,
      rate: r.rate,
      result: r.result,
      background_cpu_pct: r.backgroundCpuPct,
      quiet_wait: r.env['quiet'] ?? null,
      udp_socket_drops: r.env['sock_drops'] ?? null,
      log_errors: r.env['log_errors'] ?? null,
      steps: r.steps.map((s) => s.line),
    })),
  };
}

// ---- memory per binding
const memDir = join(out, 'memory');
if (existsSync(memDir)) {
  const mem: Record<string, unknown> = {};
  const rows: (string | number | null)[][] = [];
  for (const d of readdirSync(memDir).sort()) {
    const env = readEnv(join(memDir, d, 'mem.env'));
    if (d.startsWith('flowgate-')) {
      try {
        const h0 = JSON.parse(env['before_heap'] ?? '') as Record<string, number>;
        const h1 = JSON.parse(env['after_heap'] ?? '') as Record<string, number>;
        const s0 = JSON.parse(env['before_stats'] ?? '') as {
          elements: Record<string, { bindings: number }>;
          memory: { heap_used: number };
        };
        const s1 = JSON.parse(env['after_stats'] ?? '') as {
          elements: Record<string, { bindings: number }>;
          memory: { heap_used: number };
        };
        const b0 = s0.elements['registrar']?.bindings ?? 0;
        const b1 = s1.elements['registrar']?.bindings ?? 0;
        const n = b1 - b0;
        const per = (k: string): number | null =>
          n > 0 ? Math.round(((h1[k] ?? 0) - (h0[k] ?? 0)) / n) : null;
        const e = {
          bindings_before: b0,
          bindings_after: b1,
          bindings_added: n,
          heap_used_bytes_per_binding: per('heapUsed'),
          rss_bytes_per_binding: per('rss'),
          external_bytes_per_binding: per('external'),
          heap_used_bytes: { before: h0['heapUsed'], after: h1['heapUsed'] },
          rss_bytes: { before: h0['rss'], after: h1['rss'] },
          stats_heap_used: { before: s0.memory.heap_used, after: s1.memory.heap_used },
          db_bytes:
            d.endsWith('memory') || env['db_bytes'] === undefined ? null : Number(env['db_bytes']),
          db_bytes_per_binding:
            d.endsWith('memory') || env['db_bytes'] === undefined || n <= 0
              ? null
              : Math.round(Number(env['db_bytes']) / b1),
          sipp: env['sipp'] ?? null,
          udp_socket_drops: env['sock_drops'] ?? null,
          log_errors: env['log_errors'] ?? null,
        };
        mem[d] = e;
        rows.push([
          d,
          n,
          e.heap_used_bytes_per_binding,
          e.rss_bytes_per_binding,
          e.db_bytes_per_binding,
          env['sipp'] ?? null,
        ]);
      } catch (err) {
        mem[d] = { error: String(err) };
        rows.push([d, null, null, null, null, `incomplete: ${String(err)}`]);
      }
    } else if (d === 'kamailio') {
      const shm = (s: string | undefined, k: string): number =>
        Number(new RegExp(`${k}:(\\d+)`).exec(s ?? '')?.[1] ?? Number.NaN);
      const sipp = env['sipp'] ?? '';
      const n = Number(/succ=(\d+)/.exec(sipp)?.[1] ?? 0);
      const used =
        n > 0
          ? Math.round((shm(env['after_shm'], 'used') - shm(env['before_shm'], 'used')) / n)
          : null;
      const real =
        n > 0
          ? Math.round(
              (shm(env['after_shm'], 'real_used') - shm(env['before_shm'], 'real_used')) / n,
            )
          : null;
      mem[d] = {
        bindings_added: n,
        shm_used_bytes_per_binding: used,
        shm_real_used_bytes_per_binding: real,
        sipp,
        before: env['before_shm'],
        after: env['after_shm'],
      };
      rows.push([d, n, used, real, null, sipp]);
    }
  }
  console.log(
    '\n### memory per binding (flowgate: V8 heapUsed after 2 forced GCs, via the inspector; kamailio: shm used)',
  );
  console.log(
    table(
      [
        'registrar',
        'bindings added',
        'heap (kamailio: shm used) B/binding',
        'rss (kamailio: shm real_used) B/binding',
        'db file B/binding',
        'sipp',
      ],
      rows,
    ),
  );
  result['memory'] = mem;
}

const pdir = join(out, 'profile');
if (existsSync(pdir)) {
  const prof: Record<string, string> = {};
  for (const d of readdirSync(pdir).sort()) {
    const f = join(pdir, d, 'summary.txt');
    if (existsSync(f)) prof[d] = readFileSync(f, 'utf8');
    const r = join(pdir, d, 'sipp.result');
    if (existsSync(r)) prof[`${d}.sipp`] = readFileSync(r, 'utf8').trim();
  }
  result['profile'] = prof;
  console.log(`\nprofiles: ${Object.keys(prof).join(', ')} (summaries in ${pdir}/*/summary.txt)`);
}

const root = new URL('../..', import.meta.url).pathname;
const stamp = (machine['date'] ?? new Date().toISOString())
  .replace(/[:]/g, '')
  .replace(/\..*$/, '');
mkdirSync(join(root, 'bench/results'), { recursive: true });
const resFile = join(root, 'bench/results', `${stamp}-chain.json`);
writeFileSync(resFile, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\nresults: ${resFile}`);

if (process.env['BASELINE'] === '1') {
  const bfile = join(root, 'bench/baseline.json');
  const base = (existsSync(bfile) ? JSON.parse(readFileSync(bfile, 'utf8')) : {}) as Record<
    string,
    Record<string, unknown>
  >;
  const chain = base['chain'] ?? {};
  const note = `${machine['nproc']} cores (${machine['cpu']}), ${machine['mem_mib']} MiB, Linux ${machine['kernel']}, node ${machine['node']}, kamailio ${machine['kamailio']}, sipp ${machine['sipp']}, ${machine['date']}, flowgate ${machine['git_head']} (+${machine['git_dirty_files']} uncommitted src files, src sha1 ${machine['src_sha1']}), store ${machine['fg_backend']}, kamailio -m ${machine['kam_shm_mb']}`;
  for (const k of ['udp', 'tcp', 'call', 'memory'] as const) {
    const v = result[k] as Record<string, unknown> | undefined;
    if (v === undefined) continue;
    // callbench with a non-default UA registration rate is kept beside the default one
    // variants (another UA registration rate for callbench, the memory store) sit beside the defaults
    let key: string = k;
    if (k === 'call' && (machine['call_reg_rate'] ?? '2000') !== '2000')
      key = `call_reg_rate_${machine['call_reg_rate']}`;
    if (k !== 'memory' && (machine['fg_backend'] ?? 'sqlite') !== 'sqlite')
      key = `${key}_store_${machine['fg_backend']}`;
    chain[key] =
      k === 'memory'
        ? { machine: note, ...v }
        : {
            machine: note,
            line: v['line'],
            summary: v['summary'],
            common_rate: v['common_rate'],
            cpu: v['cpu'],
          };
  }
  base['chain'] = chain;
  writeFileSync(bfile, `${JSON.stringify(base, null, 2)}\n`);
  // the committed file follows the repository's formatter (biome formats JSON too)
  try {
    execFileSync(join(root, 'node_modules/.bin/biome'), ['format', '--write', bfile], {
      stdio: 'ignore',
    });
  } catch {
    console.log('baseline: biome format failed; run npm run format');
  }
  console.log(`baseline: ${bfile} (chain.${Object.keys(chain).join(', chain.')})`);
}
