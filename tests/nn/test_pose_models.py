"""Every model on 2-D keypoints and on 2-D keypoints with the confidence score as a channel: ``in_channels``
follows the pipeline, the line stream has ``C (J - 1)`` features, forward and backward run, and a model that
needs what a layout lacks says so. Generated (synthetic) keypoints."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.nn import ARRNLSTM, GCALSTM, STLSTMClassifier, TwoStreamGCALSTM
from skelgraph.skeleton import COCO17, MEDIAPIPE_HAND21
from skelgraph.training.registry import build_transform, pipeline_channels, pipeline_spec

T = 6
MODELS = {
    "arrn": lambda layout, C: ARRNLSTM(num_joints=layout.num_joints, num_classes=3, in_channels=C, T=T, M=4, E=1,
                                       att_channels=4, lstm_sizes=(4,)),
    "gca": lambda layout, C: GCALSTM(layout, 3, num_frames=T, in_channels=C, hidden_channels=4),
    "gca2": lambda layout, C: TwoStreamGCALSTM(layout, 3, num_frames=T, in_channels=C, hidden_channels=4),
    "st-lstm": lambda layout, C: STLSTMClassifier(layout, 3, num_frames=T, in_channels=C, hidden_channels=4),
}


def batch(spec, n=3, seed=0):
    rng = np.random.default_rng(seed)
    graphs = []
    for k in range(n):
        M = 1 + k % 2
        coords = (rng.normal(size=(T + k, M, 17, 2)) * 50 + 300).astype(np.float32)
        score = rng.uniform(0, 1, size=(T + k, M, 17)).astype(np.float32)
        graphs.append(build_transform(spec)(to_data(SkeletonSequence(coords, COCO17, label=k % 3, score=score))))
    return Batch.from_data_list(graphs)


@pytest.mark.parametrize("score", [False, True], ids=["xy", "xy+score"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_on_2d_keypoints(name, score):
    spec = pipeline_spec(COCO17, T, scale=0.01, score=score)
    C = pipeline_channels(spec)
    assert C == (3 if score else 2)
    data = batch(spec)
    assert data.x.shape[-1] == C
    torch.manual_seed(0)
    model = MODELS[name](COCO17, C)
    out = model(data)
    assert out.shape == (3, 3) and torch.isfinite(out).all()
    loss = model.training_loss(data)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert len(grads) > len(list(model.parameters())) // 2 and all(torch.isfinite(g).all() for g in grads)
    if name == "arrn":
        assert model.streams["joint"].embed.in_features == C
        assert model.streams["line"].embed.in_features == C * 16  # C (J - 1), ARRN-LSTM Eq. (2)
    with pytest.raises(ValueError, match="in_channels"):
        MODELS[name](COCO17, C + 1)(data)


def test_velocity_doubles_the_coordinates_only():
    spec = pipeline_spec(COCO17, T, velocity=True, score=True)
    assert pipeline_channels(spec) == 2 * 2 + 1 and pipeline_channels(pipeline_spec("ntu", T, velocity=True)) == 6
    assert batch(spec).x.shape[-1] == 5


def test_models_that_need_body_parts_say_so():
    with pytest.raises(ValueError, match="TwoStreamGCALSTM.*parts.*mediapipe_hand21"):
        TwoStreamGCALSTM(MEDIAPIPE_HAND21, 3, num_frames=T, in_channels=2, hidden_channels=4)
    GCALSTM(MEDIAPIPE_HAND21, 3, num_frames=T, in_channels=2, hidden_channels=4)  # needs no parts
