// Summary of the `soak` suite of bench/chain/run.sh (bench/soak/suite.sh, issue 12): reads
// OUT/soak/<setup>/ (sipp's statistics file and response times, memmon.py's samples, the GC probe's
// summaries, run.env), prints per set-up the calls, failures, retransmissions, the response-time
// distribution, RSS/PSS at one-minute marks with the slope over the last three minutes, flowgate's GC
// pauses, then the final lines and issue 12's checks (flowgate against Kamailio of the same run), and
// writes bench/results/<timestamp>-soak.json (gitignored).
//   node --import tsx bench/soak/report.ts OUT_DIR
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The steady-state window: the last three minutes of the load (less in a shorter run). */
const STEADY_S = 180;
const FLAT_MB_PER_MIN = Number(process.env['SOAK_FLAT_MB_PER_MIN'] ?? '2');
const ORDER = ['kk', 'f1', 'ff'];

function readEnv(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

const r1 = (x: number): number => Math.round(x * 10) / 10;
const pctOf = (n: number, d: number): number => (d > 0 ? (100 * n) / d : 0);
const mib = (kib: number): number => kib / 1024;
const fmt = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits);
const mmss = (s: number): string =>
  `${Math.floor(s / 60)}:${String(Math.round(s % 60)).padStart(2, '0')}`;

// ------------------------------------------------------------------ sipp statistics (-trace_stat)
interface Stat {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}
function readStat(file: string): Stat | null {
  if (!existsSync(file)) return null;
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const first = lines[0];
  if (first === undefined || lines.length < 2) return null;
  return { header: first.split(';'), rows: lines.slice(1).map((l) => l.split(';')) };
}
/** `HH:MM:SS:usec` (response times) or `HH:MM:SS` (elapsed) to milliseconds; plain numbers as is. */
function timeMs(v: string): number {
  const p = v.split(':').map(Number);
  if (p.length === 4)
    return ((p[0] ?? 0) * 3600 + (p[1] ?? 0) * 60 + (p[2] ?? 0)) * 1000 + (p[3] ?? 0) / 1000;
  if (p.length === 3) return ((p[0] ?? 0) * 3600 + (p[1] ?? 0) * 60 + (p[2] ?? 0)) * 1000;
  return Number(v);
}
function col(stat: Stat, row: readonly string[], name: string): number {
  const i = stat.header.indexOf(name);
  const v = i < 0 ? undefined : row[i];
  return v === undefined || v === '' ? Number.NaN : timeMs(v);
}

/** sipp's ResponseTimeRepartition1_* columns (cumulative): [upper bound ms or Infinity, count]. */
function repartition(stat: Stat, row: readonly string[]): [number, number][] {
  const out: [number, number][] = [];
  stat.header.forEach((h, i) => {
    const m = /^ResponseTimeRepartition1_(<|>=)(\d+)$/.exec(h);
    if (m === null) return;
    out.push([m[1] === '<' ? Number(m[2]) : Number.POSITIVE_INFINITY, Number(row[i] ?? 0)]);
  });
  return out;
}
function under(rep: readonly [number, number][], ms: number): number {
  return rep.filter(([b]) => b <= ms).reduce((a, [, n]) => a + n, 0);
}

// ------------------------------------------------------------------ sipp response times (-trace_rtt)
interface Rtt {
  readonly n: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly under10: number;
  readonly over100: number;
  readonly over1000: number;
  /** per minute of the run: [count, p99, count over 100 ms] */
  readonly perMinute: readonly (readonly [number, number, number])[];
}
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
function readRtt(dir: string): Rtt | null {
  if (!existsSync(dir)) return null;
  const f = readdirSync(dir).find((n) => n.endsWith('_rtt.csv'));
  if (f === undefined) return null;
  const lines = readFileSync(join(dir, f), 'utf8').split('\n');
  const vals: number[] = [];
  const mins: number[][] = [];
  for (const l of lines) {
    const [at, rt] = l.split(';');
    const t = Number(at);
    const v = Number(rt);
    if (at === undefined || rt === undefined || Number.isNaN(t) || Number.isNaN(v)) continue; // header
    vals.push(v);
    const m = Math.floor(t / 60000);
    const bucket = mins[m] ?? [];
    bucket.push(v);
    mins[m] = bucket;
  }
  if (vals.length === 0) return null;
  const sorted = Float64Array.from(vals).sort();
  const perMinute = [...mins].map((a): [number, number, number] => {
    const s = Float64Array.from(a ?? []).sort();
    return [s.length, quantile(s, 0.99), (a ?? []).filter((v) => v > 100).length];
  });
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    under10: vals.filter((v) => v < 10).length,
    over100: vals.filter((v) => v > 100).length,
    over1000: vals.filter((v) => v > 1000).length,
    perMinute,
  };
}

