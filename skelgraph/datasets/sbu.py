"""SBU Kinect Interaction (Yun et al., CVPR Workshops 2012): 8 two-person interactions, 21 sets."""

from __future__ import annotations

import glob
import os
import os.path as osp
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from skelgraph.data import SkeletonSequence
from skelgraph.datasets.base import RawDataMissingError, SkeletonDataset
from skelgraph.io.sbu import SBU_CLASSES, SBU_UNITS, read_sbu
from skelgraph.skeleton import SBU as SBU_LAYOUT

#: The standard 5-fold cross-validation over sets (Yun et al., 2012).
SBU_FOLDS: tuple[tuple[str, ...], ...] = (
    ("s01s02", "s03s04", "s05s02", "s06s04"),
    ("s02s03", "s02s07", "s03s05", "s05s03"),
    ("s01s03", "s01s07", "s07s01", "s07s03"),
    ("s02s01", "s02s06", "s03s02", "s03s06"),
    ("s04s02", "s04s03", "s04s06", "s06s02", "s06s03"),
)


class SBU(SkeletonDataset):
    """SBU Kinect Interaction, two bodies of 15 joints per sample, with the standard 5-fold protocol.

    ``fold=k`` (0..4) tests on the sets of ``SBU_FOLDS[k]`` and trains on the other four folds; ``SBU.folds``
    lists the folds. Each sample's ``fold`` attribute is its set's fold.

    Args:
        root: Folder holding ``raw/sXXsYY/CC/NNN/skeleton_pos.txt`` (default:
            :func:`~skelgraph.datasets.default_root`; skelgraph ships the real data).
        fold: Test fold, ``0 .. 4``.
        split: ``"train"``, ``"test"`` or ``"all"``.
        units: ``"metres"`` (default: the dataset README's de-normalisation, y up) or ``"normalised"`` (the
            files' anisotropic values, unchanged; see :mod:`skelgraph.io.sbu`). Part of the cache key.
    """

    folder = "sbu"
    layout = SBU_LAYOUT
    # In metres (the default units); see coordinate_units_per_cm for the normalised values.
    units_per_cm = (0.01, 0.01, 0.01)
    class_names = SBU_CLASSES
    folds: tuple[tuple[str, ...], ...] = SBU_FOLDS

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
        units: str = "metres",
    ) -> None:
        if not 0 <= fold < len(SBU_FOLDS):
            raise ValueError(f"fold must be in 0..{len(SBU_FOLDS) - 1}, got {fold}")
        if units not in SBU_UNITS:
            raise ValueError(f"units must be one of {SBU_UNITS}, got {units!r}")
        self.fold, self.units = fold, units
        super().__init__(root, split, transform, pre_transform, pre_filter, force_reload, log, cache_dir)

    @classmethod
    def coordinate_units_per_cm(cls, spec: dict[str, Any]) -> tuple[float, float, float]:
        """One centimetre per axis in the units a recipe's ``meta["dataset"]`` names: 0.01 in metres; in the
        normalised values, by the README's de-normalisation (X = 1280 - 2560 x, Y = 960 - 1920 y, Z = 1280 z
        mm), 10 / 2560, 10 / 1920 and 10 / 1280."""
        if cls.protocol_arguments(spec)["units"] == "normalised":
            return (10 / 2560, 10 / 1920, 10 / 1280)
        return cls.units_per_cm

    @classmethod
    def protocol_arguments(cls, spec: dict[str, Any]) -> dict[str, Any]:
        # Checkpoints written before SBU was read in metres name no units: theirs were the normalised values.
        return {"units": "normalised", **super().protocol_arguments(spec)}

    def params(self) -> dict[str, str]:
        return {"units": self.units}

    @property
    def raw_file_names(self) -> list[str]:
        return [s for fold in SBU_FOLDS for s in fold]

    def download(self) -> None:
        raise RawDataMissingError(
            f"SBU Kinect Interaction not found in {self.raw_dir}. skelgraph ships it: "
            f"skelgraph.datasets.install_bundled('sbu', {self.root!r}) puts it there; "
            "otherwise download the 21 set archives s01s02.zip ... s07s03.zip (clean version) from "
            "https://www3.cs.stonybrook.edu/~kyun/research/kinect_interaction/index.html and unpack them so that "
            f"{osp.join(self.raw_dir, 's01s02', '01', '001', 'skeleton_pos.txt')} exists."
        )

    def read_samples(self) -> Iterator[SkeletonSequence]:
        fold_of = {s: k for k, fold in enumerate(SBU_FOLDS) for s in fold}
        for f in sorted(glob.glob(osp.join(self.raw_dir, "s*s*", "*", "*", "skeleton_pos.txt"))):
            seq = read_sbu(f, self.units)
            if seq.meta.get("set") not in fold_of:
                self.skip(seq.meta["name"], f"{f}: set {seq.meta.get('set')!r} is in no fold of the protocol")
                continue
            seq.meta["fold"] = fold_of[seq.meta["set"]]
            yield seq

    def select(self) -> Tensor:
        fold = self.meta("fold")
        if self.split == "all":
            return torch.arange(fold.numel())
        test = fold == self.fold
        return (test if self.split == "test" else ~test).nonzero().view(-1)
