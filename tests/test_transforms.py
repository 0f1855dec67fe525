import math

import numpy as np
import pytest
import torch
from torch_geometric.transforms import Compose

from skelgraph.data import SkeletonSequence, node_line_features, to_data
from skelgraph.skeleton import NTU, SBU
from skelgraph.transforms import (
    CenterJoints,
    FixedLength,
    GaussianNoise,
    LineFeatures,
    RandomRotation,
    RandomScale,
    StackBodies,
    ViewNormalize,
)


def graph(T=8, M=1, seed=0, absent=()):
    rng = np.random.default_rng(seed)
    coords = rng.normal(size=(T, M, 25, 3)).astype(np.float32) + np.array([0.5, 0.3, 3.0], dtype=np.float32)
    for m, t in absent:
        coords[t, m] = 0
    return to_data(SkeletonSequence(coords, NTU, label=1))


def test_center_puts_centre_at_origin():
    d = CenterJoints(NTU)(graph(M=2))
    x = d.x.view(2, 25, -1, 3)
    centre = x[0, NTU.center_index].mean(0)  # first body's centre, every frame
    torch.testing.assert_close(centre, torch.zeros_like(centre), atol=1e-5, rtol=0)


def test_center_keeps_relative_positions_and_absent_frames():
    raw = graph(M=2, absent=[(1, 2), (1, 3)])
    before = raw.x.clone().view(2, 25, -1, 3)
    d = CenterJoints(NTU)(raw)
    x = d.x.view(2, 25, -1, 3)
    assert (x[1, :, 2:4] == 0).all(), "absent body frames must stay zero"
    # Relative geometry between bodies unchanged in frames where both are present.
    torch.testing.assert_close(x[1, :, 5] - x[0, :, 5], before[1, :, 5] - before[0, :, 5])


def test_center_uses_second_body_when_first_absent():
    d = CenterJoints(NTU)(graph(M=2, absent=[(0, 1)]))
    x = d.x.view(2, 25, -1, 3)
    centre = x[1, NTU.center_index, 1].mean(0)
    torch.testing.assert_close(centre, torch.zeros(3), atol=1e-5, rtol=0)


def test_center_first_frame_only():
    raw = graph()
    before = raw.x.clone()
    d = CenterJoints(NTU, per_frame=False)(raw)
    shift = before - d.x
    assert torch.allclose(shift, shift[:1, :1].expand_as(shift), atol=1e-6)


def test_center_on_the_mean_centre_of_the_present_frames():
    """``per_frame=False, over="mean"``: one shift for the whole sequence, the mean of the per-frame centres (the
    centre joints' mean) over the frames where a body is present; absent frames stay zero."""
    raw = graph(T=6, absent=[(0, 2)])
    before = raw.x.clone()
    d = CenterJoints(NTU, per_frame=False, over="mean")(raw)
    bodies = before.view(25, 6, 3)
    centres = bodies[NTU.center_index].mean(0)  # [T, 3]
    present = [0, 1, 3, 4, 5]
    want = centres[present].mean(0)
    torch.testing.assert_close(d.x.view(25, 6, 3)[:, present], bodies[:, present] - want)
    assert (d.x.view(25, 6, 3)[:, 2] == 0).all()
    assert "over='mean'" in repr(CenterJoints(NTU, per_frame=False, over="mean"))
    with pytest.raises(ValueError, match="unknown over"):
        CenterJoints(NTU, over="median")


def test_coordinate_scale_matches_the_centring_it_is_for():
    """``coordinate_scale`` is 1 / std of the coordinates centred the way the pipeline centres them: per frame,
    or on the first frame's centre (which keeps the body's path, so it spreads wider here)."""
    from skelgraph.training.experiment import coordinate_scale

    samples = [graph(M=2, absent=[(0, 1)]), graph(), graph(M=2)]
    for s in samples:  # the bodies walk along x: 0.5 per frame
        walk = torch.zeros(1, s.x.size(1), 3)
        walk[0, :, 0] = 0.5 * torch.arange(s.x.size(1))
        s.x = torch.where(s.x != 0, s.x + walk, s.x)
    for per_frame in (True, False):
        x = torch.cat([CenterJoints(NTU, per_frame=per_frame)(s.clone()).x.reshape(-1, 3) for s in samples])
        values = x[(x != 0).any(-1)].double()
        want = 1 / values.std(unbiased=False)
        assert coordinate_scale(samples, NTU, per_frame=per_frame) == pytest.approx(float(want), rel=1e-9)
    assert coordinate_scale(samples, NTU, per_frame=False) < coordinate_scale(samples, NTU)
    x = torch.cat([CenterJoints(NTU, per_frame=False, over="mean")(s.clone()).x.reshape(-1, 3) for s in samples])
    want = 1 / x[(x != 0).any(-1)].double().std(unbiased=False)
    assert coordinate_scale(samples, NTU, per_frame=False, over="mean") == pytest.approx(float(want), rel=1e-9)


