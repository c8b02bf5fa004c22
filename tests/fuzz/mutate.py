"""Mutations of real reports, per format. Each takes the seed document's
bytes and a ``random.Random`` and returns new bytes (and says what it did).

Generic ones (truncation, byte flips, inserted and deleted ranges, splices
of two documents, long digit runs) apply to every format; then the format's
own: encoding swaps for text and HTML (the bytes re-encoded, the declared
charset kept, changed or dropped), deep and wide tables for HTML, zip and
XML mutations for DOCX, object and stream mutations for PDF.
"""

from __future__ import annotations

import io
import random
import re
import zipfile
import zlib
from collections.abc import Callable

Mutation = Callable[[bytes, random.Random], bytes]

_ENCODINGS = (
    "utf-8",
    "gb18030",
    "gbk",
    "big5",
    "utf-16",
    "utf-16-le",
    "utf-16-be",
    "latin-1",
    "shift_jis",
    "ascii",
)


# --- generic -------------------------------------------------------------


def truncate(data: bytes, rnd: random.Random) -> bytes:
    return data[: rnd.randrange(0, max(1, len(data)))]


def flip_bytes(data: bytes, rnd: random.Random) -> bytes:
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rnd.choice((1, 2, 5, 20, 100))):
        i = rnd.randrange(len(out))
        out[i] = rnd.randrange(256) if rnd.random() < 0.5 else out[i] ^ (1 << rnd.randrange(8))
    return bytes(out)


def insert_random(data: bytes, rnd: random.Random) -> bytes:
    i = rnd.randrange(len(data) + 1)
    return data[:i] + rnd.randbytes(rnd.choice((1, 16, 512, 4096))) + data[i:]


def delete_range(data: bytes, rnd: random.Random) -> bytes:
    if len(data) < 2:
        return data
    i = rnd.randrange(len(data))
    return data[:i] + data[i + rnd.randrange(1, min(len(data) - i, 8192) + 1) :]


def duplicate_range(data: bytes, rnd: random.Random) -> bytes:
    if not data:
        return data
    i = rnd.randrange(len(data))
    chunk = data[i : i + rnd.randrange(1, 4096)]
    return data[:i] + chunk * rnd.choice((2, 10, 200)) + data[i:]


