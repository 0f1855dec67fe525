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


# ================================================================================== classes beyond the readers
# Each class below has a hypothesis strategy of cases and an outcome function with the same vocabulary as
# :func:`outcome`: ``"ok"``, ``"clean"`` (the documented one-line refusal naming the file, sample or line),
# ``"nonfinite"`` (NaN/Inf came out: a failure), ``"foreign:<type>"`` (any other exception: a failure), and for
# caches ``"served_corrupt"`` (damaged data returned as if it were good: a failure).

#: Bounds of the bounded pickle reader while fuzzing: small, so no case can take long.
FUZZ_PICKLE_LIMITS = dict(depth=32, nodes=200_000, bytes=50_000_000)

#: Opcode snippets a pickle program is made of (building blocks, references, mutations, declared sizes).
_SNIPPETS = [b"(", b"]", b"}", b")", b"\x8f", b"\x85", b"\x86", b"\x87", b"t", b"l", b"d", b"\x91", b"a", b"e",
             b"s", b"u", b"\x90", b"0", b"1", b"2", b"\x94", b"N", b"\x88", b"K\x07", b"J\xff\xff\xff\x7f",
             b"\x8c\x01k", b"C\x02ab", b"G@\x09!\xfbTD-\x18", b"\x8a\x01\x05", b"b", b"R",
             b"\x8c\x05numpy\x8c\x05dtype\x93", b"\x8c\x0bcollections\x8c\x0bOrderedDict\x93"]


@st.composite
def pickle_program(draw: Any) -> bytes:
    """A pickle assembled from random opcodes, memo references and amplifiers: chains of shared references
    (``BINGET`` of the previous level, up to 60 levels), tuples nested up to 100,000 deep, and opcodes declaring
    sizes the file does not hold."""
    parts = [b"\x80" + bytes([draw(st.integers(0, 5))])]
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 9))
        if kind <= 5:
            parts.append(draw(st.sampled_from(_SNIPPETS)))
        elif kind == 6:
            parts.append(b"h" + bytes([draw(st.integers(0, 8))]))
        elif kind == 7:
            levels, uses = draw(st.integers(1, 60)), draw(st.integers(1, 4))
            parts.append(_shared_levels(levels, uses)[2:-1] + b"0")  # without PROTO and STOP
        elif kind == 8:
            parts.append(b")" + b"\x85" * draw(st.sampled_from([1, 31, 32, 33, 1000, 100_000])))
        else:
            op = draw(st.sampled_from([b"\x95", b"\x8e", b"\x96", b"\x8d"]))
            parts.append(op + draw(st.integers(0, 2**63)).to_bytes(8, "little"))
    parts.append(draw(st.sampled_from([b".", b"", b"N."])))
    return b"".join(parts)


def pickle_outcome(folder: Path, data: bytes) -> str:
    """Read a pickle program with :func:`~skelgraph.io.safe_load` under :data:`FUZZ_PICKLE_LIMITS`."""
    from skelgraph.io import PickleLimits, safe_load

    path = folder / "p.pkl"
    path.write_bytes(data)
    try:
        safe_load(path, PickleLimits(**FUZZ_PICKLE_LIMITS))
    except SkeletonFormatError as e:
        return "clean" if e.path == str(path) and "\n" not in str(e) else "foreign:SkeletonFormatError-unnamed"
    except Exception as e:
        return f"foreign:{type(e).__name__}"
    return "ok"


#: Hostile values a checkpoint's spec field can be given.
SPEC_VALUES = [0, -1, 1, 2, 7, 64, 65, 8192, 10**4, 10**9, 2**63, 2.5, 0.5, 1.0, -0.0, float("nan"), float("inf"),
               -float("inf"), 1e308, "x", "", "x" * 500, True, None, [], [0], [8000], [12000], [4] * 17,
               [1e9], {"a": 1}, [[1]]]
#: Fields of a checkpoint that the spec fuzzing changes.
SPEC_TARGETS = [("model", k) for k in ("num_joints", "num_classes", "in_channels", "T", "M", "E", "att_channels",
                                       "lstm_sizes", "message_layers", "dropout", "alpha", "streams", "mask",
                                       "readout", "checkpoint", "bogus")] + \
    [("pipeline", k) for k in ("T", "scale", "stack_bodies", "velocity", "sampling", "center", "view_normalize",
                               "score", "augment", "layout", "uncross_legs", "smooth", "bogus")] + \
    [("class_names", None)]


@st.composite
def spec_case(draw: Any) -> tuple[tuple[str, str | None], Any]:
    return draw(st.sampled_from(SPEC_TARGETS)), draw(st.sampled_from(SPEC_VALUES))


def tiny_checkpoint(folder: Path, pipeline: dict | None = None, **kwargs: Any) -> Path:
    """A small untrained ARRN-LSTM export for the MSR Action3D layout (3 classes, T = 6)."""
    import torch

    from skelgraph.nn import ARRNLSTM
    from skelgraph.training.checkpoint import export_model
    from skelgraph.training.registry import model_spec, pipeline_channels, pipeline_spec

    torch.manual_seed(0)
    pipeline = pipeline or pipeline_spec("msr_action3d", 6, **kwargs)
    model = ARRNLSTM.from_paper("msr", num_classes=3, M=4, E=1, att_channels=4, lstm_sizes=(4,), T=6,
                                in_channels=pipeline_channels(pipeline))
    meta = {"model": model_spec(model), "pipeline": pipeline}
    path = folder / "model.pt"
    export_model(path, model, meta, ["a", "b", "c"])
    return path


