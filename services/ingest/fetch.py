"""Fetching one URL politely and safely.

Each call to :meth:`Fetcher.fetch` follows redirects itself (so every hop
is checked), and for each hop:

1. refuses anything but http(s), unparseable or overlong URLs and literal
   addresses the policy forbids (:mod:`ogi.net.guard`);
2. asks robots.txt (cached per origin; :mod:`services.ingest.robots`);
3. waits for the host's slot (:mod:`services.ingest.throttle`);
4. sends a conditional GET (If-None-Match / If-Modified-Since) with our
   User-Agent, through the shared outbound client (:mod:`ogi.net`: host
   names are resolved and checked before connecting, no proxies, and the
   document's wall-clock deadline bounds every socket read);
5. retries timeouts, connection errors, 429 and 5xx with backoff
   (:mod:`ogi.backoff`);
6. reads the body with the one bounded reader (:func:`ogi.net.read_bounded`):
   identity asked for, one gzip/deflate layer at most, the cap counted on
   decoded bytes (the Content-Length, when given, is checked first).

One structlog event per fetch (``fetch``) says what happened; its URLs go
through :func:`ogi.net.redact_url` (no user:password@ in logs).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import structlog

from ogi.backoff import backoff_delay, is_retryable_status
from ogi.net import AddressPolicy, NetRefusal, OutboundClient, check_url, read_bounded, redact_url
from ogi.settings import Settings, get_settings
from services.ingest.errors import (
    FetchError,
    HttpStatus,
    Refused,
    RobotsDisallowed,
    RobotsUnavailable,
    TooManyRedirects,
    TransportFailure,
    from_net,
)
from services.ingest.robots import RobotsCache
from services.ingest.sniff import sniff
from services.ingest.throttle import HostThrottle

log = structlog.get_logger("ogi.ingest")

REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CD_FILENAME_STAR = re.compile(r"filename\*\s*=\s*([\w-]+)''([^;]+)", re.IGNORECASE)
_CD_FILENAME = re.compile(r"""filename\s*=\s*(?:"([^"]*)"|([^;]+))""", re.IGNORECASE)


@dataclass
class Fetched:
    """The outcome of one successful fetch (2xx, or 304 Not Modified)."""

    url: str
    final_url: str
    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    redirects: int = 0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")

    # cached: a 20 MB document is hashed and sniffed once, however many
    # decisions (unchanged? duplicate? published record) ask
    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def charset(self) -> str | None:
        m = re.search(r"charset\s*=\s*\"?([\w-]+)", self.headers.get("content-type", ""), re.IGNORECASE)
        return m.group(1) if m else None

    @property
    def filename(self) -> str | None:
        return content_disposition_filename(self.headers.get("content-disposition")) or url_filename(
            self.final_url
        )

    @cached_property
    def content_type(self) -> str:
        """Sniffed from the bytes, not taken from the header."""
        return sniff(self.content, self.filename)


