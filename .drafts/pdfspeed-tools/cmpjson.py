import json, sys, os
a, b = sys.argv[1], sys.argv[2]
n = bad = 0
for f in sorted(os.listdir(a)):
    if not f.endswith(".json"): continue
    ta, tb = open(os.path.join(a, f)).read(), open(os.path.join(b, f)).read()
    def load(t):
        if not t.strip(): return None
        d = json.loads(t); d.pop("extracted_at", None); return d
    n += 1
    if load(ta) != load(tb): bad += 1; print("DIFF", f)
    ea, eb = open(os.path.join(a, f[:-5] + ".err")).read(), open(os.path.join(b, f[:-5] + ".err")).read()
    if ea != eb: print("STDERR DIFF", f)
print(n, "compared,", bad, "differ (extracted_at ignored)")
