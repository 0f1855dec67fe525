"""UTKinect-Action3D, Florence 3D and the generic folder reader, on synthetic files (random joints) written in
exactly the documented formats: no copy of the first two datasets is available."""

import json

import numpy as np
import pytest
from skel_io_helpers import UTK_RECORDINGS, write_florence, write_utkinect

from skelgraph.io import (
    UTKINECT_ACTIONS,
    SkeletonFormatError,
    read_array,
    read_florence3d,
    read_label_file,
    read_sequence,
    read_utkinect,
    read_utkinect_joints,
    read_utkinect_labels,
    utkinect_overlaps,
)
from skelgraph.skeleton import FLORENCE_3D, KINECT_V1, SBU


def test_utkinect_labels_and_clips(tmp_path):
    written = write_utkinect(tmp_path, UTK_RECORDINGS)
    labels, skipped = read_utkinect_labels(tmp_path / "actionLabel.txt")
    assert labels == UTK_RECORDINGS
    assert len(skipped) == 1 and skipped[0].startswith("s01_e01_carry")
    clips, empty = read_utkinect(tmp_path / "joints" / "joints_s01_e01.txt", labels)
    assert empty == []
    frames, coords = written["s01_e01"]
    for clip, (action, start, end) in zip(clips, UTK_RECORDINGS["s01_e01"], strict=True):
        # plain reference: every row whose frame number is in [start, end], repeated numbers included
        rows = [coords[i] for i, f in enumerate(frames) if start <= f <= end]
        np.testing.assert_allclose(clip.coords[:, 0], np.array(rows, dtype=np.float32))
        assert clip.label == UTKINECT_ACTIONS.index(action) and clip.layout is KINECT_V1
        assert clip.meta["subject"] == 1 and clip.meta["repetition"] == 1
    assert clips[0].num_frames == 10  # frames 2..10 with both rows of the repeated frame 3


def test_utkinect_overlapping_ranges_are_listed():
    labels = {"s03_e01": [("push", 10, 40), ("throw", 15, 30), ("pull", 35, 50), ("walk", 60, 70)],
              "s01_e01": [("walk", 1, 5), ("sitDown", 5, 9)]}
    assert utkinect_overlaps(labels) == [
        "s03_e01: push [10, 40] contains throw [15, 30]",
        "s03_e01: push [10, 40] overlaps pull [35, 50]",
        "s01_e01: walk [1, 5] overlaps sitDown [5, 9]",
    ]
    assert utkinect_overlaps({"s01_e01": [("walk", 1, 5), ("sitDown", 6, 9)]}) == []


def test_utkinect_joints_repeated_frames_kept_raw(tmp_path):
    written = write_utkinect(tmp_path, UTK_RECORDINGS)
    frames, coords = read_utkinect_joints(tmp_path / "joints" / "joints_s02_e02.txt")
    np.testing.assert_array_equal(frames, written["s02_e02"][0])
    assert coords.shape == (len(frames), 20, 3)


def test_utkinect_empty_clip_reported(tmp_path):
    write_utkinect(tmp_path, {"s03_e01": [("walk", 1, 4)]}, nan_entry=False)  # frames 1..9
    with open(tmp_path / "actionLabel.txt", "a") as f:
        f.write("push: 500 600\n")
    labels, _ = read_utkinect_labels(tmp_path / "actionLabel.txt")
    clips, empty = read_utkinect(tmp_path / "joints" / "joints_s03_e01.txt", labels)
    assert len(clips) == 1 and len(empty) == 1 and "s03_e01_push" in empty[0]


@pytest.mark.parametrize(
    "text, line, expected",
    [
        ("walk: 1 2\n", 1, "a header 'sSS_eEE' before"),
        ("s01_e01\nfly: 1 2\n", 2, "an action among"),
        ("s01_e01\nwalk: 1 x\n", 2, "integer frame numbers"),
        ("s01_e01\nwalk: 9 2\n", 2, "start <= end"),
        ("s01_e01\nwalk 1 2\n", 2, "a header 'sSS_eEE' or an entry"),
        ("s01_e01\ns01_e01\n", 2, "seen only once"),
        ("s01_e01\nwalk: 1 2\nwalk: 3 4\n", 3, "one entry per action"),
    ],
)
def test_utkinect_label_errors(tmp_path, text, line, expected):
    path = tmp_path / "actionLabel.txt"
    path.write_text(text)
    with pytest.raises(SkeletonFormatError, match=expected) as info:
        read_utkinect_labels(path)
    assert info.value.line == line


