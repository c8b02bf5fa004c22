import services.extract.engine as engine
from services.extract import errors


def test_hierarchy() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.ExtractError)
    assert issubclass(errors.ExtractionTimeout, errors.ResourceLimitExceeded)
    assert issubclass(errors.ExtractionMemoryExceeded, errors.ResourceLimitExceeded)


def test_all_is_complete() -> None:
    exported = {
        n
        for n in dir(errors)
        if isinstance(getattr(errors, n), type)
        and issubclass(getattr(errors, n), Exception)
        and getattr(errors, n).__module__ == errors.__name__
    }
    assert exported == set(errors.__all__)
    assert set(engine.__all__) == {"extract", "extract_bounded"}
    for n in engine.__all__:
        assert callable(getattr(engine, n))


def test_report_identity_is_the_content_hash() -> None:
    import hashlib

    data = "某局2020年政府信息公开工作年度报告\n本年度主动公开政府信息10条。".encode()
    r = engine.extract(data, filename="x.txt")
    digest = hashlib.sha256(data).hexdigest()
    assert r.report_id == digest[:40] and r.content_sha256 == digest and r.file == "x.txt"


def test_a_parser_bug_is_a_typed_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from services.extract.engine import prose

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise IndexError("list index out of range")

    monkeypatch.setattr(prose, "parse", boom)
    with pytest.raises(errors.ParseError, match="IndexError"):
        engine.extract(
            "某局2015年政府信息公开工作年度报告\n共收到政府信息公开申请3件。".encode(), filename="a.txt"
        )
