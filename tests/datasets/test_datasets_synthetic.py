"""UTKinect, Florence 3D and the folder dataset on synthetic files (random joints) in the original formats."""

import numpy as np
import pytest
import torch
from skel_io_helpers import UTK_RECORDINGS, write_florence, write_utkinect

from skelgraph.datasets import Florence3D, RawDataMissingError, SkeletonFolder, UTKinect
from skelgraph.io import SkeletonFormatError
from skelgraph.skeleton import KINECT_V1, SBU


@pytest.fixture(scope="module")
def utk_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("utk")
    write_utkinect(root / "raw", {**UTK_RECORDINGS, "s03_e01": [("push", 1, 6), ("pull", 7, 12)]})
    return root


def test_utkinect_loso(utk_root):
    ds = UTKinect(utk_root, protocol="loso", fold=2, split="test", log=False)
    assert len(ds.folds) == 6 and ds.names == [ds.folds[2]]
    train = UTKinect(utk_root, protocol="loso", fold=2, split="train", log=False)
    assert len(train) == 5 and ds.folds[2] not in train.names
    assert [n for n, _ in ds.skipped] == ["s01_e01_carry"]
    assert ds.layout is KINECT_V1 and len(ds.class_names) == 10
    with pytest.raises(ValueError):
        UTKinect(utk_root, fold=6, log=False)


def test_utkinect_cross_subject(utk_root):
    train = UTKinect(utk_root, protocol="xsub", split="train", log=False)
    test = UTKinect(utk_root, protocol="xsub", split="test", log=False)
    assert set(train.meta("subject")[train.indices()].tolist()) == {1, 3}
    assert test.names == ["s02_e02_walk", "s02_e02_pickUp"]


def test_utkinect_reports_overlapping_clips(tmp_path):
    write_utkinect(tmp_path / "raw", {"s03_e01": [("push", 2, 12), ("throw", 4, 9)]}, nan_entry=False)
    with pytest.warns(UserWarning, match="1 pairs of labelled clips overlap"):
        ds = UTKinect(tmp_path, protocol="xsub", split="all", log=False)
    assert ds.overlaps == ["s03_e01: push [2, 12] contains throw [4, 9]"]
    assert sorted(ds.names) == ["s03_e01_push", "s03_e01_throw"], "both clips kept as labelled"


def test_florence_leave_one_actor_out(tmp_path):
    videos = [(v, 1 + v % 3, 1 + v % 9, 5 + v % 4) for v in range(1, 13)]
    (tmp_path / "raw").mkdir()
    write_florence(tmp_path / "raw" / "Florence_dataset_WorldCoordinates.txt", videos)
    for fold in range(3):
        test = Florence3D(tmp_path, fold=fold, split="test", log=False)
        train = Florence3D(tmp_path, fold=fold, split="train", log=False)
        assert len(test) == 4 and len(train) == 8
        assert (test.meta("subject")[test.indices()] == fold + 1).all()
    assert len(Florence3D.folds) == 10
    with pytest.raises(RawDataMissingError, match="Florence_dataset_WorldCoordinates.txt"):
        Florence3D(tmp_path / "none")


def test_folder_dataset(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for i, name in enumerate(["a", "b", "c", "d"]):
        arrays[name] = rng.normal(size=(5 + i, 15, 3)).astype(np.float32)
        np.save(tmp_path / f"{name}.npy", arrays[name])
    (tmp_path / "labels.csv").write_text(
        "name,label,split,subject\na,walk,train,1\nb,run,train,2\nc,walk,test,3\nd.npy,run,test,4\ne,run,test,5\n")
    ds = SkeletonFolder(tmp_path, SBU, split="train", log=False)
    assert ds.class_names == ("run", "walk") and ds.names == ["a", "b"]
    assert [int(d.y) for d in ds] == [1, 0] and [n for n, _ in ds.skipped] == ["e"]
    assert torch.equal(ds[0].x, torch.from_numpy(arrays["a"].transpose(1, 0, 2)))
    test = SkeletonFolder(tmp_path, "sbu", split="test", log=False)
    assert test.names == ["c", "d.npy"] and test.meta("subject")[test.indices()].tolist() == [3, 4]
    np.save(tmp_path / "a.npy", arrays["a"][:3])  # a changed file rebuilds the cache
    again = SkeletonFolder(tmp_path, SBU, split="train", log=False)
    assert again.processed_dir != ds.processed_dir and again[0].x.size(1) == 3
    (tmp_path / "classes.txt").write_text("walk\nrun\njump\n")
    named = SkeletonFolder(tmp_path, SBU, split="all", log=False)
    assert named.class_names == ("walk", "run", "jump") and int(named[0].y) == 0
    (tmp_path / "labels.csv").write_text("name,label\na,fly\n")
    with pytest.raises(SkeletonFormatError, match="line 2"):
        SkeletonFolder(tmp_path, SBU, log=False)
