"""Datasets from single files of the skeleton-action toolkits, and one entry point for every user data format.

* :class:`PYSKLDataset`: a PYSKL / MMAction2 annotation ``.pkl`` (read without running pickled code,
  :mod:`skelgraph.io.pyskl`); its named splits (``xsub_train``, ``xsub_val``, ...) or ``"all"``.
* :class:`CTRGCNDataset`: a CTR-GCN-style ``.npz`` archive (:mod:`skelgraph.io.ctrgcn`); splits ``train`` and
  ``test``.
* :func:`open_dataset`: a :class:`~skelgraph.datasets.SkeletonFolder` directory, a ``.pkl`` or an ``.npz``
  archive, chosen by the path; what ``python -m skelgraph.train`` / ``evaluate`` read.

Their processed cache lives next to the file (``<folder>/processed``) unless ``cache_dir=`` or
``$SKELGRAPH_CACHE`` say otherwise, and is rebuilt when the file changes.
"""

from __future__ import annotations

import json
import os
import os.path as osp
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from skelgraph.data import SkeletonSequence
from skelgraph.datasets.base import RawDataMissingError, SkeletonDataset, spec_split
from skelgraph.datasets.folder import SkeletonFolder
from skelgraph.io.ctrgcn import CTRGCN_SPLITS, read_ctrgcn
from skelgraph.io.pyskl import pyskl_sequence, read_pyskl
from skelgraph.skeleton import Layout, get_layout

SPLITS_FILE = "splits.json"


class _FileDataset(SkeletonDataset):
    """One data file as a dataset: split names come from the file, class names are ``"0" .. "K-1"`` unless
    given. Subclasses implement :meth:`read_samples`, which also fills ``_splits_read`` (split name -> sample
    names, stored with the cache)."""

    folder = "custom"

    def __init__(self, path: str | os.PathLike, layout: Layout | str, split: str = "all",
                 class_names: list[str] | tuple[str, ...] | None = None,
                 transform: Callable[[Data], Data] | None = None, pre_transform: Callable[[Data], Data] | None = None,
                 pre_filter: Callable[[Data], bool] | None = None, force_reload: bool = False, log: bool = True,
                 cache_dir: str | os.PathLike | None = None) -> None:
        self.file = Path(path)
        if not self.file.is_file():
            raise RawDataMissingError(f"no file {self.file}")
        self.layout = get_layout(layout)  # type: ignore[misc]
        self.splits = (split,)  # checked against the file's splits in select()
        self._file_splits: dict[str, list[str]] = {}
        self._splits_read: dict[str, list[str]] = {}  # filled by read_samples (processing)
        super().__init__(str(self.file.parent), split, transform, pre_transform, pre_filter, force_reload, log,
                         cache_dir)
        K = int(self._data.y.max()) + 1
        if class_names is not None:
            if len(class_names) < K:
                raise ValueError(f"{self.file}: {len(class_names)} class names for labels up to {K - 1}")
            self.class_names = tuple(str(c) for c in class_names)
        else:
            self.class_names = tuple(str(k) for k in range(K))

    @classmethod
    def from_spec(cls, spec: dict[str, Any], root: str | None, split: str, layout: Layout | str,
                  **kwargs: Any) -> _FileDataset:
        """The dataset a run of ``python -m skelgraph.train`` trained on (see :func:`dataset_spec`); ``root``
        replaces the stored file."""
        return cls(root or spec["path"], layout, split=spec_split(spec, split), **kwargs)

    @property
    def raw_dir(self) -> str:
        return str(self.file.parent)

    @property
    def raw_file_names(self) -> list[str]:
        return [self.file.name]

    @property
    def processed_file_names(self) -> list[str]:
        return ["data.pt", "skipped.json", SPLITS_FILE]

    def download(self) -> None:
        raise RawDataMissingError(f"no file {self.file}")

    def params(self) -> dict[str, Any]:
        return dict(file=self.file.name, layout=self.layout.to_dict())

    def process(self) -> None:
        super().process()
        with open(osp.join(self.processed_dir, SPLITS_FILE), "w") as f:
            json.dump(self._splits_read, f)  # split name -> sample names, as the file defines them

    def select(self) -> Tensor:
        with open(osp.join(self.processed_dir, SPLITS_FILE)) as f:
            self._file_splits = json.load(f)
        names = list(self._data.name)
        if self.split == "all":
            return torch.arange(len(names))
        if self.split not in self._file_splits:
            raise ValueError(f"{self.file}: unknown split {self.split!r}; the file has "
                             f"{sorted(self._file_splits) + ['all']}")
        wanted = set(self._file_splits[self.split])
        return torch.tensor([i for i, n in enumerate(names) if n in wanted], dtype=torch.long)

    @property
    def available_splits(self) -> list[str]:
        """The file's split names (and ``"all"``)."""
        return sorted(self._file_splits) + ["all"]


