"""Per run: CPU ms (reapers), VmHWM, probe gap, kernel OOM kills, duration, decision_to_signal.
Usage: python3 lab/results/2026-11-27-s13/table.py SERIES...  (from the repository's root)"""
import sys,json,glob,os
for name in sys.argv[1:]:
  for f in sorted(glob.glob(f'lab/results/2026-11-27-s13/{name}/raw/*/*/*/result.json')):
    j=json.load(open(f)); d=j['daemon']; p=j['probe']
    log=os.path.join(os.path.dirname(f),'daemon.log')
    d2s=[]
    if os.path.exists(log):
      for l in open(log):
        if 'reaped seq=' in l and 'decision_to_signal_ms=' in l:
          d2s.append(float(l.split('decision_to_signal_ms=')[1].split()[0]))
    print(f"{name:6} {j['contender']:9} {j['scenario']:12} cpu {d['cpu_ms']:5} reap {d['reap_cpu_ms']:4} hwm {d.get('hwm_kb')} gap {p['max_gap_ms']:7} koom {len(j['kernel_kills'])} dur {j['end_ms']-j['start_ms']} d2s {sorted(d2s)}")