def spec_outcome(folder: Path, case: tuple[tuple[str, str | None], Any]) -> str:
    """A checkpoint with one field of its spec (or its class names) replaced, loaded for inference."""
    import torch

    from skelgraph.inference import load_for_inference
    from skelgraph.training.checkpoint import CheckpointError, load_checkpoint

    (where, field), value = case
    path = tiny_checkpoint(folder)
    ckpt = load_checkpoint(path)
    if where == "class_names":
        ckpt["class_names"] = value
    elif where == "model":
        ckpt["meta"]["model"]["kwargs"][field] = value
    else:
        ckpt["meta"]["pipeline"][field] = value
    torch.save(ckpt, path)
    try:
        loaded = load_for_inference(path)
    except CheckpointError as e:
        return "clean" if str(path) in str(e) and "\n" not in str(e) else "foreign:CheckpointError-unnamed"
    except Exception as e:
        return f"foreign:{type(e).__name__}"
    return "ok" if all(torch.isfinite(p).all() for p in loaded.model.parameters()) else "nonfinite"


#: Values at the edges of float32: its largest finite values (whose sums and differences overflow), the
#: smallest normal and subnormal numbers, negative zero.
F32_EDGES = ["3.4028235e38", "-3.4028235e38", "3.4e38", "-3.3e38", "1.7e38", "2e38", "-2e38", "1e38", "1.1754944e-38",
             "1e-45", "1e-39", "-0.0", "0"]


@st.composite
def float32_case(draw: Any) -> tuple[list[tuple[int, int, str]], float, bool]:
    """Values of an MSR Action3D file (line, column, edge value) replaced by float32 edges, the pipeline's
    coordinate scale and whether it appends velocity."""
    edits = draw(st.lists(st.tuples(st.integers(0, 400), st.integers(0, 2), st.sampled_from(F32_EDGES)),
                          min_size=1, max_size=6))
    return edits, draw(st.sampled_from([1.0, 0.5, 4.0, 1e-30, 1e6])), draw(st.booleans())


def float32_outcome(folder: Path, case: tuple[list[tuple[int, int, str]], float, bool]) -> str:
    """The edited file through the whole pipeline: reader, the checkpoint's pre-processing, the model. ``"ok"``
    only when every probability is finite; a refusal must name the file."""
    import torch

    from skelgraph.inference import Predictor
    from skelgraph.predict import read_any
    from skelgraph.training.registry import NonFiniteError

    edits, scale, velocity = case
    lines = MSR_FILES[0].read_text().splitlines()
    for line, column, value in edits:
        fields = lines[line % len(lines)].split()
        fields[column] = value
        lines[line % len(lines)] = " ".join(fields)
    path = folder / MSR_FILES[0].name
    path.write_text("\n".join(lines) + "\n")
    predictor = Predictor(tiny_checkpoint(folder, scale=scale, velocity=velocity))
    try:
        probabilities = predictor.probabilities([read_any(path, predictor.layout)])
    except (SkeletonFormatError, NonFiniteError) as e:
        return "clean" if str(path) in str(e) and "\n" not in str(e) else f"foreign:{type(e).__name__}-unnamed"
    except Exception as e:
        return f"foreign:{type(e).__name__}"
    return "ok" if bool(torch.isfinite(probabilities).all()) else "nonfinite"


#: What a data file's name can stand for, besides a file.
SPECIAL_KINDS = ("fifo", "dev_zero", "dev_null", "socket", "folder", "dangling_link")


def special_outcome(folder: Path, kind: str, target: str) -> str:
    """``target``'s reader (a name of :data:`TARGETS`) given a special file where its file should be."""
    import os
    import socket

    path, read = TARGETS[target](folder)
    path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind in ("dev_zero", "dev_null"):
        path.symlink_to(f"/dev/{kind[4:]}")
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        try:
            server.bind(str(path))
        except OSError:  # path too long for AF_UNIX: a folder in its place
            path.mkdir()
        server.close()
    elif kind == "folder":
        path.mkdir()
    else:
        path.symlink_to(folder / "nowhere")
    try:
        read()
    except SkeletonFormatError as e:
        return "clean" if e.path == str(path) else "foreign:SkeletonFormatError-unnamed"
    except FileNotFoundError as e:
        return "clean" if kind == "dangling_link" and str(path) in str(e) else "foreign:FileNotFoundError"
    except Exception as e:
        return f"foreign:{type(e).__name__}"
    return "ok"


CACHE_DAMAGE = ("overwrite", "truncate", "append", "zero_page", "report_bytes", "report_truncate", "swap_payloads")