def test_view_normalize_axes():
    d = Compose([CenterJoints(NTU), ViewNormalize(NTU)])(graph())
    x = d.x.view(25, -1, 3)[:, 0]
    hip, spine, ls, rs = (x[NTU.index(n)] for n in NTU.view)
    up = spine - hip
    assert abs(up[0]) < 1e-5 and abs(up[2]) < 1e-5 and up[1] > 0
    across = rs - ls
    assert abs(across[2]) < 1e-5 and across[0] > 0


def test_rotation_preserves_distances():
    torch.manual_seed(0)
    d0 = graph()
    dist0 = torch.cdist(d0.x.transpose(0, 1), d0.x.transpose(0, 1))
    d = RandomRotation(45.0)(graph())
    dist = torch.cdist(d.x.transpose(0, 1), d.x.transpose(0, 1))
    torch.testing.assert_close(dist, dist0, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(d.x, d0.x)
    only_y = RandomRotation((0, 30, 0))(graph())
    torch.testing.assert_close(only_y.x[..., 1], d0.x[..., 1])


def test_scale():
    torch.manual_seed(0)
    d0 = graph()
    d = RandomScale((2.0, 2.0))(graph())
    torch.testing.assert_close(d.x, 2 * d0.x)


@pytest.mark.parametrize("n,T", [(5, 8), (8, 8), (20, 8)])
@pytest.mark.parametrize("mode", ["uniform", "random", "segment", "window"])
def test_fixed_length(n, T, mode):
    torch.manual_seed(1)
    d0 = graph(T=n)
    # tag each frame with its index to see which were kept
    d0.x[..., 0] = torch.arange(n, dtype=torch.float32) + 1
    d = FixedLength(T, mode)(d0.clone())
    assert d.x.shape == (25, T, 3)
    assert int(d.num_frames) == min(n, T)
    kept = d.x[0, :, 0]
    if n <= T:
        assert kept[:n].tolist() == list(range(1, n + 1))
        assert (d.x[:, n:] == 0).all()
    else:
        assert (kept[1:] > kept[:-1]).all(), "frames must keep temporal order"
        assert set(kept.long().tolist()) <= set(range(1, n + 1))
    if mode == "uniform" and n > T:
        again = FixedLength(T, mode)(d0.clone())
        assert torch.equal(again.x, d.x)
        assert kept[0] == 1 and kept[-1] == n


@pytest.mark.parametrize("n,T", [(9, 8), (20, 8), (41, 20)])
def test_fixed_length_window_keeps_consecutive_frames_from_every_possible_start(n, T):
    torch.manual_seed(5)
    d0 = graph(T=n)
    d0.x[..., 0] = torch.arange(n, dtype=torch.float32)
    starts = set()
    for _ in range(300):
        kept = FixedLength(T, "window")(d0.clone()).x[0, :, 0].long().tolist()
        assert kept == list(range(kept[0], kept[0] + T)), "T consecutive frames"
        starts.add(kept[0])
    assert starts == set(range(n - T + 1)), "every start that fits is drawn"


@pytest.mark.parametrize("n,T", [(9, 8), (20, 8), (41, 20), (100, 7)])
def test_fixed_length_segment_draws_one_frame_from_each_equal_segment(n, T):
    torch.manual_seed(4)
    d0 = graph(T=n)
    d0.x[..., 0] = torch.arange(n, dtype=torch.float32)
    seen = set()
    for _ in range(200):
        kept = FixedLength(T, "segment")(d0.clone()).x[0, :, 0].long().tolist()
        for k, frame in enumerate(kept):  # plain reference: segment k is frames [k n / T, (k + 1) n / T)
            assert (k * n) // T <= frame < ((k + 1) * n) // T
        seen.update(kept)
    assert seen == set(range(n))  # every frame of every segment can be drawn


@pytest.mark.parametrize("n,T,N", [(20, 8, 3), (60, 8, 5), (9, 8, 4), (100, 7, 10), (30, 1, 3), (41, 20, 1)])
def test_fixed_length_clips_take_each_window_at_the_clip_offset(n, T, N):
    d0 = graph(T=n)
    d0.x[..., 0] = torch.arange(n, dtype=torch.float32)
    clips = [FixedLength(T, "uniform", k, N)(d0.clone()).x[0, :, 0].long().tolist() for k in range(N)]
    s = (n - 1) / max(T - 1, 1)  # plain reference: window t of width s around frame t * s, offset (k + 0.5) / N
    for k, kept in enumerate(clips):
        assert kept == [min(max(round(t * s + ((k + 0.5) / N - 0.5) * s), 0), n - 1) for t in range(T)]
        assert all(a < b for a, b in zip(kept, kept[1:])), "frames must keep temporal order"
    if T > 1 and s / N >= 1:  # offsets a frame apart: other frames in every clip (T = 1: one window, half outside)
        assert len(set(map(tuple, clips))) == N
    # One clip is the evaluation's uniform sampling, bit for bit.
    assert torch.equal(FixedLength(T, "uniform", 0, 1)(d0.clone()).x, FixedLength(T)(d0.clone()).x)


def test_fixed_length_clips_of_a_short_sequence_keep_it_whole_and_bad_clips_are_refused():
    d0 = graph(T=5)
    for k in range(3):
        assert torch.equal(FixedLength(8, "uniform", k, 3)(d0.clone()).x, FixedLength(8)(d0.clone()).x)
    for kwargs in ({"clip": 3, "clips": 3}, {"clip": -1, "clips": 2}, {"clip": 0, "clips": 0}):
        with pytest.raises(ValueError, match="clip"):
            FixedLength(8, **kwargs)
    with pytest.raises(ValueError, match="deterministic"):
        FixedLength(8, "segment", 0, 2)
    assert repr(FixedLength(8, clip=1, clips=4)) == "FixedLength(T=8, mode='uniform', clip=1, clips=4)"


def test_fixed_length_random_varies():
    torch.manual_seed(2)
    d0 = graph(T=40)
    picks = {tuple(FixedLength(8, "random")(d0.clone()).x[0, :, 0].tolist()) for _ in range(5)}
    assert len(picks) > 1


def test_gaussian_noise_sigma_and_padding():
    torch.manual_seed(3)
    d0 = FixedLength(400)(graph(T=300))
    d = GaussianNoise(0.05)(d0.clone())
    diff = (d.x - d0.x)[:, :300]
    assert math.isclose(float(diff.std()), 0.05, rel_tol=0.05)
    assert abs(float(diff.mean())) < 0.005
    assert (d.x[:, 300:] == 0).all()
    with pytest.raises(ValueError):
        GaussianNoise(-1.0)
    # One standard deviation per axis (SBU's normalised axes have different units).
    sigma = (0.01, 0.1, 0.5)
    d = GaussianNoise(sigma)(d0.clone())
    diff = (d.x - d0.x)[:, :300]
    for axis, s in enumerate(sigma):
        assert math.isclose(float(diff[..., axis].std()), s, rel_tol=0.08)
    assert (d.x[:, 300:] == 0).all()
    with pytest.raises(ValueError, match="2 standard deviations for 3 channels"):
        GaussianNoise((0.1, 0.2))(d0.clone())


def test_line_features_transform():
    d = LineFeatures()(graph(M=2))
    assert d.x_line.shape == (50, 8, 72)
    torch.testing.assert_close(d.x_line, node_line_features(d.x, 25))
    r = LineFeatures(replace=True)(graph(M=2))
    assert r.x.shape == (50, 8, 72)


def test_compose_keeps_shapes_and_repr():
    torch.manual_seed(0)
    t = Compose([CenterJoints(NTU), ViewNormalize(NTU), FixedLength(10, "random"), RandomRotation(10),
                 RandomScale(), GaussianNoise(0.01), LineFeatures()])
    d = t(graph(T=30, M=2))
    assert d.x.shape == (50, 10, 3) and d.x_line.shape == (50, 10, 72)
    assert "FixedLength(T=10" in repr(t)


def test_scale_coordinates():
    from skelgraph.transforms import ScaleCoordinates

    d0 = graph()
    torch.testing.assert_close(ScaleCoordinates(4.0)(graph()).x, 4 * d0.x)
    assert "ScaleCoordinates(4)" == repr(ScaleCoordinates(4.0))
    with pytest.raises(ValueError):
        ScaleCoordinates(0.0)


def test_stack_bodies_puts_each_joints_bodies_side_by_side():
    d = graph(T=6, M=2, absent=[(1, 4)])
    x = d.x.clone().view(2, 25, 6, 3)
    s = StackBodies(2)(d)
    assert s.x.shape == (25, 6, 6) and s.num_nodes == 25 and int(s.num_bodies) == 1
    for j in range(25):  # plain reference: joint j's channels are [body 0 xyz, body 1 xyz]
        for t in range(6):
            assert torch.equal(s.x[j, t], torch.cat([x[0, j, t], x[1, j, t]]))
    assert torch.equal(s.x[:, 4, 3:], torch.zeros(25, 3))  # the absent frame of body 1 stays zero
    assert s.edge_index.max() < 25 and s.edge_index.size(1) == 25 * 24  # one skeleton's complete graph
    assert torch.equal(s.body, torch.zeros(25, dtype=torch.long))


def test_stack_bodies_zero_fills_a_missing_body_and_refuses_extra_ones():
    one = graph(T=5, M=1)
    x = one.x.clone()
    s = StackBodies(2)(one)
    assert torch.equal(s.x[..., :3], x) and torch.equal(s.x[..., 3:], torch.zeros_like(x))
    with pytest.raises(ValueError, match="3 bodies"):
        StackBodies(2)(graph(M=3))
    with pytest.raises(ValueError):
        StackBodies(0)


def test_stack_bodies_batches_and_feeds_a_six_channel_model():
    from torch_geometric.loader import DataLoader

    from skelgraph.nn import GCALSTM

    t = Compose([CenterJoints(NTU), FixedLength(8), StackBodies(2)])
    graphs = [t(graph(T=8, M=m, seed=m)) for m in (1, 2, 2)]
    batch = next(iter(DataLoader(graphs, batch_size=3)))
    assert batch.x.shape == (75, 8, 6)
    model = GCALSTM(NTU, 5, num_frames=8, in_channels=6, hidden_channels=8).eval()
    with torch.no_grad():
        together = model(batch)
        alone = torch.cat([model(g) for g in graphs])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-6)


