"""勾稽关系: identities a correct reading satisfies. A check is present only
when all of its inputs are present; a report that breaks one keeps its
numbers as printed and gets ``False``."""

from __future__ import annotations

from schemas import catalogue as cat

_EPS = 1e-6

_FREETEXT_OUTCOMES = (
    "applications.already_public",
    "applications.granted",
    "applications.partially_granted",
    "applications.granted_or_partial",
    "applications.refused.total",
    "applications.unable.not_this_agency",
    "applications.unable.not_held",
    "applications.unable.needs_creation",
    "applications.unable.unclear",
)


def _eq(a: float, b: float) -> bool:
    return abs(a - b) < _EPS


def compute(
    metrics: dict[str, float], breakdown: dict[str, dict[str, float]], *, table: bool
) -> dict[str, bool]:
    out: dict[str, bool] = {}
    g = metrics.get
    a = "applications."
    if table:
        ks = cat.CHECK_FIGURES["intake_balance"]  # received + carried over = handled + carried forward
        if all(k in metrics for k in ks):
            out["intake_balance"] = _eq(g(ks[0]) + g(ks[1]), g(ks[2]) + g(ks[3]))  # type: ignore[operator]
        if a + "total_handled" in metrics and all(k in metrics for k in cat.OUTCOME_KEYS):
            out["outcome_sum"] = _eq(sum(metrics[k] for k in cat.OUTCOME_KEYS), metrics[a + "total_handled"])
        rs = []
        for parent, children in cat.PARENTS.items():
            if parent in metrics and all(c in metrics for c in children):
                rs.append(_eq(sum(metrics[c] for c in children), metrics[parent]))
        if rs:
            out["reason_sums"] = all(rs)
        aps = []
        for key, cols in breakdown.items():
            if key.startswith(a) and all(c in cols for c in cat.APPLICANT_COLUMNS):
                aps.append(_eq(sum(cols[c] for c in cat.APPLICANT_COLUMNS[:-1]), cols["total"]))
        if aps:
            out["applicant_sums"] = all(aps)
        for name in ("review_sum", "litigation_direct_sum", "litigation_after_review_sum"):
            ks = cat.CHECK_FIGURES[name]  # the outcomes, then their total
            if all(k in metrics for k in ks):
                out[name] = _eq(sum(metrics[k] for k in ks[:-1]), metrics[ks[-1]])
    else:
        total = g(a + "total_handled")
        parts = [k for k in _FREETEXT_OUTCOMES if k in metrics]
        if a + "unable.total" in metrics:  # the 2019 grouping replaces its reasons
            parts = [k for k in parts if not k.startswith(a + "unable.")] + [a + "unable.total"]
        if a + "not_processed.total" in metrics:
            parts.append(a + "not_processed.total")
        if g(a + "other.total") is not None:
            parts.append(a + "other.total")
        else:
            parts += [
                k for k in (a + "other.correction_requested", a + "other.other_channel") if k in metrics
            ]
        if total is not None and len(parts) >= 2:
            out["freetext_outcome_sum"] = _eq(sum(metrics[k] for k in parts), total)
    return out


def _column_values(rows: dict[str, tuple[float, ...]], key: str) -> tuple[float, ...] | None:
    if key in rows:
        return rows[key]
    children = cat.PARENTS.get(key)
    if children and all(c in rows for c in children):
        return tuple(sum(rows[c][i] for c in children) for i in range(len(cat.APPLICANT_COLUMNS)))
    return None


def rows_hold(rows: dict[str, tuple[float, ...]]) -> bool:
    """Every cross-row identity of the application table whose rows are all
    known holds, column by column (``rows``: key -> the seven applicant
    columns; NaN for a blank cell, which no identity can fail). Used to choose
    among readings of a broken table, before any metric exists."""

    def get(k: str) -> tuple[float, ...] | None:
        return _column_values(rows, k)

    new, co, th, cf = (
        get("applications." + k) for k in ("new_received", "carried_over", "total_handled", "carried_forward")
    )
    if new and co and th and cf:
        if any(abs(new[i] + co[i] - th[i] - cf[i]) > _EPS for i in range(len(th))):
            return False
    parts = [get(k) for k in cat.OUTCOME_KEYS]
    if th and all(parts):
        if any(abs(sum(p[i] for p in parts if p) - th[i]) > _EPS for i in range(len(th))):
            return False
    return True
