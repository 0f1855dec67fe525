"""The one exception family for bad raw input."""

from __future__ import annotations

import os


class SkeletonFormatError(ValueError):
    """A raw skeleton file does not have the expected format.

    The message always names the file, the line (1-based; ``None`` when the problem concerns the whole file or a
    binary array) and what was expected there, e.g.
    ``a01_s01_e01_skeleton3D.txt, line 7: expected 4 whitespace-separated numbers, found 3 fields``.

    Attributes:
        path: The offending file.
        line: 1-based line number, or ``None``.
        expected: What the reader expected.
        found: What it found instead (may be empty).
    """

    def __init__(self, path: str | os.PathLike, line: int | None, expected: str, found: str = "") -> None:
        self.path = str(path)
        self.line = line
        self.expected = expected
        self.found = found
        where = f"{self.path}, line {line}" if line is not None else f"{self.path} (whole file)"
        message = f"{where}: expected {expected}"
        if found:
            message += f", found {found}"
        super().__init__(message)

    def __reduce__(self):  # keep the four fields through pickling (multiprocessing, caches)
        return (type(self), (self.path, self.line, self.expected, self.found))


class EmptySequenceError(SkeletonFormatError):
    """The file is well formed but holds no usable frame (all-zero coordinates, no tracked body, empty clip).

    Datasets skip such samples, count them and report them in ``dataset.skipped``.
    """


class MissingSkeletonError(SkeletonFormatError):
    """The sample is on an official list of samples with missing skeletons (NTU RGB+D).

    Datasets skip such samples, count them and report them in ``dataset.skipped``.
    """
