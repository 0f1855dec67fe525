"""SBU Kinect Interaction ``sXXsYY/CC/NNN/skeleton_pos.txt`` files (two persons x 15 OpenNI joints).

Comma separated, one row per frame: the frame number, then person A's 15 joints (x, y, z) and person B's.
The file holds the dataset's normalised values: x and y are image fractions (y growing downwards) and z is
scaled depth, so one unit is 2.56 m in x, 1.92 m in y and 1.28 m in z. The dataset README's de-normalisation
``X = 1280 - 2560 x``, ``Y = 960 - 1920 y``, ``Z = 1280 z`` (millimetres) gives metric coordinates with y up (a
rotation by 180 degrees about the depth axis of the image frame, no mirror); bone lengths are then 2.3x more
constant over a sequence than in the normalised units, and rotation, scaling and view normalisation become
geometrically meaningful. :func:`read_sbu` returns metres by default (:data:`SBU_UNITS`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from skelgraph.data import SkeletonSequence
from skelgraph.io._text import integer_column, load_table
from skelgraph.io.errors import SkeletonFormatError
from skelgraph.io.folder import finite_float32
from skelgraph.skeleton import SBU

SBU_PATH = re.compile(r"(s\d{2}s\d{2})[/\\](\d{2})[/\\](\d{3})[/\\][^/\\]+$")

#: Units :func:`read_sbu` can return: ``"metres"`` (the README's de-normalisation, y up) or ``"normalised"``
#: (the file's values, unchanged).
SBU_UNITS: tuple[str, ...] = ("metres", "normalised")

#: Class names in label order (class folder ``CC`` is label ``CC - 1``).
SBU_CLASSES: tuple[str, ...] = (
    "approaching", "departing", "kicking", "punching", "pushing", "hugging", "shaking hands", "exchanging",
)


def sbu_to_metres(coords: np.ndarray) -> np.ndarray:
    """The dataset README's de-normalisation of ``[..., 3]`` normalised SBU coordinates, in metres (y up)."""
    coords = np.asarray(coords, dtype=np.float64)
    out = np.empty_like(coords)
    out[..., 0] = (1280.0 - 2560.0 * coords[..., 0]) / 1000.0
    out[..., 1] = (960.0 - 1920.0 * coords[..., 1]) / 1000.0
    out[..., 2] = 1280.0 * coords[..., 2] / 1000.0
    return out.astype(np.float32)


def read_sbu(path: str | os.PathLike, units: str = "metres") -> SkeletonSequence:
    """Read one SBU ``skeleton_pos.txt`` as a two-body sequence ``(T, 2, 15, 3)``, in ``units`` (metres, or the
    file's normalised values; see the module docstring).

    When the path ends in ``sXXsYY/CC/NNN/skeleton_pos.txt`` the label is ``CC - 1`` and ``meta`` holds
    ``set`` (``"sXXsYY"``), ``repetition`` (``NNN``) and ``name`` (``sXXsYY_CC_NNN``); always ``source``.

    Raises:
        SkeletonFormatError: wrong column count (91 expected), non-numbers, NaN/Inf (also after the conversion
            to metres), non-integral or non-increasing frame numbers, empty file.
    """
    if units not in SBU_UNITS:
        raise ValueError(f"units must be one of {SBU_UNITS}, got {units!r}")
    rows = load_table(path, 91, delimiter=",")
    frames = integer_column(path, rows[:, 0], "frame number")
    bad = np.flatnonzero(np.diff(frames) <= 0)
    if bad.size:
        k = int(bad[0]) + 1
        raise SkeletonFormatError(path, k + 1, f"a frame number above {frames[k - 1]}", str(frames[k]))
    coords = rows[:, 1:].reshape(-1, 2, 15, 3)
    if units == "metres":
        with np.errstate(over="ignore", invalid="ignore"):
            coords = sbu_to_metres(coords)  # x 2.56: values near the float32 limit overflow here
    coords = finite_float32(path, coords, f"coordinates ({units})", line_per_frame=True)
    meta: dict = dict(source=str(path), name=Path(path).stem)
    label = None
    m = SBU_PATH.search(str(path))
    if m:
        label = int(m.group(2)) - 1
        meta.update(set=m.group(1), repetition=int(m.group(3)), name=f"{m.group(1)}_{m.group(2)}_{m.group(3)}")
    return SkeletonSequence(coords, SBU, label=label, meta=meta)
