"""Users' own data: one array file per sequence plus a label file.

Array files (any of):

* ``.npy``: an array of shape ``(T, J, 3)``, ``(T, M, J, 3)``, ``(T, J*3)`` or ``(T, M*J*3)``;
* ``.npz``: the same array under the key ``coords`` (or the archive's only array);
* ``.csv``: one frame per line, ``M*J*3`` comma-separated numbers (body-major, then joint, then x y z);
  an optional first header line, whose first field is not a number, is skipped;
* ``.json``: a nested list of one of the array shapes, or an object with the key ``coords``.

Label file (``labels.csv``): UTF-8 (a byte-order mark is fine), comma separated with a header line naming the
columns ``name`` and ``label`` and optionally ``split``, ``subject``, ``camera``, ``setup``, ``repetition``,
``fold``. ``name`` is the array file's name relative to the label file's folder, with or without extension (no
absolute path, no ``..``); ``label`` is a class index or a class name; the metadata columns are integers in
``0 .. 2**31 - 1``.
"""

from __future__ import annotations

import csv
import json
import math
import ntpath
import os
import posixpath
import zipfile
from pathlib import Path
from typing import IO

import numpy as np

from skelgraph.data import META_FIELDS, SkeletonSequence
from skelgraph.io._text import parse_rows, read_lines
from skelgraph.io.errors import SkeletonFormatError
from skelgraph.skeleton import Layout

#: Largest value of an integer metadata column of ``labels.csv`` (they become int64 tensors and 32-bit ids).
MAX_META = 2**31 - 1
#: File extensions :func:`read_array` understands.
ARRAY_SUFFIXES: tuple[str, ...] = (".npy", ".npz", ".csv", ".json")


#: An ``.npz`` member may expand to at most this many times the archive's size (plus 1 MiB): more is refused
#: as a decompression bomb (skeleton coordinates compress by a factor of about 1.1-3).
MAX_NPZ_EXPANSION = 64


