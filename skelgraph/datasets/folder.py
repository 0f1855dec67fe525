"""A dataset of users' own recordings: a folder of per-sequence arrays plus a label file."""

from __future__ import annotations

import os
import os.path as osp
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch import Tensor
from torch_geometric.data import Data

from skelgraph.data import META_FIELDS, SkeletonSequence
from skelgraph.datasets.base import RawDataMissingError, SkeletonDataset, spec_split
from skelgraph.io._files import read_text
from skelgraph.io.errors import SkeletonFormatError
from skelgraph.io.folder import ARRAY_SUFFIXES, read_label_file, read_sequence
from skelgraph.skeleton import Layout, get_layout


class SkeletonFolder(SkeletonDataset):
    """Your own skeleton sequences as a PyG dataset.

    Layout on disk (``root`` is required)::

        root/
          labels.csv          name,label[,split][,subject][,camera][,setup][,repetition][,fold]
          classes.txt         optional: one class name per line, in label order
          walk_01.npy         one file per sequence: .npy, .npz, .csv or .json (see skelgraph.io.folder), 2-D or
          ...                 3-D as the layout says, optionally with confidence scores
          ...

    ``label`` is a class index or a class name. Class names come from ``classes.txt`` when present, else from
    the sorted distinct names (string labels) or ``"0" .. "K-1"`` (integer labels). ``split="all"`` keeps every
    row; with a ``split`` column, ``split="train"`` keeps the rows marked ``train``, and any other value of the
    column works the same way; a split name the column does not hold (or any name but ``"all"`` without the
    column) is an error naming the known ones. Names must stay inside ``root`` (no absolute paths, no ``..``).
    Rows whose file is missing are skipped and reported.

    Args:
        root: The folder.
        layout: The :class:`~skelgraph.skeleton.Layout` (or a registered layout name) of the recordings.
        split: Value of the ``split`` column to keep, or ``"all"``.
        labels: Name of the label file inside ``root``.
        key: Key of the coordinates in ``.npz`` archives and JSON objects (``"skeletons"`` for NW-UCLA's files).
    """

    folder = "custom"

    def __init__(
        self,
        root: str | os.PathLike,
        layout: Layout | str,
        split: str = "all",
        transform: Callable[[Data], Data] | None = None,
        pre_transform: Callable[[Data], Data] | None = None,
        pre_filter: Callable[[Data], bool] | None = None,
        labels: str = "labels.csv",
        force_reload: bool = False,
        log: bool = True,
        cache_dir: str | os.PathLike | None = None,
        key: str = "coords",
    ) -> None:
        self.layout = get_layout(layout)  # type: ignore[misc]
        self.labels_file = labels
        self.key = key
        self.rows = read_label_file(osp.join(str(root), labels))
        self.class_names = self._class_names(str(root))
        known = (*sorted({str(r["split"]) for r in self.rows if "split" in r}), "all")
        if split not in known:
            raise ValueError(f"SkeletonFolder: unknown split {split!r}; the split column of "
                             f"{osp.join(str(root), labels)} knows {known}")
        self.splits = (split,)
        super().__init__(root, split, transform, pre_transform, pre_filter, force_reload, log, cache_dir)

    @classmethod
    def from_spec(cls, spec: dict[str, Any], root: str | None, split: str, layout: Layout | str,
                  **kwargs: Any) -> SkeletonFolder:
        """The dataset a run of ``python -m skelgraph.train`` trained on, from its ``meta["dataset"]``
        (:func:`~skelgraph.datasets.files.dataset_spec`): ``split`` ``"train"`` / ``"test"`` stand for the run's
        training and test splits; ``root`` replaces the stored folder."""
        return cls(root or spec["path"], layout, split=spec_split(spec, split), key=spec.get("key", "coords"),
                   **kwargs)

    def _class_names(self, root: str) -> tuple[str, ...]:
        path = osp.join(root, "classes.txt")
        if osp.exists(path):
            return tuple(line.strip() for line in read_text(path).splitlines() if line.strip())
        values = [str(r["label"]) for r in self.rows]
        if all(v.lstrip("-").isdigit() for v in values):
            return tuple(str(i) for i in range(max(int(v) for v in values) + 1))
        return tuple(sorted(set(values)))

    def _label(self, row: dict[str, Any], number: int) -> int:
        value = str(row["label"])
        if value in self.class_names:
            return self.class_names.index(value)
        if value.isdigit() and int(value) < len(self.class_names):
            return int(value)
        raise SkeletonFormatError(osp.join(self.root, self.labels_file), number,
                                  f"a class index below {len(self.class_names)} or one of {self.class_names}",
                                  repr(value))

    @property
    def raw_dir(self) -> str:
        return self.root

    @property
    def raw_file_names(self) -> list[str]:
        return [self.labels_file]

    def download(self) -> None:
        raise RawDataMissingError(f"no {self.labels_file} in {self.root}; see SkeletonFolder's docstring")

    def params(self) -> dict[str, Any]:
        return dict(layout=self.layout.to_dict(), rows=self.rows, classes=self.class_names, key=self.key)

    def fingerprint_paths(self) -> list[str]:
        found = (self._find(str(r["name"])) for r in self.rows)
        return [osp.join(self.root, self.labels_file), *(p for p in found if p is not None)]

    def _find(self, name: str) -> str | None:
        return self.find_file(self.root, name)

    @staticmethod
    def rows_of(root: str | os.PathLike, labels: str = "labels.csv") -> list[dict[str, str | int]]:
        """The rows of a folder's label file (:func:`~skelgraph.io.read_label_file`)."""
        return read_label_file(osp.join(str(root), labels))

    @staticmethod
    def find_file(root: str | os.PathLike, name: str) -> str | None:
        """The array file of the label file's ``name`` in ``root`` (with its suffix, or the first of
        :data:`~skelgraph.io.ARRAY_SUFFIXES` that exists); None when there is none."""
        root = str(root)
        path = osp.join(root, name)
        if osp.commonpath([osp.abspath(root), osp.abspath(path)]) != osp.abspath(root):
            return None  # read_label_file refuses such names; never look outside the folder
        if osp.splitext(name)[1].lower() in ARRAY_SUFFIXES and osp.isfile(path):
            return path
        for suffix in ARRAY_SUFFIXES:
            if osp.isfile(path + suffix):
                return path + suffix
        return None

    def read_samples(self) -> Iterator[SkeletonSequence]:
        for number, row in enumerate(self.rows, start=2):
            name = str(row["name"])
            path = self._find(name)
            if path is None:
                self.skip(name, f"no file {name} with a suffix in {ARRAY_SUFFIXES} in {self.root}")
                continue
            meta = {k: row[k] for k in META_FIELDS if k in row}
            seq = read_sequence(path, self.layout, self._label(row, number), key=self.key, **meta)
            seq.meta["name"] = name
            yield seq

    def select(self) -> Tensor:
        names = list(self._data.name)
        if self.split == "all" or not any("split" in r for r in self.rows):
            return torch.arange(len(names))
        wanted = {str(r["name"]) for r in self.rows if r.get("split") == self.split}
        return torch.tensor([i for i, n in enumerate(names) if n in wanted], dtype=torch.long)
