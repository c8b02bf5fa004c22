"""Refusals of the outbound HTTP layer (:mod:`ogi.net`), one hierarchy::

    NetRefusal               policy said no; retrying will not change the answer
    ├── UnsupportedScheme    not http(s)
    ├── InvalidURL           unparseable, or longer than ``MAX_URL_CHARS``
    ├── BlockedAddress       the host is, or resolves to, an address the policy forbids
    ├── TooLarge             more decoded bytes than the cap (Content-Length or while reading)
    └── EncodingRefused      stacked, unknown or corrupt Content-Encoding

Timeouts (including the wall-clock deadline) are not refusals: they are
``httpx.TimeoutException`` and the caller decides whether to retry.
Services translate these into their own hierarchies (the ingest service's
``Refused`` subclasses inherit from the matching class here).
"""

from __future__ import annotations


class NetRefusal(Exception):
    """A request or response refused by policy; ``url`` is the URL concerned
    (may hold secrets: log it through :func:`ogi.net.redact.redact_url`)."""

    url: str | None = None


class UnsupportedScheme(NetRefusal):
    """Only http and https are requested."""


class InvalidURL(NetRefusal):
    """The URL cannot be parsed or is absurdly long."""


class BlockedAddress(NetRefusal):
    """The destination address is forbidden (metadata, loopback, private, ...)."""


class TooLarge(NetRefusal):
    """The (decoded) body is larger than the cap."""


class EncodingRefused(NetRefusal):
    """The Content-Encoding is stacked, unknown or its data corrupt."""


__all__ = ["BlockedAddress", "EncodingRefused", "InvalidURL", "NetRefusal", "TooLarge", "UnsupportedScheme"]