// ------------------------------------------------------------------ memory (memmon.py)
interface Sample {
  readonly t: number;
  readonly rssKiB: number;
  readonly pssKiB: number;
  readonly trees: Readonly<Record<string, { rss: number; pss: number; cpu: number }>>;
}
function readMem(file: string): { samples: Sample[]; driverCpu: number | null } {
  const byT = new Map<number, Record<string, { rss: number; pss: number; cpu: number }>>();
  const driver: number[] = [];
  if (existsSync(file)) {
    for (const l of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [t, name, , rss, pss, cpu] = l.split(',');
      if (t === undefined || name === undefined || rss === undefined || pss === undefined) continue;
      if (name === 'driver') {
        if (cpu !== undefined && cpu !== '') driver.push(Number(cpu));
        continue;
      }
      const k = Number(t);
      const e = byT.get(k) ?? {};
      e[name] = {
        rss: Number(rss),
        pss: Number(pss),
        cpu: cpu === undefined || cpu === '' ? Number.NaN : Number(cpu),
      };
      byT.set(k, e);
    }
  }
  const samples = [...byT.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, trees]) => {
      const v = Object.values(trees);
      return {
        t,
        rssKiB: v.reduce((a, x) => a + x.rss, 0),
        pssKiB: v.reduce((a, x) => a + x.pss, 0),
        trees,
      };
    });
  const driverCpu = driver.length > 0 ? driver.reduce((a, x) => a + x, 0) / driver.length : null;
  return { samples, driverCpu };
}
/** Least-squares slope of y over t, per minute. */
function slopePerMin(pts: readonly (readonly [number, number])[]): number {
  const n = pts.length;
  if (n < 2) return Number.NaN;
  const mt = pts.reduce((a, [t]) => a + t, 0) / n;
  const my = pts.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of pts) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den > 0 ? (num / den) * 60 : Number.NaN;
}

// ------------------------------------------------------------------ GC probe (gc-probe.mjs)
interface GcKind {
  readonly count: number;
  readonly total_ms: number;
  readonly p50_ms: number | null;
  readonly p99_ms: number | null;
  readonly max_ms: number;
}
interface GcFile {
  readonly name: string;
  readonly uptime_s: number;
  readonly gc: GcKind & {
    readonly p90_ms: number | null;
    readonly p999_ms: number | null;
    readonly share_of_time_pct: number | null;
    readonly over_ms: Readonly<Record<string, number>>;
    readonly by_kind: Readonly<Record<string, GcKind>>;
  };
  readonly loop_delay: { readonly p99_ms: number | null; readonly max_ms: number | null };
  readonly series: readonly {
    readonly t_s: number;
    readonly gc_max_ms: number;
    readonly heap_used_mb: number;
    readonly rss_mb: number;
  }[];
}
function readGc(dir: string): GcFile[] {
  return readdirSync(dir)
    .filter((n) => /^gc-.*\.json$/.test(n))
    .map((n) => JSON.parse(readFileSync(join(dir, n), 'utf8')) as GcFile);
}

// ------------------------------------------------------------------ one set-up
interface Result {
  readonly setup: string;
  readonly name: string;
  readonly status: string;
  readonly env: Readonly<Record<string, string>>;
  readonly calls: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly unanswered: number;
  readonly failures: Readonly<Record<string, number>>;
  /** sipp's own counters: late or unknown messages, its watchdog (sipp itself short of CPU) */
  readonly events: Readonly<Record<string, number>>;
  /** at the end of the load: bindings in the registrar, transactions held at the edge */
  readonly end: Readonly<Record<string, number | null>>;
  readonly retrans: number;
  readonly within: Readonly<Record<string, number>>;
  readonly over100: number;
  readonly over1s: number;
  readonly meanRtMs: number;
  readonly rtt: Rtt | null;
  readonly rssMiB: number;
  readonly pssMiB: number;
  readonly rssMaxMiB: number;
  readonly rssSlope: number;
  readonly pssSlope: number;
  readonly steadyWindowS: number;
  readonly marks: readonly Record<string, number | string | null>[];
  readonly cpu: Readonly<Record<string, number | null>>;
  readonly gc: readonly {
    name: string;
    count: number;
    p50: number | null;
    p99: number | null;
    max: number;
    totalMs: number;
    share: number | null;
    over: Readonly<Record<string, number>>;
    byKind: Readonly<Record<string, GcKind>>;
    loopP99: number | null;
    loopMax: number | null;
  }[];
}

