"""Figures stated in sentences ("共受理申请351件，其中……").

Each rule is a regular expression with one number slot ``N`` (Arabic or
Chinese numerals) for one catalogue key. Rules are deliberately tight: a
number next to a similar phrase about something else (审批申请, 信息条数 by
disclosure attribute, shares "占71.3%") must not be read. When one key is
stated twice with different numbers the key is left out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# the standard library's regex parser (sre_parse until 3.10), for _required_literal
try:
    import re._parser as re_parser
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse as re_parser  # type: ignore[no-redef,unused-ignore]

from schemas.events import Provenance
from services.extract.engine import normalize
from services.extract.engine.document import Document

# A number slot starts only where a number starts and holds at most a
# figure's worth of digits. Without the look-behinds every position inside a
# long digit (or numeral) run was a fresh start that swallowed the rest of
# the run and backtracked: quadratic, and a 100 KB run of digits held a worker
# for its whole timeout. Now a run costs one bounded attempt per rule; a run
# longer than a figure can be is no figure (and is not read).
#
# Each slot starts with its character class and checks the look-behind after
# the first character ("\d(?<!\d\d)" is "(?<!\d)\d"): a pattern that begins
# with a character class lets the regex engine skip to the next digit or
# numeral instead of trying every position, which made the rules that begin
# with a number most of a text report's extraction time.
_CN = "[零〇○一二两三四五六七八九十百千万]"
_DIGITS = r"\d(?<!\d\d)\d{0,11}(?:\.\d{1,4})?(?!\d)"
_NUMERALS = rf"{_CN}(?<!{_CN}{_CN}){_CN}{{0,15}}(?!{_CN})"
N = rf"(?P<n>{_DIGITS}|{_NUMERALS})"
NU = rf"(\d(?<!\d\d)\d{{0,11}}(?!\d)|{_NUMERALS})"  # unnamed, for patterns with several slots
U = r"\s*(?:件|条|宗|起|个|份|次|项)"
G = r"[^，,。；;：:\n]"  # any char inside one clause

# a sub-total given as a share of the whole ("2475条，占62.2%") is not the total
_NOT_A_SHARE = r"(?!\s*[，,]?\s*(?:约)?占)"

_CONTEXT_APPLY = re.compile(r"信息公开|依申请|公开申请|申请公开")


@dataclass(frozen=True)
class Rule:
    key: str
    pattern: re.Pattern[str]
    zero: bool = False  # a negation: the rule states 0
    context: re.Pattern[str] | None = None  # must occur in the clause or 80 chars before
    exclude: re.Pattern[str] | None = None  # must not occur in the clause
    window: int = 80  # how far before the match the context may be
    needs: str = ""  # characters every match contains: a text without them is not searched


def _required_literal(pattern: str) -> str:
    """The longest run of plain characters at the top level of ``pattern``
    (outside every group, option and alternative), which every match
    contains. Most rules begin with an option or a number slot, where the
    regex engine has no prefix to skip to; a substring test rules most rules
    out of a report at once."""
    runs, cur = [], []
    for op, arg in re_parser.parse(pattern):
        if op is re_parser.LITERAL:
            cur.append(chr(arg))
        else:
            runs.append("".join(cur))
            cur = []
    runs.append("".join(cur))
    return max(runs, key=len)


def _r(key: str, pattern: str, **kw: object) -> Rule:
    return Rule(key, re.compile(pattern), needs=_required_literal(pattern), **kw)  # type: ignore[arg-type]


_NO_REVIEW = re.compile(r"复议|诉讼|举报|投诉|审批")

RULES: tuple[Rule, ...] = (
    # intake
    _r(
        "applications.new_received",
        rf"(?:收到|受理|接到|接收)(?:了)?{G}{{0,20}}?申请(?:公开)?(?:的)?(?:数量|总数|总量)?(?:共|共计|为|是)?\s*{N}{U}(?!\s*[，,]?\s*(?:约)?占)",
        context=_CONTEXT_APPLY,
        exclude=_NO_REVIEW,
    ),
    _r(
        "applications.new_received",
        rf"(?:共|累计|全年)?(?:收到|受理|接到){G}{{0,6}}?{N}\s*(?:件|条|个|份)(?:政府信息公开|信息公开|依申请公开)?申请",
        context=_CONTEXT_APPLY,
        exclude=_NO_REVIEW,
    ),
    _r(
        "applications.new_received",
        rf"(?:未|没有|无)(?:收到|受理|接到){G}{{0,12}}?(?:信息公开|依申请公开){G}{{0,6}}?申请",
        zero=True,
        exclude=_NO_REVIEW,
    ),
    _r(
        "applications.total_handled",
        rf"(?:答复|办结|处理完毕){G}{{0,16}}?申请(?:共|共计|总数)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        exclude=_NO_REVIEW,
    ),
    _r(
        "applications.total_handled", rf"答复总数(?:为)?\s*{N}{U}", context=_CONTEXT_APPLY, exclude=_NO_REVIEW
    ),
    _r(
        "applications.total_handled",
        rf"(?:已|均已|共|全部)(?:答复|办结)(?:了)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        exclude=_NO_REVIEW,
    ),
    # number before the outcome ("7件予以公开，4件为部分公开")
    _r(
        "applications.granted", rf"{N}\s*件(?:申请)?(?:为|属于)?(?:同意公开|予以公开)", context=_CONTEXT_APPLY
    ),
    _r(
        "applications.partially_granted",
        rf"{N}\s*件(?:申请)?(?:为|属于)?(?:同意)?部分公开",
        context=_CONTEXT_APPLY,
    ),
    _r(
        "applications.refused.total",
        rf"{N}\s*件(?:申请)?(?:为|属于)?(?:不同意公开|不予公开|不予以公开)",
        context=_CONTEXT_APPLY,
    ),
    _r("applications.withdrawn", rf"{N}\s*件(?:为)?申请人(?:主动)?撤(?:销|回)", context=_CONTEXT_APPLY),
    _r(
        "applications.new_received",
        rf"本年(?:度)?新收(?:到)?(?:政府信息公开)?申请(?:数量)?(?:为|共)?\s*{N}{U}",
    ),
    _r(
        "applications.carried_over",
        rf"上年(?:度)?结转(?:的)?(?:政府信息公开)?(?:申请)?(?:数量)?(?:为)?\s*{N}{U}",
    ),
    _r("applications.carried_forward", rf"结转(?:至|到)?下(?:一)?年度?(?:继续办理)?(?:的)?\s*{N}{U}"),
    _r(
        "applications.carried_forward",
        rf"{N}\s*件(?:申请)?结转(?:至|到)?下(?:一)?年度?",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.unable.total",
        rf"(?<!\d\.)(?<![、）)])无法提供(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.not_processed.total",
        rf"(?<![、）)])不予处理(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    # outcomes (2008 regulation categories and the 2019 ones)
    _r(
        "applications.already_public",
        rf"属于已(?:经)?主动公开(?:的)?(?:范围|信息|内容)?(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.granted_or_partial",
        rf"(?:同意|予以)公开或(?:同意)?部分公开(?:答复)?(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.granted",
        rf"(?<![不或])(?<!主动)(?:同意公开|予以公开)(?:答复)?(?:数)?(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.partially_granted",
        rf"(?<![或])(?:同意)?部分公开(?:答复)?(?:数)?(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.refused.total",
        rf"(?:不同意公开|不予公开|不予以公开)(?:答复)?(?:数)?(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    # an explicit "there were none" ("无不予公开政府信息情况", "没有不予公开的申请"); the
    # noun after the phrase is required, so a bare "无不予公开" in a heading reads nothing
    _r(
        "applications.refused.total",
        r"(?:无|没有|不存在|未出现)(?:任何)?(?:不予公开|不予以公开|不同意公开)(?:的)?(?:政府)?(?:信息)?(?:公开)?(?:申请)?(?:的)?(?:情况|情形|答复|申请)",
        zero=True,
    ),
    _r(
        "applications.unable.not_this_agency",
        rf"(?:不属于本(?:行政)?机关(?:公开|职责|职能)?(?:范围)?(?:的)?(?:信息)?|非本(?:行政)?机关(?:公开|职责|职能)?(?:范围)?(?:的)?(?:政府)?(?:信息)?)\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.unable.not_held",
        rf"(?:本(?:行政)?机关不掌握(?:的|相关)?(?:政府)?(?:信息)?|(?:申请|政府)?信息不存在(?:的)?)\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.unable.needs_creation",
        rf"没有现成信息{G}{{0,6}}?另行制作(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.unable.unclear",
        rf"(?<!补正后)申请内容不明确(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.other.correction_requested",
        rf"告知(?:作出|申请人)?(?:更改|补正|补充){G}{{0,4}}?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.other.other_channel",
        rf"告知通过其他途径(?:办理|获取)?(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.other.total",
        rf"其[他它](?:答复情形|类型答复|答复)(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
    ),
    _r(
        "applications.withdrawn",
        rf"(?:申请人(?:主动)?撤(?:销|回)(?:了)?(?:申请)?|(?:主动)?撤(?:销|回)(?:了)?申请)(?:的)?\s*{N}{U}",
        context=_CONTEXT_APPLY,
        window=200,
        exclude=_NO_REVIEW,
    ),
    # channels and applicants
    _r(
        "applications.channel.online",
        rf"(?:网上|网络|在线|网站)申请(?:数)?(?:的)?\s*{N}{U}(?!{G}{{0,3}}占{G}{{0,2}}(?:本年度)?申请总)",
    ),
    _r("applications.channel.letter", rf"信函申请(?:数)?(?:的)?\s*{N}{U}"),
    _r("applications.channel.in_person", rf"当面申请(?:数)?(?:的)?\s*{N}{U}"),
    _r("applications.channel.fax", rf"(?<!、)传真申请(?:数)?(?:的)?\s*{N}{U}"),
    _r("applications.channel.email", rf"电子邮件申请(?:数)?(?:的)?\s*{N}{U}"),
    _r("applications.applicant.citizen", rf"(?:以)?公民(?:名义)?(?:提出)?申请(?:的)?\s*{N}{U}"),
    _r(
        "applications.applicant.legal_person",
        rf"(?:以)?法人(?:或其他组织)?(?:名义)?(?:提出)?申请(?:的)?\s*{N}{U}",
    ),
    # proactive
    _r(
        "proactive.items_total",
        rf"主动公开(?:各类|各项)?(?:政府|政务)?信息(?:共计|共|总数|总量)?(?:为|达)?\s*{N}\s*条{_NOT_A_SHARE}",
    ),
    # older reports often drop 主动 and state the year's whole output: 公开各类信息46条,
    # 全年公开政府信息995845条, 2021年以来公开政府信息98条 (依申请公开… is not it)
    _r(
        "proactive.items_total",
        rf"(?<!申请)(?<!依)公开(?:各类|各项)(?:政府|政务)?信息(?:共计|共|总数|总量)?(?:为|达)?\s*{N}\s*条{_NOT_A_SHARE}",
    ),
    _r(
        "proactive.items_total",
        rf"(?:全年|年以来|本年度?|年度)(?:共|累计)?公开(?:政府|政务)信息(?:共计|共)?\s*{N}\s*条{_NOT_A_SHARE}",
    ),
    # 共主动公开机构信息、政策文件……等方面政府信息7579条: the list names what the total covers
    _r(
        "proactive.items_total",
        rf"共主动公开{G}{{0,100}}?等(?:方面)?(?:的)?(?:政府|政务)信息\s*{N}\s*条{_NOT_A_SHARE}",
    ),
    # the gb2021 row 行政规范性文件 (制发 | 废止 | 现行有效) restated in sentences; these
    # settle a run-together row's split (pipeline._settle_pending)
    _r(
        "proactive.normative_documents.issued",
        rf"制发(?:了)?(?:行政)?规范性文件(?:共|共计)?\s*{N}\s*(?:件|个|份)",
    ),
    _r(
        "proactive.normative_documents.repealed",
        rf"废止(?:了)?(?:行政)?规范性文件(?:共|共计)?\s*{N}\s*(?:件|个|份)",
    ),
    _r(
        "proactive.normative_documents.in_force",
        rf"现行有效(?:的)?(?:行政)?规范性文件(?:共|共计|为|有)?\s*{N}\s*(?:件|个|份)",
    ),
    # fees
    _r("fees.collected_yuan", rf"收取{G}{{0,12}}?(?:信息处理费|费用)(?:共|合计|共计)?\s*{N}\s*元"),
    _r(
        "fees.collected_yuan",
        rf"(?<!事业性)收费(?:金额|总额)?(?:为|共|合计)?\s*{N}\s*元",
        context=re.compile(r"信息公开|依申请|信息处理费"),
    ),
    _r(
        "fees.collected_yuan",
        r"(?:未|没有|无|不)(?:收取|收费|产生)(?:任何)?(?:费用|信息处理费)?|暂不收费|无收取信息处理费",
        zero=True,
        context=re.compile(r"公开|申请|信息处理费|收费及减免"),
    ),
    # "没有政府信息公开收费及减免情况": the negation governs the whole 收费及减免 phrase
    _r(
        "fees.collected_yuan",
        rf"(?:未|没有|无)(?:发生|产生)?{G}{{0,12}}?收费(?:及|和|与)减免(?:的)?情况",
        zero=True,
        context=re.compile(r"公开|申请|信息处理费"),
    ),
)

# review / litigation
_REVIEW_TOTAL = re.compile(
    rf"(?:行政复议(?:案件|申请|案)?(?:共|共计)?\s*{NU}\s*(?:件|宗|起|个)|有\s*{NU}\s*(?:件|宗|起|个)[^。；;，,]{{0,20}}?行政复议|收到\s*{NU}\s*(?:件|宗|起|个|份)[^。；;，,]{{0,20}}?行政复议)"
)
_LITIG_TOTAL = re.compile(
    rf"(?:行政诉讼(?:案件|案)?(?:共|共计)?\s*{NU}\s*(?:件|宗|起|个)|有\s*{NU}\s*(?:件|宗|起|个)[^。；;，,]{{0,20}}?行政诉讼)"
)
_NEG = r"(?:没有|未|无|不存在)(?:发生|收到|接到|出现|有|提起)?"
_REVIEW_ZERO = re.compile(rf"{_NEG}[^。；;，,]{{0,40}}?行政复议")
_LITIG_ZERO = re.compile(rf"{_NEG}[^。；;，,]{{0,40}}?行政诉讼")
_OUTCOMES = (
    ("upheld", re.compile(rf"维持{G}{{0,12}}?{N}\s*(?:件|宗|起|个)")),
    ("corrected", re.compile(rf"(?<!或)(?:纠错|纠正|撤销|确认违法|责令){G}{{0,8}}?{N}\s*(?:件|宗|起|个)")),
    ("other", re.compile(rf"(?:驳回|终止|撤回|其他结果){G}{{0,8}}?{N}\s*(?:件|宗|起|个)")),
    ("pending", re.compile(rf"(?:尚未(?:审结|结案|办结)|正在审理|审理中){G}{{0,4}}?{N}\s*(?:件|宗|起|个)")),
)

_CLAUSE_END = re.compile(r"[，,。；;\n]")
_SENTENCE_END = re.compile(r"[。；;\n]")


@dataclass
class ProseResult:
    values: dict[str, list[tuple[float, Provenance]]]

    def decided(self) -> tuple[dict[str, float], dict[str, Provenance], list[str]]:
        out: dict[str, float] = {}
        prov: dict[str, Provenance] = {}
        warns: list[str] = []
        for key, items in self.values.items():
            vals = {v for v, _ in items}
            if len(vals) == 1:
                out[key] = items[0][0]
                prov[key] = items[0][1]
            else:
                warns.append(f"{key}: the text states {sorted(vals)}; left out")
        return out, prov, warns


# How far a clause or sentence reaches on either side of a match. Real ones
# are far shorter; without a bound, text with no punctuation made every match
# scan to both ends of the document (quadratic in the number of matches).
_SPAN_MAX = 600


def _bounded_span(text: str, pos: int, stops: str, end_rx: re.Pattern[str]) -> tuple[int, int]:
    lo = max(0, pos - _SPAN_MAX)
    s = max([text.rfind(c, lo, pos) for c in stops] + [lo - 1]) + 1
    hi = min(len(text), pos + _SPAN_MAX)
    m = end_rx.search(text, pos, hi)
    return s, m.start() if m else hi


def _clause(text: str, pos: int) -> tuple[int, int]:
    return _bounded_span(text, pos, "，,。；;\n", _CLAUSE_END)


def _sentence(text: str, pos: int) -> tuple[int, int]:
    return _bounded_span(text, pos, "。；;\n", _SENTENCE_END)


def _prov(text: str, a: int, b: int) -> Provenance:
    s, e = _sentence(text, a)
    return Provenance(kind="text", span=(a, b), text=text[s : max(e, b)][:300])


def parse(doc: Document, *, prose_text: str | None = None) -> ProseResult:
    text = prose_text if prose_text is not None else doc.text
    found: dict[str, list[tuple[float, Provenance]]] = {}

    def add(key: str, value: float, a: int, b: int) -> None:
        found.setdefault(key, []).append((value, _prov(text, a, b)))

    for rule in RULES:
        if rule.needs not in text:
            continue
        for m in rule.pattern.finditer(text):
            cs, ce = _clause(text, m.start())
            clause = text[cs:ce]
            if rule.exclude is not None and rule.exclude.search(text, cs, max(ce, m.end())):
                continue
            if rule.context is not None and not rule.context.search(
                text, max(0, m.start() - rule.window), max(ce, m.end())
            ):
                continue
            if rule.zero:
                add(rule.key, 0.0, m.start(), m.end())
                continue
            value = normalize.cn_number(m.group("n"))
            if value is None:
                continue
            del clause
            add(rule.key, value, m.start(), m.end())
    _review(text, found)
    return ProseResult(found)


def _review(text: str, found: dict[str, list[tuple[float, Provenance]]]) -> None:
    for prefix, total_rx, zero_rx in (
        ("review", _REVIEW_TOTAL, _REVIEW_ZERO),
        ("litigation", _LITIG_TOTAL, _LITIG_ZERO),
    ):
        for m in total_rx.finditer(text):
            n = next((g for g in m.groups() if g is not None), None)
            value = normalize.cn_number(n) if n else None
            if value is None:
                continue
            key = f"{prefix}.total"
            found.setdefault(key, []).append((value, _prov(text, m.start(), m.end())))
            if prefix != "review":
                continue
            # outcomes: rest of the sentence, and the next one when it starts with 其中
            _, e = _sentence(text, m.end())
            scope_end = e
            if e < len(text) and text[e + 1 : e + 4].lstrip().startswith("其中"):
                scope_end = _sentence(text, e + 1)[1]
            for col, rx in _OUTCOMES:
                for om in rx.finditer(text, m.end(), scope_end):
                    if "诉讼" in text[m.end() : om.start()]:
                        break
                    v = normalize.cn_number(om.group("n"))
                    if v is not None:
                        found.setdefault(f"review.{col}", []).append((v, _prov(text, om.start(), om.end())))
        for m in zero_rx.finditer(text):
            _s, e = _sentence(text, m.start())
            seg = text[m.start() : m.end()]
            # "有1起因…行政复议，无提起行政诉讼": the negation must govern this noun
            if prefix == "review" and re.search(r"\d", seg):
                continue
            found.setdefault(f"{prefix}.total", []).append((0.0, _prov(text, m.start(), m.end())))
