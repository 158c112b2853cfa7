#!/usr/bin/env python3
"""Captures pressure traces for the detector's tests from real memory pressure, safely.

Creates a memory-limited cgroup v1 child under the memory cgroup this process is in (read from
/proc/self/cgroup at run time), runs one workload inside it, and samples /proc/meminfo,
/proc/pressure/memory and the cgroup's usage, limit and stat every --interval-ms. Each workload
stops itself before the limit (it reads its own usage after every chunk), and the cgroup is
removed afterwards. Must run as root. Nothing outside the child cgroup is ever touched.

Trace format (tests/fixtures/traces/*.trace), one sample per line, '#' starts a comment:
  t_ns total_bytes available_bytes swap_total swap_free psi_some_us psi_full_us refault scan
For a cgroup scope: total = the limit; available = limit - usage + total_inactive_file (clean
inactive page cache is what memcg reclaim takes first); swap is 0 (no swap on these hosts);
psi is the system's /proc/pressure/memory (v1 has no per-cgroup PSI); refault is
total_workingset_refault_anon + _file; scan is 0 (v1 memory.stat has no pgscan).

Usage: capture_trace.py SCENARIO OUTDIR   (scenarios: see SCENARIOS below)
"""

import mmap
import os
import signal
import subprocess
import sys
import time

MIB = 1 << 20
CHUNK = 4 * MIB
MEMCG_ROOT = "/sys/fs/cgroup/memory"


def read(path):
    with open(path) as f:
        return f.read()


def own_memcg():
    for line in read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return MEMCG_ROOT + path
    sys.exit("no v1 memory cgroup in /proc/self/cgroup")


def cgroup_stat(cg):
    out = {}
    for line in read(cg + "/memory.stat").splitlines():
        k, v = line.split()
        out[k] = int(v)
    return out


# ---- workloads: run inside the child cgroup, in a child process ----

def usage(cg):
    return int(read(cg + "/memory.usage_in_bytes"))


def touch_chunk():
    m = mmap.mmap(-1, CHUNK)
    m.write(b"\x5a" * CHUNK)  # every page written, so every page is charged
    return m


def grow(cg, limit, rate_mib_s, stop_frac, chunks):
    """Allocates at rate_mib_s until usage reaches stop_frac of the limit."""
    start = time.monotonic()
    while usage(cg) + CHUNK < stop_frac * limit:
        chunks.append(touch_chunk())
        due = start + len(chunks) * CHUNK / (rate_mib_s * MIB)
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def release(chunks, rate_mib_s):
    while chunks:
        chunks.pop().close()  # munmap: the memory goes back at once
        if rate_mib_s:
            time.sleep(CHUNK / (rate_mib_s * MIB))


def workload(kind, cg, arg):
    limit = int(read(cg + "/memory.limit_in_bytes"))
    chunks = []
    time.sleep(1.0)  # an idle lead-in for the trace
    if kind == "hog":  # arg: rate MiB/s; grows to 97%, holds 1 s (a victim slow to die), exits
        grow(cg, limit, float(arg), 0.97, chunks)
        time.sleep(1.0)
    elif kind == "slow_return":  # grows to 96%, holds, then frees gradually at 60 MiB/s
        grow(cg, limit, float(arg), 0.96, chunks)
        time.sleep(0.8)
        release(chunks, 60)
        time.sleep(1.5)
    elif kind == "spike":  # short bursts, each freed after 300 ms: arg = rate/frac,rate/frac...
        for burst in arg.split(","):
            rate, frac = burst.split("/")
            grow(cg, limit, float(rate), float(frac), chunks)
            time.sleep(0.3)
            release(chunks, 0)
            time.sleep(1.5)
    elif kind == "churn":  # reads a file larger than the limit over and over for 12 s
        end = time.monotonic() + 12
        while time.monotonic() < end:
            with open(arg, "rb", buffering=0) as f:
                while f.read(MIB):
                    pass


# ---- the sampler ----

def sample_line(cg, t0):
    t = time.monotonic_ns() - t0
    psi = read("/proc/pressure/memory").split("\n")
    some = int(psi[0].rsplit("total=", 1)[1])
    full = int(psi[1].rsplit("total=", 1)[1])
    limit = int(read(cg + "/memory.limit_in_bytes"))
    used = usage(cg)
    st = cgroup_stat(cg)
    avail = max(0, limit - used) + st["total_inactive_file"]
    refault = st.get("total_workingset_refault_anon", 0) + st.get("total_workingset_refault_file", 0)
    return f"{t} {limit} {min(avail, limit)} 0 0 {some} {full} {refault} 0"


