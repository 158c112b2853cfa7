#!/usr/bin/env python3
"""The lab's analysis: turns the guest's raw runs (RAW/<contender>/<scenario>/<rep>/result.json
and samples.tsv) into report.md, one PNG per scenario (gnuplot) and results.jsonl.

  analyze.py SRC OUT                    SRC/raw -> OUT/report.md, OUT/*.png, OUT/results.jsonl
  analyze.py --check-smoke SRC CONTENDER  the CI gate for `make lab-smoke`: exit 1 with a reason
"""
import json
import os
import statistics
import shutil
import subprocess
import sys
import tempfile

SCENARIOS = ["fast_hog", "slow_leak", "many_workers", "clone_vm", "sigterm", "cache_churn",
             "two_cgroups", "growers"]
CONTENDER_ORDER = ["reaperd", "kernel", "earlyoom", "nohang", "oomd", "systemd-oomd"]
NO_KILL = {"cache_churn"}
DESCRIPTION = {
    "fast_hog": "one process allocates and touches memory as fast as it can (no limit)",
    "slow_leak": "a leak of MemTotal/30 per second beside a reader of a 96 MiB file mapping "
                 "(file-backed working set on the virtio disk, so it thrashes)",
    "many_workers": "30 workers of MemTotal/100 each, kept hot, beside a hog growing "
                    "MemTotal/20 per second",
    "clone_vm": "a hog growing MemTotal/10 per second that shares its mm with 4 CLONE_VM "
                "children (not threads) doing small reads; memory returns only when all die",
    "sigterm": "a hog growing MemTotal/10 per second that ignores SIGTERM",
    "cache_churn": "writes then re-reads a file of 1.25 x MemTotal for 20 s beside a steady "
                   "MemTotal/3 of anon memory: nothing should die",
    "two_cgroups": "two cgroups with memory.max = MemTotal/4, each a hog growing MemTotal/20 "
                   "per second and a bystander of MemTotal/32: both hogs should die, not the "
                   "bystanders",
    "growers": "8 processes of one application in one scope, each growing MemTotal/4 per "
               "second without bound (about MemTotal/8 each when memory runs out): every one "
               "must die, one kill after the other, none by the kernel",
}
SIGNALS = {9: "KILL", 15: "TERM", 6: "ABRT", 11: "SEGV", 1: "HUP", 2: "INT"}


def load_samples(path):
    rows = []
    try:
        with open(path) as f:
            next(f)
            for line in f:
                v = line.split("\t")
                rows.append({"t": int(v[0]), "avail": int(v[1]), "some_us": int(v[5]),
                             "full_us": int(v[6]), "cg0": int(v[7]), "cg1": int(v[8])})
    except (OSError, StopIteration, ValueError, IndexError):
        pass
    return rows


SAMPLE_MS = 100  # the harness's sampler period (guest/harness.c SAMPLE_US)


def guest_missed_ms(samples, start_ms, end_ms):
    """How long the harness's sampler (an mlocked thread of a -1000 process) did not run during
    the run: every gap between samples beyond two periods, for gaps ending in (start, end]. On a
    loaded host a TCG guest stops for seconds with no memory pressure at all, and the probe's
    "stall" then measures the host, not the contender."""
    if not samples:
        return None
    missed = 0
    for a, b in zip(samples, samples[1:]):
        if start_ms < b["t"] <= end_ms:
            missed += max(0, b["t"] - a["t"] - 2 * SAMPLE_MS)
    return missed


