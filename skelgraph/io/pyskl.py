"""PYSKL / MMAction2 skeleton annotations (``.pkl``), read without running pickled code.

The file is a pickled ``dict`` with ``split`` (split name -> list of ``frame_dir``) and ``annotations``, a list of
one ``dict`` per sample: ``frame_dir`` (its name), ``label`` (class index), ``keypoint`` ``[M, T, V, C]`` (float
coordinates: 2-D pixels of a pose estimator, or 3-D positions as in ``ntu60_3danno.pkl``), optionally
``keypoint_score`` ``[M, T, V]`` and ``total_frames``, ``img_shape``, ``original_shape`` (ignored). A bare list of
annotations (no ``split``) is read too.

Pickle is a program: ``pickle.load`` on a file from the internet runs whatever that file asks for. This reader
uses :class:`SafeUnpickler`, which resolves no class or function of any module: the only globals a pickle may
name are numpy's array, dtype and scalar reconstructors, ``collections.OrderedDict``, ``set`` / ``frozenset``
and the byte constructors of protocols 0-2, each replaced by a stand-in written here that builds plain values
and plain numeric ``numpy`` arrays from raw bytes (never object arrays). Everything else (``os.system``,
``builtins.eval``, any class) is refused with a :class:`~skelgraph.io.SkeletonFormatError` naming the file and
the refused name.

The pickle is read by :class:`~skelgraph.io.safe_pickle.BoundedUnpickler`, not Python's unpickler: declared
sizes are checked against the file before anything is allocated, shared references count their whole size at
every use, and containers deeper than :attr:`~skelgraph.io.safe_pickle.PickleLimits.depth` are refused before
they are built (so nothing deep is ever hashed), all while the file is read: any file is refused or read in time
and memory bounded by :class:`~skelgraph.io.safe_pickle.PickleLimits` (adjustable per call).
"""

from __future__ import annotations

import gc
import math
import os
import pickle
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skelgraph.data import SkeletonSequence
from skelgraph.io._files import read_regular
from skelgraph.io.errors import EmptySequenceError, SkeletonFormatError
from skelgraph.io.folder import check_scores, finite_float32
from skelgraph.io.safe_pickle import DEFAULT_LIMITS, BoundedUnpickler, PickleLimits, PickleRefused, RefusedGlobal
from skelgraph.skeleton import Layout

#: numpy dtype kinds a pickled array may have: booleans, integers, floats.
_NUMERIC_KINDS = "biuf"
#: Deepest container nesting accepted (PYSKL files nest four levels); see :class:`PickleLimits`.
MAX_DEPTH = DEFAULT_LIMITS.depth


def _numeric_dtype(descr: Any) -> np.dtype:
    """A numeric dtype from a pickled descriptor string such as ``"f4"`` or ``"<i8"``; anything else refused."""
    if not isinstance(descr, str) or len(descr) > 8:
        raise pickle.UnpicklingError(f"dtype descriptor {descr!r:.40}")
    try:
        dtype = np.dtype(descr)
    except (TypeError, ValueError, SyntaxError):
        raise pickle.UnpicklingError(f"dtype {descr!r}") from None
    if dtype.kind not in _NUMERIC_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise pickle.UnpicklingError(f"non-numeric dtype {descr!r} (only numeric arrays are read)")
    return dtype


class _Dtype:
    """Stand-in for ``numpy.dtype(descr, align, copy)``; ``__setstate__`` takes the byte order."""

    def __init__(self, descr: Any, align: Any = False, copy: Any = False) -> None:
        self.dtype = _numeric_dtype(descr)

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) >= 2 and state[1] in ("<", ">", "|", "="):
            self.dtype = self.dtype.newbyteorder(state[1]) if state[1] != "|" else self.dtype


def _as_dtype(value: Any) -> np.dtype:
    if isinstance(value, _Dtype):
        return value.dtype
    raise pickle.UnpicklingError(f"an array's dtype is a {type(value).__name__}")


