from services.extract.engine import rates


def test_rates_computed() -> None:
    r = rates.compute(
        {
            "applications.total_handled": 20,
            "applications.refused.total": 5,
            "applications.granted": 8,
            "applications.partially_granted": 2,
            "review.corrected": 1,
            "review.total": 4,
        }
    )
    assert r == {"rates.refusal": 0.25, "rates.grant": 0.5, "rates.review_correction": 0.25}


def test_zero_denominator_is_absent() -> None:
    r = rates.compute(
        {
            "applications.total_handled": 0,
            "applications.refused.total": 0,
            "review.total": 0,
            "review.corrected": 0,
            "litigation.direct.corrected": 0,
            "litigation.after_review.corrected": 0,
            "litigation.direct.total": 0,
            "litigation.after_review.total": 0,
        }
    )
    assert r == {}
