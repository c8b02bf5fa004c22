from services.extract.engine.splitting import candidates, chunks, sums_to_last

ROW = [(0, 7, sums_to_last)]


def test_applicant_identity_makes_a_run_decidable() -> None:
    assert candidates(["640020470"], 7, groups=ROW) == [(64, 0, 0, 2, 0, 4, 70)]


def test_every_split_is_reported_when_identity_does_not_decide() -> None:
    got = candidates(["1111112"], 7, groups=ROW)
    # digits 1,1,1,1,1,1 and 2 cannot be an identity-respecting split; 11 is not either
    assert got == []
    amb = candidates(["6233440"], 3)
    assert amb is not None and len(amb) > 1


def test_no_leading_zeros_and_spaces_are_boundaries() -> None:
    assert candidates(chunks("23 0 00 0 023") or [], 7, groups=ROW) == [(23, 0, 0, 0, 0, 0, 23)]
    assert candidates(["07"], 2) == [(0, 7)]
    assert candidates(["10", "5"], 2) == [(10, 5)]  # the space keeps 10 whole


def test_review_row_three_identities() -> None:
    groups = [(0, 5, sums_to_last), (5, 10, sums_to_last), (10, 15, sums_to_last)]
    assert candidates(["21317000001324019"], 15, groups=groups) == [
        (2, 1, 3, 1, 7, 0, 0, 0, 0, 0, 13, 2, 4, 0, 19)
    ]


def test_decimals_only_at_the_end_of_a_chunk() -> None:
    assert candidates(["18651.06"], 1, max_digits=12) == [(18651.06,)]
    assert chunks("12 a3") is None


def test_budget_exhaustion_is_undecidable_not_a_guess() -> None:
    assert candidates(["1" * 40], 15, budget=100) is None
