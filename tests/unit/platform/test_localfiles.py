"""ogi.localfiles: only regular files, never more than the limit (issue 8 #12)."""

from __future__ import annotations

import os

import pytest

from ogi.localfiles import FileTooLarge, NotARegularFile, read_document_file


def test_reads_a_regular_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "r.txt"
    f.write_bytes(b"abc")
    assert read_document_file(f, 3) == b"abc"


def test_a_file_over_the_limit_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    f = tmp_path / "big.txt"
    f.write_bytes(b"x" * 11)
    with pytest.raises(FileTooLarge):
        read_document_file(f, 10)


@pytest.mark.timeout(20)
def test_a_fifo_without_writer_is_refused_not_waited_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFile, match="FIFO"):
        read_document_file(fifo, 10)


def test_devices_and_directories_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotARegularFile, match="character device"):
        read_document_file("/dev/zero", 10)
    with pytest.raises(NotARegularFile, match="directory"):
        read_document_file(tmp_path, 10)


def test_a_missing_file_is_an_os_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileNotFoundError):
        read_document_file(tmp_path / "nope", 10)
