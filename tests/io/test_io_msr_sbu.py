"""Real bundled MSR Action3D and SBU data: counts of SOURCE.md and agreement with a line-by-line parser."""

from collections import Counter

import numpy as np
import pytest
from skel_io_helpers import DATA, MSR_FILES, SBU_FILES, reference_table

from skelgraph.io import EmptySequenceError, SkeletonFormatError, read_msr_action3d, read_msr_file_list, read_sbu
from skelgraph.io.msr import MSR_NAME
from skelgraph.skeleton import MSR_ACTION3D, SBU

MSR_EXCLUDED = {"a02_s03_e02", "a04_s03_e01", "a07_s04_e01", "a13_s09_e01", "a13_s09_e02", "a13_s09_e03",
                "a14_s03_e01", "a20_s07_e01", "a20_s07_e03", "a20_s10_e03"}


@pytest.fixture(scope="module")
def msr_all():
    out = {}
    for path in MSR_FILES:
        try:
            out[path.name[:11]] = read_msr_action3d(path, drop_zero_frames=False)
        except EmptySequenceError:
            out[path.name[:11]] = None
    return out


def test_msr_counts_match_source(msr_all):
    assert len(msr_all) == 567
    assert [k for k, v in msr_all.items() if v is None] == ["a13_s09_e02"]  # the all-zero file
    names = list(msr_all)
    per_action = Counter(int(MSR_NAME.match(n).group(1)) for n in names)
    assert per_action[1] == per_action[2] == per_action[3] == 27 and per_action[7] == 28 and per_action[15] == 20
    assert per_action[4] == per_action[5] == per_action[6] == 26
    assert all(per_action[a] == 30 for a in (8, 9, 10, 11, 12, 13, 14, 16, 17, 18, 19, 20))
    per_subject = Counter(int(MSR_NAME.match(n).group(2)) for n in names)
    assert [per_subject[s] for s in range(1, 11)] == [60, 59, 56, 38, 57, 58, 59, 60, 60, 60]
    frames = [v.num_frames for v in msr_all.values() if v is not None] + [38]
    assert min(frames) == 13 and max(frames) == 936 and sum(frames) == 23478
    assert msr_all["a13_s09_e03"].meta["zero_frames"] == 740
    assert msr_all["a20_s02_e01"].meta["zero_frames"] == 32
    listed = read_msr_file_list(DATA / "msr_action3d" / "raw" / "files_used_in_cvpr12_paper.txt")
    assert len(listed) == 557 and set(names) - set(listed) == MSR_EXCLUDED


def test_msr_metadata_and_zero_frame_dropping():
    path = next(p for p in MSR_FILES if p.name.startswith("a20_s02_e01"))
    kept = read_msr_action3d(path)
    full = read_msr_action3d(path, drop_zero_frames=False)
    assert kept.num_frames == 56 - 32 and full.num_frames == 56
    assert (kept.coords != 0).any(axis=(1, 2, 3)).all()
    assert kept.label == 19 and kept.meta["subject"] == 2 and kept.meta["repetition"] == 1
    assert kept.layout is MSR_ACTION3D and kept.meta["name"] == "a20_s02_e01"


@pytest.mark.parametrize("index", [0, 100, 250, 400, 566])
def test_msr_matches_reference(index):
    path = MSR_FILES[index]
    ref = reference_table(path)
    seq = read_msr_action3d(path, drop_zero_frames=False)
    np.testing.assert_array_equal(seq.coords, ref[:, :3].reshape(-1, 1, 20, 3).astype(np.float32))


def test_msr_head_is_highest_joint():
    seq = read_msr_action3d(MSR_FILES[0])
    y = seq.coords[0, 0, :, 1]
    assert int(np.argmax(y)) == MSR_ACTION3D.index("Head")


def test_msr_truncated_frame(tmp_path):
    lines = MSR_FILES[0].read_text().splitlines()[:-3]
    path = tmp_path / "a01_s01_e01_skeleton3D.txt"
    path.write_text("\n".join(lines))
    with pytest.raises(SkeletonFormatError, match="20 lines per frame") as info:
        read_msr_action3d(path)
    assert info.value.line == len(lines) + 1


def test_sbu_counts_match_source():
    seqs = [read_sbu(p) for p in SBU_FILES]
    assert len(seqs) == 282 and len({s.meta["set"] for s in seqs}) == 21
    per_class = Counter(s.label + 1 for s in seqs)
    assert [per_class[c] for c in range(1, 9)] == [42, 43, 40, 41, 18, 21, 39, 38]
    frames = [s.num_frames for s in seqs]
    assert min(frames) == 10 and max(frames) == 46 and sum(frames) == 6822
    per_set = Counter(s.meta["set"] for s in seqs)
    assert per_set["s01s02"] == 15 and per_set["s05s02"] == 12 and per_set["s06s03"] == 12
    assert all(s.coords.shape[1:] == (2, 15, 3) and s.layout is SBU for s in seqs)


@pytest.mark.parametrize("index", [0, 141, 281])
def test_sbu_matches_reference(index):
    path = SBU_FILES[index]
    ref = reference_table(path, ",")
    raw = ref[:, 1:].reshape(-1, 2, 15, 3)
    np.testing.assert_array_equal(read_sbu(path, units="normalised").coords, raw.astype(np.float32))
    seq = read_sbu(path)  # metres: the dataset README's de-normalisation, written out per axis
    expected = np.stack([(1280 - 2560 * raw[..., 0]) / 1000, (960 - 1920 * raw[..., 1]) / 1000,
                         1280 * raw[..., 2] / 1000], axis=-1).astype(np.float32)
    np.testing.assert_allclose(seq.coords, expected, rtol=0, atol=1e-6)
    parts = path.parts
    assert seq.meta["name"] == f"{parts[-4]}_{parts[-3]}_{parts[-2]}" and seq.label == int(parts[-3]) - 1


def test_sbu_bad_frame_numbers(tmp_path):
    lines = SBU_FILES[0].read_text().splitlines()
    lines[3] = "1" + lines[3][lines[3].index(","):]
    path = tmp_path / "skeleton_pos.txt"
    path.write_text("\n".join(lines))
    with pytest.raises(SkeletonFormatError, match="frame number above") as info:
        read_sbu(path)
    assert info.value.line == 4


def test_sbu_metres_make_bones_more_constant_and_heads_point_up():
    """In metres, every bone's length varies less over a sequence than in the anisotropic normalised units,
    and the head is above the torso (y up)."""
    ratios = []
    for path in SBU_FILES[::20]:
        metres, norm = read_sbu(path).coords, read_sbu(path, units="normalised").coords
        for a, b in (SBU.index(list(bone)) for bone in SBU.bones):
            cv = [np.std(n) / np.mean(n) for n in (np.linalg.norm(c[:, :, a] - c[:, :, b], axis=-1)
                                                   for c in (metres, norm))]
            ratios.append(cv[1] / cv[0])
        head, torso = SBU.index("Head"), SBU.index("Torso")
        assert (metres[:, :, head, 1] > metres[:, :, torso, 1]).mean() > 0.95
    assert np.median(ratios) > 1.2 and np.mean(ratios) > 1.5  # measured: 1.36 and 2.04


def test_sbu_units_are_checked():
    with pytest.raises(ValueError, match="units"):
        read_sbu(SBU_FILES[0], units="feet")
