"""Read a local document file the way every command should: only a regular
file, and never more than the document size limit.

``path.stat().st_size`` then ``read_bytes()`` let a FIFO or a device through
(size 0, then an endless or blocking read) and a file that grows between the
two calls. Here the file is opened without blocking (a FIFO with no writer
would otherwise hang the open itself), checked on the open descriptor, and
read with a cap of the limit plus one byte.
"""

from __future__ import annotations

import os
import stat


class LocalFileRefused(ValueError):
    """A local file that is not read as a document."""


class NotARegularFile(LocalFileRefused):
    """A FIFO, device, socket or directory given where a document file was expected."""


class FileTooLarge(LocalFileRefused):
    """A file over the configured document size limit."""


def read_document_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``; raises ``NotARegularFile``,
    ``FileTooLarge`` or ``OSError`` (missing, unreadable)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotARegularFile(f"{path}: not a regular file ({_kind(st.st_mode)}); refused")
        if st.st_size > max_bytes:
            raise FileTooLarge(f"{path}: {st.st_size} bytes exceeds the {max_bytes}-byte limit")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:  # it grew after the size check
        raise FileTooLarge(f"{path}: more than the {max_bytes}-byte limit")
    return data


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a directory"),
    ):
        if test(mode):
            return name
    return "not a regular file"
