"""Synthetic annual reports in the gb2021 template (国办公开办函〔2021〕30号),
as plain text with the tables flattened one cell per line — the layout of
``corpus/seeds/004_*.txt``. The end-to-end tests and demos feed these to
the real extraction engine, so an alert can be traced from a document all
the way to a webhook.

``render_gb2021(agency, year, figures)`` takes the 总计 column by catalogue
key; every applicant's count goes to 自然人 (so ``applicant_sums`` holds),
and ``outcome_sum`` / ``intake_balance`` hold only if the caller's figures
make them hold — which is how a test breaks an identity on purpose.
"""

from __future__ import annotations

from collections.abc import Mapping

from schemas.catalogue import PARENTS

# the reasons under each total, by their last key part, in the table's order
REFUSED, UNABLE, NOT_PROCESSED, OTHER = (
    tuple(key.rsplit(".", 1)[1] for key in PARENTS[f"applications.{total}.total"])
    for total in ("refused", "unable", "not_processed", "other")
)

_LABELS = {
    "refused": (
        "（三）不予公开",
        [
            "1.属于国家秘密",
            "2.其他法律行政法规禁止公开",
            "3.危及“三安全一稳定”",
            "4.保护第三方合法权益",
            "5.属于三类内部事务信息",
            "6.属于四类过程性信息",
            "7.属于行政执法案卷",
            "8.属于行政查询事项",
        ],
    ),
    "unable": (
        "（四）无法提供",
        ["1.本机关不掌握相关政府信息", "2.没有现成信息需要另行制作", "3.补正后申请内容仍不明确"],
    ),
    "not_processed": (
        "（五）不予处理",
        [
            "1.信访举报投诉类申请",
            "2.重复申请",
            "3.要求提供公开出版物",
            "4.无正当理由大量反复申请",
            "5.要求行政机关确认或重新出具已获取信息",
        ],
    ),
    "other": (
        "（六）其他处理",
        [
            "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
            "3.其他",
        ],
    ),
}
_KEYS = {"refused": REFUSED, "unable": UNABLE, "not_processed": NOT_PROCESSED, "other": OTHER}