def make_cgroup(name, limit_mib):
    cg = f"{own_memcg()}/reaperd-trace-{os.getpid()}-{name}"
    os.mkdir(cg)
    with open(cg + "/memory.limit_in_bytes", "w") as f:
        f.write(str(limit_mib * MIB))
    return cg


def start_in(cg, kind, arg):
    def enter():
        with open(cg + "/cgroup.procs", "w") as f:
            f.write(str(os.getpid()))
    return subprocess.Popen([sys.executable, __file__, "--workload", kind, cg, str(arg)],
                            preexec_fn=enter)


def remove_cgroup(cg):
    for _ in range(100):
        try:
            os.rmdir(cg)
            return
        except OSError:
            time.sleep(0.1)
    print(f"warning: could not remove {cg}", file=sys.stderr)


# name -> list of (cgroup name, limit MiB, workload, arg)
SCENARIOS = {
    "fast_hog": [("a", 512, "hog", 200)],
    "extreme_hog": [("a", 512, "hog", 400)],  # 78% of the scope per second
    "slow_leak": [("a", 512, "hog", 25)],
    # Fast and shallow (above the warn threshold), then slower and into the warn zone.
    "spike": [("a", 512, "spike", "400/0.86,400/0.86,100/0.92,100/0.92")],
    "slow_return": [("a", 512, "slow_return", 150)],
    "churn": [("a", 256, "churn", None)],
    "two_scopes": [("a", 384, "hog", 200), ("b", 384, "hog", 40)],
}


def capture(scenario, outdir, interval_ms=50):
    groups, procs, files = [], [], []
    churn_file = None
    try:
        for name, limit_mib, kind, arg in SCENARIOS[scenario]:
            if kind == "churn":  # written from outside the cgroup, 1.5x the limit, on disk
                churn_file = os.path.join(outdir, f".churn-{os.getpid()}")
                with open(churn_file, "wb") as f:
                    for _ in range(limit_mib * 3 // 2):
                        f.write(os.urandom(MIB))
                    os.fsync(f.fileno())
                    # Evict its cache, so the reads in the cgroup are charged to the cgroup.
                    os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
                arg = churn_file
            cg = make_cgroup(name, limit_mib)
            groups.append(cg)
            suffix = "" if len(SCENARIOS[scenario]) == 1 else f"_{name}"
            out = open(os.path.join(outdir, f"{scenario}{suffix}.trace"), "w")
            out.write(f"# reaperd pressure trace: {scenario} scope {name}: cgroup v1 limit "
                      f"{limit_mib} MiB, workload {kind} {arg if kind != 'churn' else '(1.5x file)'}"
                      f", sampled every {interval_ms} ms by tools/capture_trace.py on "
                      f"{os.uname().release}\n"
                      "# t_ns total_bytes available_bytes swap_total swap_free psi_some_us "
                      "psi_full_us refault scan\n")
            files.append(out)
        t0 = time.monotonic_ns()
        for cg, (_, _, kind, arg) in zip(groups, SCENARIOS[scenario]):
            procs.append(start_in(cg, kind, churn_file if kind == "churn" else arg))
        tail_until = None
        next_t = time.monotonic()
        while tail_until is None or time.monotonic() < tail_until:
            for cg, out in zip(groups, files):
                out.write(sample_line(cg, t0) + "\n")
            if tail_until is None and all(p.poll() is not None for p in procs):
                tail_until = time.monotonic() + 1.0
            # A late sample moves the schedule on instead of sampling back to back to catch up.
            next_t = max(next_t + interval_ms / 1000, time.monotonic())
            time.sleep(max(0.0, next_t - time.monotonic()))
        for p, cg in zip(procs, groups):
            oom = read(cg + "/memory.oom_control").split()
            print(f"{scenario} {cg.rsplit('-', 1)[1]}: exit {p.returncode}, "
                  f"failcnt {read(cg + '/memory.failcnt').strip()}, "
                  f"oom_kill {oom[oom.index('oom_kill') + 1] if 'oom_kill' in oom else '?'}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait()
        for f in files:
            f.close()
        for cg in groups:
            remove_cgroup(cg)
        if churn_file:
            os.unlink(churn_file)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--workload":
        workload(sys.argv[2], sys.argv[3], sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] in SCENARIOS:
        capture(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