def test_florence(tmp_path):
    videos = [(1, 1, 1, 8), (2, 1, 4, 12), (3, 2, 9, 10)]
    path = tmp_path / "Florence_dataset_WorldCoordinates.txt"
    written = write_florence(path, videos)
    seqs = read_florence3d(path)
    assert [s.meta["video"] for s in seqs] == [1, 2, 3]
    assert [s.label for s in seqs] == [0, 3, 8] and [s.meta["subject"] for s in seqs] == [1, 1, 2]
    for s in seqs:
        assert s.layout is FLORENCE_3D
        np.testing.assert_allclose(s.coords[:, 0], written[s.meta["video"]].astype(np.float32))


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda L: L.__setitem__(10, "1 1 1 " + L[10].split(" ", 3)[3]), "consecutive"),
        (lambda L: L.__setitem__(9, L[9].replace("2 1 4", "2 2 4", 1)), "stay the same"),
        (lambda L: L.__setitem__(0, L[0].replace("1 1 1", "1 1 10", 1)), "category in 1..9"),
    ],
)
def test_florence_errors(tmp_path, mutate, expected):
    path = tmp_path / "Florence_dataset_WorldCoordinates.txt"
    write_florence(path, [(1, 1, 1, 3), (2, 1, 4, 12), (3, 2, 9, 10)])
    lines = path.read_text().splitlines()
    mutate(lines)
    path.write_text("\n".join(lines))
    with pytest.raises(SkeletonFormatError, match=expected):
        read_florence3d(path)


@pytest.mark.parametrize("suffix", [".npy", ".npz", ".csv", ".json"])
@pytest.mark.parametrize("bodies", [1, 2])
def test_folder_formats_round_trip(tmp_path, suffix, bodies):
    rng = np.random.default_rng(bodies)
    coords = rng.normal(size=(6, bodies, 15, 3)).astype(np.float32).round(4)
    path = tmp_path / f"seq{suffix}"
    if suffix == ".npy":
        np.save(path, coords[:, 0] if bodies == 1 else coords)
    elif suffix == ".npz":
        np.savez(path, coords=coords)
    elif suffix == ".csv":
        header = ",".join(f"c{i}" for i in range(coords[0].size))
        rows = "\n".join(",".join(f"{v:.4f}" for v in frame.reshape(-1)) for frame in coords)
        path.write_text(header + "\n" + rows + "\n")
    else:
        path.write_text(json.dumps({"coords": coords.tolist()}))
    np.testing.assert_allclose(read_array(path, SBU), coords, atol=1e-6)
    seq = read_sequence(path, SBU, label=3, subject=2)
    assert seq.label == 3 and seq.meta["subject"] == 2 and seq.meta["name"] == "seq"


@pytest.mark.parametrize(
    "content, expected",
    [
        (np.zeros((4, 14, 3)), "shape"),
        (np.zeros((0, 15, 3)), "at least one frame"),
        (np.full((2, 15, 3), np.nan), "finite"),
        (np.array(["a"]), "numeric"),
    ],
)
def test_folder_bad_arrays(tmp_path, content, expected):
    path = tmp_path / "bad.npy"
    np.save(path, content)
    with pytest.raises(SkeletonFormatError, match=expected):
        read_array(path, SBU)


def test_folder_bad_csv_and_json(tmp_path):
    csv = tmp_path / "bad.csv"
    csv.write_text(",".join(["0"] * 45) + "\n" + ",".join(["0"] * 44) + "\n")
    with pytest.raises(SkeletonFormatError) as info:
        read_array(csv, SBU)
    assert info.value.line == 2
    js = tmp_path / "bad.json"
    js.write_text('{"coords": [[1, 2,')
    with pytest.raises(SkeletonFormatError, match="valid JSON"):
        read_array(js, SBU)
    with pytest.raises(SkeletonFormatError, match="ending in one of"):
        read_array(tmp_path / "x.txt", SBU)


def test_label_file(tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("name,label,split,subject\na,walk,train,1\nb,run,test,2\n")
    assert read_label_file(path) == [
        dict(name="a", label="walk", split="train", subject=1), dict(name="b", label="run", split="test", subject=2)
    ]
    for bad, line in [("name,label\na,1,2\n", 2), ("file,label\n", 1), ("name,label,subject\na,1,x\n", 2),
                      ("name,label\na,1\na,2\n", 3), ("name,label\n,1\n", 2)]:
        path.write_text(bad)
        with pytest.raises(SkeletonFormatError) as info:
            read_label_file(path)
        assert info.value.line == line
