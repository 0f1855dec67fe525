"""The readers' fuzz harness, shared by ``test_io_fuzz.py`` (asserts) and ``bench/bench_fuzz_readers.py``
(counts): a seed file per reader (bundled real NTU / MSR / SBU files; synthetic UTKinect, Florence, array, label,
PYSKL pickle, CTR-GCN archive and NW-UCLA-style JSON files), a hypothesis strategy of mutations, and
:func:`outcome`, which runs one mutated file through its reader and classifies what happened.

Outcomes: ``"ok"`` (a well-formed result with finite coordinates), ``"clean"`` (a ``SkeletonFormatError``
naming the file), ``"nonfinite"`` (a result holding NaN/Inf), ``"foreign:<type>"`` (any other exception, or a
``SkeletonFormatError`` that does not name the file).
"""

from __future__ import annotations

import io
import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import strategies as st
from pose_files import pyskl_content, write_ctrgcn
from skel_io_helpers import MSR_FILES, NTU_SAMPLES, SBU_FILES, UTK_RECORDINGS, write_florence, write_utkinect

from skelgraph.data import SkeletonSequence
from skelgraph.io import (
    SkeletonFormatError,
    read_array,
    read_ctrgcn,
    read_florence3d,
    read_label_file,
    read_msr_action3d,
    read_ntu_skeleton,
    read_pyskl,
    read_sbu,
    read_sequence,
    read_utkinect,
    read_utkinect_labels,
)
from skelgraph.skeleton import COCO17, KINECT_V1, SBU

#: Finite in float64, Inf once stored as float32.
F32_OVERFLOW_TOKENS = ("1e39", "-1e39", "3.5e38", "-3.4028236e38", "1e308")
#: Replacement tokens: non-numbers, NaN/Inf, float64 overflow, float32 overflow, float32 underflow, integers
#: beyond int64, huge digit strings.
BAD_TOKENS = ["abc", "nan", "NaN", "inf", "-inf", "1e999", "", "0x1F", "--1", "1.2.3", "\x00", "\u00e9", "1,5", "25",
              *F32_OVERFLOW_TOKENS, "1e-50", "9223372036854775808", "18446744073709551616", "1" + "0" * 400,
              "9" * 5000, "-0", "+7"]
#: Replacements for a line that holds a count (NTU frame, body and joint counts).
COUNT_TOKENS = ["0", "-1", "26", "1000", "10000000000", "9223372036854775808", "1" + "0" * 400]
KINDS = ["truncate", "delete", "duplicate", "drop_token", "add_token", "replace_token", "blank", "empty", "bytes",
         "count", "swap", "nest"]

Mutation = tuple[str, int, int, str, bytes]


@st.composite
def mutation(draw: Any) -> Mutation:
    """One mutation: its kind, two positions, a replacement token and a byte string."""
    kind = draw(st.sampled_from(KINDS))
    token = draw(st.sampled_from(COUNT_TOKENS if kind == "count" else BAD_TOKENS))
    return kind, draw(st.integers(0, 10**9)), draw(st.integers(0, 10**9)), token, \
        draw(st.binary(min_size=1, max_size=8))


def mutate(data: bytes, m: Mutation) -> bytes:
    """Apply mutation ``m`` to a file's bytes."""
    kind, a, b, token, blob = m
    if not data:
        return blob
    lines = data.split(b"\n")
    i = a % len(lines)
    fields = lines[i].split()
    if kind == "truncate":
        return data[: a % len(data)]
    if kind == "delete":
        del lines[i]
    elif kind == "duplicate":
        lines.insert(i, lines[i])
    elif kind == "drop_token" and fields:
        fields.pop(b % len(fields))
        lines[i] = b" ".join(fields)
    elif kind == "add_token":
        lines[i] = lines[i].rstrip(b"\r") + b" 0.5"
    elif kind == "replace_token" and fields:
        sep = b"," if b"," in lines[i] else b" "
        parts = lines[i].rstrip(b"\r").split(sep)
        parts[b % len(parts)] = token.encode()
        lines[i] = sep.join(parts)
    elif kind == "count":
        counts = [k for k, line in enumerate(lines) if line.strip().isdigit()]
        if counts:
            lines[counts[a % len(counts)]] = token.encode()
    elif kind == "swap":
        j = b % len(lines)
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "blank":
        lines.insert(i, b"")
    elif kind == "empty":
        return b""
    elif kind == "bytes":
        return data[: a % len(data)] + blob + data[a % len(data):]
    elif kind == "nest":  # deep nesting (JSON's recursion) around the whole content
        depth = (2, 50, 5000, 100_000)[b % 4]
        return b"[" * depth + data + b"]" * depth
    return b"\n".join(lines)


