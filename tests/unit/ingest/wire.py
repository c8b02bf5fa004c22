"""An in-memory transport that serves canned responses the way a socket
would: unread, so the fetcher's bounded reader sees the raw bytes (httpx
reads a ``Response(content=b"...")`` at construction, decoded)."""

from __future__ import annotations

from collections.abc import Callable

import httpx


def _unread(response: httpx.Response) -> httpx.Response:
    if not response.is_stream_consumed:
        return response
    return httpx.Response(
        response.status_code, headers=response.headers, stream=httpx.ByteStream(response.content)
    )


def wire_transport(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: _unread(handler(request)))
