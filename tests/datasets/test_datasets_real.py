"""Datasets on the real bundled data (MSR Action3D, SBU, NTU samples)."""

import hashlib
import os
import shutil
from collections import Counter

import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from skelgraph.data import to_data
from skelgraph.datasets import NTU60, NTU120, SBU, SBU_FOLDS, MSRAction3D, RawDataMissingError
from skelgraph.datasets.base import DATA_ENV, REPO_DATA, default_root
from skelgraph.datasets.msr import MSR_SUBSETS
from skelgraph.io import read_msr_action3d, read_ntu_skeleton, read_sbu
from skelgraph.skeleton import MSR_ACTION3D, NTU
from skelgraph.transforms import FixedLength


def _names(ds):
    return set(ds.names)


@pytest.mark.parametrize("subset, sizes", [("AS1", (114, 105)), ("AS2", (116, 112)), ("AS3", (111, 111))])
def test_msr_subsets_cross_subject(data_root, subset, sizes):
    train = MSRAction3D(data_root / "msr_action3d", subset=subset, split="train")
    test = MSRAction3D(data_root / "msr_action3d", subset=subset, split="test")
    assert (len(train), len(test)) == sizes  # 219 / 228 / 222 sequences of the 557-file protocol
    assert not _names(train) & _names(test)
    assert set(train.meta("subject")[train.indices()].tolist()) == {1, 3, 5, 7, 9}
    assert set(test.meta("subject")[test.indices()].tolist()) == {2, 4, 6, 8, 10}
    actions = MSR_SUBSETS[subset]
    assert len(train.class_names) == 8 and train.layout is MSR_ACTION3D
    for ds in (train, test):
        labels = torch.cat([d.y for d in ds])
        assert labels.min() >= 0 and labels.max() < 8
        for d in ds[:20]:
            assert int(d.name[1:3]) == actions[int(d.y)]


def test_msr_file_lists_and_skips(data_root):
    cvpr = MSRAction3D(data_root / "msr_action3d", subset="all", split="all")
    assert len(cvpr) == 557 and cvpr.skipped == [] and len(cvpr.class_names) == 20
    every = MSRAction3D(data_root / "msr_action3d", subset="all", split="all", file_list="all")
    assert len(every) == 566 and [n for n, _ in every.skipped] == ["a13_s09_e02"]
    assert "zero" in every.skipped[0][1]


def test_msr_graph_equals_reader(data_root):
    ds = MSRAction3D(data_root / "msr_action3d", subset="AS2", split="test")
    d = ds[3]
    seq = read_msr_action3d(data_root / "msr_action3d" / "raw" / "MSRAction3DSkeletonReal3D" /
                            f"{d.name}_skeleton3D.txt")
    ref = to_data(seq)
    assert torch.equal(d.x, ref.x) and torch.equal(d.edge_index, ref.edge_index)
    assert int(d.num_frames) == d.x.size(1) == seq.num_frames


def test_sbu_folds_partition_and_counts(data_root):
    seen = Counter()
    for k in range(len(SBU_FOLDS)):
        test = SBU(data_root / "sbu", fold=k, split="test")
        train = SBU(data_root / "sbu", fold=k, split="train")
        assert len(test) + len(train) == 282 and not _names(test) & _names(train)
        assert {n[:6] for n in test.names} == set(SBU_FOLDS[k])
        assert (test.meta("fold")[test.indices()] == k).all()
        seen.update(test.names)
    assert len(seen) == 282 and set(seen.values()) == {1}
    everything = SBU(data_root / "sbu", split="all")
    labels = Counter(int(d.y) for d in everything)
    assert [labels[c] for c in range(8)] == [42, 43, 40, 41, 18, 21, 39, 38]
    assert all(int(d.num_bodies) == 2 and d.x.size(0) == 30 for d in everything[:10])
    assert len(SBU.folds) == 5 and len(everything.class_names) == 8


def test_sbu_graph_equals_reader(data_root):
    ds = SBU(data_root / "sbu", split="all")
    d = ds[10]
    s, c, n = d.name.split("_")
    ref = to_data(read_sbu(data_root / "sbu" / "raw" / s / c / n / "skeleton_pos.txt"))
    assert torch.equal(d.x, ref.x) and int(d.y) == int(c) - 1


@pytest.mark.parametrize("cls, benchmark, train", [
    (NTU60, "xsub", {"S001C001P001R001A011", "S001C003P008R002A058", "S003C001P015R001A034"}),
    (NTU60, "xview", {"S001C003P008R002A058", "S004C002P003R001A017"}),
    (NTU120, "xsub", {"S001C001P001R001A011", "S001C003P008R002A058", "S003C001P015R001A034"}),
    (NTU120, "xset", {"S002C001P003R001A003", "S004C002P003R001A017"}),
])
def test_ntu_bundled_samples(data_root, cls, benchmark, train):
    tr = cls(data_root / "ntu_rgbd", benchmark=benchmark, split="train")
    te = cls(data_root / "ntu_rgbd", benchmark=benchmark, split="test")
    assert _names(tr) == train and len(tr) + len(te) == 5 and not _names(tr) & _names(te)
    assert tr.layout is NTU and len(tr.class_names) == cls.num_classes_total
    assert tr.skeleton_dir.endswith("samples")


