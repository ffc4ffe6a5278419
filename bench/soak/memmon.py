#!/usr/bin/env python3
"""Memory and CPU of process trees over time, for the soak benchmark (bench/soak/suite.sh).
usage: memmon.py --procmon PATH [--interval 5] NAME=PID [NAME=PID ...]
Samples every tree (a main PID and all its descendants) at once, then every --interval seconds,
until SIGTERM/SIGINT (then one last sample) or until every tree is gone, and prints one CSV line per tree and sample
(flushed at once, so a killed run keeps what it had):
  t_s,name,procs,rss_kib,pss_kib,cpu_pct
t_s = seconds since the first sample; rss/pss = sums over the tree (VmRSS counts shared pages once
per process, so it overstates a multi-process Kamailio; PSS splits them fairly); cpu_pct = CPU of
the tree since the previous sample, in % of ONE core. The process-tree and /proc readers are those
of ../shared/bench/tools/procmon.py (given by --procmon), so the figures match the chain benchmarks.
"""
import importlib.util
import signal
import sys
import time


def load_procmon(path):
    spec = importlib.util.spec_from_file_location("procmon", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    args = sys.argv[1:]
    interval, pm_path, trees = 5.0, None, []
    while args:
        a = args.pop(0)
        if a == "--interval":
            interval = float(args.pop(0))
        elif a == "--procmon":
            pm_path = args.pop(0)
        else:
            n, _, p = a.partition("=")
            trees.append((n, int(p)))
    if not pm_path or not trees:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    pm = load_procmon(pm_path)
    stop = {"v": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(v=True))
    signal.signal(signal.SIGINT, lambda *_: stop.update(v=True))
    prev = {}
    t0 = time.monotonic()
    print("t_s,name,procs,rss_kib,pss_kib,cpu_pct", flush=True)
    stopping = False
    while True:
        now = time.monotonic()
        cmap = pm.children_map()
        alive = 0
        for n, root in trees:
            ticks = {p: pm.cpu_ticks(p) for p in pm.tree(root, cmap)}
            ticks = {p: t for p, t in ticks.items() if t is not None}
            if not ticks:
                continue
            alive += 1
            rss = pss = 0
            for p in ticks:
                r, q = pm.mem_kb(p)
                rss += r
                pss += q or 0
            cpu = ""
            if n in prev:
                pt, pticks = prev[n]
                d = sum(t - pticks.get(p, t) for p, t in ticks.items())
                if now > pt:
                    cpu = f"{100.0 * d / pm.HZ / (now - pt):.1f}"
            prev[n] = (now, ticks)
            print(f"{now - t0:.1f},{n},{len(ticks)},{rss},{pss},{cpu}", flush=True)
        if alive == 0 or stopping:
            break
        # sleep in short slices; SIGTERM ends the sleep at once and takes one last sample
        end = now + interval
        while not stop["v"] and time.monotonic() < end:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
        stopping = stop["v"]


if __name__ == "__main__":
    main()
