"""UTKinect-Action3D: ``joints_sSS_eEE.txt`` recordings cut into clips by ``actionLabel.txt``.

``joints_sSS_eEE.txt``: 61 whitespace-separated numbers per line, the frame number then 20 joints x (x, y, z)
in metres in Kinect v1 SDK order (:data:`skelgraph.skeleton.KINECT_V1`).

Frame numbers can repeat (539 pairs in the release). The rows of a repeated number are distinct samples, not the
same instant recorded twice: in 531 of the 539 pairs the second row lies nearer the next frame's row than the
first does (2.85 cm apart on average), so both rows are kept, in file order.

``actionLabel.txt``: blocks headed by a line ``sSS_eEE``, then one line ``action: start end`` per action with
inclusive frame numbers (column 1 of the joints file); an entry ``carry:  NaN NaN`` marks an action that was
not recorded and is skipped. Ranges of one recording may overlap or nest (in the release, ``s03_e01``'s push
contains its whole throw clip): the clips are cut as labelled, and :func:`utkinect_overlaps` lists every such
pair so that datasets can report them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from skelgraph.data import SkeletonSequence
from skelgraph.io._files import read_text
from skelgraph.io._text import INT_MAX, INT_MIN, integer_column, load_table
from skelgraph.io.errors import SkeletonFormatError
from skelgraph.skeleton import KINECT_V1

#: The ten actions in label order.
UTKINECT_ACTIONS: tuple[str, ...] = (
    "walk", "sitDown", "standUp", "pickUp", "carry", "throw", "push", "pull", "waveHands", "clapHands",
)
_HEADER = re.compile(r"s(\d+)_e(\d+)")
_ENTRY = re.compile(r"(\w+)\s*:\s*(\S+)\s+(\S+)")

#: ``{"sSS_eEE": [(action, start, end), ...]}``
UTKinectLabels = dict[str, list[tuple[str, int, int]]]


def read_utkinect_labels(path: str | os.PathLike) -> tuple[UTKinectLabels, list[str]]:
    """Parse ``actionLabel.txt``.

    Returns:
        ``(labels, skipped)``: clip boundaries per recording, and a description of every ``NaN`` entry skipped.

    Raises:
        SkeletonFormatError: an entry before any header, an unknown action, a non-integer bound other than the
            ``NaN NaN`` pair, a bound outside ``0 .. 2**31 - 1``, ``start > end``, a repeated header or action, or a
            line that is neither.
    """
    labels: UTKinectLabels = {}
    skipped: list[str] = []
    current: str | None = None
    text = read_text(path, "latin-1")
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if _HEADER.fullmatch(line):
            if line in labels:
                raise SkeletonFormatError(path, number, "a recording header seen only once", repr(line))
            current = line
            labels[current] = []
            continue
        m = _ENTRY.fullmatch(line)
        if m is None:
            raise SkeletonFormatError(path, number, "a header 'sSS_eEE' or an entry 'action: start end'", repr(line))
        if current is None:
            raise SkeletonFormatError(path, number, "a header 'sSS_eEE' before the first entry", repr(line))
        action, lo, hi = m.groups()
        if action not in UTKINECT_ACTIONS:
            raise SkeletonFormatError(path, number, f"an action among {UTKINECT_ACTIONS}", repr(action))
        if any(a == action for a, _, _ in labels[current]):
            raise SkeletonFormatError(path, number, f"one entry per action in {current}", f"a second {action!r}")
        if lo.lower() == "nan" and hi.lower() == "nan":
            skipped.append(f"{current}_{action}: not recorded (NaN NaN, line {number})")
            continue
        try:
            start, end = int(lo), int(hi)
        except ValueError:
            raise SkeletonFormatError(path, number, "integer frame numbers 'start end'", f"{lo!r} {hi!r}") from None
        if not INT_MIN <= start <= INT_MAX or not INT_MIN <= end <= INT_MAX:
            raise SkeletonFormatError(path, number, f"frame numbers in {INT_MIN}..{INT_MAX}", f"{lo!r} {hi!r}")
        if start > end:
            raise SkeletonFormatError(path, number, "start <= end", f"{start} > {end}")
        labels[current].append((action, start, end))
    return labels, skipped


def utkinect_overlaps(labels: UTKinectLabels) -> list[str]:
    """Every pair of clips of one recording whose frame ranges overlap, described (e.g.
    ``"s03_e01: push [a, b] contains throw [c, d]"``), in label order."""
    found = []
    for key, entries in labels.items():
        for k, (a, lo_a, hi_a) in enumerate(entries):
            for b, lo_b, hi_b in entries[k + 1 :]:
                if lo_a <= hi_b and lo_b <= hi_a:
                    if lo_a <= lo_b and hi_b <= hi_a:
                        how = "contains"
                    elif lo_b <= lo_a and hi_a <= hi_b:
                        how = "lies inside"
                    else:
                        how = "overlaps"
                    found.append(f"{key}: {a} [{lo_a}, {hi_a}] {how} {b} [{lo_b}, {hi_b}]")
    return found


def read_utkinect_joints(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Parse ``joints_sSS_eEE.txt``: ``(frame_numbers [N] int64, coords [N, 20, 3] float32)``, rows in file order."""
    rows = load_table(path, 61)
    frames = integer_column(path, rows[:, 0], "frame number")
    return frames, rows[:, 1:].reshape(-1, 20, 3).astype(np.float32)


def read_utkinect(
    joints_path: str | os.PathLike, labels: UTKinectLabels
) -> tuple[list[SkeletonSequence], list[str]]:
    """Cut one recording into its action clips.

    A clip holds every row whose frame number lies in ``[start, end]`` (inclusive), in file order; rows of a
    repeated frame number are all kept (distinct samples, see the module docstring). Labels index
    :data:`UTKINECT_ACTIONS`; ``meta`` holds ``subject``, ``repetition``, ``name`` (``sSS_eEE_action``),
    ``source``, ``start`` and ``end``.

    Returns:
        ``(clips, skipped)``: clips in label-file order, and a description of every clip with no frame.

    Raises:
        SkeletonFormatError: malformed joints file, or no entry for this recording in ``labels``.
    """
    stem = Path(joints_path).stem
    key = stem.removeprefix("joints_")
    m = _HEADER.fullmatch(key)
    if m is None or key not in labels:
        raise SkeletonFormatError(joints_path, None, "a file named joints_sSS_eEE.txt with an entry in actionLabel.txt",
                                  repr(Path(joints_path).name))
    frames, coords = read_utkinect_joints(joints_path)
    clips: list[SkeletonSequence] = []
    skipped: list[str] = []
    for action, start, end in labels[key]:
        inside = (frames >= start) & (frames <= end)
        if not inside.any():
            skipped.append(f"{key}_{action}: no frame in [{start}, {end}] of {joints_path}")
            continue
        meta = dict(subject=int(m.group(1)), repetition=int(m.group(2)), name=f"{key}_{action}",
                    source=str(joints_path), start=start, end=end)
        clips.append(SkeletonSequence(coords[inside, None], KINECT_V1, UTKINECT_ACTIONS.index(action), meta))
    return clips, skipped