@st.composite
def cache_case(draw: Any) -> tuple[str, int, bytes]:
    return draw(st.sampled_from(CACHE_DAMAGE)), draw(st.integers(0, 10**9)), draw(st.binary(min_size=1, max_size=16))


def _cache_folder(folder: Path) -> Path:
    root = folder / "data"
    root.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        np.save(root / f"s{i}.npy", rng.normal(size=(4, 15, 3)).astype(np.float32))
    (root / "labels.csv").write_text("name,label\n" + "".join(f"s{i},{i % 2}\n" for i in range(3)))
    return root


def cache_outcome(folder: Path, case: tuple[str, int, bytes]) -> str:
    """Build a SkeletonFolder cache, damage it, open the dataset again: its samples must equal the originals
    (``"ok"``: intact, or rebuilt) or the opening must fail with :class:`~skelgraph.datasets.CacheError`."""
    import warnings

    import torch

    from skelgraph.datasets import CacheError, SkeletonFolder

    kind, at, blob = case
    root = _cache_folder(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = SkeletonFolder(root, "sbu", log=False, cache_dir=folder / "cache")
        expected = [ds[i].x.clone() for i in range(len(ds))]
        data, report = Path(ds.processed_dir) / "data.pt", Path(ds.processed_dir) / "skipped.json"
        target = report if kind.startswith("report") else data
        raw = bytearray(target.read_bytes())
        at %= len(raw)
        if kind == "overwrite":
            raw[at:at + len(blob)] = blob[: len(raw) - at]
        elif kind in ("truncate", "report_truncate"):
            del raw[at:]
        elif kind == "append":
            raw += blob
        elif kind == "zero_page":
            raw[at - at % 4096:at - at % 4096 + 4096] = bytes(len(raw[at - at % 4096:at - at % 4096 + 4096]))
        elif kind == "report_bytes":
            raw[at:at + len(blob)] = blob[: len(raw) - at]
        else:  # another cache's valid payload with this cache's report
            other = np.zeros((4, 15, 3), np.float32) + 7
            np.save(root / "s0.npy", other)
            again = SkeletonFolder(root, "sbu", log=False, cache_dir=folder / "cache2")
            raw = bytearray((Path(again.processed_dir) / "data.pt").read_bytes())
            np.save(root / "s0.npy", np.random.default_rng(0).normal(size=(4, 15, 3)).astype(np.float32))
        target.write_bytes(bytes(raw))
        try:
            reopened = SkeletonFolder(root, "sbu", log=False, cache_dir=folder / "cache")
            got = [reopened[i].x for i in range(len(reopened))]
        except CacheError as e:
            return "clean" if "\n" not in str(e) else "foreign:CacheError-multiline"
        except Exception as e:
            return f"foreign:{type(e).__name__}"
    same = len(got) == len(expected) and all(torch.equal(a, b) for a, b in zip(got, expected))
    return "ok" if same else "served_corrupt"


#: Broken lines a pose estimator's stream may hold.
STREAM_BAD = ["[[1, 2", "[" * 100_000 + "]" * 100_000, json.dumps([[10**400, 0, 0]] * 20), "9" * 5000,
              json.dumps([[3e38, -3e38, 3e38]] * 10 + [[-3e38, 3e38, -3e38]] * 10), json.dumps([[1e39, 0, 0]] * 20),
              '{"joints": []}', json.dumps([[1, 2]] * 20), json.dumps([[None, 0, 0]] * 20), '"text"', "nan",
              json.dumps({"keypoints": [[0, 0, 0]] * 20, "score": [-1] * 20}), "{" * 50_000, "\x00\xff", "[]",
              json.dumps([[[0, 0, 0]] * 20] * 5), json.dumps([[0.0, 0.0, 0.0]] * 20)]


@st.composite
def stream_case(draw: Any) -> list[int | str]:
    """A stream of good frames (their index into an MSR file) and bad lines, in any order."""
    return draw(st.lists(st.one_of(st.integers(0, 30), st.sampled_from(STREAM_BAD)), min_size=1, max_size=12))


def stream_outcome(folder: Path, case: list[int | str], stride: int = 1) -> str:
    """Run the stream through ``predict_stream``: every line must become a printed frame or a reported bad line,
    every printed probability finite; the count of results and reports must match the lines."""
    import math

    from skelgraph.predict import predict_stream

    rows = np.loadtxt(MSR_FILES[0])[:, :3].reshape(-1, 20, 3)
    lines = [json.dumps(rows[item].tolist()) if isinstance(item, int) else item for item in case]
    out, errors = io.StringIO(), io.StringIO()
    try:
        frames = predict_stream(tiny_checkpoint(folder, velocity=True), [line + "\n" for line in lines], out,
                                top=3, errors=errors, stride=stride)
    except Exception as e:
        return f"foreign:{type(e).__name__}"
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    reports = [line for line in errors.getvalue().splitlines() if ", line " in line]
    if len(results) != frames or len(results) + len(reports) != sum(1 for line in lines if line.strip()):
        return "foreign:lost-lines"
    if not all(math.isfinite(p) for r in results for _, p in r["top"]):
        return "nonfinite"
    return "ok" if not reports else "clean"
