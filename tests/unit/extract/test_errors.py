import services.extract.engine as engine
from services.extract import errors


def test_hierarchy() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.ExtractError)
    assert issubclass(errors.ExtractionTimeout, errors.ResourceLimitExceeded)
    assert issubclass(errors.ExtractionMemoryExceeded, errors.ResourceLimitExceeded)


def test_all_is_complete() -> None:
    exported = {n for n in dir(errors) if isinstance(getattr(errors, n), type)
                and issubclass(getattr(errors, n), Exception) and getattr(errors, n).__module__ == errors.__name__}
    assert exported == set(errors.__all__)
    assert set(engine.__all__) == {"extract", "extract_bounded"}
    for n in engine.__all__:
        assert callable(getattr(engine, n))