def _array_seed(suffix: str) -> Callable[[Path], tuple[Path, Callable[[], Any]]]:
    def setup(folder: Path) -> tuple[Path, Callable[[], Any]]:
        coords = np.arange(3 * 15 * 3, dtype=np.float32).reshape(3, 15, 3) / 7
        path = folder / f"seq{suffix}"
        if suffix == ".csv":
            path.write_text("\n".join(",".join(f"{v:.3f}" for v in f.reshape(-1)) for f in coords))
        elif suffix == ".json":
            path.write_text(json.dumps(coords.tolist()))
        elif suffix == ".npy":
            np.save(path, coords)
        else:
            buffer = io.BytesIO()
            np.savez(buffer, coords=coords)
            path.write_bytes(buffer.getvalue())
        return path, lambda: read_array(path, SBU)
    return setup


def _copy(source: Path, relative: str, reader: Callable[[Path], Any]) -> Callable[[Path], tuple[Path, Callable]]:
    def setup(folder: Path) -> tuple[Path, Callable[[], Any]]:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(source.read_bytes())
        return path, lambda: reader(path)
    return setup


def _utkinect(which: str) -> Callable[[Path], tuple[Path, Callable[[], Any]]]:
    def setup(folder: Path) -> tuple[Path, Callable[[], Any]]:
        write_utkinect(folder, UTK_RECORDINGS)
        target = folder / ("actionLabel.txt" if which == "labels" else "joints/joints_s01_e01.txt")

        def read() -> Any:
            labels, _ = read_utkinect_labels(folder / "actionLabel.txt")
            return read_utkinect(folder / "joints" / "joints_s01_e01.txt", labels)[0]
        return target, read
    return setup


def _florence(folder: Path) -> tuple[Path, Callable[[], Any]]:
    path = folder / "Florence_dataset_WorldCoordinates.txt"
    write_florence(path, [(1, 1, 1, 4), (2, 2, 5, 3)])
    return path, lambda: read_florence3d(path)


def _labels(folder: Path) -> tuple[Path, Callable[[], Any]]:
    path = folder / "labels.csv"
    path.write_bytes(b"name,label,split,subject\na,walk,train,1\nb,run,test,2\n")
    return path, lambda: read_label_file(path)


def _pyskl(folder: Path) -> tuple[Path, Callable[[], Any]]:
    path = folder / "ann.pkl"
    path.write_bytes(pickle.dumps(pyskl_content(classes=2, train_per_class=1, test_per_class=0, T=(3, 4)),
                                  protocol=4))
    return path, lambda: list(read_pyskl(path).sequences(COCO17))


def _ctrgcn(folder: Path) -> tuple[Path, Callable[[], Any]]:
    path = write_ctrgcn(folder / "data.npz", SBU, train=2, test=1, T=4)
    return path, lambda: [*read_ctrgcn(path, SBU, "train"), *read_ctrgcn(path, SBU, "test")]


def _json_key(folder: Path) -> tuple[Path, Callable[[], Any]]:
    path = folder / "a01_s01_e00_v01.json"
    skeletons = (np.arange(3 * 20 * 3).reshape(3, 20, 3) / 7).round(3)
    path.write_text(json.dumps({"file_name": path.stem, "skeletons": skeletons.tolist(), "label": 1}))
    return path, lambda: read_sequence(path, KINECT_V1, key="skeletons")


#: Reader name -> ``setup(folder)`` returning (the file to mutate, a call that reads it).
TARGETS: dict[str, Callable[[Path], tuple[Path, Callable[[], Any]]]] = {
    "ntu": _copy(NTU_SAMPLES[1], NTU_SAMPLES[1].name, read_ntu_skeleton),
    "msr": _copy(MSR_FILES[0], MSR_FILES[0].name, read_msr_action3d),
    "sbu": _copy(SBU_FILES[0], "s01s02/01/001/skeleton_pos.txt", read_sbu),
    "utkinect_joints": _utkinect("joints"),
    "utkinect_labels": _utkinect("labels"),
    "florence": _florence,
    "array_csv": _array_seed(".csv"),
    "array_json": _array_seed(".json"),
    "array_npy": _array_seed(".npy"),
    "array_npz": _array_seed(".npz"),
    "label_file": _labels,
    "pyskl": _pyskl,
    "ctrgcn_npz": _ctrgcn,
    "json_key": _json_key,
}


