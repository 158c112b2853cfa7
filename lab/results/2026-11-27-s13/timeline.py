"""Per run: the daemon CPU before, during and after the kills, from samples.tsv daemon_ticks.
Usage: python3 lab/results/2026-11-27-s13/timeline.py SERIES...  (from the repository root)"""
# per run: daemon CPU (ms) before the pressure (first 1 s), until the first kill, from the first
# kill to 0.5 s after the last, and after; from samples.tsv's daemon_ticks (10 ms each)
import sys, glob, os, json
for name in sys.argv[1:]:
  for f in sorted(glob.glob(f'lab/results/2026-11-27-s13/{name}/raw/reaperd/*/1/samples.tsv')):
    rows=[l.rstrip('\n').split('\t') for l in open(f)][1:]
    if len(rows[0]) < 11: continue
    t=[int(r[0]) for r in rows]; d=[int(r[9]) for r in rows]; lp=[int(r[10]) for r in rows]
    res=json.load(open(os.path.join(os.path.dirname(f),'result.json')))
    ends=[p['end_ms'] for p in res['procs'] if p['intended'] and p['end_ms']>0]
    start=res['start_ms']
    def at(ms):
      for i,x in enumerate(t):
        if x>=ms: return d[i]
      return d[-1]
    k0=min(ends) if ends else t[-1]; k1=max(ends)+500 if ends else t[-1]
    print(f"{name:5} {res['scenario']:12} total {10*(d[-1]-d[0]):5} ms (loop {10*(lp[-1]-lp[0])}); "
          f"growth {10*(at(k0)-at(start))} over {k0-start} ms; kills {10*(at(k1)-at(k0))} over {k1-k0} ms; "
          f"after {10*(d[-1]-at(k1))} over {t[-1]-k1} ms")