def _array_from_bytes(raw: Any, dtype: np.dtype, shape: Any, fortran: bool) -> np.ndarray:
    """A fresh array of ``shape`` from ``raw`` bytes that must hold exactly its data."""
    if not isinstance(shape, tuple) or not all(isinstance(s, int) and 0 <= s < 2**40 for s in shape) \
            or len(shape) > 8:
        raise pickle.UnpicklingError(f"array shape {shape!r:.60}")
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise pickle.UnpicklingError(f"array data of type {type(raw).__name__} (only raw bytes are read)")
    if len(raw) != math.prod(shape) * dtype.itemsize:
        raise pickle.UnpicklingError(f"array data of {len(raw)} bytes for shape {shape} of {dtype}")
    # A view of the pickle's bytes (read-only for bytes): no second copy of a large annotation file.
    return np.frombuffer(raw, dtype=dtype).reshape(shape, order="F" if fortran else "C")


class _Array:
    """Stand-in for ``numpy.core.multiarray._reconstruct(ndarray, (0,), b"b")``; ``__setstate__`` receives
    ``(version, shape, dtype, is_fortran, raw bytes)`` and builds the array."""

    def __init__(self, cls: Any = None, shape: Any = None, typecode: Any = None) -> None:
        if cls is not _NDARRAY:
            raise pickle.UnpicklingError("an array reconstructor for a class other than numpy.ndarray")
        self.array: np.ndarray | None = None

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise pickle.UnpicklingError("array state")
        shape, dtype, fortran, raw = state[-4:]
        self.array = _array_from_bytes(raw, _as_dtype(dtype), shape, bool(fortran))


def _from_buffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Stand-in for numpy's protocol-5 ``_frombuffer(buffer, dtype, shape, order)``."""
    return _array_from_bytes(buffer, _as_dtype(dtype), tuple(shape) if isinstance(shape, list) else shape,
                             order == "F")


def _scalar(dtype: Any, raw: Any = None) -> Any:
    """Stand-in for ``numpy.core.multiarray.scalar(dtype, bytes)``: a Python int, float or bool."""
    dt = _as_dtype(dtype)
    if not isinstance(raw, (bytes, bytearray, memoryview)) or len(raw) != dt.itemsize:
        raise pickle.UnpicklingError("scalar data")
    return np.frombuffer(bytes(raw), dtype=dt)[0].item()