/** Bindings and edge transactions at the end: flowgate's /v1/stats, Kamailio's kamcmd statistics. */
function endState(dir: string): Record<string, number | null> {
  let bindings: number | null = null;
  let edgeTx: number | null = null;
  for (const f of readdirSync(dir).filter((n) => /^stats-.*\.json$/.test(n))) {
    try {
      const st = JSON.parse(readFileSync(join(dir, f), 'utf8')) as {
        elements?: Record<
          string,
          { bindings?: number | null; transactions?: { server?: number; client?: number } }
        >;
      };
      for (const [name, el] of Object.entries(st.elements ?? {})) {
        if (typeof el.bindings === 'number') bindings = (bindings ?? 0) + el.bindings;
        if (name === 'edge' && el.transactions)
          edgeTx = (el.transactions.server ?? 0) + (el.transactions.client ?? 0);
      }
    } catch {
      // an empty file: the management API did not answer
    }
  }
  // Kamailio: kamcmd ul.lookup of the first 10 users (ul.dump of 10 000 overflows binrpc's reply)
  let sampledUsers: number | null = null;
  let sampledContacts: number | null = null;
  const ul = join(dir, 'kam-registrar-ul.txt');
  if (existsSync(ul)) {
    const text = readFileSync(ul, 'utf8');
    sampledUsers = (text.match(/^\s*AoR:/gm) ?? []).length;
    sampledContacts = (text.match(/^\s*Address:/gm) ?? []).length;
  }
  const tm = join(dir, 'kam-edge.txt'); // kamcmd tm.stats: `current` = live transactions
  const cur = existsSync(tm) ? /^\s*current:\s*(\d+)/m.exec(readFileSync(tm, 'utf8')) : null;
  if (edgeTx === null && cur?.[1] !== undefined) edgeTx = Number(cur[1]);
  return {
    bindings,
    sampled_users: sampledUsers,
    sampled_contacts: sampledContacts,
    edge_transactions: edgeTx,
  };
}

