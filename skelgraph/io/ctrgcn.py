"""CTR-GCN-style ``.npz`` archives: the preprocessed NTU RGB+D / NTU120 files of CTR-GCN, InfoGCN and friends.

One archive holds both splits: ``x_train`` and ``x_test`` ``[N, T, M * J * C]`` (every sample zero-padded to the
same ``T`` frames, ``M`` body slots side by side, body-major, then joint, then coordinate; ``[N, T, M, J, C]`` is
read too) and ``y_train``, ``y_test`` (one-hot ``[N, K]`` or class indices ``[N]``). The archives carry no sample
names; samples are named ``<split>_<index>``.

Padding is taken back out: trailing all-zero frames are not part of a sample (``num_frames`` counts the real
ones), and a body slot that is zero in every frame (the second person of a one-person action) is not a body.
Both are padding by construction of these files, not data, so nothing real is dropped.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from skelgraph.data import SkeletonSequence
from skelgraph.io._files import check_regular
from skelgraph.io.errors import EmptySequenceError, SkeletonFormatError
from skelgraph.io.folder import check_npz_member, finite_float32
from skelgraph.skeleton import Layout

#: The splits of an archive and their keys.
CTRGCN_SPLITS: dict[str, tuple[str, str]] = {"train": ("x_train", "y_train"), "test": ("x_test", "y_test")}


def read_ctrgcn_labels(path: Path, y: np.ndarray, key: str, count: int) -> np.ndarray:
    """Class indices from one-hot rows ``[N, K]`` or indices ``[N]``; :class:`SkeletonFormatError` otherwise."""
    if y.shape[:1] != (count,) or y.ndim not in (1, 2) or not np.issubdtype(y.dtype, np.number):
        raise SkeletonFormatError(path, None, f"{key} of shape [{count}] or [{count}, K] (numbers)",
                                  f"shape {y.shape}, dtype {y.dtype}")
    if y.ndim == 2:
        ones = (y == 1).sum(axis=1)
        bad = np.flatnonzero((ones != 1) | ((y != 0) & (y != 1)).any(axis=1))
        if bad.size:
            raise SkeletonFormatError(path, None, f"one-hot rows in {key}", f"row {int(bad[0])} is not one-hot")
        return y.argmax(axis=1).astype(np.int64)
    bad = np.flatnonzero(~np.isfinite(y) | (y < 0) | (y != np.round(y)) | (y >= 2**31))
    if bad.size:
        raise SkeletonFormatError(path, None, f"class indices (integers >= 0) in {key}",
                                  f"{y[bad[0]]!r} at {int(bad[0])}")
    return y.astype(np.int64)


class CTRGCNSplit:
    """One split of a CTR-GCN archive in a layout: ``len(split)`` samples, ``split.sequence(i)`` each."""

    def __init__(self, path: Path, split: str, layout: Layout, x: np.ndarray, labels: np.ndarray) -> None:
        self.path, self.split, self.layout, self.x, self.labels = path, split, layout, x, labels

    def __len__(self) -> int:
        return len(self.x)

    def name(self, i: int) -> str:
        return f"{self.split}_{i:06d}"

    def sequence(self, i: int) -> SkeletonSequence:
        """Sample ``i`` without its padding (see the module docstring).

        Raises:
            EmptySequenceError: the sample has no non-zero frame (datasets count and skip it).
            SkeletonFormatError: NaN or Inf in it.
        """
        key = CTRGCN_SPLITS[self.split][0]
        coords = finite_float32(self.path, self.x[i], f"coordinates of sample {i} of {key}")  # [T, M, J, C]
        moving = coords.reshape(coords.shape[0], coords.shape[1], -1).any(axis=2)  # [T, M]
        frames = np.flatnonzero(moving.any(axis=1))
        if not frames.size:
            raise EmptySequenceError(self.path, None, f"a non-zero frame in sample {i} of {key}", "all zeros")
        bodies = np.flatnonzero(moving.any(axis=0))
        coords = coords[: frames[-1] + 1, bodies]
        return SkeletonSequence(np.ascontiguousarray(coords), self.layout, label=int(self.labels[i]),
                                meta={"name": self.name(i), "source": str(self.path)})

    def __iter__(self) -> Iterator[SkeletonSequence]:
        """Every sample (an all-zero one raises :class:`~skelgraph.io.EmptySequenceError`)."""
        return (self.sequence(i) for i in range(len(self)))


def read_ctrgcn(path: str | os.PathLike, layout: Layout, split: str) -> CTRGCNSplit:
    """One split (``"train"`` or ``"test"``) of a CTR-GCN ``.npz`` archive in ``layout``.

    Raises:
        SkeletonFormatError: not an archive, no ``x_<split>`` / ``y_<split>``, shapes that do not fit ``layout``
            (``J`` joints, ``C = layout.ndim``), labels that are not one-hot or class indices.
    """
    path = Path(path)
    if split not in CTRGCN_SPLITS:
        raise ValueError(f"{path}: CTR-GCN archives hold the splits {sorted(CTRGCN_SPLITS)}, not {split!r}")
    x_key, y_key = CTRGCN_SPLITS[split]
    check_regular(path)
    try:
        with zipfile.ZipFile(path) as archive:
            members = {i.filename.removesuffix(".npy"): i for i in archive.infolist()}
            missing = [k for k in (x_key, y_key) if k not in members]
            if missing:
                raise SkeletonFormatError(path, None, f"a CTR-GCN archive with {x_key} and {y_key}",
                                          f"the keys {sorted(members)[:10]}")
            for key in (x_key, y_key):
                check_npz_member(path, archive, members[key])
        with np.load(path, allow_pickle=False) as arrays:
            x, y = arrays[x_key], arrays[y_key]
    except SkeletonFormatError:
        raise
    except Exception as e:  # zipfile / numpy header errors: not a valid archive
        raise SkeletonFormatError(path, None, "a CTR-GCN .npz archive", str(e)[:160] or type(e).__name__) from None
    J, C = layout.num_joints, layout.ndim
    if x.ndim == 3 and x.shape[2] % (J * C) == 0 and x.shape[2] > 0:
        x = x.reshape(*x.shape[:2], x.shape[2] // (J * C), J, C)
    if x.ndim != 5 or x.shape[3:] != (J, C) or x.shape[1] == 0 or x.shape[2] == 0:
        raise SkeletonFormatError(path, None, f"{x_key} of shape [N, T, M * {J * C}] or [N, T, M, {J}, {C}] for the "
                                  f"{C}-D layout {layout.name!r}", f"shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise SkeletonFormatError(path, None, f"real-valued numeric {x_key}", f"dtype {x.dtype}")
    return CTRGCNSplit(path, split, layout, x, read_ctrgcn_labels(path, y, y_key, len(x)))
