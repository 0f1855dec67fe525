"""Property-based: malformed variants of real (and, for UTKinect / Florence, synthetic) files fed to every
reader. A reader either returns a well-formed sequence or raises SkeletonFormatError; nothing else escapes."""

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skel_io_helpers import MSR_FILES, NTU_SAMPLES, SBU_FILES, UTK_RECORDINGS, write_florence, write_utkinect

from skelgraph.data import SkeletonSequence
from skelgraph.io import (
    SkeletonFormatError,
    read_array,
    read_florence3d,
    read_label_file,
    read_msr_action3d,
    read_ntu_skeleton,
    read_sbu,
    read_utkinect,
    read_utkinect_labels,
)
from skelgraph.skeleton import SBU

BAD_TOKENS = ["abc", "nan", "NaN", "inf", "-inf", "1e999", "", "0x1F", "--1", "1.2.3", "\x00", "\u00e9", "1,5", "25"]
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def mutation(draw):
    kind = draw(st.sampled_from(
        ["truncate", "delete", "duplicate", "drop_token", "add_token", "replace_token", "blank", "empty", "bytes"]
    ))
    return kind, draw(st.integers(0, 10**9)), draw(st.integers(0, 10**9)), draw(st.sampled_from(BAD_TOKENS)), \
        draw(st.binary(min_size=1, max_size=8))


def mutate(data: bytes, m) -> bytes:
    kind, a, b, token, blob = m
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
    elif kind == "blank":
        lines.insert(i, b"")
    elif kind == "empty":
        return b""
    elif kind == "bytes":
        return data[: a % len(data)] + blob + data[a % len(data):]
    return b"\n".join(lines)


def check(result):
    seqs = result if isinstance(result, list) else [result]
    for seq in seqs:
        assert isinstance(seq, SkeletonSequence)
        assert np.isfinite(seq.coords).all() and seq.num_frames > 0


def run(reader, path):
    try:
        check(reader(path))
    except SkeletonFormatError as e:
        assert e.path == str(path) and str(path) in str(e) and "expected" in str(e)
        assert e.line is None or e.line >= 1


NTU_BYTES = NTU_SAMPLES[1].read_bytes()
MSR_BYTES = MSR_FILES[0].read_bytes()
SBU_BYTES = SBU_FILES[0].read_bytes()


@SETTINGS
@given(mutation())
def test_ntu(tmp_path, m):
    path = tmp_path / NTU_SAMPLES[1].name
    path.write_bytes(mutate(NTU_BYTES, m))
    run(read_ntu_skeleton, path)


@SETTINGS
@given(mutation())
def test_msr(tmp_path, m):
    path = tmp_path / MSR_FILES[0].name
    path.write_bytes(mutate(MSR_BYTES, m))
    run(read_msr_action3d, path)


@SETTINGS
@given(mutation())
def test_sbu(tmp_path, m):
    path = tmp_path / "s01s02" / "01" / "001" / "skeleton_pos.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(mutate(SBU_BYTES, m))
    run(read_sbu, path)


@SETTINGS
@given(mutation(), st.booleans())
def test_utkinect(tmp_path, m, in_labels):
    write_utkinect(tmp_path, UTK_RECORDINGS)
    target = tmp_path / ("actionLabel.txt" if in_labels else "joints/joints_s01_e01.txt")
    target.write_bytes(mutate(target.read_bytes(), m))
    try:
        labels, _ = read_utkinect_labels(tmp_path / "actionLabel.txt")
        clips, _ = read_utkinect(tmp_path / "joints" / "joints_s01_e01.txt", labels)
        check(clips)
    except SkeletonFormatError as e:
        assert e.path in (str(tmp_path / "actionLabel.txt"), str(tmp_path / "joints" / "joints_s01_e01.txt"))


@SETTINGS
@given(mutation())
def test_florence(tmp_path, m):
    path = tmp_path / "Florence_dataset_WorldCoordinates.txt"
    write_florence(path, [(1, 1, 1, 4), (2, 2, 5, 3)])
    path.write_bytes(mutate(path.read_bytes(), m))
    run(read_florence3d, path)


@SETTINGS
@given(mutation(), st.sampled_from([".csv", ".json", ".npy", ".npz"]))
def test_folder_arrays(tmp_path, m, suffix):
    coords = np.arange(3 * 15 * 3, dtype=np.float32).reshape(3, 15, 3) / 7
    path = tmp_path / f"seq{suffix}"
    if suffix == ".csv":
        path.write_text("\n".join(",".join(f"{v:.3f}" for v in f.reshape(-1)) for f in coords))
    elif suffix == ".json":
        path.write_text(json.dumps(coords.tolist()))
    elif suffix == ".npy":
        np.save(path, coords)
    else:
        np.savez(path, coords=coords)
    path.write_bytes(mutate(path.read_bytes(), m))
    try:
        out = read_array(path, SBU)
        assert out.ndim == 4 and out.shape[2:] == (15, 3) and np.isfinite(out).all()
    except SkeletonFormatError as e:
        assert e.path == str(path)


@SETTINGS
@given(mutation())
def test_label_file(tmp_path, m):
    path = tmp_path / "labels.csv"
    path.write_bytes(mutate(b"name,label,split,subject\na,walk,train,1\nb,run,test,2\n", m))
    try:
        read_label_file(path)
    except SkeletonFormatError as e:
        assert e.path == str(path)