function analyse(dir: string, setup: string): Result | null {
  const env = readEnv(join(dir, 'run.env'));
  const status = env['status'] ?? 'missing';
  if (status !== 'done') {
    console.log(`\n== ${setup}: ${status}`);
    return null;
  }
  const name = env['name'] ?? setup;
  const stat = readStat(join(dir, 'sipp/stat.csv'));
  if (stat === null) {
    console.log(`\n== ${name} (${setup}): no sipp statistics (see ${dir}/sipp)`);
    return null;
  }
  const last = stat.rows[stat.rows.length - 1] ?? [];
  const planned = Number(env['calls_planned'] ?? Number.NaN);
  const created = col(stat, last, 'TotalCallCreated');
  const succeeded = col(stat, last, 'SuccessfulCall(C)');
  const failed = col(stat, last, 'FailedCall(C)');
  const retrans = col(stat, last, 'Retransmissions(C)');
  const failures: Record<string, number> = {};
  const events: Record<string, number> = {};
  stat.header.forEach((h, i) => {
    const m = /^Failed(\w+)\(C\)$/.exec(h);
    const v = Number(last[i] ?? 0);
    if (m?.[1] !== undefined && v > 0) failures[m[1]] = v;
  });
  for (const k of ['OutOfCallMsgs(C)', 'DeadCallMsgs(C)', 'WatchdogMajor(C)', 'WatchdogMinor(C)']) {
    const v = col(stat, last, k);
    if (v > 0) events[k.replace('(C)', '')] = v;
  }
  const unanswered = Math.max(0, (Number.isNaN(planned) ? created : planned) - succeeded - failed);
  const rep = repartition(stat, last);
  const answered = rep.reduce((a, [, n]) => a + n, 0);
  const within: Record<string, number> = {};
  for (const b of [5, 10, 20, 50, 100]) within[`${b}`] = pctOf(under(rep, b), answered);
  const over100 = answered - under(rep, 100);
  const over1s = answered - under(rep, 1000);
  const rtt = readRtt(join(dir, 'sipp'));

  // periodic rows -> per minute: calls, retransmissions, share < 10 ms, > 100 ms (cumulative deltas)
  const minutes: {
    succ: number;
    retrans: number;
    u10: number;
    o100: number;
    n: number;
    tMax: number;
  }[] = [];
  let prevRep: [number, number][] | null = null;
  for (const row of stat.rows) {
    const el = col(stat, row, 'ElapsedTime(C)') / 1000;
    const m = Math.max(0, Math.ceil(el / 60) - 1);
    const e = minutes[m] ?? { succ: 0, retrans: 0, u10: 0, o100: 0, n: 0, tMax: 0 };
    minutes[m] = e;
    e.tMax = Math.max(e.tMax, el);
    e.succ += col(stat, row, 'SuccessfulCall(P)') || 0;
    e.retrans += col(stat, row, 'Retransmissions(P)') || 0;
    const r = repartition(stat, row);
    const d = r.map(([b, n], i): [number, number] => [b, n - (prevRep?.[i]?.[1] ?? 0)]);
    prevRep = r;
    const dn = d.reduce((a, [, n]) => a + n, 0);
    e.n += dn;
    e.u10 += under(d, 10);
    e.o100 += dn - under(d, 100);
  }

  const { samples, driverCpu } = readMem(join(dir, 'mem.csv'));
  const tEnd = samples[samples.length - 1]?.t ?? 0;
  const win = Math.min(STEADY_S, 0.6 * tEnd);
  const steady = samples.filter((s) => s.t >= tEnd - win - 0.01);
  const mean = (xs: readonly number[]): number =>
    xs.length > 0 ? xs.reduce((a, x) => a + x, 0) / xs.length : Number.NaN;
  const rssMiB = mib(mean(steady.map((s) => s.rssKiB)));
  const pssMiB = mib(mean(steady.map((s) => s.pssKiB)));
  const rssMaxMiB = mib(Math.max(0, ...samples.map((s) => s.rssKiB)));
  const rssSlope = mib(slopePerMin(steady.map((s) => [s.t, s.rssKiB] as const)));
  const pssSlope = mib(slopePerMin(steady.map((s) => [s.t, s.pssKiB] as const)));

  const gcFiles = readGc(dir);
  const gcMaxPerMinute = (m: number): number | null => {
    let best: number | null = null;
    for (const g of gcFiles) {
      for (const w of g.series) {
        if (w.t_s > m * 60 && w.t_s <= (m + 1) * 60 + 5) best = Math.max(best ?? 0, w.gc_max_ms);
      }
    }
    return best;
  };

  // one-minute marks: the sample nearest to each full minute, and the last one
  const marks: Record<string, number | string | null>[] = [];
  const markTimes: number[] = [];
  for (let t = 0; t <= tEnd + 0.01; t += 60) markTimes.push(t);
  if (tEnd - (markTimes[markTimes.length - 1] ?? 0) > 1) markTimes.push(tEnd);
  for (const [i, mt] of markTimes.entries()) {
    let near: Sample | undefined;
    for (const s of samples)
      if (near === undefined || Math.abs(s.t - mt) < Math.abs(near.t - mt)) near = s;
    if (near === undefined) continue;
    const row: Record<string, number | string | null> = {
      t: mmss(near.t),
      t_s: near.t,
      rss_mib: r1(mib(near.rssKiB)),
      pss_mib: r1(mib(near.pssKiB)),
    };
    for (const [tree, v] of Object.entries(near.trees)) {
      row[`${tree}_rss_mib`] = r1(mib(v.rss));
      row[`${tree}_pss_mib`] = r1(mib(v.pss));
    }
    // the minute that ends at this mark (none for 0:00)
    const m = Math.ceil(near.t / 60) - 1;
    const mm = i > 0 && m >= 0 ? minutes[m] : undefined;
    row['calls_per_s'] = mm && mm.tMax > m * 60 ? r1(mm.succ / (mm.tMax - m * 60)) : null;
    row['retrans'] = mm ? mm.retrans : null;
    row['within10ms_pct'] = mm && mm.n > 0 ? r1(pctOf(mm.u10, mm.n)) : null;
    row['over100ms'] = mm ? mm.o100 : null;
    const pm = i > 0 && m >= 0 ? rtt?.perMinute[m] : undefined;
    row['p99_ms'] = pm ? pm[1] : null;
    row['gc_max_ms'] = i > 0 && m >= 0 ? gcMaxPerMinute(m) : null;
    marks.push(row);
  }

  const hz = Number(env['hz'] ?? 100);
  const wall = Number(env['wall_s'] ?? Number.NaN);
  const setupTicks = Number(env['setup_ticks'] ?? Number.NaN);
  const busyTicks = Number(env['busy_ticks'] ?? Number.NaN);
  const setupPct = (100 * setupTicks) / hz / wall;
  const cpu = {
    setup_pct_of_core: r1(setupPct),
    setup_us_per_register: r1((1e6 * setupTicks) / hz / (succeeded + failed)),
    sipp_pct_of_core: driverCpu === null ? null : r1(driverCpu),
    other_pct_of_core: r1((100 * busyTicks) / hz / wall - setupPct - (driverCpu ?? 0)),
  };

  const gc = gcFiles.map((g) => ({
    name: g.name,
    count: g.gc.count,
    p50: g.gc.p50_ms,
    p99: g.gc.p99_ms,
    max: g.gc.max_ms,
    totalMs: g.gc.total_ms,
    share: g.gc.share_of_time_pct,
    over: g.gc.over_ms,
    byKind: g.gc.by_kind,
    loopP99: g.loop_delay.p99_ms,
    loopMax: g.loop_delay.max_ms,
  }));

  const res: Result = {
    setup,
    name,
    status,
    env,
    calls: Number.isNaN(planned) ? created : planned,
    succeeded,
    failed,
    unanswered,
    failures,
    events,
    end: endState(dir),
    retrans,
    within,
    over100,
    over1s,
    meanRtMs: col(stat, last, 'ResponseTime1(C)'),
    rtt,
    rssMiB,
    pssMiB,
    rssMaxMiB,
    rssSlope,
    pssSlope,
    steadyWindowS: r1(win),
    marks,
    cpu,
    gc,
  };
  print(res, samples.length);
  return res;
}