def consistent(
    new_received: int,
    *,
    granted: int,
    partially_granted: int = 0,
    refused: Mapping[str, int] | None = None,
    unable: Mapping[str, int] | None = None,
    not_processed: Mapping[str, int] | None = None,
    other: Mapping[str, int] | None = None,
    carried_over: int = 0,
    review: tuple[int, int, int, int] = (0, 0, 0, 0),
    litigation_direct: tuple[int, int, int, int] = (0, 0, 0, 0),
    litigation_after_review: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> dict[str, float]:
    """Figures whose identities all hold: total_handled is the sum of the
    outcomes, carried_forward balances the intake."""
    f: dict[str, float] = {
        "applications.new_received": new_received,
        "applications.carried_over": carried_over,
        "applications.granted": granted,
        "applications.partially_granted": partially_granted,
    }
    handled = granted + partially_granted
    for group, values in (
        ("refused", refused),
        ("unable", unable),
        ("not_processed", not_processed),
        ("other", other),
    ):
        subtotal = 0
        for key in _KEYS[group]:
            v = (values or {}).get(key, 0)
            f[f"applications.{group}.{key}"] = v
            subtotal += v
        f[f"applications.{group}.total"] = subtotal
        handled += subtotal
    f["applications.total_handled"] = handled
    f["applications.carried_forward"] = new_received + carried_over - handled
    for prefix, outcome in (
        ("review", review),
        ("litigation.direct", litigation_direct),
        ("litigation.after_review", litigation_after_review),
    ):
        for name, v in zip(("upheld", "corrected", "other", "pending"), outcome, strict=False):
            f[f"{prefix}.{name}"] = v
        f[f"{prefix}.total"] = sum(outcome)
    return f


def _row(label: str, total: float, prefix: tuple[str, ...] = ()) -> list[str]:
    n = int(total)
    cells = [*prefix, label, str(n), "0", "0", "0", "0", "0", str(n)]
    return ["\t" + c for c in cells] + [""]


def render_gb2021(agency: str, year: int, figures: Mapping[str, float]) -> str:
    """The report text. ``figures`` as from ``consistent`` (possibly altered)."""
    g = figures.get
    lines = [
        f"{agency}{year}年度政府信息",
        "公开工作年度报告",
        "",
        "一、总体情况",
        "（一）主动公开",
        f"{year}年，本机关认真贯彻落实《中华人民共和国政府信息公开条例》，持续做好主动公开工作。",
        "（二）依申请公开",
        "本机关依法办理政府信息公开申请，均在规定时间内答复，具体情况见下表。",
        "二、主动公开政府信息情况",
        "\t第二十条第（一）项",
        "",
        "\t信息内容",
        "\t本年制发件数",
        "\t本年废止件数",
        "\t现行有效件数",
        "",
        "\t规章",
        "\t0",
        "\t0",
        "\t0",
        "",
        "\t行政规范性文件",
        "\t1",
        "\t0",
        "\t5",
        "",
        "\t第二十条第（五）项",
        "",
        "\t信息内容",
        "\t本年处理决定数量",
        "",
        "\t行政许可",
        "\t120",
        "",
        "\t第二十条第（六）项",
        "",
        "\t信息内容",
        "\t本年处理决定数量",
        "",
        "\t行政处罚",
        "\t80",
        "",
        "\t行政强制",
        "\t3",
        "",
        "\t第二十条第（八）项",
        "",
        "\t信息内容",
        "\t本年收费金额（单位：万元）",
        "",
        "\t行政事业性收费",
        "\t0",
        "",
        "",
        "三、收到和处理政府信息公开申请情况",
        "\t（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
        "\t申请人情况",
        "",
        "\t",
        "\t自然人",
        "\t法人或其他组织",
        "\t总计",
        "",
        "\t",
        "\t",
        "\t商业",
        "企业",
        "\t科研",
        "机构",
        "\t社会公益组织",
        "\t法律服务机构",
        "\t其他",
        "\t",
        "",
    ]
    lines += _row("一、本年新收政府信息公开申请数量", g("applications.new_received", 0))
    lines += _row("二、上年结转政府信息公开申请数量", g("applications.carried_over", 0))
    lines += _row("（一）予以公开", g("applications.granted", 0), ("三、本年度办理结果",))
    lines += _row(
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        g("applications.partially_granted", 0),
        ("",),
    )
    for group, (head, labels) in _LABELS.items():
        for i, (key, label) in enumerate(zip(_KEYS[group], labels, strict=False)):
            prefix = ("", head) if i == 0 else ("", "")
            lines += _row(label, g(f"applications.{group}.{key}", 0), prefix)
    lines += _row("（七）总计", g("applications.total_handled", 0), ("",))
    lines += _row("四、结转下年度继续办理", g("applications.carried_forward", 0))
    lines += [
        "",
        "四、政府信息公开行政复议、行政诉讼情况",
        "\t行政复议",
        "\t行政诉讼",
        "",
        "\t结果维持",
        "\t结果",
        "纠正",
        "\t其他",
        "结果",
        "\t尚未",
        "审结",
        "\t总计",
        "\t未经复议直接起诉",
        "\t复议后起诉",
        "",
        "\t",
        "\t",
        "\t",
        "\t",
        "\t",
        "\t结果",
        "维持",
        "\t结果",
        "纠正",
        "\t其他",
        "结果",
        "\t尚未",
        "审结",
        "\t总计",
        "\t结果",
        "维持",
        "\t结果",
        "纠正",
        "\t其他",
        "结果",
        "\t尚未",
        "审结",
        "\t总计",
        "",
    ]
    for block in ("review", "litigation.direct", "litigation.after_review"):
        for name in ("upheld", "corrected", "other", "pending", "total"):
            lines.append(f"\t{int(g(f'{block}.{name}', 0))}")
        lines.append("")
    lines += [
        "",
        "    五、存在的主要问题及改进情况",
        "信息公开的及时性和规范性有待进一步提升，下一步将加强培训，完善工作机制。",
        "六、其他需要报告的事项",
        f"本机关{year}年未收取信息处理费，无其他需要报告的事项。",
        "",
    ]
    return "\n".join(lines)
