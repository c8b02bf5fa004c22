"""The ingest service's errors, one hierarchy::

    IngestError
    ├── RegistryError            the registry file is unreadable or invalid
    └── FetchError               one URL could not be turned into bytes
        ├── Refused              policy said no; never retried, logged with the reason
        │   ├── UnsupportedScheme    not http(s)
        │   ├── BlockedAddress       private, loopback, link-local, ... (checked on
        │   │                        every DNS answer, before connecting, after each redirect)
        │   ├── RobotsDisallowed     robots.txt forbids the path for our user agent
        │   ├── TooLarge             over the size cap (Content-Length or while streaming)
        │   ├── TooManyRedirects     over the redirect limit
        │   └── NotADocument         the bytes are no format the extractor reads
        │                            (e.g. an HTML error page served for a .pdf)
        ├── RobotsUnavailable    robots.txt answered 5xx or not at all: the site is off
        │                        limits until it can be read (RFC 9309), and that is an error
        ├── HttpStatus           a final non-2xx/304 answer (4xx, or 5xx/429 after retries)
        └── TransportFailure     timeouts and connection errors after retries

``Refused`` is the outcome the monitor expects from hostile or broken sites:
it is logged as one ``fetch refused`` event and counted in ``ogi status``,
not sent to the dead-letter topic (there is no record of ours to keep).
"""

from __future__ import annotations


class IngestError(Exception):
    """Base of everything the ingest service raises on purpose."""


class RegistryError(IngestError):
    """The source registry is missing, unreadable or invalid."""


class FetchError(IngestError):
    """One URL could not be fetched; ``url`` is the URL that failed (after redirects)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class Refused(FetchError):
    """The fetch was refused by policy before or while reading it."""


class UnsupportedScheme(Refused):
    """Only http and https are fetched."""


class BlockedAddress(Refused):
    """The host resolves to an address the source may not reach."""


class RobotsDisallowed(Refused):
    """robots.txt disallows the path for our user agent."""


class TooLarge(Refused):
    """The body is larger than the configured cap."""


class TooManyRedirects(Refused):
    """The redirect chain is longer than the configured limit."""


class NotADocument(Refused):
    """The sniffed content type is not a report format."""


class RobotsUnavailable(FetchError):
    """robots.txt could not be read, so nothing on the site is fetched."""


class HttpStatus(FetchError):
    """The server's final answer was an error status."""

    def __init__(self, message: str, *, status: int, url: str | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status


class TransportFailure(FetchError):
    """Timeouts or connection errors that outlasted the retries."""


__all__ = [
    "BlockedAddress",
    "FetchError",
    "HttpStatus",
    "IngestError",
    "NotADocument",
    "Refused",
    "RegistryError",
    "RobotsDisallowed",
    "RobotsUnavailable",
    "TooLarge",
    "TooManyRedirects",
    "TransportFailure",
    "UnsupportedScheme",
]
