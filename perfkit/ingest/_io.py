"""Open a trace file for reading, decompressing gzip and zstd transparently.

Compression is recognised by its magic bytes, never by the file name: gzip
starts with ``1f 8b``, zstd with ``28 b5 2f fd``. A zstd file may hold several
frames one after another (the Collector writes one per flush); all are read.
"""

from __future__ import annotations

import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Final, cast

import zstandard

from perfkit.errors import InputError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

GZIP_MAGIC: Final = b"\x1f\x8b"
ZSTD_MAGIC: Final = b"\x28\xb5\x2f\xfd"
_BUFFER: Final = 1 << 20


def compression_of(path: Path) -> str | None:
    """``"gzip"``, ``"zstd"`` or None, from the file's first bytes.

    Raises:
        InputError: the file cannot be opened (code ``not_found`` or
            ``unreadable``).
    """
    with _open_raw(path) as raw:
        magic = raw.read(4)
    if magic.startswith(GZIP_MAGIC):
        return "gzip"
    if magic == ZSTD_MAGIC:
        return "zstd"
    return None


@contextmanager
def open_decompressed(path: Path) -> Iterator[BinaryIO]:
    """A buffered binary stream of the file's content, decompressed.

    Raises:
        InputError: the file cannot be opened.
    """
    compression = compression_of(path)
    with _open_raw(path) as raw:
        if compression == "gzip":
            stream = cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))
        elif compression == "zstd":
            stream = cast(BinaryIO, io.BufferedReader(_ZstdFrames(raw), _BUFFER))
        else:
            stream = raw
        yield stream


def decompression_error(path: Path, error: Exception) -> InputError:
    """The InputError for a compressed stream that ends early or is corrupt."""
    if isinstance(error, EOFError):
        return InputError(
            str(path),
            "the compressed data ends early; the file may still be being written",
            code="truncated",
            retryable=True,
        )
    return InputError(
        str(path), f"the compressed data is corrupt ({error})", code="bad_compression"
    )


#: Exceptions that mean the compressed data itself is bad.
DECOMPRESSION_ERRORS: Final = (
    EOFError,
    gzip.BadGzipFile,
    zlib.error,
    zstandard.ZstdError,
)


class _ZstdFrames(io.RawIOBase):
    """Decompress every zstd frame of a stream; raise EOFError if one is cut short.

    ``zstandard``'s own stream reader returns short data without an error when
    the input ends inside a frame, which would hide a truncated file.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._context = zstandard.ZstdDecompressor()
        self._frame = self._context.decompressobj()
        self._in_frame = False
        self._pending = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        while self._offset >= len(self._pending):
            self._pending, self._offset = b"", 0
            if not self._fill():
                return 0
        size = min(len(view), len(self._pending) - self._offset)
        view[:size] = self._pending[self._offset : self._offset + size]
        self._offset += size
        return size

    def _fill(self) -> bool:
        # Feed one chunk of compressed data; False at the clean end of input.
        chunk = self._raw.read(_BUFFER)
        if not chunk:
            if self._in_frame:
                raise EOFError("zstd data ends inside a frame")
            return False
        while chunk:
            self._in_frame = True
            self._pending += self._frame.decompress(chunk)
            if not self._frame.eof:
                break
            chunk = self._frame.unused_data
            self._frame = self._context.decompressobj()
            self._in_frame = False
        return True


@contextmanager
def _open_raw(path: Path) -> Iterator[BinaryIO]:
    try:
        handle = open(path, "rb", buffering=_BUFFER)  # noqa: SIM115
    except FileNotFoundError:
        raise InputError(str(path), "no such file", code="not_found") from None
    except IsADirectoryError:
        raise InputError(
            str(path), "is a folder, not a file", code="unreadable"
        ) from None
    except OSError as error:
        raise InputError(
            str(path), f"cannot be read ({error.strerror})", code="unreadable"
        ) from None
    with handle:
        yield handle
