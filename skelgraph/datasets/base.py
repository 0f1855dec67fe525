"""Common machinery of the skeleton datasets.

Every dataset parses all of its raw files once into a single processed file holding every sample (with its
subject, camera, setup, ... as graph attributes), and a protocol then selects the samples of the requested
split and fold. Switching split, fold or benchmark therefore never re-parses.

Where data lives: ``root`` argument, else ``$SKELGRAPH_DATA/<folder>``, else the repository's
``datasets/<folder>``; raw files in ``<root>/raw``. The processed cache lives in
``<root>/processed/<class>-<key>``, where ``key`` hashes the pre-processing parameters, the ``pre_transform`` /
``pre_filter`` and a fingerprint (names, sizes, modification times) of the raw files: changing any of them
builds a fresh cache instead of silently reusing a stale one. Old caches can be deleted at will.

Samples that cannot be used (on an official missing-skeleton list, all-zero, an empty clip) are skipped,
counted, warned about at processing time and listed in ``dataset.skipped``; malformed files raise
:class:`~skelgraph.io.SkeletonFormatError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.transforms import BaseTransform

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.io.errors import EmptySequenceError, MissingSkeletonError
from skelgraph.skeleton import Layout

#: Environment variable naming the folder that holds one sub-folder per dataset.
DATA_ENV = "SKELGRAPH_DATA"
#: The repository's ``datasets/`` folder (the default data root).
REPO_DATA = Path(__file__).resolve().parents[2] / "datasets"
#: Bumped when the processed format changes, so old caches are not reused.
CACHE_VERSION = 1


class RawDataMissingError(FileNotFoundError):
    """The raw files of a dataset are not where the dataset looks; the message says how to get them."""


def default_root(folder: str) -> str:
    """``$SKELGRAPH_DATA/<folder>`` when the variable is set, else the repository's ``datasets/<folder>``."""
    base = os.environ.get(DATA_ENV)
    return str(Path(base) / folder) if base else str(REPO_DATA / folder)


