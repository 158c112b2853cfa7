#!/usr/bin/env python3
"""The summary table over runs from several reports (results.jsonl files written by analyze.py),
for cells whose runs came from different boots or series, and which file each run came from.

Usage: lab/merge_summary.py A/results.jsonl B/results.jsonl ...
Every run (contender, scenario, rep) is taken from the LAST file that has it.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import analyze  # noqa: E402


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 64
    runs = {}
    for i, path in enumerate(argv[1:]):
        with open(path) as f:
            for line in f:
                m = json.loads(line)
                m["_from"] = i
                runs[(m["contender"], m["scenario"], str(m["rep"]))] = m
    print("\n".join(analyze.summary_table(list(runs.values()))))
    print()
    print("Runs per cell and where they came from (file index, rep):")
    by = {}
    for (c, s, r), m in sorted(runs.items()):
        by.setdefault((c, s), []).append(f"{m['_from']}:{r}")
    for (c, s), v in sorted(by.items()):
        print(f"- {c} {s}: {', '.join(v)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
