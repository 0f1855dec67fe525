"""Readers under hostile input: values beyond float32, counts a file cannot hold, memory linear in the file size,
deep or huge JSON, integer fields out of range, label files with a BOM or paths leaving the folder. Files are
generated here (synthetic), or bundled real files edited."""

import json
import tracemalloc
import zipfile

import numpy as np
import pytest
from skel_io_helpers import MSR_FILES, NTU_SAMPLES, SBU_FILES, write_florence, write_utkinect

from skelgraph.datasets import SkeletonFolder
from skelgraph.io import (
    SkeletonFormatError,
    parse_ntu_skeleton,
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

JOINT_LINE = " ".join(["0.1234567"] * 12)


def new_body_every_frame(path, frames):
    """The worst case for a dense frames x bodies array: every frame holds one body with a new ID (synthetic)."""
    parts = [str(frames)]
    for f in range(frames):
        parts += ["1", f"{72057594037965000 + f} 0 0 0 0 0 0 0 0 2", "25"] + [JOINT_LINE] * 25
    path.write_text("\n".join(parts) + "\n")
    return path.stat().st_size


def peak_bytes(fn, *args):
    tracemalloc.start()
    try:
        fn(*args)
    except SkeletonFormatError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_ntu_memory_is_linear_in_the_file_size(tmp_path):
    small = new_body_every_frame(tmp_path / "a.skeleton", 150)
    large = new_body_every_frame(tmp_path / "b.skeleton", 600)
    p_small = peak_bytes(read_ntu_skeleton, tmp_path / "a.skeleton")
    p_large = peak_bytes(read_ntu_skeleton, tmp_path / "b.skeleton")
    # A dense frames x IDs array would be 600 * 600 * 300 bytes = 108 MB here, 60x the 1.8 MB file.
    assert p_large <= 6 * large, (p_large, large)
    assert p_large / p_small <= 1.3 * large / small, "peak grows like the file, not like its square"
    assert read_ntu_skeleton(tmp_path / "b.skeleton").coords.shape == (600, 1, 25, 3)


@pytest.mark.parametrize("header, line", [("10000000000", 1), ("1\n1000000000", 2), ("2\n1\n0 0 0 0 0 0 0 0 0 2\n25\n"
                                                                                      + "\n".join([JOINT_LINE] * 25)
                                                                                      + "\n4", 30)])
def test_ntu_counts_beyond_the_file_are_refused_before_allocating(tmp_path, header, line):
    path = tmp_path / "S001C001P001R001A001.skeleton"
    path.write_text(header + "\n")
    with pytest.raises(SkeletonFormatError, match="lines left before the end of the file") as err:
        parse_ntu_skeleton(path)
    assert err.value.line == line
    assert peak_bytes(parse_ntu_skeleton, path) < 1_000_000


F32_OVERFLOW = ["1e39", "-3.5e38", "1e300", "340282356779733661637539395458142568449"]


def replace_first_value(data: bytes, line: int, column: int, token: str, sep: bytes = b" ") -> bytes:
    lines = data.split(b"\n")
    fields = lines[line - 1].rstrip(b"\r").split(sep)
    fields[column] = token.encode()
    lines[line - 1] = sep.join(fields)
    return b"\n".join(lines)


@pytest.mark.parametrize("token", F32_OVERFLOW)
def test_values_beyond_float32_are_errors_in_every_reader(tmp_path, token):
    ntu = tmp_path / NTU_SAMPLES[0].name
    ntu.write_bytes(replace_first_value(NTU_SAMPLES[0].read_bytes(), 5, 1, token))
    msr = tmp_path / MSR_FILES[0].name
    msr.write_bytes(replace_first_value(MSR_FILES[0].read_bytes(), 3, 0, token))
    sbu = tmp_path / "skeleton_pos.txt"
    sbu.write_bytes(replace_first_value(SBU_FILES[0].read_bytes(), 2, 5, token, b","))
    florence = tmp_path / "florence.txt"
    write_florence(florence, [(1, 1, 1, 4)])
    florence.write_bytes(replace_first_value(florence.read_bytes(), 2, 7, token))
    csv = tmp_path / "seq.csv"
    csv.write_text("\n".join(",".join(["0.5"] * 45) for _ in range(3)))
    csv.write_bytes(replace_first_value(csv.read_bytes(), 2, 4, token, b","))
    for reader, path, line in [(read_ntu_skeleton, ntu, 5), (read_msr_action3d, msr, 3), (read_sbu, sbu, 2),
                               (read_florence3d, florence, 2), (lambda p: read_array(p, SBU), csv, 2)]:
        with pytest.raises(SkeletonFormatError, match="float32|finite") as err:
            reader(path)
        assert err.value.line == line, (reader, str(err.value))
    root = tmp_path / "utk"
    write_utkinect(root, {"s01_e01": [("walk", 2, 10)]})
    joints = root / "joints" / "joints_s01_e01.txt"
    joints.write_bytes(replace_first_value(joints.read_bytes(), 5, 3, token))
    labels, _ = read_utkinect_labels(root / "actionLabel.txt")
    with pytest.raises(SkeletonFormatError, match="float32") as err:
        read_utkinect(joints, labels)
    assert err.value.line == 5
    as_json = tmp_path / "seq.json"
    as_json.write_text("[" + ",".join("[" + ",".join(["0.5"] * 45) + "]" for _ in range(2))[:-1] + f",{token}]]")
    with pytest.raises(SkeletonFormatError, match="finite|float"):
        read_array(as_json, SBU)
    npy = tmp_path / "seq.npy"
    array = np.full((2, 15, 3), 0.5)
    array[1, 3, 2] = float(token)
    np.save(npy, array)
    with pytest.raises(SkeletonFormatError, match="finite"):
        read_array(npy, SBU)


def test_json_depth_and_huge_numbers_are_format_errors(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(SkeletonFormatError, match="nest"):
        read_array(deep, SBU)
    huge = tmp_path / "huge.json"
    huge.write_text(json.dumps([[[10**400, 0, 0]] * 15]))
    with pytest.raises(SkeletonFormatError, match="float"):
        read_array(huge, SBU)
    ragged = tmp_path / "ragged.json"
    ragged.write_text(json.dumps([[[0, 0, 0]] * 15, [[0, 0]]]))
    with pytest.raises(SkeletonFormatError):
        read_array(ragged, SBU)


def test_array_headers_claiming_more_than_the_file_are_refused(tmp_path):
    path = tmp_path / "lie.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (10**10, 15, 3)})
        f.write(np.zeros((2, 15, 3), np.float32).tobytes())
    with pytest.raises(SkeletonFormatError, match="header's shape"):
        read_array(path, SBU)
    assert peak_bytes(read_array, path, SBU) < 1_000_000
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("coords.npy", "w", force_zip64=True) as f:
            np.save(f, np.zeros((200_000, 15, 3), np.float32))  # 36 MB of zeros, ~35 kB compressed
    with pytest.raises(SkeletonFormatError, match="archive's size"):
        read_array(bomb, SBU)


def test_integer_fields_are_range_checked(tmp_path):
    for frame in ("9223372036854775808", "1e19", "-1"):
        root = tmp_path / f"utk{frame}"
        write_utkinect(root, {"s01_e01": [("walk", 2, 10)]})
        joints = root / "joints" / "joints_s01_e01.txt"
        joints.write_bytes(replace_first_value(joints.read_bytes(), 2, 0, frame))
        labels, _ = read_utkinect_labels(root / "actionLabel.txt")
        with pytest.raises(SkeletonFormatError, match="frame number in 0..") as err:
            read_utkinect(joints, labels)
        assert err.value.line == 2
    label_file = tmp_path / "utk_labels.txt"
    label_file.write_text("s01_e01\nwalk: 1 100000000000000000000000000000\n")
    with pytest.raises(SkeletonFormatError, match="frame numbers in"):
        read_utkinect_labels(label_file)
    sbu = tmp_path / "skeleton_pos.txt"
    sbu.write_bytes(replace_first_value(SBU_FILES[0].read_bytes(), 1, 0, "1e30", b","))
    with pytest.raises(SkeletonFormatError, match="frame number"):
        read_sbu(sbu)
    labels = tmp_path / "labels.csv"
    labels.write_text("name,label,subject\na,walk,100000000000000000000000\n")
    with pytest.raises(SkeletonFormatError, match="subject in 0.."):
        read_label_file(labels)


def test_label_file_bom_paths_and_split_names(tmp_path):
    np.save(tmp_path / "a.npy", np.ones((3, 15, 3), np.float32))
    np.save(tmp_path / "b.npy", np.ones((4, 15, 3), np.float32))
    (tmp_path / "labels.csv").write_bytes("\ufeffname,label,split\na,walk,train\nb,run,test\n".encode("utf-8"))
    assert [r["name"] for r in read_label_file(tmp_path / "labels.csv")] == ["a", "b"]
    assert SkeletonFolder(tmp_path, SBU, split="train", log=False).names == ["a"]
    with pytest.raises(ValueError, match=r"unknown split 'val'.*\('test', 'train', 'all'\)"):
        SkeletonFolder(tmp_path, SBU, split="val", log=False)
    for name in ("../a", "sub/../../a", "/etc/passwd", "..\\a", "C:\\x"):
        (tmp_path / "labels.csv").write_text(f"name,label\na,walk\n{name},run\n")
        with pytest.raises(SkeletonFormatError, match="inside the label file's folder") as err:
            read_label_file(tmp_path / "labels.csv")
        assert err.value.line == 3
    (tmp_path / "labels.csv").write_text("name,label\na,walk\n")
    with pytest.raises(ValueError, match=r"unknown split 'train'.*\('all',\)"):
        SkeletonFolder(tmp_path, SBU, split="train", log=False)