def _npy_header(f: IO[bytes], path: Path, available: int) -> None:
    """Read a ``.npy`` header from ``f`` and refuse it when its shape needs more bytes than ``available``
    (numpy would allocate the claimed size before reading)."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        elif version == (2, 0):
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"format version {version}, expected 1.0 or 2.0")
        header = f.tell()
    except Exception as e:  # numpy's header parser raises ValueError, SyntaxError, TokenError, ...
        raise SkeletonFormatError(path, None, "a .npy array", str(e)) from None
    needed = math.prod(shape) * dtype.itemsize
    if needed > available - header:
        raise SkeletonFormatError(path, None, f"array data for the header's shape {shape} ({needed} bytes)",
                                  f"{max(available - header, 0)} bytes")


def _load_raw(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    # A corrupt .npy/.npz makes numpy raise whatever its header parser or zlib raise (ValueError, EOFError,
    # tokenize.TokenError, SyntaxError, zlib.error, BadZipFile, ...): all mean "not a valid array file".
    if suffix == ".npy":
        with open(path, "rb") as f:
            _npy_header(f, path, path.stat().st_size)
        try:
            return np.load(path, allow_pickle=False)
        except Exception as e:
            raise SkeletonFormatError(path, None, "a .npy array", str(e)) from None
    if suffix == ".npz":
        try:
            with zipfile.ZipFile(path) as archive:
                members = {name.removesuffix(".npy"): info for name, info in
                           ((i.filename, i) for i in archive.infolist())}
                key = "coords" if "coords" in members else next(iter(members)) if len(members) == 1 else None
                if key is None:
                    raise SkeletonFormatError(path, None, "a .npz archive with the key 'coords' or a single array",
                                              str(sorted(members)))
                info = members[key]
                if info.file_size > MAX_NPZ_EXPANSION * path.stat().st_size + 2**20:
                    raise SkeletonFormatError(path, None, f"an array at most {MAX_NPZ_EXPANSION}x the archive's size",
                                              f"{info.file_size} bytes uncompressed")
                with archive.open(info) as f:
                    _npy_header(f, path, info.file_size)
            with np.load(path, allow_pickle=False) as arrays:
                return arrays[key]
        except SkeletonFormatError:
            raise
        except Exception as e:
            raise SkeletonFormatError(path, None, "a .npz archive", str(e) or type(e).__name__) from None
    if suffix == ".json":
        try:
            value = json.loads(path.read_bytes())
            if isinstance(value, dict):
                value = value["coords"]
            return np.asarray(value, dtype=np.float64)
        except json.JSONDecodeError as e:
            raise SkeletonFormatError(path, e.lineno, "valid JSON", e.msg) from None
        except RecursionError:
            raise SkeletonFormatError(path, None, "JSON nested a few levels deep", "nesting too deep") from None
        except OverflowError as e:  # an integer beyond the float range, e.g. 10**400
            raise SkeletonFormatError(path, None, "numbers within the float32 range", str(e)) from None
        except (KeyError, TypeError, ValueError) as e:
            expected = "a nested list of numbers or an object with 'coords'"
            raise SkeletonFormatError(path, None, expected, str(e)[:200]) from None
    if suffix == ".csv":
        lines = read_lines(path)
        first = 1
        if lines:
            try:
                float(lines[0].split(b",")[0])
            except ValueError:
                lines, first = lines[1:], 2
        if not lines:
            raise SkeletonFormatError(path, first, "one line of comma-separated numbers per frame", "no data line")
        ncols = lines[0].count(b",") + 1
        return parse_rows(path, lines, ncols, delimiter=",", line_numbers=range(first, first + len(lines)))
    raise SkeletonFormatError(path, None, f"a file ending in one of {ARRAY_SUFFIXES}", repr(path.suffix))


def read_array(path: str | os.PathLike, layout: Layout) -> np.ndarray:
    """Load one sequence file as a ``(T, M, J, 3)`` float32 array of finite numbers (see the module docstring).

    Raises:
        SkeletonFormatError: unreadable file, a shape that does not fit ``J = layout.num_joints``, no frame,
            NaN/Inf values or values that are Inf as float32 (checked after the cast), a header claiming more data
            than the file holds, JSON nested too deeply or with numbers beyond the float range.
    """
    path = Path(path)
    raw = _load_raw(path)
    J = layout.num_joints
    if not np.issubdtype(raw.dtype, np.number) or np.issubdtype(raw.dtype, np.complexfloating):
        raise SkeletonFormatError(path, None, "a real-valued numeric array", f"dtype {raw.dtype}")
    shape = raw.shape
    if raw.ndim == 2 and shape[1] % (J * 3) == 0 and shape[1] > 0:
        coords = raw.reshape(shape[0], shape[1] // (J * 3), J, 3)
    elif raw.ndim == 3 and shape[1:] == (J, 3):
        coords = raw[:, None]
    elif raw.ndim == 4 and shape[2:] == (J, 3):
        coords = raw
    else:
        raise SkeletonFormatError(
            path, None, f"shape (T, {J}, 3), (T, M, {J}, 3), (T, {J * 3}) or (T, M*{J * 3}) for layout {layout.name!r}",
            f"shape {shape}"
        )
    if coords.shape[0] == 0 or coords.shape[1] == 0:
        raise SkeletonFormatError(path, None, "at least one frame and one body", f"shape {shape}")
    with np.errstate(over="ignore", invalid="ignore"):  # values beyond float32 become Inf: refused just below
        coords = coords.astype(np.float32)
    if not np.isfinite(coords).all():
        frame = int(np.flatnonzero(~np.isfinite(coords).reshape(len(coords), -1).all(axis=1))[0])
        line = frame + 1 if path.suffix.lower() == ".csv" else None
        raise SkeletonFormatError(path, line, f"finite coordinates (frame {frame + 1})", "NaN or Inf")
    return coords


def read_sequence(path: str | os.PathLike, layout: Layout, label: int | None = None, **meta) -> SkeletonSequence:
    """:func:`read_array` wrapped into a :class:`SkeletonSequence` (``meta`` gains ``name`` and ``source``)."""
    path = Path(path)
    meta = dict(name=path.stem, source=str(path), **meta)
    return SkeletonSequence(read_array(path, layout), layout, label=label, meta=meta)


def read_label_file(path: str | os.PathLike) -> list[dict[str, str | int]]:
    """Rows of a ``labels.csv`` (see the module docstring); integer metadata columns become ``int``.

    Raises:
        SkeletonFormatError: no ``name``/``label`` header, a row with the wrong number of fields, an empty
            name or label, a non-integer metadata value, a repeated name.
    """
    text = Path(path).read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")  # Excel writes a BOM
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None or not {"name", "label"} <= {h.strip() for h in header}:
        raise SkeletonFormatError(path, 1, "a header line with the columns 'name' and 'label'", repr(header))
    columns = [h.strip() for h in header]
    rows: list[dict[str, str | int]] = []
    seen: set[str] = set()
    for number, fields in enumerate(reader, start=2):
        if not fields or not "".join(fields).strip():
            continue
        if len(fields) != len(columns):
            raise SkeletonFormatError(path, number, f"{len(columns)} comma-separated fields", f"{len(fields)}")
        row: dict[str, str | int] = {}
        for key, value in zip(columns, fields, strict=True):
            value = value.strip()
            if key in META_FIELDS:
                try:
                    row[key] = int(value)
                except ValueError:
                    raise SkeletonFormatError(path, number, f"an integer {key}", repr(value)) from None
                if not 0 <= row[key] <= MAX_META:
                    raise SkeletonFormatError(path, number, f"a {key} in 0..{MAX_META}", repr(value))
            else:
                row[key] = value
        if not row["name"] or not row["label"]:
            raise SkeletonFormatError(path, number, "a non-empty name and label", repr(",".join(fields)))
        name = str(row["name"]).replace("\\", "/")
        if posixpath.isabs(name) or ntpath.isabs(str(row["name"])) or ".." in name.split("/"):
            raise SkeletonFormatError(path, number, "a file name inside the label file's folder", repr(row["name"]))
        if row["name"] in seen:
            raise SkeletonFormatError(path, number, "each name once", f"{row['name']!r} again")
        seen.add(str(row["name"]))
        rows.append(row)
    return rows
