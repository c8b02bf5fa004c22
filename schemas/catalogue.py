"""The metric catalogue: the contract of ``shared/metrics.md``.

Every service speaks of report figures by these keys. Here are the keys of
the standard tables (国办公开办函〔2019〕60号 / 〔2021〕30号), the order the
tables print them in, which rows sum into which total, the column and block
names, and what each key means in words (the export's data dictionary, the
alerts' figures). How the extractor *finds* a row in a report (the label
patterns) is the extractor's own business: services/extract/engine/catalogue.py.
"""

from __future__ import annotations

APPLICANT_COLUMNS = (
    "natural_person",
    "commercial",
    "research",
    "social_org",
    "legal_service",
    "other_org",
    "total",
)
APPLICANT_COLUMN_LABELS = {
    "natural_person": "自然人",
    "commercial": "商业企业",
    "research": "科研机构",
    "social_org": "社会公益组织",
    "legal_service": "法律服务机构",
    "other_org": "其他",
    "total": "总计",
}
REVIEW_COLUMNS = ("upheld", "corrected", "other", "pending", "total")
REVIEW_BLOCKS = ("review", "litigation.direct", "litigation.after_review")
REVIEW_COLUMN_LABELS = {
    "upheld": "结果维持",
    "corrected": "结果纠正",
    "other": "其他结果",
    "pending": "尚未审结",
    "total": "总计",
}

#: the application table's rows in the order the standard table prints them,
#: each with the total it sums into (None: a row of its own)
_APPLICATION_TABLE: tuple[tuple[str, str | None], ...] = (
    ("applications.new_received", None),
    ("applications.carried_over", None),
    ("applications.granted", None),
    ("applications.partially_granted", None),
    ("applications.refused.total", None),
    ("applications.refused.state_secret", "applications.refused.total"),
    ("applications.refused.prohibited_by_law", "applications.refused.total"),
    ("applications.refused.security_stability", "applications.refused.total"),
    ("applications.refused.third_party_rights", "applications.refused.total"),
    ("applications.refused.internal_affairs", "applications.refused.total"),
    ("applications.refused.process_information", "applications.refused.total"),
    ("applications.refused.enforcement_case_file", "applications.refused.total"),
    ("applications.refused.administrative_query", "applications.refused.total"),
    ("applications.unable.total", None),
    ("applications.unable.not_held", "applications.unable.total"),
    ("applications.unable.needs_creation", "applications.unable.total"),
    ("applications.unable.unclear_after_correction", "applications.unable.total"),
    ("applications.not_processed.total", None),
    ("applications.not_processed.petition_complaint", "applications.not_processed.total"),
    ("applications.not_processed.duplicate", "applications.not_processed.total"),
    ("applications.not_processed.publication", "applications.not_processed.total"),
    ("applications.not_processed.excessive_repeated", "applications.not_processed.total"),
    ("applications.not_processed.confirmation_request", "applications.not_processed.total"),
    ("applications.other.total", None),
    ("applications.other.no_correction", "applications.other.total"),
    ("applications.other.fee_unpaid", "applications.other.total"),
    ("applications.other.other", "applications.other.total"),
    ("applications.total_handled", None),
    ("applications.carried_forward", None),
)
APPLICATION_KEYS: tuple[str, ...] = tuple(key for key, _ in _APPLICATION_TABLE)
#: each total of the application table -> the reasons that sum into it
PARENTS: dict[str, list[str]] = {
    total: [key for key, parent in _APPLICATION_TABLE if parent == total]
    for total in dict.fromkeys(parent for _, parent in _APPLICATION_TABLE if parent)
}
OUTCOME_KEYS = (
    "applications.granted",
    "applications.partially_granted",
    "applications.refused.total",
    "applications.unable.total",
    "applications.not_processed.total",
    "applications.other.total",
)


# ---------------------------------------------------------------------------
# What each key means, in the catalogue's own words (shared/metrics.md): for
# people reading the data (the export's data dictionary), not for matching
# (services/extract/engine/catalogue.py does that). A composed key (review.*, proactive.*) is
# described from its block and column labels, so each label is written once.

