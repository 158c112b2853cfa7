# Pools the growers runs of several series per binary: decision_to_signal of first and second
# kills, the probe's longest stall, the daemon's CPU. Usage (from the repository's root):
# python3 lab/results/2026-11-28-s19/pool.py NAME=SERIES,SERIES... [NAME=...]
import re,glob,statistics as st,json,sys,os
base = os.path.dirname(os.path.abspath(__file__))
groups={}
for arg in sys.argv[1:]:
    name,ss=arg.split('=')
    groups[name]=ss.split(',')
for g,ss in groups.items():
    first=[];second=[];gaps=[];cpu=[];koom=0
    for s in ss:
        for d in sorted(glob.glob(f'{base}/{s}/raw/reaperd/growers/*/')):
            for line in open(d+'daemon.log'):
                m=re.search(r'kill_report seq=(\d+).*decision_to_signal_ms=([\d.]+)',line)
                if m:
                    (first if m.group(1)=='1' else second).append(float(m.group(2)))
            r=json.load(open(d+'result.json')); gaps.append(r['probe']['max_gap_ms']); cpu.append(r['daemon']['cpu_ms']); koom+=len(r.get('kernel_kills',[]))
    allk=first+second
    f=lambda xs: ' '.join(f'{x:.1f}' for x in sorted(xs))
    print(f"{g} ({','.join(ss)}): {len(gaps)} runs, kernel kills {koom}\n  d2s all median {st.median(allk):.2f}\n  first  median {st.median(first):.2f}: {f(first)}\n  second median {st.median(second):.2f}: {f(second)}\n  probe gap median {st.median(gaps):.0f}: {f(gaps)}\n  cpu median {st.median(cpu)}: {f(cpu)}")
