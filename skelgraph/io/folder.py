"""Users' own data: one array file per sequence plus a label file.

Array files (any of), with ``C = layout.ndim`` coordinates per joint (3 for 3-D sensors, 2 for image keypoints):

* ``.npy``: an array of shape ``(T, J, C)``, ``(T, M, J, C)``, ``(T, J*C)`` or ``(T, M*J*C)``; or ``(T, J, C+1)``
  / ``(T, M, J, C+1)`` whose last channel is a pose estimator's confidence score (x, y, score as OpenPose and
  MMPose write them);
* ``.npz``: the same array under the key ``coords`` (or the archive's only array), optionally with a
  ``score`` array ``(T, J)`` / ``(T, M, J)``;
* ``.csv``: one frame per line, ``M*J*C`` comma-separated numbers (body-major, then joint, then x y [z]);
  an optional first header line, whose first field is not a number, is skipped;
* ``.json``: a nested list of one of the array shapes, or an object with the coordinates under the key
  ``coords`` (another key with ``key=``, e.g. ``"skeletons"`` for NW-UCLA's files) and optionally ``score``.

Scores must be finite and non-negative; they are kept apart from the coordinates
(:attr:`~skelgraph.data.SkeletonSequence.score`).

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
from skelgraph.io._files import check_regular, open_regular, read_regular, read_text
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


#: Key of an optional confidence array in ``.npz`` archives and JSON objects.
SCORE_KEY = "score"


def _load_raw(path: Path, key: str = "coords") -> tuple[np.ndarray, np.ndarray | None]:
    """The coordinate array of a file and its separate score array (None when it has none)."""
    suffix = path.suffix.lower()
    # A corrupt .npy/.npz makes numpy raise whatever its header parser or zlib raise (ValueError, EOFError,
    # tokenize.TokenError, SyntaxError, zlib.error, BadZipFile, ...): all mean "not a valid array file".
    if suffix == ".npy":
        with open_regular(path) as f:
            _npy_header(f, path, os.fstat(f.fileno()).st_size)
            f.seek(0)
            try:
                return np.load(f, allow_pickle=False), None
            except Exception as e:
                raise SkeletonFormatError(path, None, "a .npy array", str(e)) from None
    if suffix == ".npz":
        check_regular(path)
        try:
            with zipfile.ZipFile(path) as archive:
                members = {name.removesuffix(".npy"): info for name, info in
                           ((i.filename, i) for i in archive.infolist())}
                others = [m for m in members if m != SCORE_KEY]
                found = key if key in members else others[0] if len(others) == 1 else None
                if found is None:
                    raise SkeletonFormatError(path, None, f"a .npz archive with the key {key!r} or a single array",
                                              str(sorted(members)))
                wanted = [found] + ([SCORE_KEY] if SCORE_KEY in members and found != SCORE_KEY else [])
                for name in wanted:
                    check_npz_member(path, archive, members[name])
            with np.load(path, allow_pickle=False) as arrays:
                return arrays[found], (arrays[SCORE_KEY] if len(wanted) == 2 else None)
        except SkeletonFormatError:
            raise
        except Exception as e:
            raise SkeletonFormatError(path, None, "a .npz archive", str(e) or type(e).__name__) from None
    if suffix == ".json":
        try:
            value = json.loads(read_regular(path))
            score = None
            if isinstance(value, dict):
                if key not in value:
                    raise SkeletonFormatError(path, None, f"an object with the coordinates under the key {key!r} "
                                              "(choose the key with key= / --json-key)",
                                              f"the keys {sorted(value)[:20]}")
                score = value.get(SCORE_KEY)
                value = value[key]
            coords = np.asarray(value, dtype=np.float64)
            return coords, (np.asarray(score, dtype=np.float64) if score is not None else None)
        except SkeletonFormatError:
            raise
        except json.JSONDecodeError as e:
            raise SkeletonFormatError(path, e.lineno, "valid JSON", e.msg) from None
        except RecursionError:
            raise SkeletonFormatError(path, None, "JSON nested a few levels deep", "nesting too deep") from None
        except OverflowError as e:  # an integer beyond the float range, e.g. 10**400
            raise SkeletonFormatError(path, None, "numbers within the float32 range", str(e)) from None
        except (KeyError, TypeError, ValueError) as e:
            expected = f"a nested list of numbers or an object with {key!r} holding one"
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
        return parse_rows(path, lines, ncols, delimiter=",", line_numbers=range(first, first + len(lines))), None
    raise SkeletonFormatError(path, None, f"a file ending in one of {ARRAY_SUFFIXES}", repr(path.suffix))


def check_npz_member(path: Path, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Refuse an ``.npz`` member that expands beyond :data:`MAX_NPZ_EXPANSION` times the archive (a
    decompression bomb) or whose ``.npy`` header claims more data than the member holds."""
    if info.file_size > MAX_NPZ_EXPANSION * path.stat().st_size + 2**20:
        raise SkeletonFormatError(path, None, f"an array at most {MAX_NPZ_EXPANSION}x the archive's size",
                                  f"{info.file_size} bytes uncompressed ({info.filename})")
    with archive.open(info) as f:
        _npy_header(f, path, info.file_size)


