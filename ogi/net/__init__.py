"""Outbound HTTP, hardened once for every service: the address policy and
connect-time guard (:mod:`.guard`), the client (:mod:`.client`), the
bounded body reader (:mod:`.body`), refusals (:mod:`.errors`) and URL
redaction for logs, topics and indices (:mod:`.redact`)."""

from ogi.net.body import read_bounded
from ogi.net.client import OutboundClient
from ogi.net.errors import (
    BlockedAddress,
    EncodingRefused,
    InvalidURL,
    NetRefusal,
    TooLarge,
    UnsupportedScheme,
)
from ogi.net.guard import AddressPolicy, check_url, deadline
from ogi.net.redact import redact_url, scrub

__all__ = [
    "AddressPolicy",
    "BlockedAddress",
    "EncodingRefused",
    "InvalidURL",
    "NetRefusal",
    "OutboundClient",
    "TooLarge",
    "UnsupportedScheme",
    "check_url",
    "deadline",
    "read_bounded",
    "redact_url",
    "scrub",
]
