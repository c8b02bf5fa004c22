import json
import os
import sys
from pathlib import Path

a, b = sys.argv[1], sys.argv[2]
n = bad = 0
for f in sorted(os.listdir(a)):
    if not f.endswith(".json"):
        continue
    ta, tb = Path(a, f).read_text(), Path(b, f).read_text()

    def load(t):
        if not t.strip():
            return None
        d = json.loads(t)
        d.pop("extracted_at", None)
        return d

    n += 1
    if load(ta) != load(tb):
        bad += 1
        print("DIFF", f)
    ea, eb = Path(a, f[:-5] + ".err").read_text(), Path(b, f[:-5] + ".err").read_text()
    if ea != eb:
        print("STDERR DIFF", f)
print(n, "compared,", bad, "differ (extracted_at ignored)")
