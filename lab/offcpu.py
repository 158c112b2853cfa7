#!/usr/bin/env python3
"""Off-CPU intervals of a pid from an ftrace sched_switch trace with stacktraces.
Usage: offcpu.py trace.txt PID [min_ms]

The trace is what the lab writes with LAB_APPEND="lab.trace=1" (lab/README.md): the
contender's main thread's sched_switch events with stacks. Prints each interval the thread
spent off a CPU for at least min_ms (2) outside epoll_wait, with the stack it left from, and
the reclaim throttles."""
import re, sys
path, pid = sys.argv[1], sys.argv[2]
min_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
ev = re.compile(r'\s(\d+\.\d+): (\w+): (.*)')
out_t = None; out_state = None; stack = []; cur = None; res = []; throttles = []
lines = open(path, errors='replace').read().splitlines()
i = 0
for line in lines:
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
            cur = 'thr'
    elif line.strip().startswith('=>') and cur == 'out':
        stack.append(line.strip()[3:])
idle = ('do_epoll_wait', 'ep_poll')
print(f'{len(res)} off-CPU intervals; over {min_ms} ms and not in epoll_wait:')
for d, t, st, stk in res:
    if d >= min_ms and not any(any(x in f for x in idle) for f in stk):
        frames = [f for f in stk if not f.startswith(('__schedule', 'schedule', 'trace_event', '__traceiter'))][:8]
        print(f'  {t:.6f} {d:8.2f} ms state={st} ' + ' < '.join(frames))
print(f'{len(throttles)} reclaim throttles')
for t, l in throttles[:40]:
    print('  ', l[:200])