class PYSKLDataset(_FileDataset):
    """A PYSKL / MMAction2 skeleton annotation file (``.pkl``) as a PyG dataset.

    ``split`` is one of the file's splits (e.g. ``"xsub_train"``, ``"xsub_val"``) or ``"all"``. Coordinates are
    2-D or 3-D as ``layout.ndim`` says (``coco17`` for PYSKL's HRNet 2-D keypoints, ``ntu`` for its 3-D
    annotations); ``keypoint_score`` becomes the samples' ``score``. Samples with no person or no frame are skipped
    and listed in ``skipped``. The pickle is read without running code (:func:`skelgraph.io.read_pyskl`).
    """

    def read_samples(self) -> Iterator[SkeletonSequence]:
        annotations = read_pyskl(self.file)
        self._splits_read = annotations.splits
        for number, record in enumerate(annotations.annotations):
            seq = self.attempt(record["frame_dir"],
                               lambda r=record, n=number: pyskl_sequence(self.file, r, n, self.layout))
            if seq is not None:
                yield seq


class CTRGCNDataset(_FileDataset):
    """A CTR-GCN-style ``.npz`` archive (``x_train``, ``y_train``, ``x_test``, ``y_test``) as a PyG dataset;
    ``split`` is ``"train"``, ``"test"`` or ``"all"``. Samples are named ``train_<index>`` / ``test_<index>``;
    zero padding (trailing empty frames, empty body slots) is removed (:mod:`skelgraph.io.ctrgcn`)."""

    def read_samples(self) -> Iterator[SkeletonSequence]:
        for split in CTRGCN_SPLITS:
            samples = read_ctrgcn(self.file, self.layout, split)
            self._splits_read[split] = [samples.name(i) for i in range(len(samples))]
            for i in range(len(samples)):
                seq = self.attempt(samples.name(i), lambda s=samples, k=i: s.sequence(k))
                if seq is not None:
                    yield seq


def dataset_kind(path: str | os.PathLike) -> str:
    """``"folder"`` (a :class:`SkeletonFolder` directory), ``"pyskl"`` (``.pkl``) or ``"ctrgcn"`` (``.npz``).

    Raises:
        FileNotFoundError: no such file or folder.
        ValueError: another kind of file.
    """
    p = Path(path)
    if p.is_dir():
        return "folder"
    if not p.exists():
        raise FileNotFoundError(f"no data file or folder {p}")
    suffix = p.suffix.lower()
    if suffix == ".pkl":
        return "pyskl"
    if suffix == ".npz":
        return "ctrgcn"
    raise ValueError(f"{p}: expected a SkeletonFolder directory (labels.csv and one array file per sequence), a "
                     "PYSKL annotation .pkl or a CTR-GCN .npz archive")


#: Dataset classes by :func:`dataset_kind`.
DATASET_KINDS: dict[str, type[SkeletonDataset]] = {"folder": SkeletonFolder, "pyskl": PYSKLDataset,
                                                   "ctrgcn": CTRGCNDataset}


def open_dataset(path: str | os.PathLike, layout: Layout | str, split: str = "all", *, key: str = "coords",
                 class_names: list[str] | None = None, **kwargs: Any) -> SkeletonDataset:
    """The ``split`` of the data at ``path`` (:func:`dataset_kind` picks the class): a
    :class:`~skelgraph.datasets.SkeletonFolder` (``key``: the coordinates' key in its ``.npz`` / JSON files; class
    names from its label file), a :class:`PYSKLDataset` or a :class:`CTRGCNDataset` (``class_names`` for their
    integer labels). ``kwargs`` go to the class (``transform``, ``cache_dir``, ...)."""
    kind = dataset_kind(path)
    if kind == "folder":
        if class_names is not None:
            raise ValueError("a SkeletonFolder takes its class names from its label file (or classes.txt)")
        return SkeletonFolder(path, layout, split=split, key=key, **kwargs)
    return DATASET_KINDS[kind](path, layout, split=split, class_names=class_names, **kwargs)


def dataset_spec(path: str | os.PathLike, train_split: str, test_split: str, key: str = "coords") -> dict[str, Any]:
    """What a run on user data stores as ``meta["dataset"]``: the kind, the absolute path, the split names and the
    coordinate key, so that :func:`skelgraph.training.registry.build_dataset` finds the data again."""
    spec: dict[str, Any] = {"name": dataset_kind(path), "path": str(Path(path).resolve()),
                            "train_split": train_split, "test_split": test_split}
    if key != "coords":
        spec["key"] = key
    return spec