def test_ntu_graphs_and_batching(data_root):
    ds = NTU60(data_root / "ntu_rgbd", split="all")
    frames = {d.name: (d.x.size(1), int(d.num_bodies)) for d in ds}
    assert frames == {"S001C001P001R001A011": (82, 1), "S001C003P008R002A058": (70, 2),
                      "S002C001P003R001A003": (100, 1), "S003C001P015R001A034": (71, 1),
                      "S004C002P003R001A017": (124, 1)}
    d = next(d for d in ds if d.name.endswith("A058"))
    ref = to_data(read_ntu_skeleton(data_root / "ntu_rgbd" / "raw" / "samples" / f"{d.name}.skeleton"))
    assert torch.equal(d.x, ref.x) and int(d.y) == 57 and ds.class_names[57] == "handshaking"
    fixed = NTU60(data_root / "ntu_rgbd", split="all", transform=FixedLength(16))
    batch = next(iter(DataLoader(fixed, batch_size=5)))
    assert batch.x.shape == (6 * 25, 16, 3) and batch.y.numel() == 5


def test_ntu_missing_list_honoured(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(REPO_DATA / "ntu_rgbd" / "raw" / "samples", raw / "nturgb+d_skeletons")
    listed = "S002C001P003R001A003"
    (raw / "NTU_RGBD_samples_with_missing_skeletons.txt").write_text(f"header line\n\n{listed}\n")
    (raw / "nturgb+d_skeletons" / "S018C001P050R001A061.skeleton").write_text("0\n")  # NTU 120 only: ignored
    ds = NTU60(tmp_path, split="all", log=False)
    assert len(ds) == 4 and listed not in ds.names
    assert [n for n, _ in ds.skipped] == [listed] and "missing-skeleton" in ds.skipped[0][1]
    assert ds.skeleton_dir.endswith("nturgb+d_skeletons")


def test_cache_rebuilt_when_raw_or_parameters_change(tmp_path):
    raw = tmp_path / "raw"
    shutil.copytree(REPO_DATA / "ntu_rgbd" / "raw" / "samples", raw / "samples")
    shutil.copy(REPO_DATA / "ntu_rgbd" / "raw" / "NTU_RGBD_samples_with_missing_skeletons.txt", raw)
    a = NTU60(tmp_path, split="all", log=False)
    assert NTU60(tmp_path, split="test", log=False).processed_dir == a.processed_dir  # splits share the cache
    one = NTU60(tmp_path, split="all", max_bodies=1, log=False)
    assert one.processed_dir != a.processed_dir and all(int(d.num_bodies) == 1 for d in one)
    fixed = NTU60(tmp_path, split="all", pre_transform=FixedLength(8), log=False)
    assert fixed.processed_dir != a.processed_dir and fixed[0].x.size(1) == 8
    victim = raw / "samples" / "S003C001P015R001A034.skeleton"
    victim.unlink()
    b = NTU60(tmp_path, split="all", log=False)
    assert b.processed_dir != a.processed_dir and len(b) == 4


def test_missing_raw_data_gives_instructions(tmp_path):
    with pytest.raises(RawDataMissingError, match="rose1.ntu.edu.sg.*nturgb\\+d_skeletons"):
        NTU120(tmp_path / "none")
    with pytest.raises(RawDataMissingError, match="MSRAction3DSkeletonReal3D"):
        MSRAction3D(tmp_path / "none")
    with pytest.raises(RawDataMissingError, match="s01s02"):
        SBU(tmp_path / "none")


def test_default_root_and_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert default_root("sbu") == str(REPO_DATA / "sbu")
    monkeypatch.setenv(DATA_ENV, str(tmp_path))
    assert default_root("sbu") == str(tmp_path / "sbu")
    with pytest.raises(RawDataMissingError, match=str(tmp_path)):
        SBU()


def test_bad_arguments(data_root):
    for make in (lambda: SBU(data_root / "sbu", fold=5), lambda: MSRAction3D(data_root / "msr_action3d", subset="AS4"),
                 lambda: NTU60(data_root / "ntu_rgbd", benchmark="xset"), lambda: SBU(data_root / "sbu", split="val")):
        with pytest.raises(ValueError):
            make()


def test_repository_checksums_still_valid():
    sums_files = sorted(REPO_DATA.rglob("SHA256SUMS"))
    assert len(sums_files) >= 3
    for sums in sums_files:
        for line in sums.read_text().splitlines():
            digest, rel = line.split(None, 1)
            path = sums.parent / rel.strip()
            assert hashlib.sha256(path.read_bytes()).hexdigest() == digest, path
    assert os.path.exists(REPO_DATA / "README.md")
    assert np.all([(REPO_DATA / d / "SOURCE.md").exists() for d in ("msr_action3d", "sbu", "ntu_rgbd")])
