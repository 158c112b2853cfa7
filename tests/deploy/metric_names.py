#!/usr/bin/env python3
"""Every reaperd_* metric the Grafana dashboard and the alerting rules use must be one that
reaperd exports: the names are taken from a real exposition (a short `reaperd run --dry-run`
writing its metrics file; every family is rendered with its HELP and TYPE even before it has
a series), not from a list kept by hand. Usage: metric_names.py BUILD_DIR SOURCE_DIR REAPERD."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

NAME = re.compile(r"\breaperd_[a-zA-Z0-9_]+")


def exported(build_dir, reaperd):
    # Under the build directory: the daemon refuses a config in a world-writable directory.
    d = tempfile.mkdtemp(prefix="metric-names-", dir=build_dir)
    try:
        os.chmod(d, 0o755)
        cfg = os.path.join(d, "reaperd.toml")
        prom = os.path.join(d, "reaperd.prom")
        with open(cfg, "w") as f:
            f.write('[report]\nkill_report_path = ""\nstatus_socket = ""\n'
                    f'metrics_textfile_path = "{prom}"\n')
        os.chmod(cfg, 0o644)
        run = subprocess.run([reaperd, "run", "--dry-run", "--no-mlock", "--run-for-ms", "1500",
                              "--scope", "system", "--config", cfg],
                             capture_output=True, text=True, timeout=60)
        if not os.path.exists(prom):
            sys.exit(f"reaperd wrote no metrics file (exit {run.returncode}):\n{run.stderr}")
        names = set()
        for line in open(prom):
            m = re.match(r"# TYPE (\S+) (\S+)", line)
            if not m:
                continue
            names.add(m.group(1))
            if m.group(2) == "histogram":
                names.update(m.group(1) + s for s in ("_bucket", "_sum", "_count"))
        return names
    finally:
        shutil.rmtree(d, ignore_errors=True)


def used(source_dir):
    out = {}
    dash = json.load(open(os.path.join(source_dir, "deploy/grafana/reaperd.json")))
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        exprs.append(q.get("query", "") if isinstance(q, dict) else str(q or ""))
    for e in exprs:
        for n in NAME.findall(e):
            out.setdefault(n, "deploy/grafana/reaperd.json")
    rules = open(os.path.join(source_dir, "deploy/prometheus/alerts.yml")).read()
    for line in rules.splitlines():
        if line.strip().startswith("expr:"):
            for n in NAME.findall(line):
                out.setdefault(n, "deploy/prometheus/alerts.yml")
    return out


def main():
    build_dir, source_dir, reaperd = sys.argv[1:4]
    have = exported(build_dir, reaperd)
    want = used(source_dir)
    if len(want) < 10:
        sys.exit(f"only {len(want)} reaperd metric names found in the dashboard and rules")
    missing = sorted(f"{n} (in {where})" for n, where in want.items() if n not in have)
    if missing:
        sys.exit("not exported by reaperd:\n  " + "\n  ".join(missing))
    print(f"{len(want)} metric names used, all among the {len(have)} reaperd exports")


if __name__ == "__main__":
    main()
