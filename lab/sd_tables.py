#!/usr/bin/env python3
"""Markdown tables for the systemd guest's own scenarios (podman, browser), which write one JSON
per run (RAW/CONTENDER/SCENARIO/REP/{podman,browser}.json) rather than the harness's result.

Usage: lab/sd_tables.py RAW_DIR [RAW_DIR...]
"""
import json
import pathlib
import statistics
import sys


def load(dirs, name):
    runs = []
    for d in dirs:
        for p in sorted(pathlib.Path(d).glob(f"*/*/*/{name}.json")):
            try:
                runs.append(json.loads(p.read_text()))
            except json.JSONDecodeError as e:
                print(f"sd_tables: {p}: {e}", file=sys.stderr)
    return runs


def podman_table(runs):
    out = [
        "| contender | runs | leaker dead | by | kernel OOM kills (in the leaker's memcg) | leaker's memory.events oom_kill, polled | web, db alive | engine alive | collateral | leaker dead after (s, median) | kill line names | daemon CPU ticks |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_c = {}
    for r in runs:
        by_c.setdefault(r["contender"], []).append(r)
    for c, rs in by_c.items():
        dead = sum(r["leaker_dead"] for r in rs)
        killers = set()
        for r in rs:
            if not r["leaker_dead"]:
                killers.add("nobody")
            elif r["kernel_oom_kills_in_leaker"] or r["leaker_memcg_oom_kill"]:
                killers.add("kernel (memcg OOM)")
            else:
                killers.add(c)
        times = [r["leaker_dead_ms"] / 1000 for r in rs if r["leaker_dead"] and r["leaker_dead_ms"]]
        out.append(
            "| {} | {} | {}/{} | {} | {} | {} | {}/{} | {}/{} | {} | {} | {} | {} |".format(
                c, len(rs), dead, len(rs), ", ".join(sorted(killers)),
                ", ".join(f'{r["kernel_oom_kills"]} ({r["kernel_oom_kills_in_leaker"]})' for r in rs),
                ", ".join(str(r["leaker_memcg_oom_kill"]) for r in rs),
                sum(r["web_alive"] and r["db_alive"] for r in rs), len(rs),
                sum(r["engine_alive"] for r in rs), len(rs),
                sum(r["collateral"] for r in rs),
                f"{statistics.median(times):.1f}" if times else "-",
                "; ".join(r["kill_line_container"] or "-" for r in rs),
                ", ".join(str(r["daemon_cpu_ticks"]) for r in rs)))
    return "\n".join(out)


def browser_table(runs):
    out = [
        "| contender | rep | first death (s) | dead | alive | app scope after | kernel OOM kills | the contender's kills |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        out.append("| {} | {} | {} | {} | {} | {} | {} | {} |".format(
            r["contender"], r["rep"], r["first_death_s"] if r["first_death_s"] is not None else "-",
            r["dead"] or "none", r["alive"] or "none", r["scope"] or "(gone)",
            r["kernel_oom_kills"], r["contender_kills"].replace("|", "/") or "-"))
    return "\n".join(out)


def main():
    dirs = sys.argv[1:]
    if not dirs:
        print(__doc__, file=sys.stderr)
        return 64
    p = load(dirs, "podman")
    if p:
        print("### podman\n\n" + podman_table(p) + "\n")
    b = load(dirs, "browser")
    if b:
        print("### browser\n\n" + browser_table(b) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
