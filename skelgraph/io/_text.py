"""Bulk parsing of numeric text tables with precise error reports.

The fast path hands every line to numpy's C tokenizer (:func:`numpy.loadtxt`) in one call. Only when that
fails, or the result holds a value that is not a finite float32 (NaN, Inf, or beyond +-3.4e38, which would
become Inf when the readers store coordinates as float32), does a line-by-line diagnosis run to name the
offending line. Memory stays linear in the file size: the lines, one float64 table.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import numpy as np

from skelgraph.io._files import read_regular
from skelgraph.io.errors import SkeletonFormatError

#: Largest finite float32: readers store coordinates as float32, so larger values are refused, not turned to Inf.
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Default bounds of integer columns (frame numbers, ids): they are stored as int64 and used as 32-bit ids.
INT_MIN, INT_MAX = 0, 2**31 - 1


def read_lines(path: str | os.PathLike) -> list[bytes]:
    """The file's lines as bytes (``\\r`` kept, trailing empty lines removed)."""
    lines = read_regular(path).split(b"\n")
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def _describe(delimiter: str | None) -> str:
    return "whitespace-separated" if delimiter is None else f"{delimiter!r}-separated"


def _diagnose(
    path: str | os.PathLike, lines: Sequence[bytes], ncols: int, delimiter: str | None, line_numbers: Sequence[int]
) -> None:
    """Raise :class:`SkeletonFormatError` for the first line that is not ``ncols`` finite numbers."""
    sep = None if delimiter is None else delimiter.encode()
    for text, number in zip(lines, line_numbers, strict=True):
        fields = text.split(sep)
        if len(fields) != ncols:
            raise SkeletonFormatError(
                path, number, f"{ncols} {_describe(delimiter)} numbers", f"{len(fields)} fields"
            )
        for k, token in enumerate(fields, start=1):
            try:
                value = float(token)
            except ValueError:
                shown = token.strip().decode("latin-1")
                raise SkeletonFormatError(path, number, f"a number in column {k}", repr(shown)) from None
            if not np.isfinite(value):
                raise SkeletonFormatError(path, number, f"a finite number in column {k}", repr(str(value)))
            if abs(value) > FLOAT32_MAX:
                shown = token.strip().decode("latin-1")
                raise SkeletonFormatError(path, number, f"a number within the float32 range (+-3.4e38) in column {k}",
                                          repr(shown))


def parse_rows(
    path: str | os.PathLike,
    lines: Sequence[bytes],
    ncols: int,
    *,
    delimiter: str | None = None,
    line_numbers: Sequence[int] | None = None,
) -> np.ndarray:
    """Parse ``lines`` as a ``[len(lines), ncols]`` float64 table of finite numbers.

    Args:
        path: The file the lines came from (for error messages).
        lines: One table row per entry; blank entries are errors.
        ncols: Expected number of fields per row.
        delimiter: Field separator; ``None`` is any whitespace.
        line_numbers: 1-based file line number of every entry (default ``1 .. len(lines)``).

    Raises:
        SkeletonFormatError: naming the first line with the wrong field count, a non-numeric token, NaN/Inf or
            a value beyond the float32 range.
    """
    numbers = range(1, len(lines) + 1) if line_numbers is None else line_numbers
    if not lines:
        return np.empty((0, ncols))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = np.loadtxt(lines, dtype=np.float64, delimiter=delimiter, comments=None, ndmin=2)
    except ValueError:
        _diagnose(path, lines, ncols, delimiter, numbers)
        raise SkeletonFormatError(path, None, f"rows of {ncols} {_describe(delimiter)} numbers") from None
    # numpy skips blank lines silently and accepts a consistent but wrong width: both are errors here.
    if table.shape != (len(lines), ncols) or not (np.abs(table) <= FLOAT32_MAX).all():  # False for NaN too
        _diagnose(path, lines, ncols, delimiter, numbers)
        raise SkeletonFormatError(path, None, f"rows of {ncols} {_describe(delimiter)} finite numbers")
    return table


def load_table(path: str | os.PathLike, ncols: int, *, delimiter: str | None = None) -> np.ndarray:
    """Read a whole file as a table of ``ncols`` finite numbers per line (see :func:`parse_rows`)."""
    lines = read_lines(path)
    if not lines:
        raise SkeletonFormatError(path, 1, f"rows of {ncols} {_describe(delimiter)} numbers", "an empty file")
    return parse_rows(path, lines, ncols, delimiter=delimiter)


def integer_column(path: str | os.PathLike, values: np.ndarray, what: str, first_line: int = 1,
                   low: int = INT_MIN, high: int = INT_MAX) -> np.ndarray:
    """``values`` as int64, raising for the first entry that is not an integer in ``low..high`` (``values[i]``
    is on line ``first_line + i``); the range check comes first, so a huge value never wraps around."""
    bad = np.flatnonzero((values != np.round(values)) | (values < low) | (values > high))
    if bad.size:
        raise SkeletonFormatError(path, first_line + int(bad[0]), f"an integer {what} in {low}..{high}",
                                  repr(float(values[bad[0]])))
    return values.astype(np.int64)
