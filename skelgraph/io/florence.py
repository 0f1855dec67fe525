"""Florence 3D Actions world coordinates (``Florence_dataset_WorldCoordinates.txt``).

One line per frame of every video: ``idvideo idactor idcategory f1 ... f45``, whitespace separated, the 45
values being 15 joints x (x, y, z) in the README's order (:data:`skelgraph.skeleton.FLORENCE_3D`). A video's
frames are consecutive lines.
"""

from __future__ import annotations

import os

import numpy as np

from skelgraph.data import SkeletonSequence
from skelgraph.io._text import integer_column, load_table
from skelgraph.io.errors import SkeletonFormatError
from skelgraph.skeleton import FLORENCE_3D

#: The nine actions in label order (category ``c`` is label ``c - 1``).
FLORENCE_CLASSES: tuple[str, ...] = (
    "wave", "drink from a bottle", "answer phone", "clap", "tight lace", "sit down", "stand up", "read watch", "bow",
)


def read_florence3d(path: str | os.PathLike) -> list[SkeletonSequence]:
    """Split the world-coordinate file into one sequence per video, in file order.

    Labels are ``idcategory - 1``; ``meta`` holds ``subject`` (``idactor``), ``video``, ``name``
    (``video{idvideo:03d}``) and ``source``.

    Raises:
        SkeletonFormatError: wrong column count (48), non-numbers, NaN/Inf, non-integral or non-positive ids,
            a category outside 1..9, a video whose lines are not consecutive, a video whose actor or category
            changes.
    """
    rows = load_table(path, 48)
    ids = np.stack([integer_column(path, rows[:, k], what) for k, what in
                    enumerate(("video id", "actor id", "category id"))], axis=1)
    bad = np.flatnonzero((ids <= 0).any(axis=1) | (ids[:, 2] > len(FLORENCE_CLASSES)))
    if bad.size:
        raise SkeletonFormatError(path, int(bad[0]) + 1, f"positive ids and a category in 1..{len(FLORENCE_CLASSES)}",
                                  " ".join(map(str, ids[bad[0]])))
    starts = np.concatenate([[0], np.flatnonzero(np.diff(ids[:, 0])) + 1])
    block_of_row = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(rows))))
    changed = np.flatnonzero((ids != ids[starts][block_of_row]).any(axis=1))
    if changed.size:
        r = int(changed[0])
        raise SkeletonFormatError(path, r + 1, f"the actor and category of video {ids[r, 0]} stay the same",
                                  f"actor {ids[r, 1]}, category {ids[r, 2]}")
    vids, first = np.unique(ids[starts, 0], return_index=True)
    if len(vids) != len(starts):
        again = np.setdiff1d(np.arange(len(starts)), first)[0]
        raise SkeletonFormatError(path, int(starts[again]) + 1, "the lines of each video to be consecutive",
                                  f"video {ids[starts[again], 0]} again")
    coords = rows[:, 3:].reshape(-1, 1, 15, 3).astype(np.float32)
    out = []
    for s, e in zip(starts, np.append(starts[1:], len(rows)), strict=True):
        video, actor, category = (int(v) for v in ids[s])
        meta = dict(subject=actor, video=video, name=f"video{video:03d}", source=str(path))
        out.append(SkeletonSequence(coords[s:e], FLORENCE_3D, label=category - 1, meta=meta))
    return out
