"""Errors of the index service.

    IndexError_
    ├── DocumentRejected    Elasticsearch or the decoder refused one record (dead letter)
    ├── ExportFailed        ``ogi export`` cannot read the index (no file written)
    └── ExportInterrupted   ``ogi export`` stopped by a signal (no file written)

StoreUnavailable (Elasticsearch cannot be reached; retried, never dropped)
is shared by every service: ogi.elastic.
"""

from ogi.errors import StoreUnavailable

__all__ = ["DocumentRejected", "ExportFailed", "ExportInterrupted", "IndexError_", "StoreUnavailable"]


class IndexError_(RuntimeError):  # trailing underscore: do not shadow the builtin
    """Base of the index service's errors."""


class DocumentRejected(IndexError_):
    """One record cannot be indexed; it goes to the dead-letter topic."""


class ExportFailed(IndexError_):
    """``ogi export`` cannot read what it should write (no metrics index, a
    query Elasticsearch refuses); no file is written."""


class ExportInterrupted(IndexError_):
    """The export was stopped (SIGINT/SIGTERM) before it finished; the
    temporary file is removed, so no half file is left."""
