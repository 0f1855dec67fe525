"""Datasets of pose-estimator data on generated (synthetic) files: a PYSKL annotation file with its splits and
scores (kept through the processed cache), a CTR-GCN archive, a folder of 2-D keypoint arrays with scores and one
of NW-UCLA-style JSON files; one entry point for all of them and the specs runs store to find them again."""

import json
import pickle

import numpy as np
import pytest
import torch
from pose_files import pyskl_content, write_ctrgcn, write_pyskl

from skelgraph.datasets import CTRGCNDataset, PYSKLDataset, SkeletonFolder, dataset_kind, dataset_spec, open_dataset
from skelgraph.io import pyskl_sequence, read_pyskl
from skelgraph.skeleton import COCO17, KINECT_V1, NTU
from skelgraph.training.registry import build_dataset


def test_pyskl_dataset_splits_scores_and_cache(tmp_path):
    content = pyskl_content()
    content["annotations"][0]["keypoint"] = np.zeros((0, 4, 17, 2), np.float32)  # nobody found
    content["annotations"][0]["keypoint_score"] = np.zeros((0, 4, 17), np.float32)
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps(content))
    cache = tmp_path / "cache"
    train = PYSKLDataset(path, "coco17", split="xsub_train", cache_dir=cache, log=False)
    test = PYSKLDataset(path, COCO17, split="xsub_val", cache_dir=cache, log=False)
    assert len(train) == 11 and len(test) == 6 and train.class_names == ("0", "1", "2")
    assert [n for n, _ in train.skipped] == [content["annotations"][0]["frame_dir"]]
    assert set(test.names) == set(content["split"]["xsub_val"])
    assert sorted(train.available_splits) == ["all", "xsub_train", "xsub_val"]
    records = read_pyskl(path).annotations
    reference = {r["frame_dir"]: pyskl_sequence(path, r, i, COCO17) for i, r in enumerate(records) if i}
    for data in (test[0], train[3]):
        seq = reference[data.name]
        T, M = seq.coords.shape[:2]
        assert data.x.shape == (M * 17, T, 2) and data.score.shape == (M * 17, T)
        torch.testing.assert_close(data.score, torch.from_numpy(seq.score.transpose(1, 2, 0).reshape(M * 17, T)))
    assert len(list(cache.glob("pyskldataset-*/data.pt"))) == 1  # both splits from one processed cache
    with pytest.raises(ValueError, match=r"xsub_train.*xsub_val"):
        PYSKLDataset(path, COCO17, split="xview_train", cache_dir=cache, log=False)
    named = PYSKLDataset(path, COCO17, split="all", cache_dir=cache, log=False, class_names=["a", "b", "c"])
    assert named.class_names == ("a", "b", "c") and len(named) == 17


def test_ctrgcn_dataset_and_the_entry_point(tmp_path):
    path = write_ctrgcn(tmp_path / "ntu.npz", NTU, train=5, test=2, T=8)
    train = open_dataset(path, NTU, "train", cache_dir=tmp_path / "c", log=False)
    test = CTRGCNDataset(path, NTU, "test", cache_dir=tmp_path / "c", log=False)
    assert isinstance(train, CTRGCNDataset) and len(train) == 5 and len(test) == 2
    assert test.names == ["test_000000", "test_000001"] and train.class_names == ("0", "1", "2")
    assert train[1].x.shape == (2 * 25, 8 - 1 - 1, 3) and train[0].x.shape[0] == 25  # padding removed
    assert dataset_kind(path) == "ctrgcn" and dataset_kind(tmp_path) == "folder"
    with pytest.raises(ValueError, match="PYSKL"):
        (tmp_path / "x.txt").write_text("1")
        dataset_kind(tmp_path / "x.txt")
    with pytest.raises(FileNotFoundError):
        dataset_kind(tmp_path / "nothing.pkl")


def test_folders_of_2d_keypoints_with_scores_and_of_json_with_another_key(tmp_path):
    rng = np.random.default_rng(0)
    xys = tmp_path / "xys"
    xys.mkdir()
    rows = ["name,label,split"]
    for k in range(4):
        frames = np.concatenate([rng.uniform(0, 640, (6, 17, 2)), rng.uniform(0, 1, (6, 17, 1))], -1)
        np.save(xys / f"clip{k}.npy", frames.astype(np.float32))
        rows.append(f"clip{k},{['wave', 'kick'][k % 2]},{'train' if k < 2 else 'test'}")
    (xys / "labels.csv").write_text("\n".join(rows) + "\n")
    ds = SkeletonFolder(xys, "coco17", split="test", log=False)
    assert ds.class_names == ("kick", "wave") and ds[0].x.shape == (17, 6, 2) and ds[0].score.shape == (17, 6)
    ucla = tmp_path / "ucla"
    ucla.mkdir()
    (ucla / "labels.csv").write_text("name,label\na01_s01_e00_v01,0\n")
    (ucla / "a01_s01_e00_v01.json").write_text(json.dumps({"skeletons": rng.normal(size=(5, 20, 3)).tolist()}))
    assert open_dataset(ucla, KINECT_V1, key="skeletons", log=False)[0].x.shape == (20, 5, 3)


def test_runs_find_their_data_again_from_the_stored_spec(tmp_path):
    path = write_pyskl(tmp_path / "data.pkl")
    spec = dataset_spec(path, "xsub_train", "xsub_val")
    assert spec == {"name": "pyskl", "path": str(path.resolve()), "train_split": "xsub_train",
                    "test_split": "xsub_val"}
    json.dumps(spec)  # plain data, as checkpoints keep it
    test = build_dataset(spec, split="test", layout=COCO17.to_dict(), log=False)
    assert isinstance(test, PYSKLDataset) and test.split == "xsub_val" and len(test) == 6
    with pytest.raises(ValueError, match="needs its layout"):
        build_dataset(spec, split="test")
