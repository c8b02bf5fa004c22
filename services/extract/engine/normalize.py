"""Text normalisation shared by every reader.

- traditional → simplified with OpenCC (a maintained conversion table beats a
  hand-written character map: thousands of pairs plus phrase-level rules);
- full-width digits and signs → ASCII; thousands separators removed;
- faux-bold doubled characters (PDF producers that print each glyph twice);
- whitespace between two non-digit characters removed (PDF line wraps, "总 计"),
  whitespace next to digits kept (it separates table cells).

Absent cells ("/", "-", "—", empty) are *not* turned into 0 here; the table
parser keeps them as absent. Chinese numerals are converted by the prose
parser only in number slots (see :func:`cn_number`), never across the text,
because headings such as "一、" and "三安全一稳定" are labels, not numbers.
"""

from __future__ import annotations

import re
import unicodedata

from ogi.vocabulary import t2s_changing_characters, to_simplified

_FULLWIDTH = str.maketrans(
    {
        **{chr(0xFF10 + i): str(i) for i in range(10)},
        "．": ".",
        "＋": "+",
        "－": "-",
        "\u3000": " ",
        "\xa0": " ",
        "\u2002": " ",
        "\u2003": " ",
        "\u200b": "",
        "\ufeff": "",
        "\t": " ",
        "\r": "",
    }
)
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_WS_BETWEEN_TEXT = re.compile(r"(?<=[^\d\s\x1e\x1f])[ ]+(?=[^\d\s\x1e\x1f+\-./])")
_MULTI_WS = re.compile(r"[ ]{2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def is_traditional(text: str) -> bool:
    """True when a noticeable share of the Han characters change under t2s.

    A share, not a count: a traditional report of three sentences changes a
    dozen characters, a long simplified one none or one or two (variant forms
    OpenCC normalises). Two changed characters are the least that counts, so
    a stray variant in a short simplified notice is not taken for a script."""
    sample = "".join(_HAN.findall(text))[:20000]
    if not sample:
        return False
    # a text none of whose characters t2s maps to another has nothing to
    # count; a text with one is converted (phrase rules included) to count exactly
    if t2s_changing_characters().isdisjoint(sample):
        return False
    simplified = to_simplified(sample)
    changed = sum(1 for a, b in zip(sample, simplified, strict=False) if a != b)
    return changed >= 2 and changed / len(sample) > 0.03


def undouble(line: str) -> str:
    """Collapse faux-bold doubling ("年年度度报报告告" → "年度报告")."""
    s = line.strip()
    if len(s) >= 6 and len(s) % 2 == 0 and s[0::2] == s[1::2] and _HAN.search(s):
        return s[0::2]
    return line


def normalise_text(text: str, *, traditional: bool = False, pdf: bool = False) -> str:
    if text.isascii() and text.isdigit():
        return text  # most table cells: no step below changes ASCII digits
    text = unicodedata.normalize("NFC", text).translate(_FULLWIDTH)
    if traditional:
        text = to_simplified(text)
    if pdf:
        text = "\n".join(undouble(x) for x in text.split("\n"))
    if "," in text or "，" in text:
        text = _THOUSANDS.sub("", text)
    if " " not in text:  # the two whitespace rules below need a space
        return "\n".join(line.strip() for line in text.split("\n"))
    lines = []
    for line in text.split("\n"):
        line = _WS_BETWEEN_TEXT.sub("", line)
        lines.append(_MULTI_WS.sub(" ", line).strip())
    return "\n".join(lines)


_CN_NUM = re.compile(r"^[零〇○一二两三四五六七八九十百千万亿]+$")


def cn_number(token: str) -> float | None:
    """An Arabic or Chinese numeral as a number (``"三百五十一"`` → 351)."""
    token = token.strip()
    if not token:
        return None
    try:
        return float(token)
    except ValueError:
        pass
    if not _CN_NUM.match(token):
        return None
    import cn2an  # cn2an handles 十/百/千/万 positions and 两/〇 variants correctly

    try:
        return float(cn2an.cn2an(token.replace("○", "〇"), "smart"))
    except Exception:  # cn2an raises ValueError and bare Exceptions on odd input
        return None


_ABSENT = {"", "/", "-", "—", "——", "－", "–", "\\", "／", "无", "空", "*"}


def is_absent(cell: str) -> bool:
    """A cell that states no figure. Absent is not zero."""
    return cell.strip() in _ABSENT