function print(r: Result, nSamples: number): void {
  const e = r.env;
  console.log(
    `\n== ${r.name} (${r.setup}): ${e['rate']} REGISTER/s x ${e['secs']} s, ${e['users']} users refreshing over UDP (expires ${e['expires']}) | ${e['quiet']}`,
  );
  const fl = Object.entries(r.failures)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `calls ${r.calls}: succeeded ${r.succeeded}, failed ${r.failed}${fl ? ` (${fl})` : ''}, unanswered ${r.unanswered} | retransmissions ${r.retrans} (${fmt(pctOf(r.retrans, r.calls), 2)} % of calls) | sipp rc ${e['sipp_rc']}`,
  );
  const ev = Object.entries(r.events)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(
    `udp socket drops: ${e['sock_drops']} | logs: ${e['log_errors']} | sipp events: ${ev || 'none'}`,
  );
  const bindings =
    r.end['bindings'] !== null
      ? `${r.end['bindings']} bindings in the registrar (${e['users']} users)`
      : r.end['sampled_users'] !== null
        ? `${r.end['sampled_contacts']} bindings for ${r.end['sampled_users']} of the first 10 users looked up in the registrar`
        : 'bindings unknown';
  console.log(
    `at the end: ${bindings}, ${r.end['edge_transactions'] ?? '-'} transactions held at the edge`,
  );
  const w = r.within;
  console.log(
    `response time (sipp, first send to 200): <5 ms ${fmt(w['5'])} %, <10 ms ${fmt(w['10'])} %, <20 ms ${fmt(w['20'])} %, <50 ms ${fmt(w['50'])} %, <100 ms ${fmt(w['100'])} % | >=100 ms ${r.over100} | >=1 s ${r.over1s} | mean ${fmt(r.meanRtMs, 2)} ms`,
  );
  if (r.rtt !== null) {
    console.log(
      `  every response (-trace_rtt, ${r.rtt.n}, 1 ms resolution): p50 ${r.rtt.p50} p90 ${r.rtt.p90} p99 ${r.rtt.p99} p99.9 ${r.rtt.p999} max ${r.rtt.max} ms`,
    );
  }
  console.log(
    `CPU (% of one core): set-up ${fmt(r.cpu['setup_pct_of_core'])} % (${fmt(r.cpu['setup_us_per_register'])} us per REGISTER), sipp ${fmt(r.cpu['sipp_pct_of_core'])} %, everything else on the machine ${fmt(r.cpu['other_pct_of_core'])} %`,
  );
  const trees = Object.keys(r.marks[0] ?? {})
    .filter((k) => k.endsWith('_rss_mib') && k !== 'rss_mib')
    .map((k) => k.slice(0, -'_rss_mib'.length));
  console.log(
    `memory over time (MiB, sum of the process trees; ${nSamples} samples every ${e['interval']} s; per minute: calls/s, retransmissions, share < 10 ms, >= 100 ms, p99, worst GC pause):`,
  );
  const head = [
    't',
    'RSS',
    'PSS',
    ...trees.map((t) => `${t} RSS/PSS`),
    'calls/s',
    'retr',
    '<10ms',
    '>=100ms',
    'p99',
    'gc max',
  ];
  const rows = r.marks.map((m) => [
    String(m['t']),
    fmt(m['rss_mib'] as number),
    fmt(m['pss_mib'] as number),
    ...trees.map((t) => `${fmt(m[`${t}_rss_mib`] as number)}/${fmt(m[`${t}_pss_mib`] as number)}`),
    m['calls_per_s'] === null ? '' : fmt(m['calls_per_s'] as number, 0),
    m['retrans'] === null ? '' : String(m['retrans']),
    m['within10ms_pct'] === null ? '' : `${fmt(m['within10ms_pct'] as number)}%`,
    m['over100ms'] === null ? '' : String(m['over100ms']),
    m['p99_ms'] === null ? '' : String(m['p99_ms']),
    m['gc_max_ms'] === null ? '' : fmt(m['gc_max_ms'] as number),
  ]);
  table(head, rows);
  console.log(
    `steady state (last ${r.steadyWindowS} s): RSS ${fmt(r.rssMiB)} MiB, PSS ${fmt(r.pssMiB)} MiB (means; RSS max of the run ${fmt(r.rssMaxMiB)}); slope RSS ${fmt(r.rssSlope, 2)} MB/min, PSS ${fmt(r.pssSlope, 2)} MB/min`,
  );
  for (const g of r.gc) {
    const kinds = Object.entries(g.byKind)
      .map(([k, v]) => `${k} ${v.count} (p99 ${fmt(v.p99_ms, 2)}, max ${fmt(v.max_ms, 2)})`)
      .join(', ');
    const over = Object.entries(g.over)
      .filter(([k]) => ['>10', '>50', '>100'].includes(k))
      .map(([k, v]) => `${k} ms: ${v}`)
      .join(', ');
    console.log(
      `GC pauses, ${g.name}: ${g.count}, p50 ${fmt(g.p50, 2)} p99 ${fmt(g.p99, 2)} max ${fmt(g.max, 2)} ms, ${fmt(g.totalMs, 0)} ms in total (${fmt(g.share, 2)} % of the time) | ${kinds} | ${over} | event-loop delay p99 ${fmt(g.loopP99, 2)} max ${fmt(g.loopMax, 2)} ms`,
    );
  }
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): void {
  const wd = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    `  ${r.map((c, i) => (i === 0 ? c.padEnd(wd[i] ?? 0) : c.padStart(wd[i] ?? 0))).join('  ')}`;
  console.log(line(head));
  for (const r of rows) console.log(line(r));
}