def test_random_swap_bodies_reverses_body_order(make_sequence):
    from skelgraph.transforms import RandomSwapBodies

    data = to_data(make_sequence(T=4, M=2, layout=SBU))
    x = data.x.clone()
    swapped = RandomSwapBodies(p=1.0)(data.clone())
    J = SBU.num_joints
    assert torch.equal(swapped.x[:J], x[J:]) and torch.equal(swapped.x[J:], x[:J])
    assert torch.equal(RandomSwapBodies(p=0.0)(data.clone()).x, x)
    one = to_data(make_sequence(T=4, M=1, layout=SBU))
    assert torch.equal(RandomSwapBodies(p=1.0)(one.clone()).x, one.x)
    torch.manual_seed(0)
    flips = sum(not torch.equal(RandomSwapBodies(0.5)(data.clone()).x, x) for _ in range(200))
    assert 70 < flips < 130
    with pytest.raises(ValueError):
        RandomSwapBodies(1.5)


def test_add_velocity_matches_a_plain_loop(make_sequence):
    """Displacements since the previous frame, zero at frame 0, at padding and around absent bodies."""
    from skelgraph.transforms import AddVelocity

    data = FixedLength(8)(to_data(make_sequence(T=6, M=2, layout=SBU)))  # frames 6, 7 are padding
    J = SBU.num_joints
    data.x[J:, 2] = 0  # body 1 absent in frame 2
    pos = data.x.clone()
    out = AddVelocity()(data.clone())
    assert out.x.shape == (2 * J, 8, 6) and torch.equal(out.x[..., :3], pos)
    for node in range(2 * J):
        body = node // J
        for t in range(8):
            here = bool(pos[body * J : (body + 1) * J, t].any())
            before = t > 0 and bool(pos[body * J : (body + 1) * J, t - 1].any())
            expected = pos[node, t] - pos[node, t - 1] if (here and before and t < 6) else torch.zeros(3)
            torch.testing.assert_close(out.x[node, t, 3:], expected)


