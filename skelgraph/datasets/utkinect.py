"""UTKinect-Action3D (Xia et al., CVPR Workshops 2012): 10 actions, 10 subjects x 2 recordings, Kinect v1."""

from __future__ import annotations

import glob
import os
import os.path as osp
import warnings
from collections.abc import Callable, Iterator

import torch
from torch import Tensor
from torch_geometric.data import Data

from skelgraph.data import SkeletonSequence
from skelgraph.datasets.base import RawDataMissingError, SkeletonDataset, in_set, split_mask
from skelgraph.io.utkinect import UTKINECT_ACTIONS, read_utkinect, read_utkinect_labels, utkinect_overlaps
from skelgraph.skeleton import KINECT_V1

#: Cross-subject protocol: odd subjects train, even subjects test (half of the subjects each).
UTKINECT_TRAIN_SUBJECTS: tuple[int, ...] = (1, 3, 5, 7, 9)


class UTKinect(SkeletonDataset):
    """UTKinect-Action3D action clips (20 joints, metres), cut from the recordings by ``actionLabel.txt``.

    Protocols:

    * ``"loso"`` leave-one-sequence-out (Xia et al., 2012): fold ``k`` tests on clip ``k`` alone and trains on
      all the others; ``dataset.folds`` lists the clip names (199 in the full release: the one ``NaN NaN``
      entry is skipped and reported).
    * ``"xsub"`` cross-subject: subjects :data:`UTKINECT_TRAIN_SUBJECTS` train, the others test (no folds).

    Rows of a repeated frame number are all kept (distinct samples; :mod:`skelgraph.io.utkinect` gives the
    evidence). Clips whose labelled ranges overlap are cut as labelled; processing warns about them and
    :attr:`overlaps` lists them.

    Args:
        root: Folder holding ``raw/joints/joints_sSS_eEE.txt`` and ``raw/actionLabel.txt`` (default
            ``$SKELGRAPH_DATA/utkinect``, a checkout's ``datasets/utkinect`` or the user data folder).
        protocol: ``"loso"`` or ``"xsub"``.
        fold: Test clip index for ``"loso"``.
        split: ``"train"``, ``"test"`` or ``"all"``.
    """

    folder = "utkinect"
    layout = KINECT_V1
    units_per_cm = (0.01, 0.01, 0.01)  # Kinect v1 SDK skeleton space, metres
    class_names = UTKINECT_ACTIONS

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        protocol: str = "loso",
        fold: int = 0,
        split: str = "train",
        transform: Callable[[Data], Data] | None = None,
        pre_transform: Callable[[Data], Data] | None = None,
        pre_filter: Callable[[Data], bool] | None = None,
        force_reload: bool = False,
        log: bool = True,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        if protocol not in ("loso", "xsub"):
            raise ValueError(f"unknown protocol {protocol!r}; expected 'loso' or 'xsub'")
        self.protocol = protocol
        self.fold = fold
        super().__init__(root, split, transform, pre_transform, pre_filter, force_reload, log, cache_dir)

    @property
    def folds(self) -> list[str]:
        """Fold names: the clip left out by each ``"loso"`` fold (empty for ``"xsub"``)."""
        return list(self._data.name) if self.protocol == "loso" else []

    @property
    def overlaps(self) -> list[str]:
        """Pairs of clips of one recording whose labelled frame ranges overlap (see :func:`utkinect_overlaps`)."""
        return utkinect_overlaps(read_utkinect_labels(osp.join(self.raw_dir, "actionLabel.txt"))[0])

    def params(self) -> dict[str, str]:
        # Part of the cache key: caches built when repeated frame numbers kept only their first row are stale.
        return {"repeated_frames": "all rows"}

    @property
    def raw_file_names(self) -> list[str]:
        return ["joints", "actionLabel.txt"]

    def download(self) -> None:
        raise RawDataMissingError(
            f"UTKinect-Action3D not found in {self.raw_dir}. Download the skeleton joints archive and "
            "actionLabel.txt from http://cvrc.ece.utexas.edu/KinectDatasets/HOJ3D.html, put the 20 files "
            f"joints_sSS_eEE.txt into {osp.join(self.raw_dir, 'joints')} and actionLabel.txt into {self.raw_dir}."
        )

    def read_samples(self) -> Iterator[SkeletonSequence]:
        labels, skipped = read_utkinect_labels(osp.join(self.raw_dir, "actionLabel.txt"))
        overlaps = utkinect_overlaps(labels)
        if overlaps:
            warnings.warn(f"UTKinect: {len(overlaps)} pairs of labelled clips overlap and are kept as labelled "
                          f"({'; '.join(overlaps[:3])}{' ...' if len(overlaps) > 3 else ''}); see "
                          "dataset.overlaps", stacklevel=2)
        for entry in skipped:
            self.skip(entry.split(":")[0], entry)
        files = {osp.basename(f)[len("joints_"):-len(".txt")]: f
                 for f in glob.glob(osp.join(self.raw_dir, "joints", "joints_s*_e*.txt"))}
        for key in sorted(labels):
            if key not in files:
                for action, _, _ in labels[key]:
                    self.skip(f"{key}_{action}", f"no file joints_{key}.txt")
                continue
            clips, empty = read_utkinect(files[key], labels)
            for entry in empty:
                self.skip(entry.split(":")[0], entry)
            yield from clips

    def select(self) -> Tensor:
        n = self.meta("y").numel()
        if self.protocol == "xsub":
            return split_mask(in_set(self.meta("subject"), UTKINECT_TRAIN_SUBJECTS), self.split)
        if not 0 <= self.fold < n:
            raise ValueError(f"fold must be in 0..{n - 1} (one per clip), got {self.fold}")
        train = torch.ones(n, dtype=torch.bool)
        train[self.fold] = False
        return split_mask(train, self.split)
