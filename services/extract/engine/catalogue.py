"""Row labels of the standard tables (国办公开办函〔2019〕60号 / 〔2021〕30号)
as the extractor finds them in print, keyed by the metric catalogue
(``schemas/catalogue.py``: the keys, their order, families and meanings).

Each label is a regular expression for the label *as printed after
normalisation* (whitespace inside labels removed, simplified script). The
numbering prefix ("2.", "（三）") is optional but, when present, is part of
the match, so that in run-together text "00000002.重复申请" the "2." is not
read as a figure of the row before.
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.catalogue import APPLICATION_KEYS

_DOT = r"\s*[.．、]\s*"


def _n(num: str, core: str) -> str:
    """Arabic-numbered sub-row: optional '1.' prefix."""
    return rf"(?:{num}{_DOT})?{core}"


# An opening parenthesis: "（", or what OCR reads for it ("〈", "〔").
_OPEN = r"[（(〈〔]"
# A character of a long label OCR misread (chi_sim reads "逾" as "这", "庆",
# "斋"...): the rest of the label still says which row it is.
_ANY = r"[\u4e00-\u9fff]"


def _p(cn: str, core: str) -> str:
    """Parenthesised-numbered row: optional '（三）' prefix."""
    return rf"(?:{_OPEN}+\s*{cn}\s*[）)])?{core}"


@dataclass(frozen=True)
class Row:
    key: str
    pattern: str


# How each row's label reads in print, by key. The parser searches each label
# after the previous one, in the standard table's order (APPLICATION_KEYS).
APPLICATION_LABEL_PATTERNS: dict[str, str] = {
    "applications.new_received": r"(?:一、)?本年新收(?:政府信息公开)?申请数量?",
    "applications.carried_over": r"(?:二、)?上年结转(?:政府信息公开)?申请数量?",
    "applications.granted": _p("一", r"予以公开"),
    "applications.partially_granted": _p("二", rf"部分公开(?:{_OPEN}[^）)\d\x1f\x1e]{{0,40}}[）)])?"),
    "applications.refused.total": _p("三", r"不予公开"),
    "applications.refused.state_secret": _n("1", r"属于国家秘密"),
    "applications.refused.prohibited_by_law": _n("2", r"其他法律行政[^\d\x1f]{0,4}?公开"),
    "applications.refused.security_stability": _n("3", r"危及[“\"”]?三安全一稳定[”\"“]?"),
    "applications.refused.third_party_rights": _n("4", r"保护第三方?合法权益"),
    "applications.refused.internal_affairs": _n("5", r"属于三类内部事务信息"),
    "applications.refused.process_information": _n("6", r"属于四类过程性信息"),
    "applications.refused.enforcement_case_file": _n("7", r"属于行政执法案卷"),
    "applications.refused.administrative_query": _n("8", r"属于行政查询事项"),
    "applications.unable.total": _p("四", r"无法提供"),
    "applications.unable.not_held": _n("1", r"本机关不掌握相关政府信息"),
    "applications.unable.needs_creation": _n("2", r"没有现成信息需要另行制作"),
    "applications.unable.unclear_after_correction": _n("3", r"补正后申请内容仍不明确"),
    "applications.not_processed.total": _p("五", r"不予处理"),
    "applications.not_processed.petition_complaint": _n("1", r"信访举报投诉类申请"),
    "applications.not_processed.duplicate": _n("2", r"重复申请"),
    "applications.not_processed.publication": _n("3", r"要求提供公开出版物"),
    "applications.not_processed.excessive_repeated": _n("4", r"无正当理由大量反复申请"),
    "applications.not_processed.confirmation_request": _n("5", r"要求行政机关确认或重新出具已获取信息"),
    "applications.other.total": _p("六", r"其他处理"),
    "applications.other.no_correction": _n(
        "1", rf"申请人无正当理由{_ANY}期不补正(?:[^\d\x1f]{{0,30}}?申请)?"
    ),
    "applications.other.fee_unpaid": _n(
        "2", rf"申请人{_ANY}期未按收费通知要求缴纳费用(?:[^\d\x1f]{{0,30}}?申请)?"
    ),
    "applications.other.other": rf"3{_DOT}其他(?!处理|法律|结果)",
    # a bare 总计 is also a column header (repeated when the table runs over a
    # page): accept it as the row label only when figures follow it
    "applications.total_handled": r"[（(]\s*七\s*[）)]\s*总计|总计(?=[\s\x1f\x1e]*\d)",
    "applications.carried_forward": r"(?:四、)?结转下年度继续办理",
}
APPLICATION_ROWS: tuple[Row, ...] = tuple(
    Row(key, APPLICATION_LABEL_PATTERNS[key]) for key in APPLICATION_KEYS
)


@dataclass(frozen=True)
class ProactiveRow:
    prefix: str  # key prefix
    pattern: str
    cols2021: tuple[str, ...]
    cols2019: tuple[str, ...]


_DOCS21 = ("issued", "repealed", "in_force")
_DOCS19 = ("issued", "published_new", "published_total")
_ITEMS19 = ("items_prev_year", "items_change", "decisions")

PROACTIVE_ROWS: tuple[ProactiveRow, ...] = (
    ProactiveRow("proactive.regulations", r"规章", _DOCS21, _DOCS19),
    ProactiveRow("proactive.normative_documents", r"(?:行政)?规范性文件", _DOCS21, _DOCS19),
    ProactiveRow("proactive.licensing", r"行政许可", ("decisions",), _ITEMS19),
    ProactiveRow("proactive.other_services", r"其他对外管理服务事项", (), _ITEMS19),
    ProactiveRow("proactive.penalties", r"行政处罚", ("decisions",), _ITEMS19),
    ProactiveRow("proactive.coercive_measures", r"行政强制", ("decisions",), _ITEMS19),
    ProactiveRow(
        "proactive.fees", r"行政事业性收费", ("amount_wan_yuan",), ("items_prev_year", "items_change")
    ),
    ProactiveRow("proactive.procurement", r"政府集中采购", (), ("projects", "amount_wan_yuan")),
)

# Column headers of the proactive table that tell the two templates apart.
GB2021_MARKERS = (r"本年制发件数", r"本年废止件数", r"现行有效件数", r"本年收费金额")
GB2019_MARKERS = (r"本年新制作数量", r"本年新公开数量", r"对外公开总数量", r"上一年项目数量")
