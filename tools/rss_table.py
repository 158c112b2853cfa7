#!/usr/bin/env python3
"""Prints where a running process's resident memory is, per mapping, from /proc/PID/smaps.

One row per mapped file (or [heap], [stack], [anon], ...), summing every mapping of it:
Size (virtual), Rss, Private (dirty+clean, what this process alone pays for), the mappings'
count, and Mlocked: the resident pages the kernel has really locked (PG_mlocked, read from
/proc/PID/pagemap and /proc/kpageflags; needs root, else shown as '-'), and the pages of a large
folio in a locked mapping (VmFlags "lo"): the kernel sets PG_mlocked on a large folio only when
one locked mapping maps it whole, so a folio of the page cache across the boundary of two
mappings (the executable's hot section and the rest, locked apart) is never PG_mlocked, but
reclaim still leaves it mapped: mm/rmap.c's try_to_unmap_one gives up on a VM_LOCKED mapping.
The totals line is printed beside /proc/PID/status (VmRSS, VmLck, VmHWM).
Beware: smaps' own "Locked" is proportional (PSS) and VmLck counts the virtual size of locked
mappings (with MCL_ONFAULT, nearly all of VmSize), so neither says which resident pages are
locked; Mlocked does (a shared page counts as locked when any process locked it).

Why: issue 8 asks for the daemon's footprint (everything it needs locked) to stay small;
this shows which library or region the kilobytes are in before choosing what to change.

Usage: rss_table.py PID [--sort rss|locked|size|name] [--min-kb N]
Reads only /proc/PID/smaps and /proc/PID/status (needs the right to read them: root or the
process's owner).
"""

import argparse
import os
import sys

import struct

FIELDS = ("Size", "Rss", "Locked", "Private_Clean", "Private_Dirty", "Anonymous")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
KPF_MLOCKED = 1 << 33
KPF_LARGE = (1 << 15) | (1 << 16)  # KPF_COMPOUND_HEAD, KPF_COMPOUND_TAIL
PM_PRESENT = 1 << 63
PFN_MASK = (1 << 55) - 1


def parse_smaps(text):
    """Returns {name: {field: kB, 'maps': n}} from the text of a smaps file."""
    rows = {}
    current = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        # A mapping header: "start-end perms offset dev inode [path]".
        if "-" in parts[0] and len(parts) >= 5 and not parts[0].endswith(":"):
            name = " ".join(parts[5:]) if len(parts) > 5 else "[anon]"
            current = rows.setdefault(name, {f: 0 for f in FIELDS} | {"maps": 0, "ranges": []})
            current["maps"] += 1
            start, end = (int(x, 16) for x in parts[0].split("-"))
            current["ranges"].append([start, end, False])
            continue
        if parts[0] == "VmFlags:" and current is not None:
            current["ranges"][-1][2] = "lo" in parts[1:]
            continue
        key = parts[0].rstrip(":")
        if current is not None and key in FIELDS and len(parts) >= 2:
            current[key] += int(parts[1])
    return rows


def mlocked_kb(pid, ranges):
    """kB of the pages in ranges that are resident and locked (PG_mlocked, or part of a large
    folio in a locked mapping); None without the rights."""
    page = PAGE_KB * 1024
    count = 0
    try:
        with open(f"/proc/{pid}/pagemap", "rb") as pm, open("/proc/kpageflags", "rb") as kf:
            for start, end, locked_vma in ranges:
                if start >= 0x7FFFFFFFFFFF:  # [vsyscall]: not in pagemap
                    continue
                pm.seek(start // page * 8)
                data = pm.read((end - start) // page * 8)
                for (entry,) in struct.iter_unpack("<Q", data):
                    if not entry & PM_PRESENT:
                        continue
                    pfn = entry & PFN_MASK
                    if pfn == 0:
                        return None  # PFNs hidden: not root
                    kf.seek(pfn * 8)
                    (flags,) = struct.unpack("<Q", kf.read(8))
                    if flags & KPF_MLOCKED or (locked_vma and flags & KPF_LARGE):
                        count += 1
    except OSError:
        return None
    return count * PAGE_KB


def parse_status(text):
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("Name", "VmRSS", "VmLck", "VmHWM", "VmSize", "VmPin", "Threads"):
            out[key] = value.strip()
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pid", type=int)
    ap.add_argument("--sort", choices=("rss", "locked", "size", "name"), default="rss")
    ap.add_argument("--min-kb", type=int, default=0, help="hide rows with less Rss than this")
    args = ap.parse_args(argv)
    base = f"/proc/{args.pid}"
    try:
        with open(f"{base}/smaps") as f:
            rows = parse_smaps(f.read())
        with open(f"{base}/status") as f:
            status = parse_status(f.read())
    except OSError as e:
        print(f"rss_table: {e}", file=sys.stderr)
        return 1

    for r in rows.values():
        r["Mlocked"] = mlocked_kb(args.pid, r["ranges"])
    key = {"rss": "Rss", "locked": "Mlocked", "size": "Size"}.get(args.sort)
    items = sorted(rows.items(), key=(lambda kv: kv[0]) if key is None
                   else (lambda kv: -(kv[1][key] or 0)))
    print(f"{'mapping':<48} {'maps':>4} {'Size':>8} {'Rss':>7} {'Mlocked':>7} {'Private':>7}"
          "  (kB)")
    total = {f: 0 for f in FIELDS} | {"maps": 0, "Mlocked": 0}
    for name, r in items:
        for f in total:
            if total[f] is not None:
                total[f] = None if r[f] is None else total[f] + r[f]
        if r["Rss"] < args.min_kb:
            continue
        private = r["Private_Clean"] + r["Private_Dirty"]
        shown = name if len(name) <= 48 else "..." + name[-45:]
        locked = "-" if r["Mlocked"] is None else r["Mlocked"]
        print(f"{shown:<48} {r['maps']:>4} {r['Size']:>8} {r['Rss']:>7} {locked:>7} "
              f"{private:>7}")
    private = total["Private_Clean"] + total["Private_Dirty"]
    locked = "-" if total["Mlocked"] is None else total["Mlocked"]
    print(f"{'total':<48} {total['maps']:>4} {total['Size']:>8} {total['Rss']:>7} "
          f"{locked:>7} {private:>7}")
    print(f"status: pid={args.pid} name={status.get('Name', '?')} "
          f"threads={status.get('Threads', '?')} VmSize={status.get('VmSize', '?')} "
          f"VmRSS={status.get('VmRSS', '?')} VmLck={status.get('VmLck', '?')} "
          f"VmHWM={status.get('VmHWM', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
