"""Typed errors of the extraction service.

Every error that leaves the engine is one of these; the worker sends the
record to the dead-letter topic with ``type(err).__name__`` and ``str(err)``,
so each message says what was wrong with *this* document::

    ExtractError                      base: the document could not be read
    ├── UnsupportedFormat             bytes are no format we read (or an empty file)
    ├── CorruptDocument               a known format, but broken (truncated PDF, bad zip ...)
    ├── DocumentTooLarge              over a size limit, or a decompression bomb
    ├── ConversionFailed              the external converter (LibreOffice/antiword) failed
    ├── ParseError                    the document was read, but a parser failed on it (a bug)
    └── ResourceLimitExceeded         the bounded child process was stopped
        ├── ExtractionTimeout         ... because it ran past its wall-clock limit
        └── ExtractionMemoryExceeded  ... because it hit its address-space limit

A scanned PDF without a text layer or a document that is not an annual
report is *not* an error: it yields ``template=none`` with a warning.
"""

from __future__ import annotations

__all__ = [
    "ConversionFailed",
    "CorruptDocument",
    "DocumentTooLarge",
    "ExtractError",
    "ExtractionMemoryExceeded",
    "ExtractionTimeout",
    "ParseError",
    "ResourceLimitExceeded",
    "UnsupportedFormat",
]


class ExtractError(Exception):
    """Base of every error the extraction engine raises on purpose."""


class UnsupportedFormat(ExtractError):
    """The bytes are not a format the engine reads."""


class CorruptDocument(ExtractError):
    """The format is known but the document is damaged or cannot be parsed."""


class DocumentTooLarge(ExtractError):
    """The document (or what it decompresses to) exceeds a configured limit."""


class ConversionFailed(ExtractError):
    """An external converter (LibreOffice, antiword) failed or is missing."""


class ParseError(ExtractError):
    """The document was read but a parser failed on it: an engine bug to fix,
    reported with the stage and the original error."""


class ResourceLimitExceeded(ExtractError):
    """The bounded extraction was stopped by a resource limit."""


class ExtractionTimeout(ResourceLimitExceeded):
    """Extraction ran longer than its wall-clock limit."""


class ExtractionMemoryExceeded(ResourceLimitExceeded):
    """Extraction exceeded its address-space (memory) limit."""
