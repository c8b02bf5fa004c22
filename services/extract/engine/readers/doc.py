"""Legacy Word (.doc), WPS and RTF files, converted by a real converter.

LibreOffice (``soffice --headless --convert-to docx``) keeps the tables, so
the converted file goes through the DOCX reader. It runs with a private
profile directory (concurrent conversions otherwise fight over one profile
lock) and a timeout. ``antiword`` is the fallback for .doc: text only, but
the table parsers read text too.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import tempfile

from services.extract.engine.document import RawDocument
from services.extract.errors import ConversionFailed

CONVERT_TIMEOUT_S = 120


def _unlimit() -> None:
    # The bounded child lowers RLIMIT_AS for Python; soffice needs more.
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
    os.setsid()


def soffice_binary() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(data: bytes, suffix: str) -> bytes:
    exe = soffice_binary()
    if exe is None:
        raise ConversionFailed("LibreOffice (soffice) is not installed; see deploy/apt-packages.txt")
    with tempfile.TemporaryDirectory(prefix="ogi-soffice-") as tmp:
        src = os.path.join(tmp, "in" + suffix)
        with open(src, "wb") as f:
            f.write(data)
        profile = os.path.join(tmp, "profile")
        cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore", "--nolockcheck",
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", os.path.join(tmp, "out"), src]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=CONVERT_TIMEOUT_S, preexec_fn=_unlimit,
                                  env={**os.environ, "HOME": tmp})
        except subprocess.TimeoutExpired as e:
            raise ConversionFailed(f"LibreOffice did not finish converting within {CONVERT_TIMEOUT_S} s") from e
        out = os.path.join(tmp, "out", "in.docx")
        if not os.path.exists(out):
            err = (proc.stderr or b"").decode("utf-8", "replace").strip()[-300:]
            raise ConversionFailed(f"LibreOffice could not convert the {suffix} file (exit {proc.returncode}): "
                                   f"{err or 'no output'}")
        with open(out, "rb") as f:
            return f.read()


def _antiword(data: bytes) -> RawDocument:
    exe = shutil.which("antiword")
    if exe is None:
        raise ConversionFailed("neither LibreOffice nor antiword could convert the .doc file")
    with tempfile.NamedTemporaryFile(suffix=".doc") as f:
        f.write(data)
        f.flush()
        try:
            proc = subprocess.run([exe, "-m", "UTF-8.txt", "-w", "0", f.name], capture_output=True,
                                  timeout=CONVERT_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            raise ConversionFailed("antiword timed out") from e
    if proc.returncode != 0:
        raise ConversionFailed(f"antiword failed (exit {proc.returncode}): "
                               f"{proc.stderr.decode('utf-8', 'replace').strip()[-300:]}")
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
                raise first
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