ROW_LABELS: dict[str, str] = {
    "applications.new_received": "一、本年新收政府信息公开申请数量",
    "applications.carried_over": "二、上年结转政府信息公开申请数量",
    "applications.granted": "（一）予以公开",
    "applications.partially_granted": "（二）部分公开",
    "applications.refused.total": "（三）不予公开 — sum of its reasons",
    "applications.refused.state_secret": "不予公开 1.属于国家秘密",
    "applications.refused.prohibited_by_law": "不予公开 2.其他法律行政法规禁止公开",
    "applications.refused.security_stability": "不予公开 3.危及“三安全一稳定”",
    "applications.refused.third_party_rights": "不予公开 4.保护第三方合法权益",
    "applications.refused.internal_affairs": "不予公开 5.属于三类内部事务信息",
    "applications.refused.process_information": "不予公开 6.属于四类过程性信息",
    "applications.refused.enforcement_case_file": "不予公开 7.属于行政执法案卷",
    "applications.refused.administrative_query": "不予公开 8.属于行政查询事项",
    "applications.unable.total": "（四）无法提供 — sum",
    "applications.unable.not_held": "无法提供 1.本机关不掌握相关政府信息 (free text: 本行政机关不掌握 / 信息不存在)",
    "applications.unable.needs_creation": "无法提供 2.没有现成信息需要另行制作",
    "applications.unable.unclear_after_correction": "无法提供 3.补正后申请内容仍不明确",
    "applications.not_processed.total": "（五）不予处理 — sum",
    "applications.not_processed.petition_complaint": "不予处理 1.信访举报投诉类申请",
    "applications.not_processed.duplicate": "不予处理 2.重复申请",
    "applications.not_processed.publication": "不予处理 3.要求提供公开出版物",
    "applications.not_processed.excessive_repeated": "不予处理 4.无正当理由大量反复申请",
    "applications.not_processed.confirmation_request": "不予处理 5.要求行政机关确认或重新出具已获取信息",
    "applications.other.total": "（六）其他处理 — sum (the only row in gb2019; free text: 其他答复情形)",
    "applications.other.no_correction": "其他处理 1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "applications.other.fee_unpaid": "其他处理 2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "applications.other.other": "其他处理 3.其他",
    "applications.total_handled": "（七）总计 (free text: 共答复/办结申请N件)",
    "applications.carried_forward": "四、结转下年度继续办理",
    # free-text reports: the categories of their time
    "applications.already_public": "free text: 属于已主动公开范围",
    "applications.granted_or_partial": "free text: 同意公开或部分公开 (only when the report gives the two as one number)",
    "applications.unable.not_this_agency": "free text: 不属于本行政机关公开 / 非本机关政府信息",
    "applications.unable.unclear": "free text: 申请内容不明确",
    "applications.other.correction_requested": "free text: 告知作出更改补充 / 告知补正",
    "applications.other.other_channel": "free text: 告知通过其他途径办理",
    "applications.withdrawn": "free text: 申请人主动撤销/撤回申请",
    "applications.channel.online": "free text: applications received online (网上申请)",
    "applications.channel.letter": "free text: applications received by letter (信函申请)",
    "applications.channel.in_person": "free text: applications made in person (当面申请)",
    "applications.channel.fax": "free text: applications received by fax (传真申请)",
    "applications.channel.email": "free text: applications received by e-mail (电子邮件申请)",
    "applications.applicant.citizen": "free text: applications from citizens (公民)",
    "applications.applicant.legal_person": "free text: applications from legal persons and other organisations (法人或其他组织)",
    "litigation.total": "行政诉讼 — free text only, when the report gives one litigation count",
    "proactive.items_total": "主动公开 — free text: 主动公开政府信息N条",
    "fees.collected_yuan": "信息处理费 collected in the year, in 元",
    "fees.cases": "number of applications that were charged a fee",
    "rates.refusal": "derived, never read: applications.refused.total / applications.total_handled",
    "rates.grant": "derived, never read: (applications.granted + applications.partially_granted) / "
    "applications.total_handled",
    "rates.review_correction": "derived, never read: review.corrected / review.total",
    "rates.litigation_correction": "derived, never read: (litigation.direct.corrected + "
    "litigation.after_review.corrected) / (litigation.direct.total + "
    "litigation.after_review.total)",
}
REVIEW_BLOCK_LABELS = {
    "review": "行政复议",
    "litigation.direct": "行政诉讼 — 未经复议直接起诉",
    "litigation.after_review": "行政诉讼 — 复议后起诉",
}
PROACTIVE_ROW_LABELS = {
    "proactive.regulations": "主动公开 规章",
    "proactive.normative_documents": "主动公开 行政规范性文件 (gb2019: 规范性文件)",
    "proactive.licensing": "主动公开 行政许可",
    "proactive.other_services": "主动公开 其他对外管理服务事项",
    "proactive.penalties": "主动公开 行政处罚",
    "proactive.coercive_measures": "主动公开 行政强制",
    "proactive.fees": "主动公开 行政事业性收费",
    "proactive.procurement": "主动公开 政府集中采购",
}
PROACTIVE_COLUMN_LABELS = {
    "issued": "本年制发件数 (gb2021) / 本年新制作数量 (gb2019)",
    "repealed": "本年废止件数",
    "in_force": "现行有效件数",
    "published_new": "本年新公开数量",
    "published_total": "对外公开总数量",
    "decisions": "本年处理决定数量",
    "items_prev_year": "上一年项目数量",
    "items_change": "本年增/减 (signed)",
    "amount_wan_yuan": "金额, in 万元 (收费: 本年收费金额; 采购: 采购总金额, converted from 元 when printed so)",
    "projects": "采购项目数量",
}
TEMPLATE_MEANINGS = {
    "gb2021": "standard tables of 国办公开办函〔2021〕30号 (reports for 2021 and later); 其他处理 has three rows",
    "gb2019": "standard tables of 国办公开办函〔2019〕60号 (reports for 2019–2020); 其他处理 is one row",
    "freetext": "prose with numbers, mostly before 2019 (2008 regulation): figures read from sentences",
    "none": "not an annual report (a notice, a work plan): nothing is read from it",
}
CHECK_IDENTITIES = {
    "intake_balance": "new_received + carried_over = total_handled + carried_forward",
    "outcome_sum": "granted + partially_granted + refused.total + unable.total + not_processed.total + "
    "other.total = total_handled",
    "reason_sums": "each .total = sum of its reasons",
    "applicant_sums": "for each row, the six applicant columns sum to the total column",
    "review_sum": "行政复议: the four outcomes sum to 总计",
    "litigation_direct_sum": "行政诉讼 未经复议直接起诉: the four outcomes sum to 总计",
    "litigation_after_review_sum": "行政诉讼 复议后起诉: the four outcomes sum to 总计",
    "freetext_outcome_sum": "free text: the listed outcomes sum to the stated total",
}

