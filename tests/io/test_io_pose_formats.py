"""Pose-estimator and toolkit formats on generated (synthetic) files: PYSKL annotation pickles read without running
code (every pickle protocol, numpy 1 and 2 module names, malicious and malformed files), CTR-GCN ``.npz`` archives,
JSON with another coordinate key (NW-UCLA's ``skeletons``), 2-D keypoint arrays with confidence scores."""

import json
import os
import pickle

import numpy as np
import pytest
from pose_files import pyskl_content, write_ctrgcn, write_pyskl

from skelgraph.io import (
    EmptySequenceError,
    SkeletonFormatError,
    read_coordinates,
    read_ctrgcn,
    read_pyskl,
    read_sequence,
    safe_load,
)
from skelgraph.skeleton import COCO17, KINECT_V1, NTU, SBU


def dump(path, content, protocol=4):
    path.write_bytes(pickle.dumps(content, protocol=protocol))
    return path


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_pyskl_every_protocol_gives_the_arrays_back(tmp_path, protocol):
    content = pyskl_content()
    path = write_pyskl(tmp_path / "a.pkl", protocol=protocol)
    annotations = read_pyskl(path)
    assert annotations.splits == content["split"]
    assert annotations.names == [a["frame_dir"] for a in content["annotations"]]
    for seq, record in zip(annotations.sequences(COCO17), content["annotations"], strict=True):
        np.testing.assert_array_equal(seq.coords, record["keypoint"].transpose(1, 0, 2, 3))
        np.testing.assert_array_equal(seq.score, record["keypoint_score"].transpose(1, 0, 2))
        assert seq.label == record["label"] and seq.meta["name"] == record["frame_dir"]
        assert seq.coords.shape[3] == 2 and seq.layout is COCO17