// ------------------------------------------------------------------ main
const dir = process.argv[2];
if (dir === undefined) {
  console.error('usage: report.ts OUT_DIR');
  process.exit(2);
}
const soakDir = join(dir, 'soak');
const found = existsSync(soakDir) ? readdirSync(soakDir) : [];
const setups = [
  ...ORDER.filter((s) => found.includes(s)),
  ...found.filter((s) => !ORDER.includes(s)),
];
const results: Result[] = [];
for (const s of setups) {
  const r = analyse(join(soakDir, s), s);
  if (r !== null) results.push(r);
}

console.log('');
for (const r of results) {
  const p = `soak_${r.setup}`;
  console.log(`${p}_calls=${r.calls}`);
  console.log(`${p}_failed=${r.failed + r.unanswered}`);
  console.log(`${p}_retrans=${r.retrans}`);
  console.log(`${p}_within10ms=${fmt(r.within['10'])}%`);
  console.log(`${p}_over100ms=${r.over100}`);
  console.log(`${p}_over1s=${r.over1s}`);
  console.log(`${p}_rss_mb=${fmt(r.rssMiB, 0)} (pss ${fmt(r.pssMiB, 0)})`);
  console.log(`${p}_rss_slope_mb_per_min=${fmt(r.rssSlope, 2)} (pss ${fmt(r.pssSlope, 2)})`);
  if (r.gc.length > 0) {
    const worst = r.gc.reduce((a, g) => ((g.p99 ?? 0) > (a.p99 ?? 0) ? g : a));
    const each =
      r.gc.length > 1 ? `; ${r.gc.map((g) => `${g.name} ${fmt(g.p99, 2)}`).join(', ')}` : '';
    console.log(
      `${p}_gc_p99_ms=${fmt(worst.p99, 2)} (max ${fmt(Math.max(...r.gc.map((g) => g.max)), 2)}, ${r.gc.reduce((a, g) => a + g.count, 0)} pauses, ${fmt(
        r.gc.reduce((a, g) => a + g.totalMs, 0),
        0,
      )} ms in total${each})`,
    );
  }
}

