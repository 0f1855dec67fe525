import numpy as np
import pytest
from skel_io_helpers import DATA, NTU_SAMPLES, reference_ntu

from skelgraph.io import (
    EmptySequenceError,
    MissingSkeletonError,
    NTURecording,
    SkeletonFormatError,
    parse_ntu_name,
    parse_ntu_skeleton,
    read_name_list,
    read_ntu_skeleton,
    select_bodies,
)

# SOURCE.md: frames and distinct bodies of the five bundled genuine samples.
EXPECTED = {
    "S001C001P001R001A011": (82, 1, 10),
    "S001C003P008R002A058": (70, 2, 57),
    "S002C001P003R001A003": (100, 1, 2),
    "S003C001P015R001A034": (71, 1, 33),
    "S004C002P003R001A017": (124, 1, 16),
}


def test_bundled_samples_counts_and_metadata():
    assert sorted(p.stem for p in NTU_SAMPLES) == sorted(EXPECTED)
    for path in NTU_SAMPLES:
        frames, bodies, label = EXPECTED[path.stem]
        rec = parse_ntu_skeleton(path)
        assert rec.num_frames == frames and len(rec.body_ids) == bodies
        assert rec.present.sum(1).tolist() == rec.bodies_per_frame.tolist()
        seq = read_ntu_skeleton(path)
        assert seq.coords.shape == (frames, bodies, 25, 3) and seq.label == label
        fields = parse_ntu_name(path.stem)
        assert {k: seq.meta[k] for k in ("setup", "camera", "subject", "repetition")} == {
            k: fields[k] for k in ("setup", "camera", "subject", "repetition")
        }
        assert seq.meta["raw_bodies"] == bodies and seq.meta["dropped_frames"] == 0


@pytest.mark.parametrize("path", NTU_SAMPLES, ids=lambda p: p.stem)
def test_parse_matches_line_by_line_reference(path):
    rec = parse_ntu_skeleton(path)
    ref = reference_ntu(path)
    assert rec.num_frames == len(ref)
    for t, bodies in enumerate(ref):
        assert rec.bodies_per_frame[t] == len(bodies)
        for body_id, xyz in bodies:
            b = rec.body_ids.index(body_id)
            assert rec.present[t, b]
            np.testing.assert_array_equal(rec.joints[t, b], xyz)


def test_two_person_sample_keeps_both_actors_main_actor_first():
    path = next(p for p in NTU_SAMPLES if p.stem.endswith("A058"))
    rec = parse_ntu_skeleton(path)
    seq = read_ntu_skeleton(path)
    motion = [np.var(rec.joints[rec.present[:, b], b].reshape(-1, 3), axis=0).sum() for b in range(2)]
    first = int(np.argmax(motion))
    np.testing.assert_array_equal(seq.coords[:, 0], rec.joints[:, first])
    assert read_ntu_skeleton(path, max_bodies=1).coords.shape == (70, 1, 25, 3)


def test_missing_lists_and_refusal():
    raw = DATA / "ntu_rgbd" / "raw"
    m60 = read_name_list(raw / "NTU_RGBD_samples_with_missing_skeletons.txt")
    m120 = read_name_list(raw / "NTU_RGBD120_samples_with_missing_skeletons.txt")
    assert len(m60) == 302 and len(m120) == 535 and set(m60) <= set(m120)
    assert read_name_list(raw / "statistics" / "ntu60" / "samples_with_missing_skeletons.txt") == m60
    available = read_name_list(raw / "statistics" / "ntu60" / "skes_available_name.txt")
    assert len(available) == 56578 and not set(available) & set(m60)
    assert {p.stem for p in NTU_SAMPLES} <= set(available)
    with pytest.raises(MissingSkeletonError, match="missing-skeleton"):
        read_ntu_skeleton(NTU_SAMPLES[0], missing={NTU_SAMPLES[0].stem})


def _body_block(body_id, xyz):
    lines = [f"{body_id} 0 1 1 1 1 0 0.1 0.1 2", "25"]
    lines += [f"{x:.4f} {y:.4f} {z:.4f} 1 1 1 1 0 0 0 0 2" for x, y, z in xyz]
    return lines


def _write_skeleton(path, frames):
    """frames: list of lists of (body_id, xyz [25, 3]); synthetic file in the .skeleton format."""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for body_id, xyz in bodies:
            lines += _body_block(body_id, xyz)
    path.write_text("\r\n".join(lines) + "\r\n")


