"""One redaction helper for every URL that reaches a log line, a topic or
an index.

Two strengths:

* a fetched page's URL (``redact_url(url)``): user:password@ is replaced by
  ``***@`` and the values of query parameters whose name looks like a
  credential (token, key, secret, signature, ...) by ``***``; the path stays
  (an operator needs it to find the page);
* a subscriber's webhook URL (``redact_url(url, secret_path=True)``): only
  scheme, host and port stay. Hooks often carry their token in the path
  (``/services/T0/B0/XXXX``) or anywhere in the query.

Both are truncated to ``max_chars`` (a hostile page may link a 200 KB URL).
:func:`scrub` replaces known secrets inside free text (exception messages
quote URLs), and :func:`strip_userinfo` is what the log pipeline applies to
every string as a last line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "***"
DEFAULT_MAX_CHARS = 500
# query parameter names (split on _ - . and camel case) that carry credentials
_SECRET_WORDS = frozenset(
    {
        "token",
        "key",
        "apikey",
        "secret",
        "sig",
        "signature",
        "password",
        "passwd",
        "pwd",
        "auth",
        "authorization",
        "credential",
        "credentials",
        "session",
        "sessionid",
        "sid",
        "accesstoken",
        "jwt",
    }
)
# scheme://user[:password]@ — the user part may not contain / ? # @ or blanks
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#@\s'\"]+@")


def strip_userinfo(text: str) -> str:
    """``scheme://user:pass@host`` -> ``scheme://***@host`` anywhere in ``text``."""
    return _USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)


def _is_secret_name(name: str) -> bool:
    words = re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
    return any(w in _SECRET_WORDS for w in re.split(r"[_.\-\s]+", words)) or words in _SECRET_WORDS


def _truncate(text: str, max_chars: int) -> str:
    return text if len(text) <= max_chars else text[:max_chars] + f"…(+{len(text) - max_chars} chars)"


def redact_url(
    url: str | None, *, secret_path: bool = False, max_chars: int = DEFAULT_MAX_CHARS
) -> str | None:
    """``url`` fit for a log line, a topic or an index (see the module doc)."""
    if url is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[bad/": still strip what looks like credentials
        return _truncate(strip_userinfo(url), max_chars)
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{MASK}@{host}" if "@" in parts.netloc else host
    if secret_path:
        path = "/" + MASK if parts.path.strip("/") else parts.path
        query = MASK if parts.query else ""
    else:
        path, query = parts.path, parts.query
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_is_secret_name(k) for k, _ in pairs):
            query = urlencode([(k, MASK if _is_secret_name(k) else v) for k, v in pairs], safe="*")
    return _truncate(urlunsplit((parts.scheme, netloc, path, query, "")), max_chars)


def scrub(text: str, *, urls: Iterable[str | None] = (), secrets: Iterable[str | None] = ()) -> str:
    """``text`` with each secret URL replaced by its :func:`redact_url`
    (``secret_path``) form and each other secret by ``***``; user:password@
    of any other URL is stripped too."""
    for url in urls:
        if url:
            text = text.replace(url, redact_url(url, secret_path=True) or MASK)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return strip_userinfo(text)


__all__ = ["MASK", "redact_url", "scrub", "strip_userinfo"]