def _codecs_encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """Stand-in for ``_codecs.encode``, which protocol 2 uses to store bytes (as latin-1 text)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError("_codecs.encode other than latin-1 text")
    return text.encode("latin-1")


def _set(items: Any = ()) -> set:
    """Stand-in for ``builtins.set`` (protocols 0-3 store sets as ``set(list)``)."""
    if not isinstance(items, list):
        raise pickle.UnpicklingError("set() of something other than a list")
    return set(items)


def _frozenset(items: Any = ()) -> frozenset:
    """Stand-in for ``builtins.frozenset``."""
    return frozenset(_set(items))


def _bytes(*args: Any) -> bytes:
    """Stand-in for ``builtins.bytes``, which protocols 0-2 call without arguments for ``b""``."""
    if args:
        raise pickle.UnpicklingError("bytes() with arguments")
    return b""


class _NDArrayMarker:
    """What the name ``numpy.ndarray`` resolves to: only usable as the first argument of :class:`_Array`."""


_NDARRAY = _NDArrayMarker()

#: The only globals a pickle may name, each mapped to a stand-in of this module (numpy 1 and 2 module names).
SAFE_GLOBALS: dict[tuple[str, str], Any] = {
    **{(m, "_reconstruct"): _Array for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "scalar"): _scalar for m in ("numpy.core.multiarray", "numpy._core.multiarray")},
    **{(m, "_frombuffer"): _from_buffer for m in ("numpy.core.numeric", "numpy._core.numeric")},
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _Dtype,
    ("_codecs", "encode"): _codecs_encode,
    ("collections", "OrderedDict"): dict,
    **{(m, "set"): _set for m in ("builtins", "__builtin__")},
    **{(m, "frozenset"): _frozenset for m in ("builtins", "__builtin__")},
    **{(m, "bytes"): _bytes for m in ("builtins", "__builtin__")},
}


def _find_class(module: str, name: str) -> Any:
    try:
        return SAFE_GLOBALS[(module, name)]
    except KeyError:
        raise RefusedGlobal(f"{module}.{name}") from None


class SafeUnpickler(BoundedUnpickler):
    """A bounded unpickler (:class:`~skelgraph.io.safe_pickle.BoundedUnpickler`) that builds only plain
    containers (dict, list, tuple, set), str, bytes, int, float, bool, None and numeric numpy arrays; see the
    module docstring. Globals resolve through :data:`SAFE_GLOBALS` only, never by importing."""

    def __init__(self, data: bytes | memoryview, limits: PickleLimits = DEFAULT_LIMITS) -> None:
        super().__init__(data, _find_class, limits)


def _plain(value: Any, depth: int = 0) -> Any:
    """``value`` with the array stand-ins replaced by their arrays; anything but plain data is refused. The load
    has bounded the depth and the total size of the copy (shared references counted at every use)."""
    if depth > MAX_DEPTH:
        raise PickleRefused(f"containers nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, _Array):
        if value.array is None:
            raise PickleRefused("an array without data")
        return value.array
    if value is None or isinstance(value, (bool, int, float, str, bytes, np.ndarray)):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):
        return {_plain(k, depth + 1): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_plain(v, depth + 1) for v in value)
    if isinstance(value, (set, frozenset)):
        return {_plain(v, depth + 1) for v in value}
    raise PickleRefused(f"a value of type {type(value).__name__}")


def safe_load(path: str | os.PathLike, limits: PickleLimits | None = None) -> Any:
    """Unpickle ``path`` with :class:`SafeUnpickler` (plain data and numeric arrays only) under ``limits``
    (default :data:`~skelgraph.io.safe_pickle.DEFAULT_LIMITS`). Only a regular file is read.

    Raises:
        SkeletonFormatError: not a regular file, not a pickle, damaged, beyond a limit, or naming anything but
            plain data and arrays.
    """
    path = Path(path)
    data = read_regular(path)
    enabled = gc.isenabled()
    gc.disable()  # millions of fresh containers, none in a cycle: the collector's passes would only cost time
    try:
        return _plain(SafeUnpickler(data, limits or DEFAULT_LIMITS).load())
    except RefusedGlobal as err:
        raise SkeletonFormatError(path, None, "a pickle of plain data and numeric arrays only (loading it would "
                                  "run code)", f"the global {err}") from None
    except (PickleRefused, pickle.UnpicklingError, ValueError, TypeError, OverflowError, MemoryError,
            RecursionError) as err:
        found = " ".join(str(err).split())[:160] or type(err).__name__
        raise SkeletonFormatError(path, None, "a readable pickle of plain data and numeric arrays within the "
                                  "reader's limits", found) from None
    finally:
        if enabled:
            gc.enable()


@dataclass
class PYSKLAnnotations:
    """What :func:`read_pyskl` returns: the split lists and the raw annotation records, each checked."""

    path: Path
    splits: dict[str, list[str]] = field(default_factory=dict)
    annotations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [a["frame_dir"] for a in self.annotations]

    def split_names(self, split: str) -> list[str]:
        """The ``frame_dir`` of every sample of ``split`` (``"all"``: every annotation)."""
        if split == "all":
            return self.names
        if split not in self.splits:
            raise ValueError(f"{self.path}: no split {split!r}; the file has {sorted(self.splits) + ['all']}")
        return self.splits[split]

    def sequences(self, layout: Layout) -> Iterator[SkeletonSequence]:
        """Every annotation as a :class:`SkeletonSequence` in ``layout`` (see :func:`pyskl_sequence`)."""
        for number, record in enumerate(self.annotations):
            yield pyskl_sequence(self.path, record, number, layout)


def read_pyskl(path: str | os.PathLike) -> PYSKLAnnotations:
    """Read a PYSKL annotation file safely (see the module docstring): its splits and annotation records.

    Raises:
        SkeletonFormatError: unsafe or unreadable pickle, no ``annotations`` list, a record without
            ``frame_dir``, ``label`` or ``keypoint``, repeated names, a split listing unknown names.
    """
    path = Path(path)
    content = safe_load(path)
    if isinstance(content, list):
        content = {"annotations": content}
    if not isinstance(content, dict) or not isinstance(content.get("annotations"), list):
        raise SkeletonFormatError(path, None, "a dict with an 'annotations' list (PYSKL format) or such a list",
                                  f"a {type(content).__name__}" + (f" with keys {sorted(map(str, content))[:10]}"
                                                                     if isinstance(content, dict) else ""))
    records = content["annotations"]
    seen: set[str] = set()
    for number, record in enumerate(records):
        where = f"annotation {number}"
        if not isinstance(record, dict):
            raise SkeletonFormatError(path, None, f"a dict for {where}", type(record).__name__)
        missing = [k for k in ("frame_dir", "label", "keypoint") if k not in record]
        if missing:
            raise SkeletonFormatError(path, None, f"the keys frame_dir, label and keypoint in {where}",
                                      f"no {', '.join(missing)}")
        name = record["frame_dir"]
        if not isinstance(name, str) or not name:
            raise SkeletonFormatError(path, None, f"a non-empty string frame_dir in {where}", repr(name)[:60])
        if name in seen:
            raise SkeletonFormatError(path, None, "every frame_dir once", f"{name!r} again ({where})")
        seen.add(name)
        label = record["label"]
        if isinstance(label, np.ndarray) and label.shape in ((), (1,)) and label.dtype.kind in "iu":
            label = record["label"] = int(label.reshape(()))  # a label saved as a one-element array
        if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < 2**31:
            raise SkeletonFormatError(path, None, f"a class index (integer >= 0) as the label of {name!r}",
                                      repr(label)[:60])
    splits = content.get("split", {})
    if not isinstance(splits, dict):
        raise SkeletonFormatError(path, None, "a dict of split name -> names as 'split'", type(splits).__name__)
    checked: dict[str, list[str]] = {}
    for split, names in splits.items():
        if not isinstance(split, str) or not isinstance(names, (list, tuple)) \
                or not all(isinstance(n, str) for n in names):
            raise SkeletonFormatError(path, None, "split names mapped to lists of frame_dir strings", repr(split)[:60])
        unknown = [n for n in names if n not in seen]
        if unknown:
            raise SkeletonFormatError(path, None, f"split {split!r} to list annotated samples",
                                      f"{len(unknown)} unknown, e.g. {unknown[0]!r}")
        checked[split] = list(names)
    return PYSKLAnnotations(path, checked, records)


def pyskl_sequence(path: Path, record: dict[str, Any], number: int, layout: Layout) -> SkeletonSequence:
    """One PYSKL annotation record as a sequence: ``keypoint`` ``[M, T, V, C]`` becomes coordinates ``(T, M, V,
    C)`` and ``keypoint_score`` ``[M, T, V]`` the scores.

    Raises:
        EmptySequenceError: no person or no frame (datasets skip and count such samples).
        SkeletonFormatError: shapes that do not fit ``layout`` (``V = J``, ``C = layout.ndim``; a keypoint
            array with ``C + 1`` channels carries the score last), non-numeric or non-finite values, negative
            scores, a score array of another shape.
    """
    name = record["frame_dir"]
    where = f"annotation {number} ({name})"
    keypoint, score = record["keypoint"], record.get("keypoint_score")
    J, C = layout.num_joints, layout.ndim
    if not isinstance(keypoint, np.ndarray) or keypoint.ndim != 4 or keypoint.shape[2] != J \
            or keypoint.shape[3] not in (C, C + 1):
        found = f"shape {keypoint.shape}" if isinstance(keypoint, np.ndarray) else type(keypoint).__name__
        raise SkeletonFormatError(path, None, f"keypoint of shape [M, T, {J}, {C}] for the {C}-D layout "
                                  f"{layout.name!r} in {where}", found)
    if keypoint.shape[0] == 0 or keypoint.shape[1] == 0:
        raise EmptySequenceError(path, None, f"at least one person and one frame in {where}",
                                 f"keypoint shape {keypoint.shape}")
    coords = finite_float32(path, keypoint.transpose(1, 0, 2, 3), f"keypoint coordinates in {where}")
    if keypoint.shape[3] == C + 1:
        if score is not None:
            raise SkeletonFormatError(path, None, f"scores either as keypoint's last channel or as keypoint_score "
                                      f"in {where}", "both")
        coords, score_tm = coords[..., :C], coords[..., C]
    elif score is not None:
        if not isinstance(score, np.ndarray) or score.shape != keypoint.shape[:3]:
            found = f"shape {score.shape}" if isinstance(score, np.ndarray) else type(score).__name__
            raise SkeletonFormatError(path, None, f"keypoint_score of shape {keypoint.shape[:3]} in {where}", found)
        score_tm = finite_float32(path, score.transpose(1, 0, 2), f"keypoint_score in {where}")
    else:
        score_tm = None
    if score_tm is not None:
        score_tm = check_scores(path, score_tm)
    return SkeletonSequence(np.ascontiguousarray(coords), layout, label=int(record["label"]),
                            meta={"name": name, "source": str(path)}, score=score_tm)