def fingerprint(paths: Iterable[str | os.PathLike]) -> str:
    """Hash of the names, sizes and modification times of ``paths`` (files, or every file under a folder)."""
    h = hashlib.sha256()
    for p in sorted(str(p) for p in paths):
        if osp.isdir(p):
            for dirpath, dirnames, filenames in os.walk(p, followlinks=True):
                dirnames.sort()
                for name in sorted(filenames):
                    st = os.stat(osp.join(dirpath, name))
                    h.update(f"{osp.relpath(osp.join(dirpath, name), p)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        elif osp.exists(p):
            st = os.stat(p)
            h.update(f"{osp.basename(p)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class SkeletonDataset(InMemoryDataset):
    """Base of the skeleton datasets (see the module docstring).

    Subclasses set :attr:`folder`, :attr:`layout` and :attr:`class_names`, and implement
    :meth:`raw_file_names`, :meth:`download` (raise :class:`RawDataMissingError` with instructions),
    :meth:`read_samples` (yield sequences; raise :class:`~skelgraph.io.EmptySequenceError` /
    :class:`~skelgraph.io.MissingSkeletonError` through :meth:`attempt` to skip), :meth:`params` (every
    pre-processing parameter) and :meth:`select` (the sample indices of the requested split).

    Attributes:
        skipped: ``[(name, reason), ...]`` of every raw sample that was skipped during processing.
        split: The requested split (``"train"``, ``"test"`` or ``"all"``).
        units_per_cm: How much one centimetre is in the raw coordinates, per axis ``(x, y, z)``, or None where
            the dataset does not document its unit (used by the noise study, :mod:`skelgraph.noise`).
    """

    folder: ClassVar[str]
    layout: ClassVar[Layout]
    class_names: tuple[str, ...]
    units_per_cm: ClassVar[tuple[float, float, float] | None] = None
    splits: ClassVar[tuple[str, ...]] = ("train", "test", "all")

    def __init__(
        self,
        root: str | os.PathLike | None = None,
        split: str = "train",
        transform: Callable[[Data], Data] | BaseTransform | None = None,
        pre_transform: Callable[[Data], Data] | BaseTransform | None = None,
        pre_filter: Callable[[Data], bool] | None = None,
        force_reload: bool = False,
        log: bool = True,
    ) -> None:
        if split not in self.splits:
            raise ValueError(f"{type(self).__name__}: unknown split {split!r}; expected one of {self.splits}")
        self.split = split
        self._skipped: list[tuple[str, str]] = []
        self._key: str | None = None
        root = str(root) if root is not None else default_root(self.folder)
        super().__init__(root, transform, pre_transform, pre_filter, force_reload=force_reload, log=log)
        self.load(self.processed_paths[0])
        with open(self.processed_paths[1]) as f:
            report = json.load(f)
        self.skipped: list[tuple[str, str]] = [tuple(s) for s in report["skipped"]]
        self._time_keys: list[str] = report["time_keys"]
        self._indices = self.select().tolist()

    # -- where things are -------------------------------------------------------------------------------------
    @property
    def raw_dir(self) -> str:
        return osp.join(self.root, "raw")

    @property
    def processed_dir(self) -> str:
        if self._key is None:
            payload = dict(
                version=CACHE_VERSION,
                cls=type(self).__name__,
                params=self.params(),
                pre_transform=repr(self.pre_transform),
                pre_filter=repr(self.pre_filter),
                raw=fingerprint(self.fingerprint_paths()),
            )
            self._key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return osp.join(self.root, "processed", f"{type(self).__name__.lower()}-{self._key}")

    @property
    def processed_file_names(self) -> list[str]:
        return ["data.pt", "skipped.json"]

    # -- subclass hooks ---------------------------------------------------------------------------------------
    def fingerprint_paths(self) -> list[str]:
        """Files and folders whose change must rebuild the cache (default: the raw paths)."""
        return self.raw_paths

    def params(self) -> dict[str, Any]:
        """Every parameter that changes the processed data (part of the cache key)."""
        return {}

    def read_samples(self) -> Iterator[SkeletonSequence]:
        """Yield every usable sample of the raw data (skips go through :meth:`attempt`)."""
        raise NotImplementedError

    def select(self) -> Tensor:
        """Indices (into the processed samples) of the requested split."""
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------------------------------
    def attempt(self, name: str, read: Callable[[], Any]) -> Any:
        """``read()``, or ``None`` after recording a skip when it raises a documented skip error."""
        try:
            return read()
        except (EmptySequenceError, MissingSkeletonError) as e:
            self._skipped.append((name, str(e)))
            return None

    def skip(self, name: str, reason: str) -> None:
        """Record a skipped sample."""
        self._skipped.append((name, reason))

    def meta(self, key: str) -> Tensor:
        """A per-sample integer attribute (``subject``, ``camera``, ``y``, ...) of *all* processed samples."""
        return self._data[key]

    @property
    def names(self) -> list[str]:
        """Sample names of the selected split, in dataset order."""
        names = self._data.name
        return [names[i] for i in self.indices()]

    def process(self) -> None:
        self._skipped = []
        data_list = []
        time_keys: set[str] = set()
        for seq in self.read_samples():
            data = to_data(seq)
            if self.pre_filter is not None and not self.pre_filter(data):
                continue
            if self.pre_transform is not None:
                data = self.pre_transform(data)
            # Sequences differ in length and PyG concatenates node features along the node axis only, so
            # [N, T, ...] features are stored as [N * T, ...] and unfolded again in get().
            for key, value in data.items():
                if isinstance(value, Tensor) and value.dim() >= 3 and value.size(0) == data.num_nodes:
                    data[key] = value.reshape(-1, *value.shape[2:])
                    time_keys.add(key)
            data_list.append(data)
        if not data_list:
            raise RuntimeError(f"{type(self).__name__}: no usable sample in {self.raw_dir} "
                               f"({len(self._skipped)} skipped)")
        self.save(data_list, self.processed_paths[0])
        with open(self.processed_paths[1], "w") as f:
            json.dump(dict(skipped=self._skipped, time_keys=sorted(time_keys)), f, indent=0)
        if self._skipped:
            shown = "; ".join(n for n, _ in self._skipped[:5]) + (" ..." if len(self._skipped) > 5 else "")
            warnings.warn(f"{type(self).__name__}: skipped {len(self._skipped)} raw samples ({shown}); "
                          "see dataset.skipped for the reasons", stacklevel=2)

    def get(self, idx: int) -> Data:
        data = super().get(idx)
        for key in self._time_keys:
            data[key] = data[key].view(data.num_nodes, -1, *data[key].shape[1:])
        return data

    def __repr__(self) -> str:
        skipped = f", skipped={len(self.skipped)}" if self.skipped else ""
        return f"{type(self).__name__}({len(self)}, split={self.split!r}{skipped})"


def in_set(values: Tensor, allowed: Iterable[int]) -> Tensor:
    """Boolean mask of ``values`` that are in ``allowed``."""
    return torch.isin(values, torch.tensor(sorted(allowed), dtype=values.dtype))


def split_mask(train: Tensor, split: str) -> Tensor:
    """Indices for ``split`` given the boolean training mask of all samples."""
    if split == "train":
        return train.nonzero().view(-1)
    if split == "test":
        return (~train).nonzero().view(-1)
    return torch.arange(train.numel())
