from services.extract.engine import checks

BASE = {
    "applications.new_received": 10,
    "applications.carried_over": 1,
    "applications.total_handled": 9,
    "applications.carried_forward": 2,
    "applications.granted": 3,
    "applications.partially_granted": 1,
    "applications.refused.total": 2,
    "applications.unable.total": 1,
    "applications.not_processed.total": 1,
    "applications.other.total": 1,
}


def test_identities_hold() -> None:
    c = checks.compute(dict(BASE), {}, table=True)
    assert c == {"intake_balance": True, "outcome_sum": True}


def test_broken_identity_is_false_and_missing_input_absent() -> None:
    m = dict(BASE, **{"applications.granted": 4})
    c = checks.compute(m, {}, table=True)
    assert c["outcome_sum"] is False and c["intake_balance"] is True
    m.pop("applications.carried_over")
    assert "intake_balance" not in checks.compute(m, {}, table=True)


def test_review_and_applicant_sums() -> None:
    m = {
        "review.upheld": 10,
        "review.corrected": 1,
        "review.other": 0,
        "review.pending": 0,
        "review.total": 0,
    }
    bd = {
        "applications.new_received": {
            "natural_person": 3,
            "commercial": 0,
            "research": 0,
            "social_org": 0,
            "legal_service": 0,
            "other_org": 2,
            "total": 5,
        }
    }
    c = checks.compute(m, bd, table=True)
    assert c["review_sum"] is False and c["applicant_sums"] is True


def test_freetext_outcome_sum() -> None:
    m = {"applications.total_handled": 10, "applications.granted": 6, "applications.refused.total": 4}
    assert checks.compute(m, {}, table=False) == {"freetext_outcome_sum": True}
    assert checks.compute({"applications.total_handled": 10}, {}, table=False) == {}


def test_freetext_outcome_sum_with_2019_groups() -> None:
    m = {
        "applications.total_handled": 10,
        "applications.granted": 3,
        "applications.unable.total": 4,
        "applications.unable.not_held": 4,
        "applications.not_processed.total": 3,
    }
    assert checks.compute(m, {}, table=False) == {"freetext_outcome_sum": True}
