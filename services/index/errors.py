"""Errors of the index service.

    IndexError_
    ├── StoreUnavailable    Elasticsearch cannot be reached (retried, never dropped)
    └── DocumentRejected    Elasticsearch or the decoder refused one record (dead letter)
"""


class IndexError_(RuntimeError):  # trailing underscore: do not shadow the builtin
    """Base of the index service's errors."""


class StoreUnavailable(IndexError_):
    """Elasticsearch did not answer; the batch is retried until it does."""


class DocumentRejected(IndexError_):
    """One record cannot be indexed; it goes to the dead-letter topic."""
