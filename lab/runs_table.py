"""Per run of the shell guest, from the raw results a lab run left (lab/work/dev/raw, copied
into a results directory as SERIES/raw): two tables, one line per run.

  runs  CPU ms (the reapers' share), VmHWM and VmRSS at the end, the probe's longest gap,
        kernel OOM kills, the run's length, the kills' decision_to_signal_ms
  time  the daemon's CPU (samples.tsv's daemon_ticks, 10 ms each) before the first victim
        died, over the kills (to 0.5 s after the last victim), and after; with the daemon's
        page faults over the same spans (minor/major) where samples.tsv has them (session 15 on),
        and its loop thread's wakeups (voluntary context switches; session 16 on). Every
        contender in the series, earlyoom included.

  kills one line per kill decision of reaperd's: where its time went (the kill line's read=,
        scan_ms, rank_ms, build_ms, decision_cpu_ms)

Usage: python3 lab/runs_table.py {runs|time|kills} RESULTS_DIR SERIES...  (from the repository
root)
Since session 14 the harness counts the CPU from a settled daemon (guest/init.sh waits for its
start-up to end; settle.txt has the wait and the start-up's CPU)."""
import glob
import json
import os
import sys


def runs(base, name):
    for f in sorted(glob.glob(f"{base}/{name}/raw/*/*/*/result.json")):
        j = json.load(open(f))
        d, p = j["daemon"], j["probe"]
        log = os.path.join(os.path.dirname(f), "daemon.log")
        d2s = []
        if os.path.exists(log):
            for line in open(log):
                if "reaped seq=" in line and "decision_to_signal_ms=" in line:
                    d2s.append(float(line.split("decision_to_signal_ms=")[1].split()[0]))
        print(f"{name:6} {j['contender']:9} {j['scenario']:12} cpu {d['cpu_ms']:5} "
              f"reap {d['reap_cpu_ms']:4} hwm {d.get('hwm_kb')} rss {d.get('rss_kb')} "
              f"gap {p['max_gap_ms']:7} koom {len(j['kernel_kills'])} "
              f"dur {j['end_ms'] - j['start_ms']} d2s {sorted(d2s)}")


def time(base, name):
    for f in sorted(glob.glob(f"{base}/{name}/raw/*/*/*/samples.tsv")):
        contender = f.split("/raw/")[1].split("/")[0]
        rows = [line.rstrip("\n").split("\t") for line in open(f)][1:]
        if not rows or len(rows[0]) < 11:
            continue
        t = [int(r[0]) for r in rows]
        d = [int(r[9]) for r in rows]
        res = json.load(open(os.path.join(os.path.dirname(f), "result.json")))
        ends = [p["end_ms"] for p in res["procs"] if p["intended"] and p["end_ms"] > 0]
        start = res["start_ms"]

        def at(ms):
            return next((d[i] for i, x in enumerate(t) if x >= ms), d[-1])

        k0 = min(ends) if ends else t[-1]
        k1 = max(ends) + 500 if ends else t[-1]
        line = (f"{name:5} {contender:9} {res['scenario']:12} growth {10 * (at(k0) - at(start))} ms over "
                f"{k0 - start} ms; kills {10 * (at(k1) - at(k0))} over {k1 - k0} ms; "
                f"after {10 * (d[-1] - at(k1))} over {t[-1] - k1} ms")
        if len(rows[0]) >= 13:
            flt = [[int(r[col]) for r in rows] for col in (11, 12)]

            def fat(c, ms):
                return next((flt[c][i] for i, x in enumerate(t) if x >= ms), flt[c][-1])

            line += "; faults min/maj growth {}/{} kills {}/{} after {}/{}".format(
                *[fat(c, b) - fat(c, a) if b is not None else flt[c][-1] - fat(c, a)
                  for a, b in ((start, k0), (k0, k1), (k1, None)) for c in (0, 1)])
        if len(rows[0]) >= 14:
            w = [int(r[13]) for r in rows]

            def wat(ms):
                return next((w[i] for i, x in enumerate(t) if x >= ms), w[-1])

            line += "; loop wakeups growth {} kills {} after {}".format(
                wat(k0) - wat(start), wat(k1) - wat(k0), w[-1] - wat(k1))
        print(line)


def kills(base, name):
    keys = ("read", "scan_ms", "rank_ms", "build_ms", "decision_cpu_ms", "slowest_check_held",
            "oom_count_ms", "checks_ms", "oom_group_ms",
            "decision_majflt",  # the last four since session 19
            "read_held", "submit_ms")  # since session 21
    for f in sorted(glob.glob(f"{base}/{name}/raw/reaperd/*/*/daemon.log")):
        scenario = f.split("/raw/reaperd/")[1].split("/")[0]
        for line in open(f):
            if "] kill seq=" not in line:
                continue
            fields = dict(w.split("=", 1) for w in line.split() if "=" in w)
            print(f"{name:5} {scenario:12} seq {fields.get('seq')} " +
                  " ".join(f"{k} {fields.get(k, '-')}" for k in keys))


if __name__ == "__main__":
    what, base, names = sys.argv[1], sys.argv[2], sys.argv[3:]
    for n in names:
        {"runs": runs, "time": time, "kills": kills}[what](base, n)
