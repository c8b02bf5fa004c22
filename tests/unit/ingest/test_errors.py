"""The error hierarchy is what its docstring draws, and ``__all__`` is complete."""

from __future__ import annotations

import inspect

from services.ingest import errors


def test_all_lists_every_error() -> None:
    classes = {n for n, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, Exception)}
    assert set(errors.__all__) == classes


def test_every_class_is_drawn_in_the_docstring() -> None:
    assert all(name in (errors.__doc__ or "") for name in errors.__all__)


def test_policy_refusals_are_not_failures() -> None:
    refused = (
        errors.UnsupportedScheme,
        errors.BlockedAddress,
        errors.RobotsDisallowed,
        errors.TooLarge,
        errors.TooManyRedirects,
        errors.NotADocument,
    )
    assert all(issubclass(c, errors.Refused) for c in refused)
    failures = (errors.HttpStatus, errors.TransportFailure, errors.RobotsUnavailable)
    assert all(issubclass(c, errors.FetchError) and not issubclass(c, errors.Refused) for c in failures)
    assert issubclass(errors.FetchError, errors.IngestError) and issubclass(
        errors.RegistryError, errors.IngestError
    )