#: every 勾稽 check the extractor computes, with the catalogue keys it relates
#: (in the order the identity reads them; the alert shows these figures)
CHECK_FIGURES: dict[str, tuple[str, ...]] = {
    "intake_balance": (
        "applications.new_received",
        "applications.carried_over",
        "applications.total_handled",
        "applications.carried_forward",
    ),
    "outcome_sum": (*OUTCOME_KEYS, "applications.total_handled"),
    "reason_sums": tuple(PARENTS),
    "applicant_sums": (),  # every application row's applicant columns against its total column
    "review_sum": tuple(f"review.{c}" for c in REVIEW_COLUMNS),
    "litigation_direct_sum": tuple(f"litigation.direct.{c}" for c in REVIEW_COLUMNS),
    "litigation_after_review_sum": tuple(f"litigation.after_review.{c}" for c in REVIEW_COLUMNS),
    "freetext_outcome_sum": ("applications.total_handled", "applications.new_received"),
}


def meaning(key: str) -> str | None:
    """The catalogue's meaning of one metric key; None for a key the
    catalogue does not define."""
    if key in ROW_LABELS:
        return ROW_LABELS[key]
    block, _, column = key.rpartition(".")
    if block in REVIEW_BLOCK_LABELS and column in REVIEW_COLUMN_LABELS:
        return f"{REVIEW_BLOCK_LABELS[block]} — {REVIEW_COLUMN_LABELS[column]}"
    if block in PROACTIVE_ROW_LABELS and column in PROACTIVE_COLUMN_LABELS:
        return f"{PROACTIVE_ROW_LABELS[block]} — {PROACTIVE_COLUMN_LABELS[column]}"
    return None


def key_order(key: str) -> tuple[int, int, str]:
    """Sort key that lists metrics as the standard tables do (applications
    in row order, then review and litigation, proactive, fees, rates);
    keys the catalogue does not define go last, alphabetically."""
    sections = ("applications", "review", "litigation", "proactive", "fees", "rates")
    section = key.split(".", 1)[0]
    rank = sections.index(section) if section in sections else len(sections)
    row = APPLICATION_KEYS.index(key) if key in APPLICATION_KEYS else len(APPLICATION_KEYS)
    return (rank, row, key)
