#!/usr/bin/env python3
"""Which of the executable's trimmed pages the daemon faults back in, and which code does.

sys::TrimColdCode drops the executable's read-only pages outside the hot section
(cmake/hot.ld) and locks them again as they are touched. Each fault on a dropped page maps
the whole 64 KiB window around it (the kernel's fault-around, which MADV_RANDOM does not
turn off), so one touched function costs up to 16 resident pages. This reads a
`perf record -k CLOCK_MONOTONIC -e page-faults -e syscalls:sys_enter_mlock2 -c 1 -d` of
`reaperd run` (without -g: with call chains, perf dropped some fault samples here) and
lists, per 64 KiB window of the executable faulted after the trim (the end of the
first burst of mlock2, its relock), the faults and the functions whose touch faulted them (their callers with -g).
Those functions belong in the hot section; the windows they leave untouched stay unmapped.
With --until T (the perf clock; record with -k CLOCK_MONOTONIC), faults after T (the
daemon's exit) are left out.
Usage: tools/cold_faults.py [--until T] PERF_DATA [EXE]
"""
import bisect
import collections
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exe_pages import sections  # noqa: E402  (readelf -SW: name, file offset, size)


def symbols(exe):
    out = []
    text = subprocess.run(["nm", "-n", "-S", "-C", "--defined-only", exe], check=True,
                          capture_output=True, text=True).stdout
    for line in text.splitlines():
        f = line.split(None, 3)
        if len(f) == 4 and f[2] in "tTwWiI":
            out.append((int(f[0], 16), int(f[1], 16), f[3]))
    return sorted(out)


def vaddr_of(exe):
    """File offset to the ELF's virtual address, per PT_LOAD."""
    loads = []
    text = subprocess.run(["readelf", "-lW", exe], check=True, capture_output=True,
                          text=True).stdout
    for line in text.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            loads.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))
    return lambda off: next((v + off - o for o, v, n in loads if o <= off < o + n), off)


def main():
    args = sys.argv[1:]
    until = float("inf")
    if args[:1] == ["--until"]:
        until = float(args[1])
        args = args[2:]
    data = args[0]
    script = subprocess.run(
        ["perf", "script", "-i", data, "--show-mmap-events", "-F",
         "comm,tid,time,event,addr,ip"],
        check=True, capture_output=True, text=True).stdout
    maps = []  # (start, end, pgoff, path)
    events = []  # (time, kind, addr, [frames])
    cur = None
    header_re = re.compile(r"^\s*\S+\s+\d+\s+[\d.]+:\s+\S+:")
    mmap_re = re.compile(r"PERF_RECORD_MMAP2 .*\[(0x[0-9a-f]+)\((0x[0-9a-f]+)\) @ (0x[0-9a-f]+|0) .*\]: \S+ (\S+)$")
    for line in script.splitlines():
        if "PERF_RECORD_MMAP2" in line:
            m = mmap_re.search(line)
            if m:
                s, n, off, path = int(m[1], 16), int(m[2], 16), int(m[3], 16), m[4]
                maps.append((s, s + n, off, path))
            continue
        if not line.strip():
            cur = None
            continue
        if header_re.match(line):
            f = line.split()
            # comm tid time: event: addr ...
            try:
                t = float(f[2].rstrip(":"))
            except (IndexError, ValueError):
                continue
            kind = f[3].rstrip(":")
            addr = int(f[4], 16) if kind == "page-faults" else 0
            # Without -g the faulting ip is on this line; with -g it heads the chain below.
            ip = int(f[5], 16) if len(f) > 5 and re.fullmatch(r"[0-9a-f]+", f[5]) else None
            cur = [t, kind, addr, [] if ip is None else [ip]]
            events.append(cur)
        elif cur is not None:
            f = line.split(None, 1)
            if f and (len(cur[3]) != 1 or cur[3][0] != int(f[0], 16)):
                cur[3].append(int(f[0], 16))
    exe = args[1] if len(args) > 1 else next(p for s, e, o, p in maps if "reaperd" in p)
    secs = sections(exe)
    syms = symbols(exe)
    starts = [a for a, n, name in syms]
    to_vaddr = vaddr_of(exe)

    def offset(addr):
        for s, e, off, path in maps:
            if path == exe and s <= addr < e:
                return addr - s + off
        return None

    def name_of(ip):
        off = offset(ip)
        # perf prints a frame in a known object as its address in that object already
        v = ip if off is None else to_vaddr(off)
        i = bisect.bisect_right(starts, v) - 1
        if i >= 0 and v < syms[i][0] + max(syms[i][1], 1):
            return syms[i][2]
        return f"{v:#x}"
    hot = [(o, o + s) for n, o, s in secs if n == ".text.reaperd_hot"]
    locks = [e[0] for e in events if e[1].endswith("sys_enter_mlock2")]
    if not locks:
        sys.exit("no mlock2 in the record: was the daemon run with its memory locked?")
    # The trim's relock is a burst of mlock2 calls within a millisecond: the last of it.
    trim_end = locks[0]
    for t in locks[1:]:
        if t - trim_end > 0.01:
            break
        trim_end = t
    windows = collections.defaultdict(collections.Counter)  # (window, sections) -> chains
    for t, kind, addr, frames in events:
        if kind != "page-faults" or t < trim_end or t > until:
            continue
        foff = offset(addr)
        if foff is None:
            continue
        if any(a <= foff < b for a, b in hot):
            continue
        names = [n for n, o, sz in secs if o <= foff < o + sz and not n.startswith(".debug")]
        user = [name_of(ip) for ip in frames if ip < (1 << 63)]
        chain = " <- ".join(n[:60] for n in user[:3])
        windows[(foff // 65536, ",".join(names) or "?")][chain] += 1
    for (win, names), who in sorted(windows.items()):
        print(f"window {win * 65536:#9x} {names:<14} faults {sum(who.values()):>3}")
        for chain, n in who.most_common(4):
            print(f"    {n:>3}  {chain}")
    print(f"{len(windows)} windows of 64 KiB faulted after the trim (at {trim_end:.6f})")


if __name__ == "__main__":
    main()