def summarize(res, samples):
    """One run's measures; times in ms from the scenario's pressure onset."""
    total = res["memtotal_kb"]
    start = res["start_ms"]
    procs = res["procs"]
    kernel_pids = {k["pid"] for k in res["kernel_kills"]}
    # The kernel logs one "Killed process" per victim, but SIGKILLs every process sharing its
    # mm too (clone_vm): those died by the kernel's hand as well.
    sharers = [p for p in procs if p["role"] in ("clonehog", "clonechild")]
    if any(p["pid"] in kernel_pids for p in sharers):
        kernel_pids |= {p["pid"] for p in sharers if p["signal"] == 9 and not p["alive_at_end"]}
    died = [p for p in procs if not p["alive_at_end"] and p["end_ms"] >= 0]
    intended = [p for p in procs if p["intended"]]
    collateral = [p for p in died if not p["intended"]]
    # Kernel kills of processes the harness did not start (the contender, the shell...).
    ours = {p["pid"] for p in procs}
    foreign = [k for k in res["kernel_kills"] if k["pid"] not in ours]
    cgroup = res["scenario"] == "two_cgroups"
    limit = total // 4
    onset = None
    for s in samples:
        if s["t"] < start:
            continue
        hot = (max(s["cg0"], s["cg1"]) > 0.8 * limit) if cgroup else (s["avail"] < 0.2 * total)
        if hot:
            onset = s["t"]
            break
    intended_dead = [p for p in intended if p in died]
    all_dead = bool(intended) and len(intended_dead) == len(intended)
    first_kill = min((p["end_ms"] for p in intended_dead), default=None)
    last_kill = max((p["end_ms"] for p in intended_dead), default=None) if all_dead else None
    back = None
    if last_kill is not None:
        for s in samples:
            if s["t"] < last_kill:
                continue
            ok = (max(s["cg0"], s["cg1"]) < 0.5 * limit) if cgroup else (s["avail"] >= 0.4 * total)
            if ok:
                back = s["t"]
                break
    ref = onset if onset is not None else start

    def how(p):
        sig = SIGNALS.get(p["signal"], str(p["signal"])) if p["signal"] else "exit"
        by = "kernel" if p["pid"] in kernel_pids or p["kernel_oom"] else "user"
        return f'{p["role"]}({sig},{by})'

    return {
        "scenario": res["scenario"], "contender": res["contender"], "end_reason": res["end_reason"],
        "intended": len(intended), "intended_dead": len(intended_dead), "all_intended": all_dead,
        "killed_by_kernel": sum(1 for p in intended_dead if p["pid"] in kernel_pids),
        "collateral": [how(p) for p in collateral] + [f'{k["comm"]}(kernel)' for k in foreign],
        "died": [how(p) for p in died],
        "kernel_kills": len(res["kernel_kills"]),  # "Killed process" lines: victims, not sharers
        "onset_ms": onset, "kill_ms": None if first_kill is None else first_kill - ref,
        "back_ms": None if back is None else back - ref,
        "probe_max_gap_ms": res["probe"]["max_gap_ms"],
        "probe_over_1s": res["probe"]["over_1s"],
        "guest_missed_ms": guest_missed_ms(samples, start, res["end_ms"]),
        "daemon_cpu_ms": res["daemon"]["cpu_ms"] if res["daemon"]["pid"] else None,
        "daemon_reap_cpu_ms": res["daemon"].get("reap_cpu_ms") if res["daemon"]["pid"] else None,
        "daemon_rss_kb": res["daemon"]["hwm_kb"] if res["daemon"]["pid"] else None,
        "daemon_alive": bool(res["daemon"]["alive_at_end"]) if res["daemon"]["pid"] else None,
    }


def load_runs(src):
    runs = []
    raw = os.path.join(src, "raw")
    for c in sorted(os.listdir(raw)) if os.path.isdir(raw) else []:
        if c.startswith("_") or not os.path.isdir(os.path.join(raw, c)):
            continue  # the systemd guest's own files (journal, apt log)
        for s in sorted(os.listdir(os.path.join(raw, c))):
            if s in ("oomd_test", "podman", "browser"):
                continue  # the systemd guest's own scenarios: their own JSON, not harness runs
            for r in sorted(os.listdir(os.path.join(raw, c, s))):
                d = os.path.join(raw, c, s, r)
                try:
                    with open(os.path.join(d, "result.json")) as f:
                        res = json.load(f)
                except (OSError, ValueError):
                    runs.append({"scenario": s, "contender": c, "rep": r, "missing": True})
                    continue
                samples = load_samples(os.path.join(d, "samples.tsv"))
                m = summarize(res, samples)
                m["rep"] = r
                m["_samples"] = samples
                m["_res"] = res
                runs.append(m)
    return runs


def stat(values, scale=1000.0, fmt="{:.1f}"):
    v = [x / scale for x in values if x is not None]
    if not v:
        return "-"
    med = fmt.format(statistics.median(v))
    return med if len(v) == 1 else f"{med} [{fmt.format(min(v))}-{fmt.format(max(v))}]"


def order(cs):
    return sorted(cs, key=lambda c: (CONTENDER_ORDER.index(c) if c in CONTENDER_ORDER else 99, c))


