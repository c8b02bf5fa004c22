"""The one outbound HTTP client: every request the system makes (the
monitor's pages and documents, robots.txt, webhook deliveries) goes through
:class:`OutboundClient`, which

* checks the URL (scheme, length, literal addresses) before sending;
* connects only to addresses the :class:`~ogi.net.guard.AddressPolicy`
  allows, checked at connect time on every hop (redirects are new requests);
* ignores proxy variables and ``.netrc`` (``trust_env=False``);
* asks for ``Accept-Encoding: identity`` and leaves decoding to
  :func:`~ogi.net.body.read_bounded`;
* bounds the whole exchange by a wall-clock deadline, enforced on every
  socket operation.

Use::

    with client.open("GET", url, deadline=time.monotonic() + 30) as response:
        body = read_bounded(response, max_bytes)
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from ogi.net.errors import InvalidURL, TooLarge
from ogi.net.guard import AddressPolicy, GuardedTransport, check_url, deadline

#: h11's words when a response head outgrows httpcore's buffer (``HEAD_LIMIT``)
_H11_HEAD_TOO_LONG = "Receive buffer too long"
HEAD_LIMIT = 100 * 1024


class OutboundClient:
    """A guarded httpx client (see the module doc). ``transport`` replaces
    the guarded transport (unit tests of callers' logic only)."""

    def __init__(
        self,
        policy: AddressPolicy,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        headers: Mapping[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.policy = policy
        self._client = httpx.Client(
            transport=transport or GuardedTransport(policy),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(
                connect=connect_timeout_s, read=read_timeout_s, write=read_timeout_s, pool=read_timeout_s
            ),
            headers={**(headers or {}), "Accept-Encoding": "identity"},
        )

    @contextmanager
    def open(
        self,
        method: str,
        url: str,
        *,
        deadline_at: float | None = None,
        timeout_s: float | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Iterator[httpx.Response]:
        """Send the request; yields the response with its body not yet read.
        The deadline is ``deadline_at`` (monotonic) or ``timeout_s`` from now
        and covers connecting, sending, the headers and the body read inside
        the block. Raises :class:`~ogi.net.errors.NetRefusal` subclasses and
        ``httpx.HTTPError``."""
        check_url(url, self.policy)
        at = (
            deadline_at
            if deadline_at is not None
            else (time.monotonic() + timeout_s if timeout_s is not None else None)
        )
        with deadline(at):
            try:
                request = self._client.build_request(method, url, headers=headers, content=content)
            except (httpx.InvalidURL, ValueError) as exc:  # e.g. a bad IDNA host name
                raise InvalidURL(f"URL cannot be requested: {exc}") from exc
            try:
                response = self._client.send(request, stream=True)
            except httpx.RemoteProtocolError as exc:
                if str(exc) == _H11_HEAD_TOO_LONG:
                    raise TooLarge(f"response headers passed the {HEAD_LIMIT // 1024} KB limit") from exc
                raise
            try:
                yield response
            finally:
                response.close()

    def close(self) -> None:
        self._client.close()


__all__ = ["OutboundClient"]
