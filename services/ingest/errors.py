"""The ingest service's errors, one hierarchy::

    IngestError
    ├── RegistryError            the registry file is unreadable or invalid
    │   └── SourceListInvalid    rows of an `ogi sources import` file are invalid (each named)
    └── FetchError               one URL could not be turned into bytes
        ├── Refused              policy said no; never retried, logged with the reason
        │   ├── UnsupportedScheme    not http(s)
        │   ├── InvalidURL           unparseable or overlong (a broken link on a list page)
        │   ├── BlockedAddress       private, loopback, link-local, ... (checked on
        │   │                        every DNS answer, before connecting, after each redirect)
        │   ├── RobotsDisallowed     robots.txt forbids the path for our user agent
        │   ├── TooLarge             over the size cap (Content-Length or while streaming, decoded)
        │   ├── BadEncoding          stacked, unknown or corrupt Content-Encoding
        │   ├── TooManyRedirects     over the redirect limit
        │   └── NotADocument         the bytes are no format the extractor reads
        │                            (e.g. an HTML error page served for a .pdf)
        ├── RobotsUnavailable    robots.txt answered 5xx or not at all: the site is off
        │                        limits until it can be read (RFC 9309), and that is an error
        ├── ColumnNotFound       no annual-report column reachable from a home page
        ├── HttpStatus           a final non-2xx/304 answer (4xx, or 5xx/429 after retries)
        └── TransportFailure     timeouts and connection errors after retries

``Refused`` is the outcome the monitor expects from hostile or broken sites:
it is logged as one ``fetch refused`` event and counted in ``ogi status``,
not sent to the dead-letter topic (there is no record of ours to keep).

The refusals that the shared HTTP layer makes (:mod:`ogi.net.errors`) arrive
here through :func:`from_net`: each ingest class also inherits the matching
``ogi.net`` class.
"""

from __future__ import annotations

from ogi.net import errors as net


class IngestError(Exception):
    """Base of everything the ingest service raises on purpose."""


class RegistryError(IngestError):
    """The source registry is missing, unreadable or invalid."""


class SourceListInvalid(RegistryError):
    """An import file with invalid rows; ``problems`` names each one. Nothing is imported."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} invalid row(s), nothing imported:\n" + "\n".join(problems))
        self.problems = problems


class FetchError(IngestError):
    """One URL could not be fetched; ``url`` is the URL that failed (after redirects)."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class ColumnNotFound(FetchError):
    """No column listing annual reports was reachable from the home page."""


class Refused(FetchError):
    """The fetch was refused by policy before or while reading it."""


class UnsupportedScheme(Refused, net.UnsupportedScheme):
    """Only http and https are fetched."""


class InvalidURL(Refused, net.InvalidURL):
    """The URL cannot be parsed or is longer than any real one."""


class BlockedAddress(Refused, net.BlockedAddress):
    """The host resolves to an address the source may not reach."""


class RobotsDisallowed(Refused):
    """robots.txt disallows the path for our user agent."""


class TooLarge(Refused, net.TooLarge):
    """The (decoded) body is larger than the configured cap."""


class BadEncoding(Refused, net.EncodingRefused):
    """The body's Content-Encoding is stacked, unknown or corrupt."""


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


_FROM_NET: tuple[tuple[type[net.NetRefusal], type[Refused]], ...] = (
    (net.UnsupportedScheme, UnsupportedScheme),
    (net.InvalidURL, InvalidURL),
    (net.BlockedAddress, BlockedAddress),
    (net.TooLarge, TooLarge),
    (net.EncodingRefused, BadEncoding),
)


def from_net(exc: net.NetRefusal, url: str | None) -> Refused:
    """The ingest refusal for a refusal of the shared HTTP layer."""
    if isinstance(exc, Refused):
        return exc
    cls = next((ours for theirs, ours in _FROM_NET if isinstance(exc, theirs)), Refused)
    return cls(str(exc), url=exc.url or url)


__all__ = [
    "BadEncoding",
    "BlockedAddress",
    "ColumnNotFound",
    "FetchError",
    "HttpStatus",
    "IngestError",
    "InvalidURL",
    "NotADocument",
    "Refused",
    "RegistryError",
    "RobotsDisallowed",
    "RobotsUnavailable",
    "SourceListInvalid",
    "TooLarge",
    "TooManyRedirects",
    "TransportFailure",
    "UnsupportedScheme",
]
