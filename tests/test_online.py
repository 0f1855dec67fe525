"""Online prediction: after every frame, the incremental ARRN-LSTM predictor gives exactly what the offline model
gives on the prefix (centring, view normalisation, velocity and scores included), with one frame of work per
step; the GCA sliding window gives what the offline model gives on the window. Generated (synthetic) skeletons."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.nn import ARRNLSTM, GCALSTM
from skelgraph.online import OnlinePredictor
from skelgraph.skeleton import COCO17, NTU
from skelgraph.training.registry import build_transform, pipeline_channels, pipeline_spec


def stream(layout, T=9, M=2, seed=0, scores=False):
    rng = np.random.default_rng(seed)
    coords = rng.normal(size=(T, M, layout.num_joints, layout.ndim)).astype(np.float32) + 1.5
    coords[:2, 0] = 0.0  # the first person appears in frame 3
    if M > 1:
        coords[4:6, 1] = 0.0  # the second leaves for two frames
    score = rng.uniform(0.1, 1, size=coords.shape[:3]).astype(np.float32) if scores else None
    return coords, score


def offline(model, spec, layout, coords, score, frames):
    """The offline model on the given frames (no frame sampling): the reference."""
    seq = SkeletonSequence(coords[frames], layout, score=None if score is None else score[frames])
    graph = build_transform(spec, resample=False)(to_data(seq))
    with torch.no_grad():
        return model(Batch.from_data_list([graph])).softmax(-1)[0]


def arrn(layout, spec, **kwargs):
    torch.manual_seed(0)
    return ARRNLSTM(num_joints=layout.num_joints, num_classes=4, in_channels=pipeline_channels(spec), T=8, M=6,
                    E=2, att_channels=5, lstm_sizes=(6, 5), **kwargs).eval()


@pytest.mark.parametrize("case", ["3d_view_velocity", "2d_scores", "joint_stream", "mean_readout",
                                  "sequence_centre", "sequence_centre_view"])
def test_incremental_arrn_equals_offline_on_every_prefix(case):
    if case == "2d_scores":
        layout, spec = COCO17, pipeline_spec(COCO17, 8, scale=0.5, score=True, velocity=True)
    elif case.startswith("sequence_centre"):  # every frame on the first frame's centre: the second person's,
        # because the first appears only in frame 3
        layout, spec = NTU, pipeline_spec(NTU, 8, view_normalize=case.endswith("view"), scale=0.7, velocity=True,
                                          center="sequence")
    else:
        layout, spec = NTU, pipeline_spec(NTU, 8, view_normalize=True, scale=0.7, velocity=True)
    model = arrn(layout, spec, streams=("joint",) if case == "joint_stream" else ("joint", "line"),
                 readout="mean" if case == "mean_readout" else "last_valid")
    model.set_alpha(0.3)
    coords, score = stream(layout, scores=case == "2d_scores")
    online = OnlinePredictor(model, spec, [f"c{k}" for k in range(4)], bodies=2)
    assert online.mode == "incremental"
    seen: list[int] = []
    model.streams["joint"].embed.register_forward_hook(lambda m, i, o: seen.append(i[0].size(1)))
    frames_per_push = []
    for t in range(len(coords)):
        seen.clear()
        got = online.push(coords[t], None if score is None else score[t])
        frames_per_push.append(sum(seen))
        want = offline(model, spec, layout, coords, score, list(range(t + 1)))
        torch.testing.assert_close(got, want, atol=2e-6, rtol=1e-5)
    # O(1): the streams' layers saw one frame per step, never the prefix again; with view normalisation, the
    # two frames before the first person (the second one was there) run again once, when the view is known.
    expected = [1] * len(coords)
    if spec["view_normalize"]:
        expected[2] = 3
    assert frames_per_push == expected
    assert online.top(2)[0][1] == float(got.max())


def test_incremental_stride_and_restart():
    spec = pipeline_spec(NTU, 8, scale=0.7, velocity=True)
    model = arrn(NTU, spec)
    coords, _ = stream(NTU, M=1)
    online = OnlinePredictor(model, spec, list("abcd"), stride=3)
    for t in range(len(coords)):
        got = online.push(coords[t, 0])  # a (J, C) frame: one body
    torch.testing.assert_close(got, offline(model, spec, NTU, coords, None, [0, 3, 6]), atol=2e-6, rtol=1e-5)
    online.reset()
    first = online.push(coords[4, 0])
    torch.testing.assert_close(first, offline(model, spec, NTU, coords, None, [4]), atol=2e-6, rtol=1e-5)


def test_gca_sliding_window_equals_offline_on_the_window():
    spec = pipeline_spec(COCO17, 6, scale=0.5)
    torch.manual_seed(0)
    model = GCALSTM(COCO17, 3, num_frames=6, in_channels=2, hidden_channels=4).eval()
    coords, _ = stream(COCO17, T=8, M=1)
    online = OnlinePredictor(model, spec, list("abc"), window=4)
    assert online.mode == "window" and "window=4" in repr(online)
    for t in range(len(coords)):
        got = online.push(coords[t])
        frames = list(range(max(0, t - 3), t + 1))
        seq = SkeletonSequence(coords[frames], COCO17)
        with torch.no_grad():
            want = model(Batch.from_data_list([build_transform(spec)(to_data(seq))])).softmax(-1)[0]
        torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match="no step method"):
        OnlinePredictor(model, spec, list("abc"), mode="incremental")


def test_frames_that_do_not_fit_are_refused():
    spec = pipeline_spec(COCO17, 6)
    online = OnlinePredictor(arrn(COCO17, spec), spec, list("abcd"))
    with pytest.raises(ValueError, match=r"\(17, 2\)"):
        online.push(np.zeros((18, 2)))
    with pytest.raises(ValueError, match="M <= 1"):
        online.push(np.zeros((2, 17, 2)))
    with pytest.raises(ValueError, match="NaN"):
        online.push(np.full((17, 2), np.nan))
    probs = online.push(np.ones((17, 3)))  # x, y, score
    assert probs.shape == (4,) and abs(float(probs.sum()) - 1) < 1e-5


def test_mean_centring_streams_only_through_windows():
    """``center="mean"`` needs the whole sequence: an ARRN-LSTM predictor then picks the window mode, which gives
    the offline model on the window (centred on the window's mean); asking for incremental mode is refused."""
    spec = pipeline_spec(NTU, 8, scale=0.7, velocity=True, center="mean")
    model = arrn(NTU, spec)
    coords, _ = stream(NTU, M=1)
    with pytest.raises(ValueError, match="center='mean'"):
        OnlinePredictor(model, spec, list("abcd"), mode="incremental")
    online = OnlinePredictor(model, spec, list("abcd"), window=4)
    assert online.mode == "window"
    for t in range(len(coords)):
        got = online.push(coords[t, 0])
    frames = list(range(len(coords) - 4, len(coords)))
    torch.testing.assert_close(got, offline(model, spec, NTU, coords[:, :1], None, frames), atol=2e-6, rtol=1e-5)

