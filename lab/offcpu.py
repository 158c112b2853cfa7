#!/usr/bin/env python3
"""Off-CPU intervals of a pid from an ftrace sched_switch trace with stacktraces.
Usage: offcpu.py trace.txt PID [min_ms] [daemon.log]

The trace is what the lab writes with LAB_APPEND="lab.trace=1" (lab/README.md): the
contender's main thread's sched_switch events with stacks. Prints each interval the thread
spent off a CPU for at least min_ms (2) outside epoll_wait, with the stack it left from, its
direct reclaims (since session 21: on a CPU, but the kernel's work, not the daemon's) and the
reclaim throttles. With reaperd's daemon.log (kill lines with decided_mono_ms, since
session 20; the trace on the mono clock), each kill's window from decision to signal too,
and the intervals that overlap one are marked with its seq."""
import re, sys
path, pid = sys.argv[1], sys.argv[2]
min_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
log = sys.argv[4] if len(sys.argv) > 4 else None
ev = re.compile(r'\s(\d+\.\d+): (\w+): (.*)')
out_t = None; out_state = None; stack = []; cur = None; res = []; throttles = []
dr_t = None; dr_stack = []; reclaims = []  # direct reclaims: (ms, start, stack of the entry)
for line in open(path, errors='replace').read().splitlines():
    m = ev.search(line)
    if m and '<stack trace>' not in line:
        t, name, body = float(m.group(1)), m.group(2), m.group(3)
        cur = None
        if name == 'sched_switch':
            if f'prev_pid={pid} ' in body:
                st = re.search(r'prev_state=(\S+)', body).group(1)
                out_t, out_state, stack = t, st, []
                cur = 'out'
            elif f'next_pid={pid} ' in body and out_t is not None:
                res.append(((t - out_t) * 1e3, out_t, out_state, stack))
                out_t = None
        elif name == 'mm_vmscan_throttled':
            throttles.append((t, line.strip()))
        elif name == 'mm_vmscan_direct_reclaim_begin' and f'-{pid} ' in line:
            dr_t, dr_stack = t, []
            cur = 'dr'
        elif name == 'mm_vmscan_direct_reclaim_end' and f'-{pid} ' in line and dr_t is not None:
            reclaims.append(((t - dr_t) * 1e3, dr_t, dr_stack))
            dr_t = None
    elif line.strip().startswith('=>') and cur == 'out':
        stack.append(line.strip()[3:])
    elif line.strip().startswith('=>') and cur == 'dr':
        dr_stack.append(line.strip()[3:])

# Kill windows [decided, decided + decision_to_signal], in seconds, by seq.
windows = {}
if log:
    decided, d2s = {}, {}
    for l in open(log, errors='replace'):
        seq = re.search(r' seq=(\d+) ', l)
        if not seq:
            continue
        if '] kill seq=' in l and 'decided_mono_ms=' in l:
            decided[seq.group(1)] = float(re.search(r'decided_mono_ms=([\d.]+)', l).group(1))
        elif '] reaped seq=' in l:
            d2s[seq.group(1)] = float(re.search(r'decision_to_signal_ms=([\d.]+)', l).group(1))
    for s, at in decided.items():
        if s in d2s:
            windows[s] = (at / 1e3, (at + d2s[s]) / 1e3)
    for s, (a, b) in sorted(windows.items()):
        inside = sum(min(t + d / 1e3, b) - max(t, a) for d, t, _, _ in res
                     if t < b and t + d / 1e3 > a) * 1e3
        reclaiming = sum(min(t + d / 1e3, b) - max(t, a) for d, t, _ in reclaims
                         if t < b and t + d / 1e3 > a) * 1e3
        print(f'kill seq={s} decided {a:.6f} signal {b:.6f} ({(b - a) * 1e3:.2f} ms): '
              f'{inside:.2f} ms of it off a CPU, {reclaiming:.2f} ms in direct reclaim')


def in_kill(t, d):
    return [s for s, (a, b) in windows.items() if t < b and t + d / 1e3 > a]


idle = ('do_epoll_wait', 'ep_poll')
skip = ('__schedule', 'schedule', 'trace_event', '__traceiter')
print(f'{len(res)} off-CPU intervals; over {min_ms} ms and not in epoll_wait:')
for d, t, st, stk in res:
    if d >= min_ms and not any(any(x in f for x in idle) for f in stk):
        frames = [f for f in stk if not f.startswith(skip)][:8]
        mark = ''.join(f' [in kill seq={s}]' for s in in_kill(t, d))
        print(f'  {t:.6f} {d:8.2f} ms state={st}{mark} ' + ' < '.join(frames))
print(f'{len(reclaims)} direct reclaims by the thread, '
      f'{sum(d for d, _, _ in reclaims):.2f} ms in all; over {min_ms / 4} ms:')
for d, t, stk in reclaims:
    if d >= min_ms / 4:
        frames = [f for f in stk if not f.startswith(skip)][:10]
        mark = ''.join(f' [in kill seq={s}]' for s in in_kill(t, d))
        print(f'  {t:.6f} {d:8.2f} ms{mark} ' + ' < '.join(frames))
print(f'{len(throttles)} reclaim throttles')
for t, l in throttles[:40]:
    print('  ', l[:200])
