"""Every model trains under bfloat16 autocast (what ``--amp`` does on a GPU; here on the CPU's autocast, the same
dtype rules for the custom autograd functions): the loss and every parameter gradient are finite, gradients keep
the parameters' float32, and the loss stays near the float32 loss. On an H200 the ARRN-LSTM and every GCA model
failed in backward before the custom functions handled the dtypes (``bench/results/epoch_cuda_amp.json``)."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.nn.arrn import ARRNLSTM
from skelgraph.nn.gca_lstm import GCALSTM, STLSTMClassifier, TwoStreamGCALSTM
from skelgraph.skeleton import NTU
from skelgraph.training.registry import build_transform, pipeline_spec

T = 6
MODELS = {
    "arrn": lambda: ARRNLSTM.from_paper("ntu", T=T, M=8, E=2, att_channels=8, lstm_sizes=(8, 8)),
    "gca": lambda: GCALSTM(NTU, 60, num_frames=T, hidden_channels=8),
    "gca2": lambda: TwoStreamGCALSTM(NTU, 60, num_frames=T, hidden_channels=8),
    "st_lstm": lambda: STLSTMClassifier(NTU, 60, head="local", num_frames=T, hidden_channels=8),
    "st_lstm_trust": lambda: STLSTMClassifier(NTU, 60, head="local", num_frames=T, hidden_channels=8,
                                              trust_gate=True),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_training_step_under_bfloat16_autocast(name):
    rng = np.random.default_rng(0)
    transform = build_transform(pipeline_spec("ntu", T), train=False)
    batch = Batch.from_data_list([
        transform(to_data(SkeletonSequence(rng.normal(size=(12, 1 + i % 2, 25, 3)).astype(np.float32), NTU,
                                           label=i)))
        for i in range(3)])  # synthetic NTU-shaped samples, one and two bodies
    torch.manual_seed(0)
    model = MODELS[name]()
    reference = float(model.training_loss(batch))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = model.training_loss(batch)
    loss.float().backward()
    assert torch.isfinite(loss)
    assert abs(float(loss) - reference) < 0.05 * abs(reference)
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    assert grads, "no parameter received a gradient"
    for n, g in grads.items():
        assert g.dtype == torch.float32, n
        assert torch.isfinite(g).all(), n