# ------------------------------------------------------------------------------- 2-D keypoints and scores
def pose_graph(T=8, M=2, seed=0, scores=True, absent=()):
    """Generated (synthetic) 2-D COCO keypoints in pixels, y down, with confidences; a missed joint sits at the
    image origin with score 0, as pose estimators report it."""
    from skelgraph.skeleton import COCO17

    rng = np.random.default_rng(seed)
    coords = (rng.normal(size=(T, M, 17, 2)) * 40 + np.array([320.0, 240.0])).astype(np.float32)
    score = rng.uniform(0.2, 1.0, size=(T, M, 17)).astype(np.float32)
    coords[1, 0, 11] = 0.0  # left hip missed in frame 1
    score[1, 0, 11] = 0.0
    for m, t in absent:
        coords[t, m], score[t, m] = 0, 0
    return to_data(SkeletonSequence(coords, COCO17, label=0, score=score if scores else None))


def test_score_weighted_centre_matches_a_plain_loop():
    from skelgraph.skeleton import COCO17

    raw = pose_graph(absent=[(0, 3)])
    x0, s0 = raw.x.clone().view(2, 17, -1, 2), raw.score.clone().view(2, 17, -1)
    d = CenterJoints(COCO17)(raw)
    idx = COCO17.index(list(COCO17.center))
    for t in range(x0.size(2)):
        m = 0 if (x0[0, :, t] != 0).any() else 1  # the first present body's centre
        w = s0[m, idx, t]
        centre = (w[:, None] * x0[m, idx, t]).sum(0) / w.sum()
        for body in range(2):
            expected = x0[body, :, t] - centre if (x0[body, :, t] != 0).any() else x0[body, :, t]
            torch.testing.assert_close(d.x.view(2, 17, -1, 2)[body, :, t], expected, atol=1e-3, rtol=1e-5)
    # The missed hip (score 0, at the origin) does not pull the centre of frame 1 towards the origin.
    assert float(d.score.sum()) == float(s0.sum()), "scores untouched"
    unweighted = CenterJoints(COCO17)(pose_graph(scores=False))
    assert not torch.allclose(unweighted.x.view(2, 17, -1, 2)[0, :, 1], d.x.view(2, 17, -1, 2)[0, :, 1])


