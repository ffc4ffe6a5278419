// GC pause and event-loop delay probe for the soak benchmark (bench/soak/suite.sh, issue 12), loaded
// into a flowgate process without touching product code:
//   SOAK_GC_OUT=/dir/gc-{name}.json node --import ./bench/soak/gc-probe.mjs dist/cli/main.js start -c edge.yaml
// It installs a perf_hooks PerformanceObserver for 'gc' entries (every pause, by kind) and
// monitorEventLoopDelay, and writes a summary JSON to SOAK_GC_OUT every 10 s, on SIGTERM and at exit
// (`{name}` = the basename of the -c/--config file without extension, `{pid}` = the process id).
// Without SOAK_GC_OUT it does nothing. Pauses are the main-thread durations V8 reports per GC
// (`entry.duration`); `series` has one entry per 10 s window (GC count, pause time and worst pause,
// event-loop delay p99/max, event-loop utilisation, memoryUsage) so pauses can be set against RSS.
import { renameSync, writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import {
  constants,
  createHistogram,
  monitorEventLoopDelay,
  PerformanceObserver,
  performance,
} from 'node:perf_hooks';

const template = process.env.SOAK_GC_OUT;
if (template !== undefined && template !== '') install(template);

function configName() {
  const a = process.argv;
  for (let i = 0; i < a.length - 1; i++) {
    if (a[i] === '-c' || a[i] === '--config') return basename(a[i + 1], extname(a[i + 1]));
  }
  return 'flowgate';
}

function install(tpl) {
  const file = tpl.replaceAll('{name}', configName()).replaceAll('{pid}', String(process.pid));
  const KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  const WINDOW_MS = 10_000;
  const THRESHOLDS_MS = [1, 5, 10, 20, 50, 100, 500];
  const t0 = performance.now();
  const startedAt = new Date().toISOString();

  const newStats = () => ({ count: 0, totalMs: 0, maxMs: 0, hist: createHistogram() });
  const all = newStats();
  const byKind = {};
  const over = Object.fromEntries(THRESHOLDS_MS.map((t) => [t, 0]));
  let win = { count: 0, totalMs: 0, maxMs: 0 };
  const series = [];

  const add = (s, ms) => {
    s.count++;
    s.totalMs += ms;
    if (ms > s.maxMs) s.maxMs = ms;
    s.hist.record(Math.max(1, Math.round(ms * 1e6))); // ns, integers >= 1
  };
  const onEntries = (entries) => {
    for (const e of entries) {
      const ms = e.duration;
      const kind = KINDS[e.detail?.kind] ?? `kind${e.detail?.kind}`;
      add(all, ms);
      byKind[kind] ??= newStats();
      add(byKind[kind], ms);
      for (const t of THRESHOLDS_MS) if (ms > t) over[t]++;
      win.count++;
      win.totalMs += ms;
      if (ms > win.maxMs) win.maxMs = ms;
    }
  };
  const obs = new PerformanceObserver((list) => onEntries(list.getEntries()));
  obs.observe({ entryTypes: ['gc'] });

  // the histograms hold the time between two ticks of a RES_MS timer: the delay is that minus RES_MS
  const RES_MS = 10;
  const loop = monitorEventLoopDelay({ resolution: RES_MS });
  const loopWin = monitorEventLoopDelay({ resolution: RES_MS });
  loop.enable();
  loopWin.enable();
  let eluPrev = performance.eventLoopUtilization();

  const r3 = (x) => Math.round(x * 1000) / 1000;
  const mb = (b) => Math.round((b / 1048576) * 10) / 10;
  const ns2ms = (ns) => r3(ns / 1e6);
  const pct = (h, p) => (h.count > 0 ? ns2ms(h.percentile(p)) : null);
  const delay = (ns) => (ns === null ? null : r3(Math.max(0, ns / 1e6 - RES_MS)));
  const loopPct = (h, p) => (h.count > 0 ? delay(h.percentile(p)) : null);
  let winStart = performance.now();
  const summary = (s) => ({
    count: s.count,
    total_ms: r3(s.totalMs),
    mean_ms: s.count > 0 ? r3(s.totalMs / s.count) : null,
    p50_ms: pct(s.hist, 50),
    p90_ms: pct(s.hist, 90),
    p99_ms: pct(s.hist, 99),
    p999_ms: pct(s.hist, 99.9),
    max_ms: r3(s.maxMs),
  });
  const memory = () => {
    const m = process.memoryUsage();
    return {
      rss_mb: mb(m.rss),
      heap_used_mb: mb(m.heapUsed),
      heap_total_mb: mb(m.heapTotal),
      external_mb: mb(m.external),
      array_buffers_mb: mb(m.arrayBuffers),
    };
  };
  const closeWindow = () => {
    const now = performance.now();
    if (now - winStart < 500 && win.count === 0) return; // nothing to say about a sliver
    const elu = performance.eventLoopUtilization(eluPrev);
    eluPrev = performance.eventLoopUtilization();
    series.push({
      t_s: Math.round((now - t0) / 100) / 10,
      dur_s: Math.round((now - winStart) / 100) / 10,
      gc_count: win.count,
      gc_ms: r3(win.totalMs),
      gc_max_ms: r3(win.maxMs),
      loop_p99_ms: loopPct(loopWin, 99),
      loop_max_ms: loopWin.count > 0 ? delay(loopWin.max) : null,
      elu: Math.round(elu.utilization * 1000) / 1000,
      ...memory(),
    });
    win = { count: 0, totalMs: 0, maxMs: 0 };
    winStart = now;
    loopWin.reset();
  };
  const write = (final) => {
    const uptimeMs = performance.now() - t0;
    const out = {
      probe: 'bench/soak/gc-probe.mjs',
      pid: process.pid,
      name: configName(),
      node: process.version,
      started_at: startedAt,
      written_at: new Date().toISOString(),
      final,
      uptime_s: Math.round(uptimeMs) / 1000,
      gc: {
        ...summary(all),
        share_of_time_pct: uptimeMs > 0 ? r3((100 * all.totalMs) / uptimeMs) : null,
        over_ms: Object.fromEntries(THRESHOLDS_MS.map((t) => [`>${t}`, over[t]])),
        by_kind: Object.fromEntries(Object.entries(byKind).map(([k, s]) => [k, summary(s)])),
      },
      loop_delay: {
        note: `lateness of a ${RES_MS} ms timer (monitorEventLoopDelay minus its resolution)`,
        resolution_ms: RES_MS,
        count: loop.count,
        mean_ms: loop.count > 0 ? delay(loop.mean) : null,
        p50_ms: loopPct(loop, 50),
        p99_ms: loopPct(loop, 99),
        p999_ms: loopPct(loop, 99.9),
        max_ms: loop.count > 0 ? delay(loop.max) : null,
      },
      memory: memory(),
      window_s: WINDOW_MS / 1000,
      series,
    };
    try {
      writeFileSync(`${file}.tmp`, `${JSON.stringify(out, null, 1)}\n`);
      renameSync(`${file}.tmp`, file);
    } catch (e) {
      process.stderr.write(`gc-probe: cannot write ${file}: ${e}\n`);
    }
  };

  const timer = setInterval(() => {
    closeWindow();
    write(false);
  }, WINDOW_MS);
  timer.unref();
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    onEntries(obs.takeRecords());
    closeWindow();
    write(true);
  };
  process.on('exit', finish);
  // flowgate stops gracefully on SIGTERM (its own listener, installed later); write now, while the
  // load is just over, and again at exit. Without another listener, keep Node's default: exit.
  process.on('SIGTERM', function onTerm() {
    closeWindow();
    write(false);
    if (process.listenerCount('SIGTERM') === 1) {
      process.removeListener('SIGTERM', onTerm);
      finish();
      process.kill(process.pid, 'SIGTERM');
    }
  });
}
