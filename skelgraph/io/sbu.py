"""SBU Kinect Interaction ``sXXsYY/CC/NNN/skeleton_pos.txt`` files (two persons x 15 OpenNI joints).

Comma separated, one row per frame: the frame number, then person A's 15 joints (x, y, z) and person B's.
Coordinates are the dataset's normalised values (x, y in [0, 1] image fractions with y downwards, z scaled
depth); they are returned unchanged.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from skelgraph.data import SkeletonSequence
from skelgraph.io._text import integer_column, load_table
from skelgraph.io.errors import SkeletonFormatError
from skelgraph.skeleton import SBU

SBU_PATH = re.compile(r"(s\d{2}s\d{2})[/\\](\d{2})[/\\](\d{3})[/\\][^/\\]+$")

#: Class names in label order (class folder ``CC`` is label ``CC - 1``).
SBU_CLASSES: tuple[str, ...] = (
    "approaching", "departing", "kicking", "punching", "pushing", "hugging", "shaking hands", "exchanging",
)


def read_sbu(path: str | os.PathLike) -> SkeletonSequence:
    """Read one SBU ``skeleton_pos.txt`` as a two-body sequence ``(T, 2, 15, 3)``.

    When the path ends in ``sXXsYY/CC/NNN/skeleton_pos.txt`` the label is ``CC - 1`` and ``meta`` holds
    ``set`` (``"sXXsYY"``), ``repetition`` (``NNN``) and ``name`` (``sXXsYY_CC_NNN``); always ``source``.

    Raises:
        SkeletonFormatError: wrong column count (91 expected), non-numbers, NaN/Inf, non-integral or
            non-increasing frame numbers, empty file.
    """
    rows = load_table(path, 91, delimiter=",")
    frames = integer_column(path, rows[:, 0], "frame number")
    bad = np.flatnonzero(np.diff(frames) <= 0)
    if bad.size:
        k = int(bad[0]) + 1
        raise SkeletonFormatError(path, k + 1, f"a frame number above {frames[k - 1]}", str(frames[k]))
    coords = rows[:, 1:].reshape(-1, 2, 15, 3).astype(np.float32)
    meta: dict = dict(source=str(path), name=Path(path).stem)
    label = None
    m = SBU_PATH.search(str(path))
    if m:
        label = int(m.group(2)) - 1
        meta.update(set=m.group(1), repetition=int(m.group(3)), name=f"{m.group(1)}_{m.group(2)}_{m.group(3)}")
    return SkeletonSequence(coords, SBU, label=label, meta=meta)