def test_score_weighted_centre_falls_back_when_no_centre_joint_is_seen():
    from skelgraph.skeleton import COCO17

    raw = pose_graph(M=1)
    raw.score.view(17, -1)[COCO17.index(list(COCO17.center)), 2] = 0.0
    before = raw.x.clone().view(17, -1, 2)
    d = CenterJoints(COCO17)(raw)
    plain = before[COCO17.index(list(COCO17.center)), 2].mean(0)
    torch.testing.assert_close(d.x.view(17, -1, 2)[:, 2], before[:, 2] - plain)


def test_2d_rotations_turn_the_image_plane():
    torch.manual_seed(0)
    raw = pose_graph(M=1)
    before = raw.x.clone()
    d = RandomRotation((0, 0, 40))(raw)
    # A rotation about the origin: norms kept, one angle for every joint and frame, within the bound.
    torch.testing.assert_close(d.x.norm(dim=-1), before.norm(dim=-1))
    angle = torch.atan2(d.x[..., 1], d.x[..., 0]) - torch.atan2(before[..., 1], before[..., 0])
    angle = (torch.remainder(angle + math.pi, 2 * math.pi) - math.pi)[before.norm(dim=-1) > 0]  # a missed joint
    assert angle.std() < 1e-4 and abs(float(angle.mean())) <= math.radians(40) + 1e-5
    with pytest.raises(ValueError, match="2-D or 3-D"):
        RandomRotation(10)(type(raw)(x=torch.zeros(17, 4, 5), num_bodies=torch.tensor([1])))