def test_pyskl_numpy1_module_names_and_scalars(tmp_path):
    """Files written by numpy 1 name numpy.core.multiarray; labels may be numpy integers; mmcv writes protocol 2."""
    content = pyskl_content(classes=2, train_per_class=1, test_per_class=1)
    for record in content["annotations"]:
        record["label"] = np.int64(record["label"])
    data = pickle.dumps(content, protocol=2)
    assert b"numpy._core.multiarray" in data  # written by numpy 2 here
    path = tmp_path / "old.pkl"
    path.write_bytes(data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    annotations = read_pyskl(path)
    assert [a["label"] for a in annotations.annotations] == [0, 0, 1, 1]
    assert isinstance(annotations.annotations[0]["label"], int)


def test_pyskl_3d_without_scores_and_scores_as_last_channel(tmp_path):
    content = pyskl_content(layout=NTU, scores=False, classes=2, train_per_class=1, test_per_class=1)
    seqs = list(read_pyskl(dump(tmp_path / "3d.pkl", content)).sequences(NTU))
    assert all(s.score is None and s.coords.shape[2:] == (25, 3) for s in seqs)
    content = pyskl_content(classes=1, train_per_class=1, test_per_class=0)
    record = content["annotations"][0]
    xys = np.concatenate([record.pop("keypoint"), record.pop("keypoint_score")[..., None]], axis=-1)
    record["keypoint"] = xys
    (seq,) = read_pyskl(dump(tmp_path / "xys.pkl", content["annotations"])).sequences(COCO17)  # a bare list
    np.testing.assert_array_equal(seq.score, xys[..., 2].transpose(1, 0, 2))


class RunsCode:
    """An object whose unpickling runs a shell command: what a hostile .pkl does to pickle.load."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("payload", ["system", "eval", "object_array", "class"])
def test_pyskl_refuses_anything_that_is_not_plain_data(tmp_path, payload):
    marker = tmp_path / "ran"
    content = pyskl_content(classes=1, train_per_class=1, test_per_class=0)
    record = content["annotations"][0]
    if payload == "system":
        record["img_shape"] = RunsCode(marker)
    elif payload == "eval":
        record["label"] = eval  # a builtin function
    elif payload == "object_array":
        record["keypoint"] = np.array([{"a": 1}, None], dtype=object)
    else:
        record["extra"] = SkeletonFormatError("x", None, "y")  # any class, even a harmless one
    path = dump(tmp_path / "evil.pkl", content)
    with pytest.raises(SkeletonFormatError) as err:
        read_pyskl(path)
    assert str(path) in str(err.value) and "plain data" in str(err.value)
    assert not marker.exists(), "pickled code ran"


@pytest.mark.parametrize("case, message", [
    ("truncated", "readable pickle"),
    ("not_a_dict", "'annotations' list"),
    ("no_keypoint", "keypoint"),
    ("bool_label", "class index"),
    ("duplicate", "every frame_dir once"),
    ("unknown_split_name", "annotated samples"),
])
def test_pyskl_malformed_files(tmp_path, case, message):
    content = pyskl_content(classes=2, train_per_class=1, test_per_class=1)
    records = content["annotations"]
    if case == "not_a_dict":
        content = {"anns": records}
    elif case == "no_keypoint":
        del records[1]["keypoint"]
    elif case == "bool_label":
        records[0]["label"] = True
    elif case == "duplicate":
        records[1]["frame_dir"] = records[0]["frame_dir"]
    elif case == "unknown_split_name":
        content["split"]["xsub_val"].append("nobody")
    path = dump(tmp_path / "bad.pkl", content)
    if case == "truncated":
        path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(SkeletonFormatError, match=message) as err:
        read_pyskl(path)
    assert err.value.path == str(path)


@pytest.mark.parametrize("case, message", [
    ("joints", r"\[M, T, 17, 2\]"),
    ("nan", "finite"),
    ("negative_score", "non-negative"),
    ("score_shape", "keypoint_score of shape"),
])
def test_pyskl_malformed_samples(tmp_path, case, message):
    content = pyskl_content(classes=1, train_per_class=1, test_per_class=0)
    record = content["annotations"][0]
    if case == "joints":
        record["keypoint"] = record["keypoint"][:, :, :16]
    elif case == "nan":
        record["keypoint"][0, 1, 2, 0] = np.nan
    elif case == "negative_score":
        record["keypoint_score"][0, 0, 0] = -0.5
    else:
        record["keypoint_score"] = record["keypoint_score"][:, :-1]
    annotations = read_pyskl(dump(tmp_path / "bad.pkl", content))
    with pytest.raises(SkeletonFormatError, match=message):
        list(annotations.sequences(COCO17))
    with pytest.raises(SkeletonFormatError, match=r"\[M, T, 25, 3\]"):  # a 2-D file read as 3-D NTU
        list(annotations.sequences(NTU))


def test_pyskl_sample_without_person_is_an_empty_sequence(tmp_path):
    content = pyskl_content(classes=1, train_per_class=1, test_per_class=0)
    record = content["annotations"][0]
    record["keypoint"], record["keypoint_score"] = np.zeros((0, 5, 17, 2), np.float32), np.zeros((0, 5, 17))
    with pytest.raises(EmptySequenceError):
        list(read_pyskl(dump(tmp_path / "empty.pkl", content)).sequences(COCO17))


def test_safe_load_reads_plain_values(tmp_path):
    value = {"a": [1, 2.5, None, True, "x", b"\x00\xff", (3, 4)], "b": np.arange(6, dtype=np.int16).reshape(2, 3).T}
    for protocol in (2, 5):
        loaded = safe_load(dump(tmp_path / "v.pkl", value, protocol))
        assert loaded["a"] == value["a"]
        np.testing.assert_array_equal(loaded["b"], value["b"])  # a Fortran-ordered view comes back the same


@pytest.mark.parametrize("one_hot", [True, False])
def test_ctrgcn_archive_without_its_padding(tmp_path, one_hot):
    path = write_ctrgcn(tmp_path / "ntu.npz", NTU, train=5, test=2, T=10, one_hot=one_hot)
    with np.load(path) as f:
        x = f["x_train"].reshape(5, 10, 2, 25, 3)
    train = read_ctrgcn(path, NTU, "train")
    assert len(train) == 5 and read_ctrgcn(path, NTU, "test").name(1) == "test_000001"
    for i, seq in enumerate(train):
        length = 10 - 1 - i % 3
        bodies = 1 if i % 2 == 0 else 2
        assert seq.coords.shape == (length, bodies, 25, 3)  # trailing empty frames and empty body slots removed
        np.testing.assert_array_equal(seq.coords, x[i, :length, :bodies])
        assert seq.label == i % 3 and seq.meta["name"] == f"train_{i:06d}"


@pytest.mark.parametrize("case, message", [
    ("missing", "x_test and y_test"),
    ("width", r"M \* 45"),
    ("not_one_hot", "one-hot"),
    ("negative_index", "class indices"),
])
def test_ctrgcn_malformed_archives(tmp_path, case, message):
    arrays = {"x_train": np.zeros((2, 4, 90), np.float32) + 1, "y_train": np.eye(2, dtype=np.float32),
              "x_test": np.ones((1, 4, 90), np.float32), "y_test": np.eye(2, dtype=np.float32)[:1]}
    if case == "missing":
        del arrays["y_test"]
    elif case == "width":
        arrays["x_test"] = np.ones((1, 4, 89), np.float32)
    elif case == "not_one_hot":
        arrays["y_test"] = np.array([[0.5, 0.5]], np.float32)
    else:
        arrays["y_test"] = np.array([-1])
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(SkeletonFormatError, match=message):
        read_ctrgcn(tmp_path / "bad.npz", SBU, "test")


def test_ctrgcn_empty_and_non_finite_samples(tmp_path):
    x = np.ones((2, 4, 45), np.float32)
    x[0] = 0.0
    x[1, 2, 5] = np.inf
    np.savez(tmp_path / "a.npz", x_train=x, y_train=np.array([0, 1]), x_test=x[:1], y_test=np.array([0]))
    split = read_ctrgcn(tmp_path / "a.npz", SBU, "train")
    with pytest.raises(EmptySequenceError):
        split.sequence(0)
    with pytest.raises(SkeletonFormatError, match="finite"):
        split.sequence(1)


def test_json_with_another_coordinate_key(tmp_path):
    """NW-UCLA's files (CTR-GCN's preprocessing) hold the joints under 'skeletons'."""
    skeletons = np.random.default_rng(0).normal(size=(6, 20, 3)).round(4)
    path = tmp_path / "a01_s01_e00_v01.json"
    path.write_text(json.dumps({"file_name": "a01_s01_e00_v01", "skeletons": skeletons.tolist(), "label": 1}))
    seq = read_sequence(path, KINECT_V1, key="skeletons")
    np.testing.assert_allclose(seq.coords[:, 0], skeletons.astype(np.float32))
    with pytest.raises(SkeletonFormatError) as err:
        read_sequence(path, KINECT_V1)
    message = str(err.value)
    assert "key 'coords'" in message and "'skeletons'" in message and "found 'coords'" not in message


def test_2d_keypoints_with_scores_in_every_array_format(tmp_path):
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 640, size=(5, 17, 2)).astype(np.float32)
    score = rng.uniform(0, 1, size=(5, 17)).astype(np.float32)
    np.save(tmp_path / "xys.npy", np.concatenate([xy, score[..., None]], -1))  # x, y, score per joint
    np.savez(tmp_path / "apart.npz", coords=xy, score=score)
    (tmp_path / "apart.json").write_text(json.dumps({"coords": xy.tolist(), "score": score.tolist()}))
    np.save(tmp_path / "plain.npy", xy)
    for name in ("xys.npy", "apart.npz", "apart.json"):
        coords, s = read_coordinates(tmp_path / name, COCO17)
        np.testing.assert_allclose(coords[:, 0], xy, rtol=1e-6)
        np.testing.assert_allclose(s[:, 0], score, rtol=1e-6)
    coords, s = read_coordinates(tmp_path / "plain.npy", COCO17)
    assert s is None and coords.shape == (5, 1, 17, 2)
    bad = np.concatenate([xy, -score[..., None]], -1)
    np.save(tmp_path / "negative.npy", bad)
    with pytest.raises(SkeletonFormatError, match="non-negative"):
        read_coordinates(tmp_path / "negative.npy", COCO17)
    np.save(tmp_path / "four.npy", np.zeros((5, 17, 4), np.float32))
    with pytest.raises(SkeletonFormatError, match="2-D layout 'coco17'"):
        read_coordinates(tmp_path / "four.npy", COCO17)
    np.savez(tmp_path / "both.npz", coords=np.concatenate([xy, score[..., None]], -1), score=score)
    with pytest.raises(SkeletonFormatError, match="either"):
        read_coordinates(tmp_path / "both.npz", COCO17)