def _finite(result: Any) -> bool:
    items = result if isinstance(result, list) else [result]
    for item in items:
        if isinstance(item, SkeletonSequence):
            score_ok = item.score is None or (np.isfinite(item.score).all() and (item.score >= 0).all())
            if not (np.isfinite(item.coords).all() and item.num_frames > 0 and score_ok):
                return False
        elif isinstance(item, np.ndarray) and not np.isfinite(item).all():
            return False
    return True


def outcome(target: str, folder: Path, m: Mutation) -> str:
    """Write ``target``'s seed file into the empty ``folder``, apply ``m``, read it, classify the result."""
    path, read = TARGETS[target](folder)
    path.write_bytes(mutate(path.read_bytes(), m))
    try:
        result = read()
    except SkeletonFormatError as e:
        named = e.path in (str(p) for p in folder.rglob("*")) and e.path in str(e) and "expected" in str(e)
        return "clean" if named and (e.line is None or e.line >= 1) else "foreign:SkeletonFormatError-unnamed"
    except Exception as e:  # what the suite exists to catch
        return f"foreign:{type(e).__name__}"
    return "ok" if _finite(result) else "nonfinite"


# ------------------------------------------------------------------------------------------ hostile pickles
def _shared_levels(levels: int, uses: int = 2) -> bytes:
    """A list, then ``levels`` lists each holding ``uses`` memo references to the previous one: 2^levels values
    once copied out, from a few hundred bytes."""
    out = b"\x80\x04]\x940"  # PROTO 4, EMPTY_LIST, MEMOIZE, POP
    for level in range(levels):
        out += b"(" + (b"h" + bytes([level])) * uses + b"l\x940"  # MARK, BINGET level x uses, LIST, MEMOIZE, POP
    return out + b"h" + bytes([levels]) + b"."


def _deep_key(depth: int, container: bytes = b"}") -> bytes:
    """A tuple nested ``depth`` deep used as a dict key (``}``) or a set member (``\\x8f``)."""
    inner = b")" + b"\x85" * depth  # EMPTY_TUPLE, TUPLE1 x depth
    if container == b"}":
        return b"\x80\x04}" + inner + b"Ns."  # EMPTY_DICT, key, NONE, SETITEM
    return b"\x80\x04\x8f(" + inner + b"\x90."  # EMPTY_SET, MARK, key, ADDITEMS


#: Pickles that crashed, hung or exhausted memory in the reader before it bounded them (issue 36), by name:
#: each must be refused with a ``SkeletonFormatError`` in well under a second.
HOSTILE_PICKLES: dict[str, bytes] = {
    "deep_tuple_dict_key": _deep_key(1_000_000),
    "deep_tuple_set_member": _deep_key(1_000_000, b"\x8f"),
    "deep_list": b"\x80\x04" + b"]" * 200_000 + b"a" * 199_999 + b".",
    "shared_lists_24_deep": _shared_levels(24),
    "shared_lists_60_deep": _shared_levels(60),
    "shared_lists_wide": _shared_levels(8, uses=250),
    "frame_of_2_4_gb": b"\x95" + (2_400_000_000).to_bytes(8, "little"),
    "binbytes8_of_2_4_gb": b"\x80\x04\x8e" + (2_400_000_000).to_bytes(8, "little"),
    "bytearray8_of_2_4_gb": b"\x80\x05\x96" + (2_400_000_000).to_bytes(8, "little"),
    "binunicode8_of_2_4_gb": b"\x80\x04\x8d" + (2_400_000_000).to_bytes(8, "little"),
    "long4_of_2_gb": b"\x80\x04\x8b" + (2**31 - 1).to_bytes(4, "little"),
    "self_containing_list": b"\x80\x04]\x94h\x00a.",  # EMPTY_LIST, MEMOIZE, BINGET 0, APPEND
    "list_grown_after_shared": b"\x80\x04]\x94h\x00\x85N" + b"\x94" + b"0h\x00Na.",
    "memo_of_missing_entry": b"\x80\x04h\x07.",
    "global_os_system": b"\x80\x04\x8c\x02os\x8c\x06system\x93\x8c\x02id\x85R.",
    "persistent_id": b"\x80\x04\x8c\x01xQ.",
    "newobj": b"\x80\x04\x8c\x0bcollections\x8c\x0bOrderedDict\x93)\x81.",
    "mark_as_value": b"\x80\x04(\x85.",
}