def _person(rng, T, x0=0.0, upright=True, scale=0.3):
    """Synthetic upright (y-extent > x-extent) or lying skeletons moving randomly."""
    base = np.stack([rng.uniform(-0.1, 0.1, 25), np.linspace(-0.8, 0.8, 25), np.full(25, 3.0)], axis=1)
    if not upright:
        base = base[:, [1, 0, 2]]
    walk = np.cumsum(rng.normal(scale=scale / 10, size=(T, 1, 3)), axis=0)
    out = base[None] + walk + [x0, 0, 0]
    return out


def test_zero_body_frames_dropped_and_empty_file(tmp_path):
    rng = np.random.default_rng(0)
    p = _person(rng, 4)
    path = tmp_path / "S001C001P001R001A001.skeleton"
    _write_skeleton(path, [[], [("7", p[0])], [], [("7", p[1])]])
    seq = read_ntu_skeleton(path)
    assert seq.num_frames == 2 and seq.meta["dropped_frames"] == 2
    _write_skeleton(path, [[], []])
    with pytest.raises(EmptySequenceError, match="whole file"):
        read_ntu_skeleton(path)


def test_body_selection_rules(tmp_path):
    rng = np.random.default_rng(1)
    T = 40
    actor = _person(rng, T, scale=3.0)
    partner = _person(rng, T, x0=1.0, scale=1.0)
    ghost = _person(rng, 5, x0=2.0, scale=9.0)  # tracked for 5 <= 11 frames: length rule
    lying = _person(rng, T, x0=-1.0, upright=False, scale=9.0)  # not upright: spread rule
    switched = _person(rng, T, x0=1.0, scale=1.0)
    frames = []
    for t in range(T):
        bodies = [("1", actor[t]), ("3", lying[t])]
        # the partner's ID changes at frame 20: two IDs with disjoint spans, one actor
        bodies.append(("2", partner[t]) if t < 20 else ("4", switched[t]))
        if t < 5:
            bodies.append(("5", ghost[t]))
        frames.append(bodies)
    path = tmp_path / "S001C001P001R001A050.skeleton"
    _write_skeleton(path, frames)
    rec = parse_ntu_skeleton(path)
    assert rec.body_ids == ["1", "3", "2", "5", "4"]
    coords, info = select_bodies(rec)
    assert coords.shape == (T, 2, 25, 3) and info["raw_bodies"] == 5
    np.testing.assert_allclose(coords[:, 0], actor.astype(np.float32), atol=1e-4)
    np.testing.assert_allclose(coords[:20, 1], partner[:20].astype(np.float32), atol=1e-4)
    np.testing.assert_allclose(coords[20:, 1], switched[20:].astype(np.float32), atol=1e-4)
    # With the rules disabled the lying body has the most motion and becomes actor 1.
    loose, _ = select_bodies(rec, min_frames=0, max_noisy_fraction=2.0)
    np.testing.assert_allclose(loose[:, 0], lying.astype(np.float32), atol=1e-4)


def test_single_body_is_never_denoised_away():
    rng = np.random.default_rng(2)
    lying = _person(rng, 3, upright=False).astype(np.float32)
    rec = NTURecording.from_dense(["9"], lying[:, None], np.ones((3, 1), bool))
    coords, _ = select_bodies(rec)
    np.testing.assert_array_equal(coords[:, 0], lying)


@pytest.mark.parametrize(
    "edit, line, expected",
    [
        (lambda L: L.__setitem__(5, L[5].rsplit(" ", 1)[0]), 6, "12 whitespace-separated numbers"),
        (lambda L: L.__setitem__(6, L[6].replace(L[6].split()[1], "abc", 1)), 7, "a number in column 2"),
        (lambda L: L.__setitem__(7, L[7].replace(L[7].split()[0], "nan", 1)), 8, "a finite number"),
        (lambda L: L.__setitem__(3, "24"), 4, "the joint count 25"),
        (lambda L: L.__setitem__(2, "7 0 1"), 3, "10 whitespace-separated numbers"),
        (lambda L: L.__setitem__(1, "x"), 2, "the body count of frame 1"),
        (lambda L: L.append("5"), None, "the end of the file after"),
    ],
)
def test_errors_name_file_line_and_expectation(tmp_path, edit, line, expected):
    lines = NTU_SAMPLES[0].read_text().splitlines()
    edit(lines)
    path = tmp_path / "S001C001P001R001A011.skeleton"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SkeletonFormatError, match=expected) as info:
        parse_ntu_skeleton(path)
    assert info.value.path == str(path) and str(path) in str(info.value)
    if line is not None:
        assert info.value.line == line and f"line {line}:" in str(info.value)


def test_truncated_file_reports_end(tmp_path):
    data = NTU_SAMPLES[0].read_bytes()
    path = tmp_path / "S001C001P001R001A011.skeleton"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SkeletonFormatError, match="end of the file"):
        parse_ntu_skeleton(path)
