# ruff: noqa: E402  (sys.path is set before the project's modules are imported)
"""page_objects old vs new on every page of every sample."""

import math
import sys

sys.path[:0] = ["/work/wt/pdfspeed", "/tmp/pdfspeed"]
from pathlib import Path

import pdf_objects_old as old
import pypdfium2 as pdfium

from services.extract.engine.readers import pdf_objects as new


def same(a, b):
    if a is None or b is None:
        return a is b
    if a.keys() != b.keys():
        return False
    for k in a:
        if len(a[k]) != len(b[k]):
            return False
        for x, y in zip(a[k], b[k], strict=False):
            if x.keys() != y.keys():
                return False
            for kk in x:
                u, v = x[kk], y[kk]
                if u != v and not (
                    isinstance(u, float) and math.isnan(u) and isinstance(v, float) and math.isnan(v)
                ):
                    return False
    return True


pages = bad = 0
for p in sorted(Path("/tmp/pdfspeed/samples").iterdir()):
    try:
        doc = pdfium.PdfDocument(p.read_bytes())
    except pdfium.PdfiumError:
        continue
    for i in range(len(doc)):
        try:
            a = old.page_objects(doc[i], i + 1, 100.0 * i)
        except pdfium.PdfiumError as e:
            a = repr(e)
        try:
            b = new.page_objects(doc[i], i + 1, 100.0 * i)
        except pdfium.PdfiumError as e:
            b = repr(e)
        pages += 1
        ok = a == b if isinstance(a, str) or isinstance(b, str) else same(a, b)
        if not ok:
            bad += 1
            print("DIFF", p.name, i)
print(pages, "pages", bad, "differ")