def digit_run(data: bytes, rnd: random.Random) -> bytes:
    """A long run of digits (or Chinese numerals, or '1件' repeated) in the middle."""
    unit = rnd.choice(("1", "9", "一", "1件", "0.", "12,345"))
    run = (unit * (rnd.choice((1_000, 30_000, 100_000)) // len(unit))).encode("utf-8")
    i = rnd.randrange(len(data) + 1)
    return data[:i] + run + data[i:]


GENERIC: tuple[Mutation, ...] = (
    truncate,
    flip_bytes,
    insert_random,
    delete_range,
    duplicate_range,
    digit_run,
)


# --- text and HTML ---------------------------------------------------------


def _text_of(data: bytes) -> str:
    from services.extract.engine.readers.text import decode

    try:
        return decode(data)
    except Exception:
        return data.decode("utf-8", "replace")


def swap_encoding(data: bytes, rnd: random.Random) -> bytes:
    """Re-encode; the document's own charset declaration (if any) now lies,
    is replaced by another, or is removed."""
    text = _text_of(data)
    enc = rnd.choice(_ENCODINGS)
    declared = rnd.choice((None, "drop", *_ENCODINGS, "x-unknown", "utf-7"))
    if declared == "drop":
        text = re.sub(r"<meta[^>]*charset[^>]*>", "", text, flags=re.IGNORECASE)
    elif declared is not None:
        text = re.sub(r"charset\s*=\s*[\"']?[\w-]+", f"charset={declared}", text, flags=re.IGNORECASE)
    out = text.encode(enc, errors="replace")
    if rnd.random() < 0.2:  # a BOM that disagrees
        out = rnd.choice((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) + out
    return out


def long_line(data: bytes, rnd: random.Random) -> bytes:
    """Every line break and punctuation mark removed: one endless clause."""
    text = _text_of(data)
    return re.sub(r"[\n\r，,。；;：:]", "", text).encode("utf-8")


def nested_tables(data: bytes, rnd: random.Random) -> bytes:
    depth = rnd.choice((3, 20, 40, 200, 5000))
    nest = "<table><tr><td>" * depth + "1" + "</td></tr></table>" * depth
    i = rnd.randrange(len(data) + 1)
    return data[:i] + nest.encode() + data[i:]


def wild_spans(data: bytes, rnd: random.Random) -> bytes:
    text = _text_of(data)
    value = rnd.choice(("0", "-1", "99999999", "1e9", "abc", "2147483648", ""))
    return re.sub(
        r"<t([dh])\b",
        lambda m: (
            f'<t{m.group(1)} {rnd.choice(("rowspan", "colspan"))}="{value}"'
            if rnd.random() < 0.3
            else m.group(0)
        ),
        text,
    ).encode("utf-8")


def unclosed_tags(data: bytes, rnd: random.Random) -> bytes:
    text = _text_of(data)
    return re.sub(
        r"</(?:td|tr|table|p|div)>", lambda m: "" if rnd.random() < 0.5 else m.group(0), text
    ).encode("utf-8")


TEXT: tuple[Mutation, ...] = (swap_encoding, long_line)
HTML: tuple[Mutation, ...] = (swap_encoding, nested_tables, wild_spans, unclosed_tags, long_line)


# --- DOCX: zip and XML ------------------------------------------------------


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info, zf.read(info)) for info in zf.infolist()]


def _zip(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, body in members:
            zf.writestr(info, body)
    return buf.getvalue()


def _mutate_part(data: bytes, rnd: random.Random, change: Callable[[bytes, random.Random], bytes]) -> bytes:
    try:
        members = _members(data)
    except Exception:
        return flip_bytes(data, rnd)
    xml_parts = [i for i, (info, _) in enumerate(members) if info.filename.endswith(".xml")]
    if not xml_parts:
        return flip_bytes(data, rnd)
    doc = [i for i in xml_parts if members[i][0].filename == "word/document.xml"]
    k = doc[0] if doc and rnd.random() < 0.8 else rnd.choice(xml_parts)
    info, body = members[k]
    members[k] = (info, change(body, rnd))
    return _zip(members)  # type: ignore[arg-type]


def _xml_drop_tags(body: bytes, rnd: random.Random) -> bytes:
    return re.sub(
        rb"</?w:(?:tc|tr|tbl|p|r|t)\b[^>]*>", lambda m: b"" if rnd.random() < 0.05 else m.group(0), body
    )


def _xml_nest(body: bytes, rnd: random.Random) -> bytes:
    depth = rnd.choice((10, 100, 300, 5000))
    nest = (
        b"<w:tbl><w:tr><w:tc>" * depth
        + b"<w:p><w:r><w:t>1</w:t></w:r></w:p>"
        + b"</w:tc></w:tr></w:tbl>" * depth
    )
    i = body.find(b"<w:body>")
    return body[: i + 8] + nest + body[i + 8 :] if i >= 0 else body + nest


def _xml_digits(body: bytes, rnd: random.Random) -> bytes:
    run = b"1" * rnd.choice((10_000, 100_000))
    return re.sub(
        rb"<w:t(?: [^>]*)?>", lambda m: m.group(0) + run if rnd.random() < 0.1 else m.group(0), body, count=50
    )


def _xml_attrs(body: bytes, rnd: random.Random) -> bytes:
    value = rnd.choice((b"0", b"-1", b"99999999", b"x", b""))
    return re.sub(
        rb'(w:gridSpan w:val=|w:vMerge w:val=|w:w=)"[^"]*"', lambda m: m.group(1) + b'"' + value + b'"', body
    )


def _xml_duplicate_rows(body: bytes, rnd: random.Random) -> bytes:
    rows = list(re.finditer(rb"<w:tr[ >].*?</w:tr>", body, re.DOTALL))
    if not rows:
        return body
    row = rnd.choice(rows)
    return body[: row.end()] + row.group(0) * rnd.choice((2, 50, 1000)) + body[row.end() :]


def _xml_entities(body: bytes, rnd: random.Random) -> bytes:
    # an internal DTD with a billion-laughs style expansion
    dtd = (
        b'<!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>'
    )
    body = re.sub(rb"^<\?xml[^>]*\?>", b"", body.lstrip())
    return b'<?xml version="1.0" encoding="UTF-8"?>' + dtd + body.replace(b"<w:t>", b"<w:t>&d;", 1)


def docx_xml(data: bytes, rnd: random.Random) -> bytes:
    change = rnd.choice(
        (
            _xml_drop_tags,
            _xml_nest,
            _xml_digits,
            _xml_attrs,
            _xml_duplicate_rows,
            _xml_entities,
            truncate,
            flip_bytes,
        )
    )
    return _mutate_part(data, rnd, change)


def docx_zip(data: bytes, rnd: random.Random) -> bytes:
    try:
        members = _members(data)
    except Exception:
        return flip_bytes(data, rnd)
    what = rnd.choice(("drop", "rename", "duplicate", "crc", "bomb", "stored"))
    if what == "drop" and members:
        members.pop(rnd.randrange(len(members)))
    elif what == "rename" and members:
        k = rnd.randrange(len(members))
        info, body = members[k]
        members[k] = (zipfile.ZipInfo(info.filename + ".bak"), body)
    elif what == "duplicate" and members:
        members.append(rnd.choice(members))
    elif what == "bomb":
        members.append((zipfile.ZipInfo("word/media/zeros.bin"), b"\0" * rnd.choice((1 << 20, 64 << 20))))
    elif what == "stored":
        members = [(zipfile.ZipInfo(info.filename), body) for info, body in members]  # no compression
    out = _zip(members) if what != "crc" else data
    if what == "crc":  # damage compressed bytes: CRC and inflate errors
        return flip_bytes(out, rnd)
    return out


DOCX: tuple[Mutation, ...] = (docx_xml, docx_xml, docx_zip)


# --- PDF: objects and streams ----------------------------------------------

_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b.*?endobj", re.DOTALL)
_STREAM = re.compile(rb"(/Length\s+)(\d+)([^>]*>>\s*stream\r?\n)(.*?)(\r?\nendstream)", re.DOTALL)


def pdf_objects(data: bytes, rnd: random.Random) -> bytes:
    objs = list(_OBJ.finditer(data))
    if not objs:
        return flip_bytes(data, rnd)
    obj = rnd.choice(objs)
    what = rnd.choice(("drop", "duplicate", "renumber", "self-reference", "xref", "endobj"))
    if what == "drop":
        return data[: obj.start()] + data[obj.end() :]
    if what == "duplicate":
        return data[: obj.end()] + b"\n" + obj.group(0) + data[obj.end() :]
    if what == "renumber":
        return (
            data[: obj.start()]
            + re.sub(rb"^\d+", str(rnd.randrange(1, 10**9)).encode(), obj.group(0))
            + data[obj.end() :]
        )
    if what == "self-reference":  # /Parent, /Kids and /Contents pointing in a loop
        num = re.match(rb"\d+", obj.group(0)).group(0)  # type: ignore[union-attr]
        body = re.sub(
            rb"(/(?:Parent|Kids|Contents|Resources|First|Next)\s*\[?\s*)\d+(\s+0\s+R)",
            rb"\g<1>" + num + rb"\2",
            obj.group(0),
        )
        return data[: obj.start()] + body + data[obj.end() :]
    if what == "xref":
        return re.sub(
            rb"\b\d{10}\b",
            lambda m: b"%010d" % rnd.randrange(10**10) if rnd.random() < 0.3 else m.group(0),
            data,
        )
    return data[: obj.start()] + obj.group(0).replace(b"endobj", b"", 1) + data[obj.end() :]


def pdf_streams(data: bytes, rnd: random.Random) -> bytes:
    streams = list(_STREAM.finditer(data))
    if not streams:
        return flip_bytes(data, rnd)
    s = rnd.choice(streams)
    length, head, body, tail = int(s.group(2)), s.group(3), s.group(4), s.group(5)
    what = rnd.choice(("length", "flip", "truncate", "filter", "content"))
    if what == "length":
        length = rnd.choice((0, length // 2, length * 2, 10**9, length + 1))
    elif what == "flip":
        body = flip_bytes(body, rnd)
    elif what == "truncate":
        body = truncate(body, rnd)
    elif what == "filter":
        head = re.sub(
            rb"/Filter\s*/\w+",
            rnd.choice(
                (
                    b"/Filter /LZWDecode",
                    b"/Filter /ASCIIHexDecode",
                    b"",
                    b"/Filter [/FlateDecode /FlateDecode]",
                    b"/Filter /JBIG2Decode",
                )
            ),
            head,
        )
    else:  # change the drawing operators themselves, then re-compress
        try:
            plain = zlib.decompress(body)
        except zlib.error:
            plain = body
        plain = rnd.choice(
            (
                lambda p: re.sub(rb"\((\d+)\)", lambda m: b"(" + b"9" * rnd.choice((1, 30, 5000)) + b")", p),
                lambda p: re.sub(rb"\bTj\b", b"TJ", p),
                lambda p: p * rnd.choice((2, 20)),
                lambda p: re.sub(rb"-?\d+\.?\d*", lambda m: str(rnd.choice((0, -1, 1e9, 3.5))).encode(), p),
            )
        )(plain)
        body = zlib.compress(plain)
        length = len(body)
    return data[: s.start()] + s.group(1) + str(length).encode() + head + body + tail + data[s.end() :]


PDF: tuple[Mutation, ...] = (pdf_objects, pdf_objects, pdf_streams, pdf_streams)

BY_FORMAT: dict[str, tuple[Mutation, ...]] = {
    "text": TEXT,
    "html": HTML,
    "docx": DOCX,
    "pdf": PDF,
    "doc": (),
}


def mutate(data: bytes, fmt: str, rnd: random.Random, others: list[bytes]) -> tuple[bytes, str]:
    """One to three mutations of ``data``: the format's own (more often) or
    generic ones, sometimes a splice with another seed."""
    steps = []
    for _ in range(rnd.choice((1, 1, 2, 3))):
        own = BY_FORMAT.get(fmt, ())
        if others and rnd.random() < 0.05:
            other = rnd.choice(others)
            cut = rnd.randrange(len(data) + 1)
            data = data[:cut] + other[rnd.randrange(len(other) + 1) :]
            steps.append("splice")
            continue
        m = rnd.choice(own) if own and rnd.random() < 0.6 else rnd.choice(GENERIC)
        data = m(data, rnd)
        steps.append(m.__name__)
    return data, "+".join(steps)
