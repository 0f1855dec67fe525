"""MSR Action3D world-coordinate skeletons (``aAA_sSS_eEE_skeleton3D.txt``).

Four numbers per line, ``x y z confidence`` in metres (y up, z depth), 20 lines per frame in the dataset's
own joint order (:data:`skelgraph.skeleton.MSR_ACTION3D`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from skelgraph.data import SkeletonSequence
from skelgraph.io._files import read_text
from skelgraph.io._text import load_table
from skelgraph.io.errors import EmptySequenceError, SkeletonFormatError
from skelgraph.skeleton import MSR_ACTION3D

MSR_NAME = re.compile(r"a(\d{2})_s(\d{2})_e(\d{2})")


def read_msr_file_list(path: str | os.PathLike) -> list[str]:
    """Sample names ``aAA_sSS_eEE`` listed in a file such as ``files_used_in_cvpr12_paper.txt`` (557 names)."""
    return [m.group(0) for m in MSR_NAME.finditer(read_text(path, "latin-1"))]


def read_msr_action3d(path: str | os.PathLike, *, drop_zero_frames: bool = True) -> SkeletonSequence:
    """Read one MSR Action3D ``*_skeleton3D.txt`` file.

    All-zero frames (the sensor lost the person; 19 files have them) are dropped by default and counted in
    ``meta["zero_frames"]``; with ``drop_zero_frames=False`` they stay as all-zero frames, which the
    transforms treat as absent. The label is ``action - 1``; ``meta`` holds ``subject``, ``repetition``,
    ``name`` and ``source``. The confidence column is parsed (and validated) but not returned.

    Raises:
        EmptySequenceError: every frame is all-zero (``a13_s09_e02``).
        SkeletonFormatError: malformed file (line count not a multiple of 20, wrong columns, non-numbers, NaN).
    """
    rows = load_table(path, 4)
    if len(rows) % 20:
        raise SkeletonFormatError(
            path, len(rows) + 1, f"20 lines per frame (a multiple of 20 lines, have {len(rows)})", "the end of the file"
        )
    coords = rows[:, :3].reshape(-1, 1, 20, 3).astype(np.float32)
    nonzero = (coords != 0).any(axis=(1, 2, 3))
    if not nonzero.any():
        raise EmptySequenceError(path, None, "at least one frame with a non-zero joint", f"{len(coords)} zero frames")
    name = Path(path).name.replace("_skeleton3D.txt", "").replace(".txt", "")
    meta: dict = dict(name=name, source=str(path), zero_frames=int((~nonzero).sum()))
    label = None
    m = MSR_NAME.fullmatch(name)
    if m:
        action, subject, repetition = (int(g) for g in m.groups())
        label = action - 1
        meta.update(subject=subject, repetition=repetition)
    if drop_zero_frames:
        coords = coords[nonzero]
    return SkeletonSequence(coords, MSR_ACTION3D, label=label, meta=meta)
