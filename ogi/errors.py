"""The errors of reaching Kafka and Elasticsearch, in a module of their own:
`ogi` catches them around every command, and importing them must not pull
in the client libraries (``ogi extract`` needs neither server)."""

from __future__ import annotations


class BrokerError(RuntimeError):
    """Kafka could not be reached or refused a record."""


class BrokerConfigError(BrokerError):
    """Kafka answered but refused us: wrong password, an unverifiable
    certificate, a protocol mismatch. Waiting does not help."""


class StoreUnavailable(RuntimeError):
    """Elasticsearch did not answer; the batch is retried until it does."""


class StoreConfigError(StoreUnavailable):
    """Elasticsearch answered but refused us (credentials, certificate):
    waiting does not help, the settings must change."""
