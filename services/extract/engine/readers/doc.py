"""Legacy Word (.doc), WPS and RTF files, converted by a real converter.

LibreOffice (``soffice --headless --convert-to docx``) keeps the tables, so
the converted file goes through the DOCX reader. It runs with a fresh
private profile directory (concurrent conversions otherwise fight over one
profile lock), a timeout, and without network, environment or a way to
outlive the extraction (see ``sandbox``); in the extract worker's pooled
children one such LibreOffice stays running and converts document after
document (see ``resident_office``). ``antiword`` is the fallback for
.doc: text only, but the table parsers read text too.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from services.extract.engine import sandbox
from services.extract.engine.document import RawDocument
from services.extract.engine.readers import resident_office
from services.extract.errors import ConversionFailed

# Longer than the extraction limit on purpose: in the worker the parent's
# kill of the whole process group comes first; this one bounds
# ``ogi extract --unbounded``.
CONVERT_TIMEOUT_S = 120


def soffice_binary() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(data: bytes, suffix: str) -> bytes:
    # a pooled extraction child keeps one LibreOffice running (see resident_office)
    converted = resident_office.convert(data, suffix)
    if converted is not None:
        return converted
    exe = soffice_binary()
    if exe is None:
        raise ConversionFailed("LibreOffice (soffice) is not installed; see deploy/apt-packages.txt")
    with tempfile.TemporaryDirectory(prefix="ogi-soffice-") as tmp:
        src = os.path.join(tmp, "in" + suffix)
        with open(src, "wb") as f:
            f.write(data)
        profile = os.path.join(tmp, "profile")
        cmd = [
            exe,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--convert-to",
            "docx:MS Word 2007 XML",
            "--outdir",
            os.path.join(tmp, "out"),
            src,
        ]
        proc = sandbox.run(cmd, home=tmp, timeout_s=CONVERT_TIMEOUT_S, name="LibreOffice")
        out = os.path.join(tmp, "out", "in.docx")
        if not os.path.exists(out):
            err = (proc.stderr or b"").decode("utf-8", "replace").strip()[-300:]
            raise ConversionFailed(
                f"LibreOffice could not convert the {suffix} file (exit {proc.returncode}): "
                f"{err or 'no output'}"
            )
        with open(out, "rb") as f:
            return f.read()


def _antiword(data: bytes) -> RawDocument:
    exe = shutil.which("antiword")
    if exe is None:
        raise ConversionFailed("neither LibreOffice nor antiword could convert the .doc file")
    with tempfile.TemporaryDirectory(prefix="ogi-antiword-") as tmp:
        src = os.path.join(tmp, "in.doc")
        with open(src, "wb") as f:
            f.write(data)
        # antiword has no network code: isolated where possible, run anyway where not
        proc = sandbox.run(
            [exe, "-m", "UTF-8.txt", "-w", "0", src],
            home=tmp,
            timeout_s=CONVERT_TIMEOUT_S,
            name="antiword",
            require_isolation=False,
        )
    if proc.returncode != 0:
        raise ConversionFailed(
            f"antiword failed (exit {proc.returncode}): "
            f"{proc.stderr.decode('utf-8', 'replace').strip()[-300:]}"
        )
    from services.extract.engine.readers.text import read_str

    return read_str(proc.stdout.decode("utf-8", "replace").replace("|", " "), fmt="doc")


def _read(data: bytes, fmt: str) -> RawDocument:
    from services.extract.engine.readers import docx

    try:
        raw = docx.read(convert_to_docx(data, "." + fmt))
    except ConversionFailed as first:
        # Kingsoft .wps files are Word-compatible OLE documents: try them as .doc
        try:
            if fmt == "wps":
                raw = docx.read(convert_to_docx(data, ".doc"))
            else:
                raise first
        except ConversionFailed:
            if fmt == "rtf":
                raise first from None
            try:
                raw = _antiword(data)
            except ConversionFailed as e:
                raise ConversionFailed(f"{first}; antiword fallback: {e}") from e
    raw.format = fmt
    return raw


def read_doc(data: bytes) -> RawDocument:
    return _read(data, "doc")


def read_rtf(data: bytes) -> RawDocument:
    return _read(data, "rtf")


def read_wps(data: bytes) -> RawDocument:
    return _read(data, "wps")