def test_2d_view_normalize_puts_hip_to_spine_on_plus_y():
    from dataclasses import replace

    from skelgraph.skeleton import COCO17

    layout = replace(COCO17, name="coco17_view", view=("left_hip", "left_shoulder", "left_shoulder",
                                                       "right_shoulder"))
    raw = CenterJoints(layout)(pose_graph(M=1))
    before = raw.x.clone()
    d = ViewNormalize(layout)(raw)
    x = d.x.view(17, -1, 2)
    up = x[COCO17.index("left_shoulder"), 0] - x[COCO17.index("left_hip"), 0]
    assert abs(float(up[0])) < 1e-3 and float(up[1]) > 0
    torch.testing.assert_close(d.x.norm(dim=-1), before.norm(dim=-1))
    with pytest.raises(ValueError, match="view"):
        ViewNormalize(COCO17)  # COCO has no mid-hip or spine joint: no view joints


def test_2d_frame_sampling_padding_and_body_transforms_carry_the_scores():
    from skelgraph.transforms import AddVelocity, AppendScore, PerFrameGraphs, RandomSwapBodies

    d = pose_graph(T=10)
    x, s = d.x.clone(), d.score.clone()
    sampled = FixedLength(4)(d.clone())
    idx = torch.linspace(0, 9, 4).round().long()
    torch.testing.assert_close(sampled.x, x[:, idx])
    torch.testing.assert_close(sampled.score, s[:, idx])
    padded = FixedLength(12)(d.clone())
    assert padded.score.shape == (34, 12) and (padded.score[:, 10:] == 0).all()
    swapped = RandomSwapBodies(1.0)(d.clone())
    torch.testing.assert_close(swapped.score.view(2, 17, -1), s.view(2, 17, -1).flip(0))
    stacked = StackBodies(2)(d.clone())
    assert stacked.x.shape == (17, 10, 4) and stacked.score.shape == (17, 10, 2)
    torch.testing.assert_close(stacked.score[..., 1], s.view(2, 17, -1)[1])
    with_score = AppendScore()(AddVelocity()(d.clone()))
    assert with_score.x.shape == (34, 10, 5)  # x, y, dx, dy, score
    torch.testing.assert_close(with_score.x[..., 4], s)
    torch.testing.assert_close(with_score.x[..., :2], x)
    frames = PerFrameGraphs()(FixedLength(10)(d.clone()))
    assert frames.score.shape == (340,) and float(frames.score[10 * 3 + 4]) == float(s[3, 4])
    lines = LineFeatures()(d.clone())
    assert lines.x_line.shape == (34, 10, 2 * 16)  # C (J - 1) with C = 2
    torch.testing.assert_close(lines.x_line, node_line_features(x, 17))
    noisy = GaussianNoise((1.0, 2.0))(d.clone())
    assert noisy.x.shape == x.shape and torch.equal(noisy.score, s)
    with pytest.raises(ValueError, match="no confidence scores"):
        AppendScore()(pose_graph(scores=False))


def _savgol_reference(traj, present, window, order):
    """Plain loop: at each present frame, fit a degree-``order`` polynomial with numpy to the present frames of
    the window around it and evaluate it there (keep the value where fewer than ``order + 1`` are present)."""
    T, h = len(traj), window // 2
    out = traj.copy()
    for t in range(T):
        if not present[t]:
            continue
        ks = [k for k in range(-h, h + 1) if 0 <= t + k < T and present[t + k]]
        if len(ks) < order + 1:
            continue
        for c in range(traj.shape[1]):
            coef = np.polyfit(np.array(ks, float), np.array([traj[t + k, c] for k in ks], float), order)
            out[t, c] = np.polyval(coef, 0.0)
    return out