// issue 12: flowgate against Kamailio of the same run
const kam = results.find((r) => r.setup === 'kk');
const checks: Record<string, Record<string, boolean | null>> = {};
for (const r of results.filter((x) => x.setup !== 'kk')) {
  const c: Record<string, boolean | null> = {
    no_failures: r.failed + r.unanswered === 0,
    // flowgate's RSS (an upper bound) against Kamailio's PSS (its processes share memory), as issue 12 does
    memory_le_kamailio: kam ? r.rssMiB <= kam.pssMiB : null,
    rss_flat: Math.abs(r.rssSlope) <= FLAT_MB_PER_MIN,
    within10ms_ge_kamailio: kam ? (r.within['10'] ?? 0) >= (kam.within['10'] ?? 0) : null,
    none_over100ms: r.over100 === 0,
  };
  checks[r.setup] = c;
  const v = (b: boolean | null): string =>
    b === null ? 'n/a (no kamailio run)' : b ? 'yes' : 'NO';
  console.log(
    `\ncheck ${r.name} (${r.setup}) against issue 12: 0 failures: ${v(c['no_failures'] ?? null)} (${r.failed + r.unanswered}) | steady memory <= Kamailio's: ${v(c['memory_le_kamailio'] ?? null)} (RSS ${fmt(r.rssMiB, 0)} MiB vs Kamailio PSS ${fmt(kam?.pssMiB, 0)} MiB) | RSS flat over the last ${r.steadyWindowS} s (|slope| <= ${FLAT_MB_PER_MIN} MB/min): ${v(c['rss_flat'] ?? null)} (${fmt(r.rssSlope, 2)}) | share < 10 ms >= Kamailio's: ${v(c['within10ms_ge_kamailio'] ?? null)} (${fmt(r.within['10'])} % vs ${fmt(kam?.within['10'])} %) | none >= 100 ms: ${v(c['none_over100ms'] ?? null)} (${r.over100})`,
  );
}
const secs = Number(results[0]?.env['secs'] ?? 0);
if (secs > 0 && secs < 300) {
  console.log(
    `(a ${secs} s run: issue 12's figures need SOAK_SECS=300 at SOAK_RATE=2500 on a quiet machine)`,
  );
}

const out: Record<string, unknown> = {
  machine: readEnv(join(dir, 'machine.env')),
  out: dir,
  setups: results,
  checks,
};
const root = join(import.meta.dirname, '../..');
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
mkdirSync(join(root, 'bench/results'), { recursive: true });
const resFile = join(root, 'bench/results', `${stamp}-soak.json`);
writeFileSync(resFile, `${JSON.stringify(out, null, 2)}\n`);
console.log(`\nresults: ${resFile}`);
