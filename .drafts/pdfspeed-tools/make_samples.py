# ruff: noqa: E402  (sys.path is set before the project's modules are imported)
"""Write the comparison PDFs: corpus, generated, LibreOffice, fuzz mutations."""

import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path("/work/wt/pdfspeed")
sys.path[:0] = [str(ROOT), str(ROOT / "tests/unit/extract"), str(ROOT / "tests/fuzz")]
import mutate
import reportgen

out = Path("/tmp/pdfspeed/samples")
out.mkdir(parents=True, exist_ok=True)
seeds = {
    "dev-12.pdf": Path("/work/shared/corpus/dev/dev-12.pdf").read_bytes(),
    "gen-grid.pdf": reportgen.pdf_bytes(),
    "gen-unruled.pdf": reportgen.pdf_bytes(grid=False),
    "gen-repeat.pdf": reportgen.pdf_bytes(grid=True, repeat_header=True),
}
with tempfile.TemporaryDirectory() as tmp:
    src = Path(tmp) / "report.docx"
    src.write_bytes(reportgen.docx_bytes())
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            tmp,
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    seeds["libreoffice.pdf"] = (Path(tmp) / "report.pdf").read_bytes()
# faux bold from the dedupe test
import test_pdf_dedupe

seeds["fauxbold.pdf"] = test_pdf_dedupe._faux_bold_pdf()
for k, v in seeds.items():
    (out / k).write_bytes(v)
others = list(seeds.values())
rnd = random.Random(12)
names = list(seeds)
for i in range(240):
    name = names[i % len(names)]
    data, how = mutate.mutate(seeds[name], "pdf", rnd, others)
    (out / f"fuzz-{i:03d}-{name}").write_bytes(data)
print(len(list(out.iterdir())))
