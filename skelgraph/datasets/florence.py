"""Florence 3D Actions (Seidenari et al., CVPR Workshops 2013): 9 actions, 10 actors, 15 joints."""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Callable, Iterator

from torch import Tensor
from torch_geometric.data import Data

from skelgraph.data import SkeletonSequence
from skelgraph.datasets.base import RawDataMissingError, SkeletonDataset, split_mask
from skelgraph.io.florence import FLORENCE_CLASSES, read_florence3d
from skelgraph.skeleton import FLORENCE_3D

_FILE = "Florence_dataset_WorldCoordinates.txt"


class Florence3D(SkeletonDataset):
    """Florence 3D Actions world coordinates with the leave-one-actor-out protocol.

    ``fold=k`` tests on actor ``k + 1`` and trains on the other nine; ``Florence3D.folds`` names the folds.

    Args:
        root: Folder holding ``raw/Florence_dataset_WorldCoordinates.txt`` (default
            ``$SKELGRAPH_DATA/florence_3d``, a checkout's ``datasets/florence_3d`` or the user data folder).
        fold: Test actor index, ``0 .. 9``.
        split: ``"train"``, ``"test"`` or ``"all"``.
    """

    folder = "florence_3d"
    layout = FLORENCE_3D
    class_names = FLORENCE_CLASSES
    folds: tuple[str, ...] = tuple(f"actor {a}" for a in range(1, 11))

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        fold: int = 0,
        split: str = "train",
        transform: Callable[[Data], Data] | None = None,
        pre_transform: Callable[[Data], Data] | None = None,
        pre_filter: Callable[[Data], bool] | None = None,
        force_reload: bool = False,
        log: bool = True,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        if not 0 <= fold < len(self.folds):
            raise ValueError(f"fold must be in 0..{len(self.folds) - 1}, got {fold}")
        self.fold = fold
        super().__init__(root, split, transform, pre_transform, pre_filter, force_reload, log, cache_dir)

    @property
    def raw_file_names(self) -> list[str]:
        return [_FILE]

    def download(self) -> None:
        raise RawDataMissingError(
            f"{_FILE} not found in {self.raw_dir}. Download the Florence 3D Actions dataset from "
            "https://www.micc.unifi.it/resources/datasets/florence-3d-actions-dataset/ and copy "
            f"{_FILE} into {self.raw_dir}."
        )

    def read_samples(self) -> Iterator[SkeletonSequence]:
        yield from read_florence3d(osp.join(self.raw_dir, _FILE))

    def select(self) -> Tensor:
        return split_mask(self.meta("subject") != self.fold + 1, self.split)
