"""NTU RGB+D 60 / 120 ``.skeleton`` files (Kinect v2, 25 joints).

File format (official ``read_skeleton_file.m``): a frame count, then per frame a body count and per body one
line of 10 body fields (the first is the 64-bit body ID), the joint count (25) and 25 lines of 12 joint fields
``x y z depthX depthY colorX colorY orientationW orientationX orientationY orientationZ trackingState``.

Parsing is a walk over the body headers (one Python step per body, not per line) followed by one bulk
:func:`numpy.loadtxt` over all joint lines. Memory is linear in the file size whatever the file claims: every
count is checked against the lines the file has before anything is allocated, and bodies are kept per record
(a file where every frame brings a new body ID would need frames x IDs in a dense array).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from skelgraph.data import SkeletonSequence
from skelgraph.io._files import read_text
from skelgraph.io._text import parse_rows, read_lines
from skelgraph.io.errors import EmptySequenceError, MissingSkeletonError, SkeletonFormatError
from skelgraph.skeleton import NTU

NTU_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")

#: SGN / View-Adaptive denoising thresholds (Zhang et al., CVPR 2020; Microsoft's NTU preprocessing).
MIN_BODY_FRAMES = 11
SPREAD_RATIO = 0.8
MAX_NOISY_FRACTION = 0.69754


@dataclass
class NTURecording:
    """Every body record of a ``.skeleton`` file, before body selection, stored per record (memory linear in the
    file size).

    Attributes:
        body_ids: Distinct body IDs in order of first appearance (a repeated ID within one frame gets ``#k``).
        frame: ``(R,)`` int64 frame index of every body record, non-decreasing (file order).
        body: ``(R,)`` int64 index into ``body_ids`` of every record.
        coords: ``(R, 25, 3)`` float32 camera-space joint positions in metres.
        bodies_per_frame: ``(T,)`` body count of every frame as stored in the file.
    """

    body_ids: list[str]
    frame: np.ndarray
    body: np.ndarray
    coords: np.ndarray
    bodies_per_frame: np.ndarray

    @classmethod
    def from_dense(cls, body_ids: list[str], joints: np.ndarray, present: np.ndarray) -> NTURecording:
        """Build from ``joints`` ``(T, B, 25, 3)`` and ``present`` ``(T, B)`` (e.g. synthetic recordings)."""
        frame, body = np.nonzero(present)
        return cls(list(body_ids), frame.astype(np.int64), body.astype(np.int64),
                   joints[frame, body].astype(np.float32), present.sum(axis=1).astype(np.int64))

    @property
    def num_frames(self) -> int:
        return len(self.bodies_per_frame)

    @property
    def joints(self) -> np.ndarray:
        """Dense ``(T, B, 25, 3)`` positions, zeros where a body is absent (``T x B`` memory: for inspection)."""
        out = np.zeros((self.num_frames, len(self.body_ids), 25, 3), dtype=np.float32)
        out[self.frame, self.body] = self.coords
        return out

    @property
    def present(self) -> np.ndarray:
        """Dense ``(T, B)`` bool: body ``b`` is in frame ``t``."""
        out = np.zeros((self.num_frames, len(self.body_ids)), dtype=bool)
        out[self.frame, self.body] = True
        return out


def parse_ntu_name(name: str) -> dict[str, int]:
    """``SsssCcccPpppRrrrAaaa`` -> ``{setup, camera, subject, repetition, action}`` (1-based as in the name)."""
    m = NTU_NAME.search(name)
    if m is None:
        raise ValueError(f"{name!r} is not an NTU sample name SsssCcccPpppRrrrAaaa")
    setup, camera, subject, repetition, action = (int(g) for g in m.groups())
    return dict(setup=setup, camera=camera, subject=subject, repetition=repetition, action=action)


def read_name_list(path: str | os.PathLike) -> list[str]:
    """NTU sample names in a list file (official missing-skeleton lists, ``skes_available_name.txt``).

    Header and blank lines are ignored: every ``SsssCcccPpppRrrrAaaa`` token is a name.
    """
    return [m.group(0) for m in NTU_NAME.finditer(read_text(path, "latin-1"))]


def _count(path: str | os.PathLike, lines: list[bytes], i: int, what: str, limit: int | None = None) -> int:
    """The non-negative integer on line index ``i``, at most ``limit`` (what the rest of the file can hold)."""
    if i >= len(lines):
        raise SkeletonFormatError(path, i + 1, what, "the end of the file")
    try:
        value = int(lines[i])
    except ValueError:
        raise SkeletonFormatError(path, i + 1, what, repr(lines[i].strip().decode("latin-1")[:40])) from None
    if value < 0:
        raise SkeletonFormatError(path, i + 1, what, str(value))
    if limit is not None and value > limit:
        left = len(lines) - i - 1
        raise SkeletonFormatError(path, i + 1, f"{what} that the {left} lines left before the end of the file can "
                                  f"hold (at most {limit})", str(value))
    return value


def parse_ntu_skeleton(path: str | os.PathLike) -> NTURecording:
    """Parse every frame and body of an NTU ``.skeleton`` file (no body selection).

    Raises:
        SkeletonFormatError: truncated file, wrong field or joint counts, non-numeric or NaN/Inf values,
            trailing content after the last frame.
    """
    lines = read_lines(path)
    # Every frame takes at least its body-count line and every body 27 lines: counts beyond that are refused
    # before anything is allocated.
    num_frames = _count(path, lines, 0, "the frame count", len(lines) - 1)
    per_frame = np.zeros(num_frames, dtype=np.int64)
    info_at: list[int] = []  # line index of each body record's info line
    i = 1
    for f in range(num_frames):
        nb = _count(path, lines, i, f"the body count of frame {f + 1}", (len(lines) - i - 1) // 27)
        per_frame[f] = nb
        i += 1
        for _ in range(nb):
            info_at.append(i)
            joints = _count(path, lines, i + 1, "the joint count 25")
            if joints != 25:
                raise SkeletonFormatError(path, i + 2, "the joint count 25", str(joints))
            i += 27
            if i > len(lines):
                raise SkeletonFormatError(path, len(lines) + 1, "25 joint lines of 12 numbers", "the end of the file")
    if i < len(lines):
        extra = next(k for k in range(i, len(lines)) if lines[k].strip())
        raise SkeletonFormatError(path, extra + 1, f"the end of the file after {num_frames} frames", "more content")

    starts = np.asarray(info_at, dtype=np.int64)
    info = [lines[k] for k in info_at]
    parse_rows(path, info, 10, line_numbers=(starts + 1).tolist())  # validates the body lines
    joint_idx = (starts[:, None] + 2 + np.arange(25)).reshape(-1)
    joint_lines = list(chain.from_iterable(lines[k + 2 : k + 27] for k in info_at))
    rows = parse_rows(path, joint_lines, 12, line_numbers=(joint_idx + 1).tolist())

    frame_of = np.repeat(np.arange(num_frames), per_frame)
    ids: dict[str, int] = {}
    body_of = np.empty(len(info_at), dtype=np.int64)
    seen_in_frame: dict[tuple[int, str], int] = {}
    for r, text in enumerate(info):
        key = text.split(None, 1)[0].decode("latin-1")
        repeat = seen_in_frame.get((int(frame_of[r]), key), 0)
        seen_in_frame[(int(frame_of[r]), key)] = repeat + 1
        if repeat:
            key = f"{key}#{repeat}"
        body_of[r] = ids.setdefault(key, len(ids))
    coords = rows[:, :3].reshape(-1, 25, 3).astype(np.float32)
    return NTURecording(list(ids), frame_of.astype(np.int64), body_of, coords, per_frame)


def _motion(joints: np.ndarray) -> float:
    """SGN's motion of a body: the summed per-axis variance of all its joint positions over its frames."""
    return float(np.var(joints.reshape(-1, 3), axis=0).sum())


def select_bodies(
    rec: NTURecording,
    max_bodies: int = 2,
    min_frames: int = MIN_BODY_FRAMES,
    spread_ratio: float = SPREAD_RATIO,
    max_noisy_fraction: float = MAX_NOISY_FRACTION,
) -> tuple[np.ndarray, dict[str, int]]:
    """Pick the main actor(s) of a recording: the denoising rule of SGN / Microsoft's NTU preprocessing.

    1. Frames with no body at all are dropped.
    2. With a single body ID the body is kept as is. With several:

       a. *length*: body IDs tracked in ``<= min_frames`` frames are dropped (short-lived ghost detections);
       b. *spread*: while more than one body remains, a body whose x-extent exceeds ``spread_ratio`` times its
          y-extent (not an upright person) in ``>= max_noisy_fraction`` of its frames is dropped; otherwise its
          motion is recomputed over its upright frames and the smaller value kept;
       c. if (a) and (b) would drop every body, all are kept;
       d. *motion*: remaining bodies are ranked by motion (summed per-axis variance of their joints over
          their frames, SGN's definition) and assigned greedily to at most ``max_bodies`` actor slots: a body
          goes into the first slot whose time span ``[first, last]`` it does not overlap, so a person whose ID
          changes mid-sequence stays one actor; bodies that overlap every slot are dropped.

    3. Frames in which no selected actor is present are dropped.

    Unlike SGN, a body's frames are its true frame indices (SGN assumes each ID's frames are contiguous).

    Returns:
        ``(coords, info)``: ``coords`` ``(T', M, 25, 3)`` with actor 1 (most motion) first, ``M <= max_bodies``;
        ``info`` counts ``raw_bodies`` (distinct body IDs) and ``dropped_frames``.

    Raises:
        ValueError: if no frame holds a non-zero body (callers turn this into :class:`EmptySequenceError`).
    """
    keep_frames = rec.bodies_per_frame > 0
    if not keep_frames.any():
        raise ValueError("no frame holds a body")
    # Per body: its frames (indices among the kept frames, ascending) and joints, without a dense T x B array.
    kept_index = np.cumsum(keep_frames) - 1
    num_bodies = len(rec.body_ids)
    by_body = np.argsort(rec.body, kind="stable")
    ends = np.cumsum(np.bincount(rec.body, minlength=num_bodies))[:-1]
    frames_of = np.split(kept_index[rec.frame[by_body]], ends)
    joints_of = np.split(rec.coords[by_body], ends)
    order: list[int] = [b for b in range(num_bodies) if len(frames_of[b])]
    if len(order) > 1:
        motion = {b: _motion(joints_of[b]) for b in order}
        alive = [b for b in order if len(frames_of[b]) > min_frames]  # step 2a
        if len(alive) > 1:  # step 2b
            for b in list(alive):
                if len(alive) == 1:
                    break
                pts = joints_of[b]
                extent = pts.max(axis=1) - pts.min(axis=1)  # [frames, 3]
                upright = extent[:, 0] <= spread_ratio * extent[:, 1]
                if upright.all():
                    continue
                if 1.0 - upright.mean() >= max_noisy_fraction:
                    alive.remove(b)
                elif upright.any():
                    motion[b] = min(motion[b], _motion(pts[upright]))
        if alive:  # step 2c: otherwise keep everyone
            order = alive
        order = sorted(order, key=lambda b: -motion[b])  # stable: ties keep file order
    slots: list[list[int]] = []
    spans: list[tuple[int, int]] = []
    for b in order:  # step 2d
        frames = frames_of[b]
        start, end = int(frames[0]), int(frames[-1])
        for s, (s0, s1) in enumerate(spans):
            if min(s1, end) - max(s0, start) <= 0:  # no overlap (SGN's test)
                slots[s].append(b)
                spans[s] = (min(s0, start), max(s1, end))
                break
        else:
            if len(slots) < max_bodies:
                slots.append([b])
                spans.append((start, end))
    out = np.zeros((int(keep_frames.sum()), len(slots), 25, 3), dtype=np.float32)
    for s, bodies in enumerate(slots):
        for b in bodies:
            out[frames_of[b], s] = joints_of[b]
    filled = (out != 0).any(axis=(1, 2, 3))  # step 3
    if not filled.any():
        raise ValueError("every selected body is all-zero")
    info = dict(raw_bodies=num_bodies, dropped_frames=int(rec.num_frames - filled.sum()))
    return out[filled], info


def read_ntu_skeleton(
    path: str | os.PathLike,
    *,
    max_bodies: int = 2,
    min_frames: int = MIN_BODY_FRAMES,
    missing: frozenset[str] | set[str] | None = None,
) -> SkeletonSequence:
    """Read an NTU RGB+D ``.skeleton`` file as a :class:`SkeletonSequence` with its main actor(s).

    Bodies are chosen by :func:`select_bodies` (SGN's rule: drop short-lived and non-upright bodies, rank by
    motion, at most ``max_bodies``). The label is ``action - 1`` and ``meta`` holds ``setup``, ``camera``,
    ``subject``, ``repetition`` (from the file name), ``name``, ``source``, ``raw_bodies`` and
    ``dropped_frames``.

    Args:
        missing: Sample names to refuse (an official missing-skeleton list, see :func:`read_name_list`).

    Raises:
        MissingSkeletonError: the sample is in ``missing``.
        EmptySequenceError: no frame holds a body.
        SkeletonFormatError: malformed file.
    """
    name = Path(path).name.split(".")[0]
    if missing is not None and name in missing:
        raise MissingSkeletonError(path, None, "a sample that is not on the missing-skeleton list", "listed")
    rec = parse_ntu_skeleton(path)
    try:
        coords, info = select_bodies(rec, max_bodies=max_bodies, min_frames=min_frames)
    except ValueError:
        found = f"{rec.num_frames} frames without a (non-zero) body"
        raise EmptySequenceError(path, None, "at least one frame with a body", found) from None
    meta: dict = dict(name=name, source=str(path), **info)
    label = None
    if NTU_NAME.fullmatch(name):
        fields = parse_ntu_name(name)
        label = fields.pop("action") - 1
        meta.update(fields)
    return SkeletonSequence(coords, NTU, label=label, meta=meta)
