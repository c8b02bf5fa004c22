"""Alternate base / new processes; report min and median CPU per read."""

import statistics
import subprocess
import sys

files = sys.argv[1].split(",")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
code = r"""
import sys, resource
sys.path.insert(0, sys.argv[1])
from services.extract.engine.readers import pdf
data = open(sys.argv[2], "rb").read()
pdf.read(data)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF); return r.ru_utime + r.ru_stime
ts = []
for _ in range(8):
    t = cpu(); pdf.read(data); ts.append(cpu() - t)
print(" ".join(f"{t:.5f}" for t in ts))
"""
for f in files:
    res = {"base": [], "new": []}
    for _r in range(rounds):
        for name, root in (("base", "/tmp/pdfspeed/base"), ("new", "/work/wt/pdfspeed")):
            out = subprocess.run(
                ["/work/wt/pdfspeed/.venv/bin/python", "-c", code, root, f],
                capture_output=True,
                text=True,
                cwd="/tmp",
            ).stdout
            res[name] += [float(x) for x in out.split()]
    b, n = res["base"], res["new"]
    print(
        f"{f.split('/')[-1]:20} base min {min(b):.4f} med {statistics.median(b):.4f}"
        f" | new min {min(n):.4f} med {statistics.median(n):.4f}"
        f" | ratio(med) {statistics.median(n) / statistics.median(b):.3f}"
    )
