"""Splitting run-together table cells ("640020470" → 64,0,0,2,0,4,70).

Crawlers that drop the cell separators leave one digit string per row. A
split is *decidable* only through the table's identities: the six applicant
columns sum to the total, the four review outcomes sum to 总计, and the
catalogue's cross-row identities. :func:`candidates` enumerates every split
that respects the constraints; callers accept a split only when it is the
only one left, and otherwise leave the figures absent.

Rules every split obeys: whitespace that survived in the run is a cell
boundary; a number never has a leading zero ("07" is 0 then 7); a sign
("+17", "-3") starts a new cell; at most ``max_digits`` digits per number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Check = Callable[[Sequence[float]], bool]

_CHUNK = re.compile(r"[+-]?\d+(?:\.\d+)?")


def chunks(region: str) -> list[str] | None:
    """Whitespace/sign-separated digit chunks of a value region, or None if
    the region holds anything but digits, signs, points and spaces."""
    pieces: list[str] = []
    for part in region.split():
        pos = 0
        while pos < len(part):
            m = _CHUNK.match(part, pos)
            if not m:
                return None
            pieces.append(m.group())
            pos = m.end()
    return pieces


def _numbers(chunk: str, max_digits: int) -> Iterator[tuple[float, str]]:
    """Every way to take one number off the front of ``chunk``."""
    sign = ""
    body = chunk
    if body[:1] in "+-":
        sign, body = body[0], body[1:]
    if not body:
        return
    if body[0] == "0":
        # "0" alone, or "0.x" decimal
        m = re.match(r"0\.\d+", body)
        if m and (len(m.group()) == len(body)):
            yield float(sign + m.group()), body[len(m.group()) :]
        yield float(sign + "0"), body[1:]
        return
    digits = len(re.match(r"\d*", body).group())  # type: ignore[union-attr]
    for n in range(1, min(digits, max_digits) + 1):
        head = body[:n]
        rest = body[n:]
        if rest.startswith("."):
            # a decimal: only when the decimal part runs to the end of the chunk
            m = re.match(r"\.\d+$", rest)
            if m:
                yield float(sign + head + rest), ""
            continue
        yield float(sign + head), rest


def candidates(
    region_chunks: Sequence[str],
    n: int,
    *,
    groups: Sequence[tuple[int, int, Check]] = (),
    max_digits: int = 6,
    budget: int = 200_000,
) -> list[tuple[float, ...]] | None:
    """All splits of ``region_chunks`` into exactly ``n`` numbers.

    ``groups`` are ``(start, end, check)``: once values ``start..end-1`` are
    known, ``check(values[start:end])`` must hold. Returns None when the
    search budget ran out (treat as undecidable).
    """
    out: list[tuple[float, ...]] = []
    steps = 0
    ends: dict[Any, list[Any]] = {}
    for g in groups:
        ends.setdefault(g[1], []).append(g)

    def rec(ci: int, rest: str, acc: list[float]) -> bool:
        nonlocal steps
        steps += 1
        if steps > budget:
            return False
        if len(acc) > n:
            return True
        for gs in ends.get(len(acc), []):
            if not gs[2](acc[gs[0] : gs[1]]):
                return True
        if not rest:
            if ci == len(region_chunks):
                if len(acc) == n:
                    out.append(tuple(acc))
                return True
            return rec(ci + 1, region_chunks[ci], acc)
        if len(acc) == n:
            return True
        need = n - len(acc)
        left = len(rest) + suffix[ci]
        if left < need or left > need * (max_digits + 4):
            return True  # the digits left cannot make the numbers left
        # inside a sum group the total has at least as many digits as the partial sum
        for g in open_sums:
            if g[0] <= len(acc) < g[1] - 1:
                partial = int(sum(acc[g[0] : len(acc)]))
                width = len(str(partial))
                if width > max_digits + 4 or left < (need - 1) + width:
                    return True
        # the next number closes a sum group: it is forced, not searched
        for g in sums.get(len(acc) + 1, []):
            forced = sum(acc[g[0] : len(acc)])
            txt = f"{forced:.10g}" if forced != int(forced) else str(int(forced))
            if rest.startswith(txt) and not (txt == "0" and rest[1:2] == "."):
                acc.append(float(txt))
                ok = rec(ci, rest[len(txt) :], acc)
                acc.pop()
                return ok
            return True
        for value, tail in _numbers(rest, max_digits):
            acc.append(value)
            ok = rec(ci, tail, acc)
            acc.pop()
            if not ok:
                return False
        return True

    sums: dict[int, list[tuple[int, int, Check]]] = {}
    for g in groups:
        if g[2] is sums_to_last and g[1] - g[0] >= 2:
            sums.setdefault(g[1], []).append(g)
    open_sums = [g for gs in sums.values() for g in gs]
    # characters in the chunks after chunk i-1 (rec's ci points at the next chunk)
    suffix = [sum(len(c) for c in region_chunks[i:]) for i in range(len(region_chunks) + 1)]
    if not region_chunks:
        return []
    if not rec(1, region_chunks[0], []):
        return None
    return out


def sums_to_last(values: Sequence[float]) -> bool:
    """The last value equals the sum of the others (applicant and review rows)."""
    return abs(sum(values[:-1]) - values[-1]) < 1e-6