def plot(out, scenario, runs):
    """MemAvailable (or cgroup usage) and PSI some over time, first rep of each contender."""
    chosen = {}
    for m in runs:
        if m.get("missing") or m["scenario"] != scenario or not m["_samples"]:
            continue
        if m["contender"] not in chosen or m["rep"] < chosen[m["contender"]]["rep"]:
            chosen[m["contender"]] = m
    if not chosen:
        return None
    datdir = tempfile.mkdtemp(prefix="lab-plot-")
    cg = scenario == "two_cgroups"
    top, bottom = [], []
    for i, c in enumerate(order(chosen)):
        m = chosen[c]
        start = m["_res"]["start_ms"]
        samples = m["_samples"]
        path = os.path.join(datdir, f"{scenario}-{c}.dat")
        with open(path, "w") as f:
            for j, s in enumerate(samples):
                k = max(0, j - 10)  # PSI some over the last second, from the totals
                dt = (s["t"] - samples[k]["t"]) * 1000.0
                some = 100.0 * (s["some_us"] - samples[k]["some_us"]) / dt if dt > 0 else 0.0
                mem = (s["cg0"] + s["cg1"]) / 1024.0 if cg else s["avail"] / 1024.0
                f.write(f'{(s["t"] - start) / 1000.0:.2f} {mem:.1f} {some:.1f}\n')
        kpath = os.path.join(datdir, f"{scenario}-{c}.kills")
        with open(kpath, "w") as f:
            for p in m["_res"]["procs"]:
                if p["alive_at_end"] or p["end_ms"] < 0:
                    continue
                t = p["end_ms"]
                near = min(samples, key=lambda s: abs(s["t"] - t))
                mem = (near["cg0"] + near["cg1"]) / 1024.0 if cg else near["avail"] / 1024.0
                f.write(f'{(t - start) / 1000.0:.2f} {mem:.1f}\n')
        lt = i + 1
        top.append(f"'{path}' u 1:2 w l lt {lt} lw 2 t '{c}'")
        top.append(f"'{kpath}' u 1:2 w p lt {lt} pt 7 ps 1.5 notitle")
        bottom.append(f"'{path}' u 1:3 w l lt {lt} lw 2 t '{c}'")
    png = f"{scenario}.png"
    ylabel = "memory.current of both cgroups (MiB)" if cg else "MemAvailable (MiB)"
    script = f"""set terminal pngcairo size 1000,700 font ',10'
set output '{os.path.join(out, png)}'
set termoption noenhanced
set multiplot layout 2,1 title '{scenario}: first run of each contender (dots: a process died)'
set grid
set key outside right
set xlabel 'seconds since the scenario started'
set ylabel '{ylabel}'
plot {', '.join(top)}
set ylabel 'PSI memory some, % of the last 1 s'
plot {', '.join(bottom)}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True, stderr=subprocess.DEVNULL)
    shutil.rmtree(datdir, ignore_errors=True)
    return png


def write_report(src, out, runs):
    meta = ""
    try:
        with open(os.path.join(src, "META")) as f:
            meta = f.read().strip()
    except OSError:
        pass
    if "boot=systemd" in meta:
        how = ("systemd 252 as PID 1 (lab/guest/sd-runs.sh): each contender started by its "
               "packaged unit (systemctl start), every workload cgroup a transient scope in "
               "user.slice (systemd-run --scope)")
    else:
        how = ("a shell script as PID 1 (lab/guest/init.sh): each contender started as its "
               "packaged unit would start it")
    lines = ["# Lab report", "",
             f"Measured: {meta or 'see lab/README.md'}. Guest: Debian 12, kernel 6.1 cloud, "
             f"no swap, root on a virtio disk, {how}. Under TCG software emulation the absolute "
             "times are slow and noisy; compare contenders within a scenario, not with a real "
             "machine.", "",
             "Columns: runs; intended victim(s) all dead (runs); collateral deaths (all runs); "
             "kernel OOM kills (median); onset->kill and onset->memory back in seconds, median "
             "[min-max] (onset: MemAvailable < 20% of MemTotal, or a cgroup above 80% of its "
             "limit); the probe's longest gap in seconds (nominal 0.01); the daemon's CPU time "
             "(ms) during the run (for reaperd, in brackets, what its reaper threads spent of "
             "it: process_mrelease unmaps the victims' memory on their behalf, which a daemon "
             "that only signals leaves to the victims) and peak RSS (MiB). Guest not running: how long the harness's "
             "mlocked 100 ms sampler did not run (gaps beyond two periods), that is the guest "
             "stopped by a loaded host; a probe gap that long measures the host.", ""]
    missing = [m for m in runs if m.get("missing")]
    for sc in SCENARIOS:
        rs = [m for m in runs if m["scenario"] == sc and not m.get("missing")]
        if not rs:
            continue
        lines += [f"## {sc}", "", DESCRIPTION.get(sc, ""), "",
                  "| contender | runs | intended dead | collateral | kernel OOM kills | "
                  "onset->kill s | onset->back s | probe max gap s | guest not running s | "
                  "daemon CPU ms | daemon RSS MiB |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for c in order({m["contender"] for m in rs}):
            cr = [m for m in rs if m["contender"] == c]
            coll = [x for m in cr for x in m["collateral"]]
            intended = "n/a" if sc in NO_KILL else f'{sum(m["all_intended"] for m in cr)}/{len(cr)}'
            kk = statistics.median([m["kernel_kills"] for m in cr])
            rss = [m["daemon_rss_kb"] for m in cr if m["daemon_rss_kb"]]
            cpu = stat([m["daemon_cpu_ms"] for m in cr], scale=1, fmt="{:.0f}")
            reap = [m["daemon_reap_cpu_ms"] for m in cr if m.get("daemon_reap_cpu_ms") is not None]
            if reap and any(reap):  # reaperd's reapers: the victims' unmapping, on their behalf
                cpu += f' (reapers {stat(reap, scale=1, fmt="{:.0f}")})'

            who = f'{len(coll)} ' + ", ".join(sorted(set(coll))) if coll else "0"
            lines.append(
                f'| {c} | {len(cr)} | {intended} | {who} | {kk:g} '
                f'| {stat([m["kill_ms"] for m in cr])} | {stat([m["back_ms"] for m in cr])} '
                f'| {stat([m["probe_max_gap_ms"] for m in cr], fmt="{:.2f}")} '
                f'| {stat([m.get("guest_missed_ms") for m in cr], fmt="{:.1f}")} '
                f'| {cpu if rss else "-"} | {f"{max(rss) / 1024:.1f}" if rss else "-"} |')
        png = plot(out, sc, runs)
        lines += ["", "Who died, per run: " + "; ".join(
            f'{m["contender"]}#{m["rep"]}: {", ".join(m["died"]) or "nobody"}'
            f'{" (timeout)" if m["end_reason"] == "timeout" else ""}' for m in
            sorted(rs, key=lambda m: (order([m["contender"]]), m["rep"]))), ""]
        if png:
            lines += [f"![{sc}]({png})", ""]
    lines += goal_check(runs)
    summary = summary_table(runs)
    lines[6:6] = ["## Summary", ""] + summary + [""]
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(f"Measured: {meta}\n\n" + "\n".join(summary) + "\n")
    if missing:
        lines += ["## Runs without a result", "",
                  ", ".join(f'{m["contender"]}/{m["scenario"]}#{m["rep"]}' for m in missing), ""]
    with open(os.path.join(out, "report.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    for name in ("META", "console/hostload.txt"):
        if os.path.exists(os.path.join(src, name)) and os.path.abspath(src) != os.path.abspath(out):
            shutil.copy(os.path.join(src, name), out)
    with open(os.path.join(out, "results.jsonl"), "w") as f:
        for m in runs:
            f.write(json.dumps({k: v for k, v in m.items() if not k.startswith("_")}) + "\n")


def cell(cr, sc):
    """One contender x scenario in the summary: right victim, collateral, kernel kills, stall."""
    ok = sum(m["all_intended"] for m in cr) if sc not in NO_KILL else sum(not m["died"] for m in cr)
    coll = sum(len(m["collateral"]) for m in cr)
    kk = sum(m["kernel_kills"] for m in cr)
    gap = statistics.median([m["probe_max_gap_ms"] for m in cr]) / 1000
    return f"{ok}/{len(cr)} ok, {coll} coll, {kk} kOOM, {gap:.2f} s"


def summary_table(runs):
    rs = [m for m in runs if not m.get("missing")]
    scs = [sc for sc in SCENARIOS if any(m["scenario"] == sc for m in rs)]
    out = ["Per cell: runs where the intended victims all died (cache_churn: nobody died) / runs; "
           "collateral deaths; kernel OOM kills; the probe's longest gap (median).", "",
           "| contender | " + " | ".join(scs) + " |", "|---" * (len(scs) + 1) + "|"]
    for c in order({m["contender"] for m in rs}):
        cells = []
        for sc in scs:
            cr = [m for m in rs if m["contender"] == c and m["scenario"] == sc]
            cells.append(cell(cr, sc) if cr else "-")
        out.append(f"| {c} | " + " | ".join(cells) + " |")
    return out


def goal_check(runs):
    """Issue 5's goal for reaperd, scenario by scenario, stated plainly."""
    rs = [m for m in runs if not m.get("missing")]
    if not any(m["contender"] == "reaperd" for m in rs):
        return ["## Goal check for reaperd", "", "reaperd did not run in this suite.", ""]
    out = ["## Goal check for reaperd", "",
           "Goal (issue 5): the intended victim, no collateral kill, no kernel OOM kill, nothing "
           "killed in cache_churn, and a probe stall at most half of the best other contender's "
           "(medians).", ""]
    for sc in SCENARIOS:
        mine = [m for m in rs if m["scenario"] == sc and m["contender"] == "reaperd"]
        if not mine:
            continue
        fails = []
        if sc in NO_KILL:
            if any(m["died"] for m in mine):
                fails.append("something died")
        elif not all(m["all_intended"] for m in mine):
            fails.append("intended victim not killed in every run")
        if any(m["collateral"] for m in mine):
            fails.append("collateral kills")
        if any(m["kernel_kills"] for m in mine):
            fails.append("kernel OOM kills")
        gap = statistics.median([m["probe_max_gap_ms"] for m in mine])
        others = {}
        for m in rs:
            if m["scenario"] == sc and m["contender"] != "reaperd":
                others.setdefault(m["contender"], []).append(m["probe_max_gap_ms"])
        if others:
            best_c, best = min(((c, statistics.median(v)) for c, v in others.items()),
                               key=lambda x: x[1])
            if gap > best / 2:
                fails.append(f"probe stall {gap / 1000:.2f} s > half of {best_c}'s "
                             f"{best / 1000:.2f} s")
        out.append(f"- {sc}: " + ("met" if not fails else "NOT met: " + "; ".join(fails)))
    return out + [""]


