#!/usr/bin/env python3
"""Counts a running process's resident pages of its executable per ELF section.

Reads /proc/PID/maps and /proc/PID/pagemap (root) for the executable's mappings and the
section headers (readelf -SW) of /proc/PID/exe, and prints how many resident pages fall in
each section (a page that holds several sections counts once, under all their names).
Shows which read-only pages a code path touched: the cold code and .rodata are read back
as they are touched (sys::TrimColdCode), so their resident pages are the daemon's footprint.
Usage: tools/exe_pages.py PID
"""
import collections
import os
import struct
import subprocess
import sys


def sections(exe):
    out = []
    text = subprocess.run(["readelf", "-SW", exe], check=True, capture_output=True, text=True).stdout
    for line in text.splitlines():
        if "]" not in line or line.strip().startswith("[Nr]"):
            continue
        f = line.split("]", 1)[1].split()
        if len(f) < 5:
            continue
        try:
            off, size = int(f[3], 16), int(f[4], 16)
        except ValueError:
            continue
        if size:
            out.append((f[0], off, size))
    return out


def main():
    pid = sys.argv[1]
    exe = os.readlink(f"/proc/{pid}/exe")
    secs = sections(f"/proc/{pid}/exe")
    counts = collections.Counter()
    with open(f"/proc/{pid}/pagemap", "rb") as pm:
        for line in open(f"/proc/{pid}/maps"):
            f = line.split()
            if len(f) < 6 or f[5] != exe:
                continue
            a, b = (int(x, 16) for x in f[0].split("-"))
            off = int(f[2], 16)
            pm.seek(a // 4096 * 8)
            data = pm.read((b - a) // 4096 * 8)
            for i in range((b - a) // 4096):
                if struct.unpack_from("Q", data, i * 8)[0] >> 63:
                    page = off + i * 4096
                    names = [n for n, o, s in secs if o < page + 4096 and page < o + s]
                    counts[(f[1], ",".join(names) or "?")] += 1
    print(f"{'pages':>6}  perm  sections   ({exe})")
    for (perm, names), n in sorted(counts.items(), key=lambda kv: -kv[1]):
        print(f"{n:>6}  {perm}  {names}")
    print(f"{sum(counts.values()):>6}  total ({sum(counts.values()) * 4} kB)")


if __name__ == "__main__":
    main()