@pytest.mark.parametrize("window,order", [(5, 2), (7, 3), (3, 1)])
def test_smooth_time_matches_a_plain_polyfit_loop_with_ends_gaps_and_padding(window, order):
    from skelgraph.transforms import SmoothTime

    d = graph(T=12, M=2, seed=3, absent=[(1, 4), (1, 5), (0, 0)])
    d.num_frames = torch.tensor(10)  # frames 10-11 count as padding
    before = d.x.clone().double().view(2, 25, 12, 3).numpy()
    d.x = d.x.double()
    out = SmoothTime(window, order)(d).x.view(2, 25, 12, 3).numpy()
    for m in range(2):
        present = (before[m] != 0).any(axis=(0, 2))
        present[10:] = False
        for j in (0, 7, 24):
            ref = _savgol_reference(before[m, j], present, window, order)
            np.testing.assert_allclose(out[m, j], ref, atol=1e-9)
    assert (out[1, :, 4:6] == 0).all() and (out[0, :, 0] == 0).all()  # absent frames stay absent
    np.testing.assert_array_equal(out[:, :, 10:], before[:, :, 10:])  # padding untouched


def test_smooth_time_keeps_a_polynomial_of_its_order_exactly():
    from skelgraph.transforms import SmoothTime

    t = torch.arange(9, dtype=torch.float64)
    d = graph(T=9)
    d.x = (0.3 + 0.1 * t - 0.02 * t**2).view(1, 9, 1).expand(25, 9, 3).clone() + 1.0
    out = SmoothTime(5, 2)(d.clone()).x
    torch.testing.assert_close(out, d.x, atol=1e-12, rtol=0)
    with pytest.raises(ValueError, match="odd"):
        SmoothTime(4)


def test_uncross_legs_swaps_back_exactly_the_crossed_frames_and_their_scores():
    from skelgraph.skeleton import MSR_ACTION3D
    from skelgraph.transforms import UncrossLegs

    J = MSR_ACTION3D.joints
    coords = np.zeros((6, 1, 20, 3), np.float32)
    rng = np.random.default_rng(0)
    coords[:] = rng.normal(scale=0.02, size=coords.shape)
    for name, x in [("HipLeft", 0.15), ("HipRight", -0.15), ("KneeLeft", 0.15), ("KneeRight", -0.15),
                    ("AnkleLeft", 0.16), ("AnkleRight", -0.16), ("FootLeft", 0.17), ("FootRight", -0.17)]:
        coords[:, 0, J.index(name), 0] += x
    coords[..., 2] += 2.5
    crossed = [1, 4]
    legs = [(J.index(f"{p}Left"), J.index(f"{p}Right")) for p in ("Knee", "Ankle", "Foot")]
    truth = coords.copy()
    for t in crossed:
        for a, b in legs:
            coords[t, 0, [a, b]] = coords[t, 0, [b, a]]
    seq = SkeletonSequence(coords, MSR_ACTION3D, label=0, score=np.tile(np.arange(20, dtype=np.float32), (6, 1, 1)))
    d = UncrossLegs(MSR_ACTION3D)(to_data(seq))
    np.testing.assert_array_equal(d.x.view(20, 6, 3).permute(1, 0, 2).numpy(), truth[:, 0])
    score = d.score.view(20, 6).T.numpy()
    for t in range(6):
        expect = np.arange(20, dtype=np.float32)
        if t in crossed:
            for a, b in legs:
                expect[[a, b]] = expect[[b, a]]
        np.testing.assert_array_equal(score[t], expect)
    # Uncrossed data is a fixed point.
    again = UncrossLegs(MSR_ACTION3D)(d.clone())
    assert torch.equal(again.x, d.x)


def test_uncross_legs_on_a_real_swapped_msr_sequence():
    from pathlib import Path

    from skelgraph.io.msr import read_msr_action3d
    from skelgraph.skeleton import MSR_ACTION3D
    from skelgraph.transforms import UncrossLegs

    path = Path(__file__).resolve().parents[1] / "datasets/msr_action3d/raw/MSRAction3DSkeletonReal3D"
    seq = read_msr_action3d(path / "a02_s02_e01_skeleton3D.txt")  # legs crossed in most frames (subject 2)
    J = MSR_ACTION3D.joints

    def crossed(x):  # x [T, 20, 3]
        axis = x[:, J.index("HipLeft")] - x[:, J.index("HipRight")]
        return (((x[:, J.index("KneeLeft")] - x[:, J.index("KneeRight")]) * axis).sum(-1) < 0).float().mean()

    x0 = torch.from_numpy(seq.coords[:, 0])
    assert crossed(x0) > 0.5
    d = UncrossLegs(MSR_ACTION3D)(to_data(seq))
    assert crossed(d.x.view(20, -1, 3).permute(1, 0, 2)) == 0