def check_smoke(src, contender):
    runs = {m["scenario"]: m for m in load_runs(src) if m["contender"] == contender}
    problems = []
    for sc in ("fast_hog", "cache_churn"):
        m = runs.get(sc)
        if not m or m.get("missing"):
            problems.append(f"{sc}: no result (see {src}/console/smoke.log)")
            continue
        print(f'lab-smoke: {contender} {sc}: died={m["died"] or "nobody"} '
              f'kill_s={None if m["kill_ms"] is None else m["kill_ms"] / 1000} '
              f'probe_max_gap_s={m["probe_max_gap_ms"] / 1000:.2f} kernel_kills={m["kernel_kills"]}')
        if sc == "fast_hog" and not m["all_intended"]:
            problems.append(f"fast_hog: the hog was not killed within the time limit ({m['end_reason']})")
        if m["collateral"]:
            problems.append(f"{sc}: collateral deaths: {', '.join(m['collateral'])}")
        if sc == "cache_churn" and m["died"]:
            problems.append(f"cache_churn: something died: {', '.join(m['died'])}")
        if m["daemon_alive"] is False:
            problems.append(f"{sc}: the {contender} daemon was not running at the end")
        if contender != "kernel" and m["daemon_alive"] is None:
            # Without the daemon the kernel's OOM killer does the work: that tests nothing.
            problems.append(f"{sc}: the {contender} daemon never started in the guest")
        if contender != "kernel" and sc == "fast_hog" and m["killed_by_kernel"]:
            problems.append(f"fast_hog: the kernel's OOM killer killed the hog, not {contender}")
    for p in problems:
        print(f"lab-smoke: FAIL: {p}")
    if not problems:
        print("lab-smoke: PASS")
    return 1 if problems else 0


def main(argv):
    if len(argv) == 4 and argv[1] == "--check-smoke":
        return check_smoke(argv[2], argv[3])
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    os.makedirs(argv[2], exist_ok=True)
    write_report(argv[1], argv[2], load_runs(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
