#!/bin/bash
# The hot section's contents (issue 13, the footprint): the runtime every kill and every tick
# calls is linked into .text.reaperd_hot (cmake/hot.ld), which is locked whole, and not into
# the trimmed .text. A function left there costs up to 16 resident pages when it is first
# touched after start-up (the kernel maps the 64 KiB around a faulting page of a file it holds),
# and is read from disk at the first kill if the page cache lost it. Checked on the binary's
# symbol table: each function below, in every variant the binary has (the string functions
# have one per CPU feature set, chosen at start), lies between __reaperd_hot_start and
# __reaperd_hot_end. The list is the C library's and libstdc++'s functions the kill path's
# layers call (nm -u on their archives), the string functions and the allocator under them,
# and fmt's and std::string's members, which are header-only and were kept from a cold
# object before the hot layers were linked first (cmake/lean.cmake). tools/cold_faults.py
# finds what else a running daemon faults back in. Skipped for a build without the section
# (the sanitizers' builds are not linked with cmake/hot.ld).
# Usage: hot_layout.sh BUILD_DIR SOURCE_DIR REAPERD_BINARY
set -u
bin=$3
skip() { echo "SKIP: $*" >&2; exit 77; }
command -v nm > /dev/null || skip "nm missing"
syms=$(mktemp)
trap 'rm -f "$syms"' EXIT
nm --defined-only "$bin" > "$syms" 2> /dev/null || skip "$bin has no symbol table"
grep -q ' __reaperd_hot_start$' "$syms" || skip "$bin has no hot section (not a lean build)"
python3 - "$syms" << 'PY'
import re, sys
syms = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) == 3:
        syms.setdefault(f[2], int(f[0], 16))
lo, hi = syms["__reaperd_hot_start"], syms["__reaperd_hot_end"]
# Exact names, or a regular expression for a family (every variant must be hot).
wanted = [
    "read", "__libc_pread64", "__libc_openat64", "__close", "__libc_write", "epoll_wait",
    "syscall", "__clock_gettime", "kill", "waitid", "poll", "__fstatat64", "__getdents64",
    "malloc", "free", "realloc", "__errno_location", "pthread_mutex_lock",
    "pthread_mutex_unlock", "__pthread_enable_asynccancel", "getenv",
    "_Znwm", "_ZdlPvm", "_ZNSt6chrono3_V212steady_clock3nowEv",
    "_ZSt18_Rb_tree_incrementPSt18_Rb_tree_node_base",
    # The slow paths under them (session 13): a contended lock's wait and wake, a condition
    # variable's signal, and the futex wait a parked thread sleeps in (the reapers are parked
    # there when the start-up's code is trimmed, and wake there at a kill). nm -u on the hot
    # archives does not name them: the hot functions reach them through libc's own calls.
    "__lll_lock_wait", "__lll_lock_wake", "__lll_lock_wait_private", "__lll_lock_wake_private",
    "__pthread_cond_signal", "__pthread_cond_broadcast", "__futex_abstimed_wait_common",
    "__futex_abstimed_wait_cancelable64", "_pthread_cleanup_push", "_pthread_cleanup_pop",
    r"re:^__(memmove|memcpy|memset|strlen|memcmp|strchr|memchr)_(sse2|avx2|evex|avx512)\w*$",
    r"re:^_ZN3fmt2v96detail10vformat_toIcEEvRNS1_6bufferIT_EENS0_17basic_string_viewIS4_EE\w*",
    r"re:^_ZNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE(9_M_create|9_M_mutate|10_M_replace|9_M_append)",
]
bad, checked = [], 0
for w in wanted:
    if w.startswith("re:"):
        rx = re.compile(w[3:])
        names = [n for n in syms if rx.search(n)]
    else:
        names = [w] if w in syms else []
    if not names:
        bad.append(f"{w}: no such symbol in the binary")
    for n in names:
        checked += 1
        if not lo <= syms[n] < hi:
            bad.append(f"{n} at {syms[n]:#x}, outside the hot section [{lo:#x}, {hi:#x})")
for b in bad:
    print("FAIL:", b)
print(f"{checked} functions checked, {len(bad)} outside the hot section "
      f"({(hi - lo) // 4096} pages)")
sys.exit(1 if bad else 0)
PY