def finite_float32(path: Path, values: np.ndarray, what: str, line_per_frame: bool = False) -> np.ndarray:
    """``values`` (frames first) as float32, or :class:`SkeletonFormatError` naming the first frame holding NaN,
    Inf or a value beyond the float32 range (cast first: such values become Inf)."""
    if not np.issubdtype(values.dtype, np.number) or np.issubdtype(values.dtype, np.complexfloating):
        raise SkeletonFormatError(path, None, f"real-valued numeric {what}", f"dtype {values.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        out = values.astype(np.float32)
    if not np.isfinite(out).all():
        frame = int(np.flatnonzero(~np.isfinite(out).reshape(len(out), -1).all(axis=1))[0])
        raise SkeletonFormatError(path, frame + 1 if line_per_frame else None,
                                  f"finite {what} (frame {frame + 1})", "NaN or Inf")
    return out


def check_scores(path: Path, score: np.ndarray, line_per_frame: bool = False) -> np.ndarray:
    """Confidence scores as float32: finite and non-negative, else :class:`SkeletonFormatError`."""
    score = finite_float32(path, score, "confidence scores", line_per_frame)
    if (score < 0).any():
        frame = int(np.flatnonzero((score < 0).reshape(len(score), -1).any(axis=1))[0])
        raise SkeletonFormatError(path, frame + 1 if line_per_frame else None,
                                  f"non-negative confidence scores (frame {frame + 1})", "a negative score")
    return score


def read_coordinates(path: str | os.PathLike, layout: Layout, key: str = "coords"
                     ) -> tuple[np.ndarray, np.ndarray | None]:
    """Load one sequence file: ``(T, M, J, C)`` float32 coordinates (``C = layout.ndim``) and its ``(T, M, J)``
    confidence scores, or None where the file has none (see the module docstring). ``key``: the key of the
    coordinates in ``.npz`` archives and JSON objects.

    Raises:
        SkeletonFormatError: unreadable file, a shape that does not fit ``J = layout.num_joints`` and ``C``, no
            frame, NaN/Inf values or values that are Inf as float32 (checked after the cast), negative scores, a
            header claiming more data than the file holds, JSON nested too deeply or with numbers beyond the
            float range.
    """
    path = Path(path)
    raw, score = _load_raw(path, key)
    J, C = layout.num_joints, layout.ndim
    if not np.issubdtype(raw.dtype, np.number) or np.issubdtype(raw.dtype, np.complexfloating):
        raise SkeletonFormatError(path, None, "a real-valued numeric array", f"dtype {raw.dtype}")
    shape = raw.shape
    channel_score = None
    if raw.ndim == 2 and shape[1] % (J * C) == 0 and shape[1] > 0:
        coords = raw.reshape(shape[0], shape[1] // (J * C), J, C)
    elif raw.ndim in (3, 4) and shape[-2] == J and shape[-1] in (C, C + 1):
        coords = raw[:, None] if raw.ndim == 3 else raw
        if shape[-1] == C + 1:  # x, y[, z], score per joint, as pose estimators write them
            coords, channel_score = coords[..., :C], coords[..., C]
    else:
        raise SkeletonFormatError(
            path, None, f"shape (T, {J}, {C}), (T, M, {J}, {C}), (T, {J * C}) or (T, M*{J * C}) for the {C}-D layout "
            f"{layout.name!r} (or {C + 1} channels per joint, the last a confidence score)", f"shape {shape}"
        )
    if coords.shape[0] == 0 or coords.shape[1] == 0:
        raise SkeletonFormatError(path, None, "at least one frame and one body", f"shape {shape}")
    coords = finite_float32(path, coords, "coordinates", path.suffix.lower() == ".csv")
    if score is not None:
        if channel_score is not None:
            raise SkeletonFormatError(path, None, "confidence scores either as the last channel or as the 'score' "
                                      "array", "both")
        if not np.issubdtype(score.dtype, np.number):
            raise SkeletonFormatError(path, None, "a numeric 'score' array", f"dtype {score.dtype}")
        if score.shape == coords.shape[:1] + coords.shape[2:3] and coords.shape[1] == 1:
            score = score[:, None]
        if score.shape != coords.shape[:3]:
            raise SkeletonFormatError(path, None, f"a 'score' array of shape {coords.shape[:3]} (T, M, J) or "
                                      f"{coords.shape[:1] + coords.shape[2:3]} (T, J)", f"shape {score.shape}")
        channel_score = score
    return coords, (check_scores(path, channel_score) if channel_score is not None else None)


def read_array(path: str | os.PathLike, layout: Layout, key: str = "coords") -> np.ndarray:
    """Load one sequence file as a ``(T, M, J, C)`` float32 array of finite coordinates (``C = layout.ndim``; see
    the module docstring); :func:`read_coordinates` also returns the confidence scores.

    Raises:
        SkeletonFormatError: as :func:`read_coordinates`.
    """
    return read_coordinates(path, layout, key)[0]


def read_sequence(path: str | os.PathLike, layout: Layout, label: int | None = None, key: str = "coords",
                  **meta) -> SkeletonSequence:
    """:func:`read_coordinates` wrapped into a :class:`SkeletonSequence` (``meta`` gains ``name`` and
    ``source``; ``score`` holds the file's confidences, if any)."""
    path = Path(path)
    meta = dict(name=path.stem, source=str(path), **meta)
    coords, score = read_coordinates(path, layout, key)
    return SkeletonSequence(coords, layout, label=label, meta=meta, score=score)


def read_label_file(path: str | os.PathLike) -> list[dict[str, str | int]]:
    """Rows of a ``labels.csv`` (see the module docstring); integer metadata columns become ``int``.

    Raises:
        SkeletonFormatError: no ``name``/``label`` header, a row with the wrong number of fields, an empty
            name or label, a non-integer metadata value, a repeated name.
    """
    text = read_text(path, errors="replace").removeprefix("\ufeff")  # Excel writes a BOM
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
