"""Opening data files: regular files only, read no further than their size.

A name can stand for something that is not a file: a FIFO (reading it blocks until a writer comes, possibly never),
a device (``/dev/zero`` never ends), a socket, a folder. :func:`open_regular` opens without blocking, checks what
was opened (not what the name pointed to a moment before) and refuses anything but a regular file with a
:class:`~skelgraph.io.SkeletonFormatError`; :func:`read_regular` reads at most the size the file had when opened.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from skelgraph.io.errors import SkeletonFormatError

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def kind_of(mode: int) -> str:
    """What a ``st_mode`` is, in words."""
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def check_regular(path: str | os.PathLike) -> None:
    """Raise :class:`SkeletonFormatError` unless ``path`` (symbolic links followed) is a regular file
    (``FileNotFoundError`` when it does not exist)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise SkeletonFormatError(path, None, "a regular file", kind_of(mode))


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """``open(path, "rb")`` for a regular file; anything else is refused without blocking (see the module
    docstring)."""
    check_regular(path)  # a socket cannot even be opened; the check after opening closes the race
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise SkeletonFormatError(path, None, "a regular file", kind_of(mode))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: str | os.PathLike) -> bytes:
    """The bytes of a regular file, at most as many as its size when opened."""
    with open_regular(path) as f:
        return f.read(os.fstat(f.fileno()).st_size)


def read_text(path: str | os.PathLike, encoding: str = "utf-8", errors: str = "strict") -> str:
    """:func:`read_regular` decoded."""
    return read_regular(Path(path)).decode(encoding, errors)
