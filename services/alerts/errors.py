"""Errors of the alerts service::

AlertsError
├── RuleConfigError      rule parameters that do not validate
└── DeliveryError        one send to one sink failed (retried)
    └── PermanentDeliveryError   retrying cannot help (4xx, bad address)
"""

from __future__ import annotations


class AlertsError(Exception):
    """Base of every alerts-service error."""


class RuleConfigError(AlertsError):
    """The rule parameters file names an unknown rule or a bad parameter."""


class DeliveryError(AlertsError):
    """A send failed; the deliverer retries it with backoff."""


class PermanentDeliveryError(DeliveryError):
    """A send failed in a way retrying cannot fix (e.g. HTTP 4xx other than
    408/429); the deliverer gives up at once."""
