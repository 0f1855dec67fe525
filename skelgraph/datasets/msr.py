"""MSR Action3D (Li et al., CVPR Workshops 2010): 20 actions, 10 subjects, Kinect v1 world coordinates."""

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
from skelgraph.datasets.base import RawDataMissingError, SkeletonDataset, in_set, split_mask
from skelgraph.io.msr import read_msr_action3d, read_msr_file_list
from skelgraph.skeleton import MSR_ACTION3D

#: The 20 actions in label order (action ``aAA`` is label ``AA - 1``).
MSR_ACTIONS: tuple[str, ...] = (
    "high arm wave", "horizontal arm wave", "hammer", "hand catch", "forward punch", "high throw", "draw x",
    "draw tick", "draw circle", "hand clap", "two hand wave", "side-boxing", "bend", "forward kick", "side kick",
    "jogging", "tennis swing", "tennis serve", "golf swing", "pick up & throw",
)
#: Action subsets of Li et al. (2010), 1-based action numbers.
MSR_SUBSETS: dict[str, tuple[int, ...]] = {
    "AS1": (2, 3, 5, 6, 10, 13, 18, 20),
    "AS2": (1, 4, 7, 8, 9, 11, 12, 14),
    "AS3": (6, 14, 15, 16, 17, 18, 19, 20),
    "all": tuple(range(1, 21)),
}
#: Cross-subject protocol: odd subjects train, even subjects test.
MSR_TRAIN_SUBJECTS: tuple[int, ...] = (1, 3, 5, 7, 9)

_FILES = "MSRAction3DSkeletonReal3D"
_LIST = "files_used_in_cvpr12_paper.txt"


class MSRAction3D(SkeletonDataset):
    """MSR Action3D skeletons with the standard cross-subject protocol on the subsets AS1, AS2, AS3.

    Labels are re-numbered within the subset (``class_names`` lists the subset's actions in label order).
    Subjects 1, 3, 5, 7, 9 train and 2, 4, 6, 8, 10 test. By default the 557 sequences of
    ``files_used_in_cvpr12_paper.txt`` (Wang et al., CVPR 2012) are used; ``file_list="all"`` takes all 567
    files (then ``a13_s09_e02``, all zeros, is skipped and reported). All-zero frames are dropped unless
    ``drop_zero_frames=False``.

    Args:
        root: Folder holding ``raw/MSRAction3DSkeletonReal3D/`` and ``raw/files_used_in_cvpr12_paper.txt``
            (default: :func:`~skelgraph.datasets.default_root`; skelgraph ships
            the real data).
        subset: ``"AS1"``, ``"AS2"``, ``"AS3"`` or ``"all"`` (20 classes).
        split: ``"train"``, ``"test"`` or ``"all"``.
    """

    folder = "msr_action3d"
    layout = MSR_ACTION3D
    units_per_cm = (0.01, 0.01, 0.01)  # real-world coordinates in metres (datasets/msr_action3d/SOURCE.md)

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        subset: str = "AS1",
        split: str = "train",
        transform: Callable[[Data], Data] | None = None,
        pre_transform: Callable[[Data], Data] | None = None,
        pre_filter: Callable[[Data], bool] | None = None,
        file_list: str = "cvpr12",
        drop_zero_frames: bool = True,
        force_reload: bool = False,
        log: bool = True,
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        if subset not in MSR_SUBSETS:
            raise ValueError(f"unknown subset {subset!r}; expected one of {sorted(MSR_SUBSETS)}")
        if file_list not in ("cvpr12", "all"):
            raise ValueError(f"unknown file_list {file_list!r}; expected 'cvpr12' (557 files) or 'all' (567)")
        self.subset = subset
        self.file_list = file_list
        self.drop_zero_frames = drop_zero_frames
        actions = MSR_SUBSETS[subset]
        self.class_names = tuple(MSR_ACTIONS[a - 1] for a in actions)
        super().__init__(root, split, transform, pre_transform, pre_filter, force_reload, log, cache_dir)
        lut = torch.full((len(MSR_ACTIONS),), -1, dtype=torch.long)
        lut[torch.tensor(actions) - 1] = torch.arange(len(actions))
        self._data.y = lut[self._data.y]  # subset-local labels; other actions are never selected

    @property
    def raw_file_names(self) -> list[str]:
        return [_FILES, _LIST]

    def download(self) -> None:
        raise RawDataMissingError(
            f"MSR Action3D skeletons not found in {self.raw_dir}. skelgraph ships them: "
            f"skelgraph.datasets.install_bundled('msr_action3d', {self.root!r}) puts them there; "
            "otherwise get MSRAction3DSkeletonReal3D.rar from https://www.uow.edu.au/~wanqing/#Datasets, unpack "
            f"its 567 *_skeleton3D.txt files into {osp.join(self.raw_dir, _FILES)} and put "
            f"files_used_in_cvpr12_paper.txt (the 557-file list) into {self.raw_dir}."
        )

    def params(self) -> dict[str, Any]:
        return dict(file_list=self.file_list, drop_zero_frames=self.drop_zero_frames)

    def read_samples(self) -> Iterator[SkeletonSequence]:
        files = sorted(glob.glob(osp.join(self.raw_dir, _FILES, "*_skeleton3D.txt")))
        if self.file_list == "cvpr12":
            wanted = set(read_msr_file_list(osp.join(self.raw_dir, _LIST)))
            files = [f for f in files if osp.basename(f).replace("_skeleton3D.txt", "") in wanted]
            for name in sorted(wanted - {osp.basename(f).replace("_skeleton3D.txt", "") for f in files}):
                self.skip(name, f"listed in {_LIST} but no file {name}_skeleton3D.txt")
        for f in files:
            seq = self.attempt(osp.basename(f).replace("_skeleton3D.txt", ""),
                               lambda f=f: read_msr_action3d(f, drop_zero_frames=self.drop_zero_frames))
            if seq is not None:
                yield seq

    def select(self) -> Tensor:
        keep = in_set(self.meta("y"), [a - 1 for a in MSR_SUBSETS[self.subset]])
        train = in_set(self.meta("subject"), MSR_TRAIN_SUBJECTS)
        idx = split_mask(train, self.split)
        return idx[keep[idx]]