def content_disposition_filename(value: str | None) -> str | None:
    """The file name a Content-Disposition header gives (RFC 6266, plus the
    raw GBK/UTF-8 bytes many Chinese servers send)."""
    if not value:
        return None
    m = _CD_FILENAME_STAR.search(value)
    if m:
        try:
            return unquote(m.group(2).strip(), encoding=m.group(1), errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    m = _CD_FILENAME.search(value)
    if not m:
        return None
    name = (m.group(1) or m.group(2) or "").strip()
    raw = name.encode("latin-1", "ignore")  # httpx decodes header bytes as latin-1
    for encoding in ("utf-8", "gb18030"):
        try:
            name = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    return unquote(name) or None


def url_filename(url: str) -> str | None:
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    return last or None


class Fetcher:
    """Polite, guarded HTTP fetching shared by every source of a monitor.

    ``transport`` replaces the guarded transport (tests of the fetch logic
    only; the guard's own tests use the real one)."""

    def __init__(
        self, settings: Settings | None = None, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings = settings or get_settings()
        self.agent = settings.ingest_user_agent.split("/", 1)[0].split()[0]
        self.throttle = HostThrottle(settings.ingest_host_concurrency, settings.ingest_host_delay_s)
        self._transport = transport
        self._clients: dict[bool, OutboundClient] = {}
        self._clients_lock = threading.Lock()
        self.robots = RobotsCache(self.agent, self._fetch_robots)
        self._robots_private: dict[str, bool] = {}

    # -- clients ----------------------------------------------------------

    def _client(self, allow_private: bool) -> OutboundClient:
        with self._clients_lock:
            if allow_private not in self._clients:
                s = self.settings
                self._clients[allow_private] = OutboundClient(
                    AddressPolicy(allow_private=allow_private),
                    transport=self._transport,
                    connect_timeout_s=s.ingest_connect_timeout_s,
                    read_timeout_s=s.ingest_read_timeout_s,
                    headers={
                        "User-Agent": s.ingest_user_agent,
                        "Accept": "*/*",
                        "Accept-Language": "zh-CN,zh;q=0.9",
                    },
                )
            return self._clients[allow_private]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()

    # -- robots -----------------------------------------------------------

    def _fetch_robots(self, url: str) -> tuple[int | None, bytes, str | None]:
        allow_private = self._robots_private.get(urlsplit(url).netloc, False)
        try:
            got = self.fetch(
                url,
                allow_private=allow_private,
                check_robots=False,
                max_bytes=512 * 1024,
                follow=5,
                kind="robots",
            )
            return got.status, got.content, None
        except HttpStatus as exc:
            return exc.status, b"", f"robots.txt: {exc}"
        except Refused:
            raise
        except FetchError as exc:
            return None, b"", f"robots.txt unreachable: {exc}"

    def check_robots(self, url: str, allow_private: bool) -> None:
        """Raise unless robots.txt lets our agent fetch ``url``."""
        self._robots_private[urlsplit(url).netloc] = allow_private
        rules = self.robots.rules(url)
        if rules.allowed(url, self.agent):
            return
        if rules.problem:
            raise RobotsUnavailable(f"{rules.problem}; the site is off limits until it can be read", url=url)
        raise RobotsDisallowed(f"robots.txt disallows {urlsplit(url).path} for {self.agent}", url=url)

    def host_delay(self, url: str, delay_s: float | None) -> float:
        delay = self.settings.ingest_host_delay_s if delay_s is None else delay_s
        rules = self.robots.cached(url)
        crawl = rules.crawl_delay(self.agent) if rules else None
        return max(delay, crawl or 0.0)

    # -- fetching ---------------------------------------------------------

    def fetch(
        self,
        url: str,
        *,
        allow_private: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
        delay_s: float | None = None,
        max_bytes: int | None = None,
        check_robots: bool = True,
        follow: int | None = None,
        kind: str = "page",
        **context: Any,
    ) -> Fetched:
        """GET ``url``; returns a :class:`Fetched` with status 200-299 or 304.
        Raises :class:`Refused` (policy), :class:`HttpStatus` or
        :class:`TransportFailure`; logs one ``fetch`` event either way."""
        s = self.settings
        max_bytes = s.max_document_bytes if max_bytes is None else max_bytes
        max_redirects = s.ingest_max_redirects if follow is None else follow
        deadline = time.monotonic() + s.ingest_fetch_deadline_s
        started = time.monotonic()
        current = url
        retries: list[str] = []  # why earlier attempts failed
        attempts: list[str] = []  # every request sent, redirects included
        redirects = 0
        outcome: dict[str, Any] = {}
        try:
            while True:
                try:
                    check_url(current, allow_private)
                except NetRefusal as exc:
                    raise from_net(exc, current) from exc
                if check_robots:
                    self.check_robots(current, allow_private)
                conditional = current == url
                response = self._get_with_retries(
                    current,
                    retries,
                    attempts,
                    allow_private=allow_private,
                    headers=_conditional_headers(etag, last_modified) if conditional else {},
                    delay_s=self.host_delay(current, delay_s),
                    max_bytes=max_bytes,
                    deadline=deadline,
                )
                if response.status in REDIRECTS:
                    location = response.headers.get("location")
                    if not location:
                        raise HttpStatus(
                            f"redirect {response.status} without Location",
                            status=response.status,
                            url=current,
                        )
                    redirects += 1
                    if redirects > max_redirects:
                        raise TooManyRedirects(f"more than {max_redirects} redirects", url=current)
                    current = urljoin(current, location.strip())
                    continue
                response.url = url
                response.redirects = redirects
                outcome = {"status": response.status, "bytes": len(response.content)}
                return response
        except Refused as exc:
            exc.url = exc.url or current
            outcome = {"outcome": "refused", "reason": str(exc), "error_class": type(exc).__name__}
            raise
        except FetchError as exc:
            exc.url = exc.url or current
            outcome = {"outcome": "error", "reason": str(exc), "error_class": type(exc).__name__}
            raise
        except BaseException as exc:  # a bug or an interrupt: still one event, then up it goes
            outcome = {"outcome": "error", "reason": repr(exc), "error_class": type(exc).__name__}
            raise
        finally:
            event = {
                "kind": kind,
                "url": redact_url(url),
                "final_url": redact_url(current) if current != url else None,
                "attempts": len(attempts),
                "retries": retries or None,
                "redirects": redirects,
                "elapsed_ms": round((time.monotonic() - started) * 1000),
                **context,
                **outcome,
            }
            if outcome.get("outcome") == "refused":
                log.warning("fetch", **event)
            elif outcome.get("outcome") == "error":
                log.error("fetch", **event)
            else:
                log.info("fetch", outcome="not_modified" if outcome.get("status") == 304 else "ok", **event)

    def _get_with_retries(
        self,
        url: str,
        retries: list[str],
        attempts: list[str],
        *,
        allow_private: bool,
        headers: dict[str, str],
        delay_s: float,
        max_bytes: int,
        deadline: float,
    ) -> Fetched:
        """One hop, retried; appends each failed attempt's reason to ``retries``."""
        s = self.settings
        host = urlsplit(url).netloc
        attempt = 0
        while True:
            retry_after: str | None = None
            try:
                with self.throttle.slot(host, delay_s):
                    attempts.append(url)
                    got = self._get_once(url, allow_private, headers, max_bytes, deadline)
                if not is_retryable_status(got.status):
                    if got.status in REDIRECTS or got.status == 304 or 200 <= got.status < 300:
                        return got
                    raise HttpStatus(f"HTTP {got.status}", status=got.status, url=url)
                problem: FetchError = HttpStatus(f"HTTP {got.status}", status=got.status, url=url)
                retry_after = got.headers.get("retry-after")
            except NetRefusal as exc:
                raise from_net(exc, url) from exc
            except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                problem = TransportFailure(f"{type(exc).__name__}: {exc or 'no detail'}", url=url)
            except httpx.HTTPError as exc:  # bad encoding, protocol misuse: retrying will not help
                raise TransportFailure(f"{type(exc).__name__}: {exc or 'no detail'}", url=url) from exc
            if attempt >= s.ingest_retries:
                raise problem
            wait = backoff_delay(attempt, s.ingest_backoff_base_s, s.ingest_backoff_max_s, retry_after)
            if time.monotonic() + wait > deadline:
                raise problem
            retries.append(f"{problem} (waited {wait:.2f}s)")
            time.sleep(wait)
            attempt += 1

    def _get_once(
        self, url: str, allow_private: bool, headers: dict[str, str], max_bytes: int, deadline: float
    ) -> Fetched:
        with self._client(allow_private).open("GET", url, headers=headers, deadline_at=deadline) as response:
            status = response.status_code
            result_headers = {k.lower(): v for k, v in response.headers.items()}
            if status in REDIRECTS or status == 304 or not 200 <= status < 300:
                return Fetched(url=url, final_url=url, status=status, headers=result_headers)
            content = read_bounded(response, max_bytes)
            return Fetched(url=url, final_url=url, status=status, content=content, headers=result_headers)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers
