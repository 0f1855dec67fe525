"""Common machinery of the skeleton datasets.

Every dataset parses all of its raw files once into a single processed file holding every sample (with its
subject, camera, setup, ... as graph attributes), and a protocol then selects the samples of the requested
split and fold. Switching split, fold or benchmark therefore never re-parses.

Where data lives: ``root`` argument, else ``$SKELGRAPH_DATA/<folder>``, else a checkout's ``datasets/<folder>``,
else the user data folder (:mod:`~skelgraph.datasets.roots`); raw files in ``<root>/raw``. The processed cache
lives in ``<cache>/<class>-<key>``, where ``<cache>`` is the ``cache_dir`` argument, else
``$SKELGRAPH_CACHE/<folder>``, else ``<root>/processed`` (so a read-only data folder works with either of the
first two), and ``key`` hashes the pre-processing parameters, the ``pre_transform`` / ``pre_filter`` and the raw
files' names and contents (SHA-256): changing any of them builds a fresh cache instead of silently reusing a
stale one (:func:`fingerprint`). Old caches can be deleted at will.

Caches are safe under concurrency (several processes, ``torchrun`` ranks): the first process to need a cache
builds it in a temporary folder under a file lock and renames it into place, the others wait for the lock and
load the finished cache; a cache is never seen half-written. Caches are loaded with ``weights_only=True``.
Every cache stores the SHA-256 of its payload (``data.pt``) in its report (``skipped.json``) and is checked
against it on every load: a damaged cache (bytes overwritten, truncated, a report that does not match) is
rebuilt with a warning, never served; one that cannot be rebuilt is refused with :class:`CacheError`.

Samples that cannot be used (on an official missing-skeleton list, all-zero, an empty clip) are skipped,
counted, warned about at processing time and listed in ``dataset.skipped``; malformed files raise
:class:`~skelgraph.io.SkeletonFormatError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import shutil
import stat
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch_geometric.data import Data, InMemoryDataset
from torch_geometric.transforms import BaseTransform

from skelgraph.data import FRAME_KEYS, SkeletonSequence, to_data
from skelgraph.datasets.roots import DATA_ENV, REPO_DATA, default_root  # noqa: F401  (re-exported)
from skelgraph.io._files import kind_of, open_regular
from skelgraph.io.errors import EmptySequenceError, MissingSkeletonError
from skelgraph.io.safe_pickle import scan_torch_archive, torch_refusal
from skelgraph.skeleton import Layout

#: Environment variable naming a folder for the processed caches (one sub-folder per dataset).
CACHE_ENV = "SKELGRAPH_CACHE"
#: Bumped when the processed format changes, so old caches are not reused (3: confidence scores, 2-D layouts;
#: 4: the payload's checksum in the report).
CACHE_VERSION = 4
#: Per-file content digests remembered between runs, in the cache folder (see :func:`fingerprint`).
DIGEST_MEMO = "raw-digests.json"

try:
    import fcntl
except ImportError:  # Windows: no lock; the atomic rename alone still keeps readers from half-written caches
    fcntl = None  # type: ignore[assignment]


class RawDataMissingError(FileNotFoundError):
    """The raw files of a dataset are not where the dataset looks; the message says how to get them."""


class CacheError(ValueError):
    """A processed cache is damaged and could not be rebuilt; the message (one line) names it."""


def _stat_key(st: os.stat_result) -> str:
    # Any write to a file updates its ctime (which, unlike the mtime, cannot be set back by hand), so a file
    # whose key is unchanged has unchanged contents.
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def _sha256(path: str) -> str:
    """The SHA-256 of a raw file (see :func:`fingerprint`)."""
    return _digest(path)


def _checksum(path: str) -> str:
    """The SHA-256 of a cache's payload (stored in its report, checked on every load)."""
    return _digest(path)


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open_regular(path) as f:
        left = os.fstat(f.fileno()).st_size
        while left > 0 and (chunk := f.read(min(1 << 20, left))):
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def fingerprint(paths: Iterable[str | os.PathLike], memo_file: str | os.PathLike | None = None) -> str:
    """Hash of the names and contents (SHA-256) of ``paths`` (files, or every file under a folder).

    Folders are walked through symbolic links, each real folder once (a link back to a folder above is not
    followed again, so a cycle ends); what is not a regular file (FIFO, device, socket) enters the hash by its
    name and kind, unread.

    With ``memo_file``, each file's digest is remembered there together with its device, inode, size,
    modification and status-change times, and a file is read again only when one of them changed; every write to
    a file changes its status-change time, so an edit is always seen. Hashing runs at about 250 MB/s on the
    development machine (the bundled 30 MB: 0.12 s; with the memo 0.06 s). The memo is written atomically and
    ignored when unreadable.
    """
    memo: dict[str, list[str]] = {}
    if memo_file is not None and osp.exists(memo_file):
        try:
            with open(memo_file) as f:
                memo = json.load(f)
        except (OSError, ValueError):
            memo = {}
    files: list[tuple[str, str]] = []  # (name in the hash, path)
    for p in sorted(str(p) for p in paths):
        if osp.isdir(p):
            seen: set[tuple[int, int]] = set()
            for dirpath, dirnames, filenames in os.walk(p, followlinks=True):
                st = os.stat(dirpath)
                if (st.st_dev, st.st_ino) in seen:  # reached again through a link: a cycle, or a second name
                    dirnames[:] = []
                    continue
                seen.add((st.st_dev, st.st_ino))
                dirnames.sort()
                files += [(osp.relpath(osp.join(dirpath, n), p), osp.join(dirpath, n)) for n in sorted(filenames)]
        elif osp.exists(p):
            files.append((osp.basename(p), p))
    h = hashlib.sha256()
    changed = False
    for name, path in files:
        try:
            st = os.stat(path)
        except OSError:  # a dangling link: its name is all there is
            h.update(f"{name}:missing\n".encode())
            continue
        if not stat.S_ISREG(st.st_mode):
            h.update(f"{name}:{kind_of(st.st_mode)}\n".encode())
            continue
        real, key = osp.realpath(path), _stat_key(st)
        entry = memo.get(real)
        if entry is None or entry[0] != key:
            entry = memo[real] = [key, _sha256(path)]
            changed = True
        h.update(f"{name}:{entry[1]}\n".encode())
    if memo_file is not None and changed:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{osp.basename(memo_file)}.", suffix=".tmp",
                                       dir=osp.dirname(memo_file) or ".")
            with os.fdopen(fd, "w") as f:
                json.dump(memo, f)
            os.replace(tmp, memo_file)
        except OSError:  # a read-only cache folder: digests are simply recomputed next time
            pass
    return h.hexdigest()


@contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing), held while the block runs; blocks until free."""
    if fcntl is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


class SkeletonDataset(InMemoryDataset):
    """Base of the skeleton datasets (see the module docstring).

    Subclasses set :attr:`folder`, :attr:`layout` and :attr:`class_names`, and implement
    :meth:`raw_file_names`, :meth:`download` (raise :class:`RawDataMissingError` with instructions),
    :meth:`read_samples` (yield sequences; raise :class:`~skelgraph.io.EmptySequenceError` /
    :class:`~skelgraph.io.MissingSkeletonError` through :meth:`attempt` to skip), :meth:`params` (every
    pre-processing parameter) and :meth:`select` (the sample indices of the requested split). Every dataset
    takes ``cache_dir=``: the folder for its processed cache (see the module docstring).

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
        cache_dir: str | os.PathLike | None = None,
    ) -> None:
        if split not in self.splits:
            raise ValueError(f"{type(self).__name__}: unknown split {split!r}; expected one of {self.splits}")
        self.split = split
        self._skipped: list[tuple[str, str]] = []
        self._key: str | None = None
        self._building: str | None = None
        self._cache_dir = str(cache_dir) if cache_dir is not None else None
        root = str(root) if root is not None else default_root(self.folder)
        self._repair: str | None = None  # while a damaged cache is rebuilt: the checksum of a bad payload, or ""
        super().__init__(root, transform, pre_transform, pre_filter, force_reload=force_reload, log=log)
        report = self._load_verified()
        self.skipped: list[tuple[str, str]] = [tuple(s) for s in report["skipped"]]
        self._time_keys: list[str] = report["time_keys"]
        self._indices = self.select().tolist()

    # -- where things are -------------------------------------------------------------------------------------
    @property
    def raw_dir(self) -> str:
        return osp.join(self.root, "raw")

    @property
    def cache_root(self) -> str:
        """The folder holding this dataset's caches: ``cache_dir``, ``$SKELGRAPH_CACHE/<folder>`` or
        ``<root>/processed``."""
        if self._cache_dir is not None:
            return self._cache_dir
        env = os.environ.get(CACHE_ENV)
        return osp.join(env, self.folder) if env else osp.join(self.root, "processed")

    @property
    def processed_dir(self) -> str:
        if self._building is not None:  # process() writes into the temporary folder renamed into place later
            return self._building
        if self._key is None:
            try:
                os.makedirs(self.cache_root, exist_ok=True)
                memo: str | None = osp.join(self.cache_root, DIGEST_MEMO)
            except OSError:
                memo = None
            payload = dict(
                version=CACHE_VERSION,
                cls=type(self).__name__,
                params=self.params(),
                pre_transform=repr(self.pre_transform),
                pre_filter=repr(self.pre_filter),
                raw=fingerprint(self.fingerprint_paths(), memo),
            )
            self._key = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]
        return osp.join(self.cache_root, f"{type(self).__name__.lower()}-{self._key}")

    @property
    def processed_file_names(self) -> list[str]:
        return ["data.pt", "skipped.json"]

    # -- subclass hooks ---------------------------------------------------------------------------------------
    @classmethod
    def protocol_arguments(cls, spec: dict[str, Any]) -> dict[str, Any]:
        """Constructor arguments from a recipe's ``meta["dataset"]`` (``{"name": "sbu", "fold": 0, ...}``): every
        stored protocol argument (fold, subset, benchmark, protocol, units)."""
        return {k: v for k, v in spec.items() if k not in ("name", "full")}

    @classmethod
    def coordinate_units_per_cm(cls, spec: dict[str, Any]) -> tuple[float, float, float] | None:
        """One centimetre in the coordinates of the dataset a recipe's ``meta["dataset"]`` describes, per axis
        (:attr:`units_per_cm` unless the units depend on the protocol arguments)."""
        return cls.units_per_cm

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

    def _cache_complete(self) -> bool:
        return all(osp.exists(p) for p in self.processed_paths)

    def _cache_problem(self) -> tuple[str | None, dict[str, Any]]:
        """``(None, report)`` when the cache's payload matches the checksum in its report, else
        ``(what is wrong, {})``."""
        data, report_path = self.processed_paths[0], self.processed_paths[1]
        try:
            with open_regular(report_path) as f:
                report = json.loads(f.read(os.fstat(f.fileno()).st_size))
        except (OSError, ValueError) as err:
            return f"its report {report_path} is unreadable ({' '.join(str(err).split())[:120]})", {}
        expected = report.get("sha256") if isinstance(report, dict) else None
        if not isinstance(expected, str) or not isinstance(report.get("skipped"), list) \
                or not isinstance(report.get("time_keys"), list):
            return f"its report {report_path} holds no checksum, skips or time keys", {}
        try:
            if _checksum(data) != expected:
                return f"{data} does not match the checksum in its report", {}
        except (OSError, ValueError) as err:
            return f"{data} is unreadable ({' '.join(str(err).split())[:120]})", {}
        return None, report

    def _good_now(self) -> bool:
        """Whether the cache needs no work: always outside a repair, else when another process repaired it."""
        if self._repair is None:
            return True
        problem, report = self._cache_problem()
        return problem is None and report["sha256"] != self._repair

    def _load_verified(self) -> dict[str, Any]:
        """Load the cache after checking its payload against its checksum; a damaged cache is rebuilt once (with
        a warning), and refused with :class:`CacheError` when that does not help. Returns its report."""
        problem, report = self._cache_problem()
        bad = ""  # the checksum of a payload that matched it but did not load: rebuilt as well
        if problem is None:
            try:
                self.load(self.processed_paths[0])
                return report
            except CacheError as err:
                problem, bad = str(err), report["sha256"]
        warnings.warn(f"{type(self).__name__}: the processed cache {self.processed_dir} is damaged ({problem}); "
                      "rebuilding it", stacklevel=3)
        self._repair = bad
        try:
            self._process()
        finally:
            self._repair = None
        problem, report = self._cache_problem()
        if problem is not None:
            raise CacheError(f"{type(self).__name__}: the processed cache {self.processed_dir} is damaged and could "
                             f"not be rebuilt ({problem}); delete it")
        self.load(self.processed_paths[0])
        return report

    def _process(self) -> None:
        """Build the cache unless it exists: under a file lock, into a temporary folder renamed into place."""
        final = self.processed_dir
        if not self.force_reload and self._repair is None and self._cache_complete():
            return
        try:
            os.makedirs(self.cache_root, exist_ok=True)
            with _file_lock(final + ".lock"):
                if not self.force_reload and self._cache_complete() and self._good_now():
                    return  # another process built (or repaired) it while this one waited
                self._building = tempfile.mkdtemp(prefix=f".{osp.basename(final)}.", suffix=".tmp",
                                                  dir=self.cache_root)
                try:
                    if self.log and "PYTEST_CURRENT_TEST" not in os.environ:
                        print(f"Processing {type(self).__name__} into {final} ...", file=sys.stderr)
                    self.process()
                    built, self._building = self._building, None
                    if osp.exists(final):  # force_reload: replace the old cache
                        shutil.rmtree(final)
                    os.rename(built, final)
                finally:
                    if self._building is not None:
                        shutil.rmtree(self._building, ignore_errors=True)
                    self._building = None
        except PermissionError as err:
            raise PermissionError(
                f"{type(self).__name__}: cannot write the processed cache in {self.cache_root} ({err.strerror}); "
                f"pass cache_dir= or set ${CACHE_ENV} to a writable folder") from None

    def load(self, path: str, data_cls: type = Data) -> None:
        """Load the processed cache with ``weights_only=True`` (PyG's loader falls back to unrestricted
        unpickling, which a tampered shared cache could exploit)."""
        try:
            scan_torch_archive(path)  # before torch's unpickler, which hashes keys recursively and trusts sizes
            data, self.slices, data_cls = torch.load(path, weights_only=True)
        except Exception as err:
            first = torch_refusal(err)
            raise CacheError(f"{type(self).__name__}: the processed cache {path} is unreadable ({first}); delete "
                             f"{osp.dirname(path)} or pass force_reload=True") from None
        self.data = data_cls.from_dict(data) if isinstance(data, dict) else data

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
                x = getattr(data, "x", None)
                if isinstance(x, Tensor) and x.is_floating_point() and not bool(torch.isfinite(x).all()):
                    # Readers give finite float32; arithmetic on values near its limit can still overflow.
                    raise ValueError(f"{type(self).__name__}: the pre_transform made non-finite values from "
                                     f"{seq.meta.get('source', seq.meta.get('name', 'a sample'))}")
            # Sequences differ in length and PyG concatenates node features along the node axis only, so
            # [N, T, ...] features are stored as [N * T, ...] and unfolded again in get().
            for key, value in data.items():
                timed = value.dim() >= 3 or key in FRAME_KEYS if isinstance(value, Tensor) else False
                if timed and value.size(0) == data.num_nodes:
                    data[key] = value.reshape(-1, *value.shape[2:])
                    time_keys.add(key)
            data_list.append(data)
        if not data_list:
            raise RuntimeError(f"{type(self).__name__}: no usable sample in {self.raw_dir} "
                               f"({len(self._skipped)} skipped)")
        self.save(data_list, self.processed_paths[0])
        with open(self.processed_paths[1], "w") as f:
            json.dump(dict(skipped=self._skipped, time_keys=sorted(time_keys),
                           sha256=_checksum(self.processed_paths[0])), f, indent=0)
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


def spec_split(spec: dict[str, Any], split: str) -> str:
    """The split name a ``meta["dataset"]`` of a user-data run stores for ``"train"`` / ``"test"`` (its
    ``train_split`` / ``test_split``); any other name as given."""
    return spec.get(f"{split}_split") or split if split in ("train", "test") else split


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
