"""The one body reader for every HTTP response the system reads (pages,
robots.txt, attachments, webhook answers).

httpx decodes every Content-Encoding layer of a chunk before a caller can
count it, so ``Content-Encoding: gzip, gzip`` turns a few KB on the wire into
gigabytes in memory before any size cap is checked. Here the raw bytes are
read and decoded by us, incrementally: each decompressor is asked for at
most ``STEP`` bytes at a time (``max_length``), so no chunk expands beyond
that before the decoded total is compared with the cap. We also ask for
``Accept-Encoding: identity`` (see :mod:`ogi.net.client`); a server that
compresses anyway gets at most ``max_layers`` layers of gzip/deflate, and
anything stacked deeper or unknown is refused.

The wall-clock deadline is enforced below, on every socket read
(:func:`ogi.net.guard.deadline`), so waiting for the next byte counts too.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Iterator
from typing import Protocol

import httpx

from ogi.net.errors import EncodingRefused, TooLarge

#: decoded bytes produced per decompressor call
STEP = 64 * 1024
#: Content-Encoding layers decoded by default (one is what real servers send)
MAX_LAYERS = 1
_IDENTITY = frozenset({"", "identity"})
_GZIP = frozenset({"gzip", "x-gzip"})


class _Decoder(Protocol):
    def decompress(self, data: bytes, max_length: int = ...) -> bytes: ...

    @property
    def unconsumed_tail(self) -> bytes: ...


class _Deflate:
    """``deflate`` as servers send it: zlib-wrapped (RFC 9110) or, often, raw."""

    def __init__(self) -> None:
        self._inner: zlib._Decompress | None = None
        self.unconsumed_tail = b""

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        if self._inner is None:
            first = zlib.decompressobj()
            try:
                out = first.decompress(data, max_length)
                self._inner = first
            except zlib.error:
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._inner.decompress(data, max_length)
        else:
            out = self._inner.decompress(data, max_length)
        self.unconsumed_tail = self._inner.unconsumed_tail
        return out


def encodings(response: httpx.Response) -> list[str]:
    """The Content-Encoding layers, in the order they were applied."""
    values = response.headers.get_list("content-encoding", split_commas=True)
    return [v.strip().lower() for v in values if v.strip().lower() not in _IDENTITY]


def _decoders(layers: list[str], max_layers: int) -> list[_Decoder]:
    if len(layers) > max_layers:
        raise EncodingRefused(
            f"Content-Encoding {', '.join(layers)}: {len(layers)} layers, at most "
            f"{max_layers} decoded (a stacked encoding is a decompression bomb's trick)"
        )
    out: list[_Decoder] = []
    for name in reversed(layers):  # the last applied is undone first
        if name in _GZIP:
            out.append(zlib.decompressobj(16 + zlib.MAX_WBITS))
        elif name == "deflate":
            out.append(_Deflate())
        else:
            raise EncodingRefused(f"Content-Encoding {name!r} is not supported (we asked for identity)")
    return out


def _decode(data: bytes, decoders: list[_Decoder], layer: int = 0) -> Iterator[bytes]:
    """``data`` through ``decoders[layer:]``, never more than STEP bytes out of
    one decompressor call."""
    if layer == len(decoders):
        yield data
        return
    decoder = decoders[layer]
    while data:
        try:
            out = decoder.decompress(data, STEP)
        except zlib.error as exc:
            raise EncodingRefused(f"corrupt compressed body: {exc}") from exc
        data = decoder.unconsumed_tail
        if out:
            yield from _decode(out, decoders, layer + 1)
        elif data:  # no progress although input is left: corrupt, not a loop
            raise EncodingRefused("compressed body makes no progress")


def read_bounded(response: httpx.Response, max_bytes: int, *, max_layers: int = MAX_LAYERS) -> bytes:
    """The decoded body of a streamed ``response``; raises :class:`TooLarge`
    past ``max_bytes`` decoded (or raw) bytes, :class:`EncodingRefused` on a
    stacked, unknown or corrupt encoding. Timeouts come from the transport
    as ``httpx.TimeoutException``."""
    decoders = _decoders(encodings(response), max_layers)
    declared = response.headers.get("content-length", "").strip()
    if not decoders and declared.isdigit() and int(declared) > max_bytes:
        raise TooLarge(f"Content-Length {declared} exceeds the {max_bytes}-byte cap")
    body = io.BytesIO()  # getvalue() hands over its buffer: no second copy of a 20 MB body
    raw_total = 0
    for raw in response.iter_raw(STEP):
        raw_total += len(raw)
        if raw_total > max_bytes:
            raise TooLarge(f"body passed the {max_bytes}-byte cap while streaming")
        for piece in _decode(raw, decoders):
            body.write(piece)
            if body.tell() > max_bytes:
                where = "decoded body" if decoders else "body"
                raise TooLarge(f"{where} passed the {max_bytes}-byte cap while streaming")
    return body.getvalue()


__all__ = ["MAX_LAYERS", "STEP", "encodings", "read_bounded"]
