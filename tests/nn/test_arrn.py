import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch_geometric.data import Batch
from torch_geometric.transforms import Compose

from skelgraph.data import SkeletonSequence, node_line_features, to_data
from skelgraph.nn.arrn import ARRNLSTM, fuse_scores, select_alpha
from skelgraph.skeleton import MSR_ACTION3D, NTU
from skelgraph.transforms import CenterJoints, FixedLength, LineFeatures, StackBodies

MSR_DIR = Path(__file__).resolve().parents[2] / "datasets" / "msr_action3d" / "raw" / "MSRAction3DSkeletonReal3D"


def tiny_config(**overrides):
    """Keyword arguments of a tiny NTU-layout ARRN-LSTM."""
    kw = dict(num_classes=4, T=6, M=6, E=2, att_channels=8, lstm_sizes=(10, 7, 9))
    kw.update(overrides)
    return kw


def make_batch(make_sequence, bodies=(1, 2, 1), T=6, lengths=None):
    graphs = []
    for k, m in enumerate(bodies):
        data = to_data(make_sequence(T=T, M=m, seed=k, label=k % 4))
        if lengths is not None:
            data = FixedLength(T)(_truncate(data, lengths[k]))
        graphs.append(data)
    return Batch.from_data_list(graphs)


def _truncate(data, n):
    data.x = data.x[:, :n]
    data.num_frames = torch.tensor([n])
    return data


@pytest.mark.parametrize("streams", [("joint", "line"), ("joint",), ("line",)])
@pytest.mark.parametrize("mask", [True, False])
def test_shapes_one_and_two_streams_mixed_bodies(make_sequence, streams, mask):
    torch.manual_seed(0)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(streams=streams, mask=mask))
    batch = make_batch(make_sequence)
    out = model(batch)
    assert out.shape == (3, 4)
    assert set(model.stream_logits(batch)) == set(streams)
    if len(streams) == 2:
        torch.testing.assert_close(out.exp().sum(-1), torch.ones(3))  # log of fused probabilities
    assert set(model.mask_weights()) == (set(streams) if mask else set())
    assert all(w.shape == (25,) for w in model.mask_weights().values())


def test_multi_body_rule_and_batch_independence(make_sequence):
    torch.manual_seed(1)
    model = ARRNLSTM.from_paper("ntu", **tiny_config()).eval()
    batch = make_batch(make_sequence)
    logits = model.stream_logits(batch)
    # Sample 1 has two bodies: its logits are the mean of each body run alone.
    two = batch.get_example(1)
    per_body = []
    for m in range(2):
        one = two.clone()
        one.x = two.x[m * 25 : (m + 1) * 25]
        one.num_bodies = torch.tensor([1])
        per_body.append(model.stream_logits(Batch.from_data_list([one])))
    for name in ("joint", "line"):
        torch.testing.assert_close(logits[name][1], (per_body[0][name][0] + per_body[1][name][0]) / 2)
    # Each sample's score does not depend on the rest of the batch.
    out = model(batch)
    for k in range(3):
        torch.testing.assert_close(out[k], model(Batch.from_data_list([batch.get_example(k)]))[0])
    # A lone Data without a batch vector is one sample.
    torch.testing.assert_close(model(batch.get_example(0)), out[:1])


def test_readout_ignores_padding(make_sequence):
    torch.manual_seed(2)
    model = ARRNLSTM.from_paper("ntu", **tiny_config()).eval()
    batch = make_batch(make_sequence, lengths=(3, 6, 4))
    out = model(batch)
    changed = batch.clone()
    changed.x = changed.x.clone()
    padded = torch.arange(6)[None, :] >= changed.num_frames[changed.batch][:, None]  # [N, T]
    changed.x[padded] = 5.0
    torch.testing.assert_close(model(changed), out)
    # With full-length samples both readouts agree.
    full = make_batch(make_sequence)
    last = ARRNLSTM.from_paper("ntu", **tiny_config(readout="last")).eval()
    last.load_state_dict(model.state_dict())
    torch.testing.assert_close(last(full), model(full))


def test_mean_readout_averages_the_real_frames(make_sequence):
    """``readout="mean"`` classifies the LSTM outputs averaged over each sequence's real frames: checked against
    the mean written out per sequence, and blind to the padding."""
    torch.manual_seed(4)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(readout="mean", streams=("joint",))).eval()
    batch = make_batch(make_sequence, bodies=(1, 1, 1), lengths=(3, 6, 4))
    stream = model.streams["joint"]
    with torch.no_grad():
        q, _ = stream._lstm(stream._frames(batch.x))
        want = torch.stack([stream.classifier(q[k, :n].mean(0)) for k, n in enumerate(batch.num_frames.tolist())])
        torch.testing.assert_close(model(batch), want)
        changed = batch.clone()
        changed.x = changed.x.clone()
        changed.x[torch.arange(6)[None, :] >= changed.num_frames[changed.batch][:, None]] = 5.0
        torch.testing.assert_close(model(changed), want)


def test_concat_readout_is_one_fc_over_all_frames(make_sequence):
    """``readout="concat"`` (Eq. 11 read literally): the classifier reads the T outputs side by side, padding frames
    included, checked against the product written out; other lengths and online steps are refused."""
    torch.manual_seed(5)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(readout="concat", streams=("joint",))).eval()
    batch = make_batch(make_sequence, bodies=(1, 1, 1), lengths=(3, 6, 4))
    stream = model.streams["joint"]
    assert stream.classifier.in_features == 6 * 9
    with torch.no_grad():
        q, _ = stream._lstm(stream._frames(batch.x))  # [3, 6, 9]
        W, b = stream.classifier.weight, stream.classifier.bias
        want = torch.stack([sum(W[:, t * 9:(t + 1) * 9] @ q[k, t] for t in range(6)) + b for k in range(3)])
        torch.testing.assert_close(model(batch), want)
        changed = batch.clone()
        changed.x = changed.x.clone()
        changed.x[torch.arange(6)[None, :] >= changed.num_frames[changed.batch][:, None]] = 5.0
        assert not torch.allclose(model(changed), want), "the padding reaches the classifier, as Eq. 11 reads"
    short = make_batch(make_sequence, bodies=(1,), T=5)
    with pytest.raises(ValueError, match="exactly T = 6 frames"):
        model(short)
    with pytest.raises(ValueError, match="online inference"):
        model.step(short)


def test_line_channels_take_the_offsets_of_the_leading_features(make_sequence):
    """``line_channels=3`` on 6-feature joints (positions, then velocities) equals the same weights on the
    positions alone: the line stream never sees the velocity differences, the joint stream sees everything."""
    torch.manual_seed(6)
    batch = make_batch(make_sequence)
    six = batch.clone()
    six.x = torch.cat([batch.x, torch.randn_like(batch.x)], dim=-1)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(in_channels=6, line_channels=3))
    assert model.streams["line"].embed.in_features == 3 * 24
    three = ARRNLSTM.from_paper("ntu", **tiny_config(in_channels=3, streams=("line",)))
    three.streams["line"].load_state_dict(model.streams["line"].state_dict())
    torch.testing.assert_close(model.stream_logits(six)["line"], three.stream_logits(batch)["line"])
    with_lines = six.clone()
    with_lines.x_line = node_line_features(six.x, 25)  # all 6 features: not what this model reads
    with pytest.raises(ValueError, match="x_line has 144 features per node, expected 72"):
        model(with_lines)
    with pytest.raises(ValueError, match="line_channels"):
        ARRNLSTM(num_joints=25, num_classes=3, in_channels=3, line_channels=4)


def test_node_linear_is_one_fc_per_joint_and_the_per_joint_embedding_uses_it(make_sequence):
    """``NodeLinear`` equals each joint's own ``W_j x + b_j`` written out node by node; ``embedding="per_joint"``
    puts it in front of every stream's RRN."""
    from skelgraph.nn.arrn import NodeLinear

    torch.manual_seed(9)
    layer = NodeLinear(4, 3, 5)
    x = torch.randn(2 * 4, 6, 3)  # two bodies of 4 joints, 6 frames
    want = torch.stack([x[n] @ layer.weight[n % 4].T + layer.bias[n % 4] for n in range(8)])
    torch.testing.assert_close(layer(x), want)
    assert not torch.allclose(layer.weight[0], layer.weight[1])
    model = ARRNLSTM.from_paper("ntu", **tiny_config(embedding="per_joint"))
    assert isinstance(model.streams["joint"].embed, NodeLinear) and model.streams["line"].embed.in_features == 72
    out = model(make_batch(make_sequence))
    assert out.shape == (3, 4) and torch.isfinite(out).all()
    with pytest.raises(ValueError, match="embedding"):
        ARRNLSTM(num_joints=25, num_classes=3, embedding="per_frame")


def test_fixed_line_slots_read_eq2_literally(make_sequence):
    """``line_slots="fixed"``: the line of joint ``i`` holds ``c_i - c_j`` in slot ``j`` for every ``j``, zero at
    ``j = i`` (``C J`` wide), against the offsets written out; the default leaves ``j = i`` out (``C (J - 1)``)."""
    from skelgraph.data import line_features

    joints = torch.randn(2, 5, 4, 3)  # [..., J = 4, C = 3]
    fixed = line_features(joints, fixed_slots=True).reshape(2, 5, 4, 4, 3)
    for i in range(4):
        for j in range(4):
            torch.testing.assert_close(fixed[..., i, j, :], joints[..., i, :] - joints[..., j, :])
    skip = line_features(joints).reshape(2, 5, 4, 3, 3)
    for i in range(4):
        others = [j for j in range(4) if j != i]
        torch.testing.assert_close(skip[..., i, :, :], fixed[..., i, others, :])
    model = ARRNLSTM.from_paper("ntu", **tiny_config(line_slots="fixed"))
    assert model.streams["line"].embed.in_features == 3 * 25
    batch = make_batch(make_sequence)
    with_lines = batch.clone()
    with_lines.x_line = node_line_features(batch.x, 25, fixed_slots=True)
    torch.testing.assert_close(model(with_lines), model(batch))
    with_lines.x_line = node_line_features(batch.x, 25)
    with pytest.raises(ValueError, match=r"expected 75 \(J x 3\)"):
        model(with_lines)


def test_per_node_attention_fc_is_one_shared_fc_whose_outputs_are_concatenated(make_sequence):
    """``attention_fc="per_node"``: frame t's LSTM input is ``(Fc(m_1 w_1), ..., Fc(m_J w_J))`` with one FC shared
    by the nodes, ``M -> att_channels // J``, against that product written out; the mask is not absorbed (scaling
    one node's mask entry changes only that node's slot)."""
    torch.manual_seed(10)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(attention_fc="per_node", att_channels=50,
                                                     streams=("joint",))).eval()
    stream = model.streams["joint"]
    assert stream.att.in_features == 6 and stream.att.out_features == 2 and stream.lstms[0].input_size == 50
    batch = make_batch(make_sequence, bodies=(1, 1, 1))
    with torch.no_grad():
        w = stream.rrn(stream.embed(batch.x), num_nodes_per_graph=25).reshape(3, 25, 6, 6)  # [S, J, T, M]
        w = w * stream.mask.view(1, 25, 1, 1)
        want = torch.cat([stream.att(w[:, j]) for j in range(25)], dim=-1)  # [S, T, 25 x 2]
        torch.testing.assert_close(stream._frames(batch.x), want)
        before = stream._frames(batch.x)
        stream.mask[3] = 2.0
        after = stream._frames(batch.x)
    changed = (after != before).any(0).any(0).nonzero().flatten().tolist()
    assert changed == [6, 7], "only node 3's slot moves"
    assert model(batch).shape == (3, 4)
    with pytest.raises(ValueError, match="att_channels >= num_joints"):
        ARRNLSTM(num_joints=25, num_classes=3, att_channels=8, attention_fc="per_node")


def test_softmax_mask_weighs_nodes_by_j_softmax_and_starts_as_the_unconstrained_mask(make_sequence):
    """``mask_norm="softmax"``: Eq. (9) with ``J softmax(m)`` written out; with ``m`` at ones it weighs every node 1,
    so the model then equals the unconstrained one with the same weights; the weights reported are the ones used."""
    torch.manual_seed(11)
    soft = ARRNLSTM.from_paper("ntu", **tiny_config(mask_norm="softmax", streams=("joint",))).eval()
    plain = ARRNLSTM.from_paper("ntu", **tiny_config(streams=("joint",))).eval()
    plain.load_state_dict(soft.state_dict())
    batch = make_batch(make_sequence, bodies=(1, 1))
    stream = soft.streams["joint"]
    with torch.no_grad():
        torch.testing.assert_close(soft(batch), plain(batch))
        stream.mask.copy_(torch.linspace(-1, 2, 25))
        want_weights = 25 * torch.exp(stream.mask) / torch.exp(stream.mask).sum()
        torch.testing.assert_close(soft.mask_weights()["joint"], want_weights)
        assert abs(float(want_weights.mean()) - 1) < 1e-6
        w = stream.rrn(stream.embed(batch.x), num_nodes_per_graph=25).reshape(2, 25, 6, 6)
        w = w * want_weights.view(1, 25, 1, 1)
        want = stream.att(w.permute(0, 2, 1, 3).flatten(2))
        torch.testing.assert_close(stream._frames(batch.x), want)
    with pytest.raises(ValueError, match="unknown mask_norm"):
        ARRNLSTM(num_joints=25, num_classes=3, mask_norm="sigmoid")
    with pytest.raises(ValueError, match="no mask"):
        ARRNLSTM(num_joints=25, num_classes=3, mask=False).streams["joint"].node_weights()


def test_rrn_init_message_relu_and_embedding_relu_reach_the_layers(make_sequence):
    """``rrn_init``, ``message_relu`` and ``embedding_relu`` against the stream's frames written out with the RRN's
    own options (the RRN itself is checked against a plain reference in test_rrn.py)."""
    torch.manual_seed(12)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(rrn_init="zeros", message_relu=True, embedding_relu=True,
                                                     streams=("line",))).eval()
    stream = model.streams["line"]
    assert (stream.rrn.initial, stream.rrn.last_relu) == ("zeros", True)
    batch = make_batch(make_sequence, bodies=(1, 1))
    feats = node_line_features(batch.x, 25)
    with torch.no_grad():
        v = stream.embed(feats).relu()
        w = stream.rrn(v, num_nodes_per_graph=25).reshape(2, 25, 6, 6) * stream.mask.view(1, 25, 1, 1)
        torch.testing.assert_close(stream._frames(feats), stream.att(w.permute(0, 2, 1, 3).flatten(2)))
        default = ARRNLSTM.from_paper("ntu", **tiny_config(streams=("line",))).eval()
        default.load_state_dict(model.state_dict())
        assert not torch.allclose(default(batch), model(batch)), "the options must change the model"
    with pytest.raises(ValueError, match="unknown rrn_init"):
        ARRNLSTM(num_joints=25, num_classes=3, rrn_init="random")


def test_edges_restrict_the_rrn_to_a_graph_and_all_pairs_give_the_complete_graph(make_sequence):
    """``edges``: the RRN runs over each skeleton's given edges in both directions, against the edge index written
    out per skeleton; every pair given as edges is the complete graph of the default (its fast path)."""
    torch.manual_seed(13)
    bones = [(NTU.index(a), NTU.index(b)) for a, b in NTU.bones]
    model = ARRNLSTM.from_paper("ntu", **tiny_config(edges=bones, streams=("joint",))).eval()
    stream = model.streams["joint"]
    batch = make_batch(make_sequence, bodies=(1, 2))  # three skeletons
    with torch.no_grad():
        v = stream.embed(batch.x)
        per_skeleton = [torch.tensor([[a + 25 * s, b + 25 * s] for a, b in bones] +
                                     [[b + 25 * s, a + 25 * s] for a, b in bones]).t() for s in range(3)]
        w = stream.rrn(v, torch.cat(per_skeleton, dim=1)).reshape(3, 25, 6, 6) * stream.mask.view(1, 25, 1, 1)
        torch.testing.assert_close(stream._frames(batch.x), stream.att(w.permute(0, 2, 1, 3).flatten(2)))
        everyone = [(i, j) for i in range(25) for j in range(i + 1, 25)]
        complete = ARRNLSTM.from_paper("ntu", **tiny_config(edges=everyone, streams=("joint",))).eval()
        default = ARRNLSTM.from_paper("ntu", **tiny_config(streams=("joint",))).eval()
        complete.load_state_dict(default.state_dict())
        torch.testing.assert_close(complete(batch), default(batch))
        assert not torch.allclose(model(batch), default(batch.clone()))
    with pytest.raises(ValueError, match="pairs of two different joint indices"):
        ARRNLSTM(num_joints=25, num_classes=3, edges=[(0, 25)])


def test_message_channels_set_the_message_mlp_width_alone():
    model = ARRNLSTM.from_paper("ntu", **tiny_config(message_channels=11))
    rrn = model.streams["joint"].rrn
    assert rrn.hidden_channels == 11 and [m.out_features for m in rrn.mlp] == [11, 11, 11]
    assert rrn.out_channels == 6  # M
    assert ARRNLSTM.from_paper("ntu", **tiny_config()).streams["line"].rrn.hidden_channels == 6


def test_mask_init_random_draws_a_vector_in_the_unit_interval():
    """``mask_init="random"`` starts each stream's mask as a uniform draw in [0, 1) and draws again on reset;
    ``"ones"`` (the default) starts and resets at ones."""
    torch.manual_seed(7)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(mask_init="random"))
    masks = {k: v.detach().clone() for k, v in model.mask_weights().items()}
    for mask in masks.values():
        assert mask.shape == (25,) and bool(((mask >= 0) & (mask < 1)).all()) and mask.std() > 0.1
    model.reset_parameters()
    for name, mask in model.mask_weights().items():
        assert bool(((mask >= 0) & (mask < 1)).all()) and not torch.equal(mask, masks[name])
    ones = ARRNLSTM.from_paper("ntu", **tiny_config())
    ones.reset_parameters()
    assert all(bool((m == 1).all()) for m in ones.mask_weights().values())
    with pytest.raises(ValueError, match="mask_init"):
        ARRNLSTM(num_joints=25, num_classes=3, mask_init="zeros")


def test_line_stream_reads_x_line_or_computes_it(make_sequence):
    torch.manual_seed(3)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(streams=("line",)))
    batch = make_batch(make_sequence)
    with_lines = batch.clone()
    with_lines.x_line = node_line_features(batch.x, 25)
    torch.testing.assert_close(model(with_lines), model(batch))
    shifted = with_lines.clone()
    shifted.x_line = shifted.x_line + 1
    assert not torch.allclose(model(shifted), model(batch))


def test_fusion_and_alpha(make_sequence):
    torch.manual_seed(4)
    model = ARRNLSTM.from_paper("ntu", **tiny_config())
    batch = make_batch(make_sequence)
    logits = model.stream_logits(batch)
    pj, pl = logits["joint"].softmax(-1), logits["line"].softmax(-1)
    for alpha in (0.0, 0.3, 1.0):
        model.set_alpha(alpha)
        torch.testing.assert_close(model(batch), (alpha * pj + (1 - alpha) * pl).log())  # Eq. (12)
    assert model.state_dict()["alpha"] == 1.0
    with pytest.raises(ValueError):
        model.set_alpha(1.5)


def test_select_alpha_picks_best_validation_accuracy():
    # Joint is confidently right on samples 0-1 and mildly wrong on 2-3; line the other way round.
    joint = torch.tensor([[4.0, 0.0], [0.0, 4.0], [0.0, 0.5], [0.5, 0.0]])
    line = torch.tensor([[0.0, 0.5], [0.5, 0.0], [4.0, 0.0], [0.0, 4.0]])
    y = torch.tensor([0, 1, 0, 1])
    alpha = select_alpha(joint, line, y)
    assert 0.0 < alpha < 1.0
    accuracy = (fuse_scores(joint, line, alpha).argmax(-1) == y).float().mean()
    assert accuracy == 1.0
    for extreme in (0.0, 1.0):
        assert (fuse_scores(joint, line, extreme).argmax(-1) == y).float().mean() == 0.5
    # Ties in accuracy go to the lower NLL: here both fuse to 100 % accuracy, alpha = 0.5 is the more confident.
    assert select_alpha(joint, line, y, candidates=[0.3, 0.5]) == 0.5


def test_training_loss_is_sum_of_stream_cross_entropies_and_reaches_every_parameter(make_sequence):
    torch.manual_seed(5)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(dropout=0.1))
    batch = make_batch(make_sequence)
    torch.manual_seed(6)
    loss = model.training_loss(batch)
    torch.manual_seed(6)
    logits = model.stream_logits(batch)
    torch.testing.assert_close(loss, F.cross_entropy(logits["joint"], batch.y) + F.cross_entropy(logits["line"],
                                                                                                   batch.y))
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_checkpointing_model_matches(make_sequence):
    torch.manual_seed(7)
    plain = ARRNLSTM.from_paper("ntu", **tiny_config())
    ckpt = ARRNLSTM.from_paper("ntu", **tiny_config(checkpoint=True))
    ckpt.load_state_dict(plain.state_dict())
    batch = make_batch(make_sequence)
    for model in (plain, ckpt):
        model.training_loss(batch).backward()
    for (name, p), q in zip(plain.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(q.grad, p.grad, msg=name)


def test_presets_and_config_errors():
    ntu = ARRNLSTM.from_paper("ntu").config
    assert (ntu.num_joints, ntu.num_classes, ntu.T, ntu.M, ntu.E) == (25, 60, 100, 50, 5)
    assert ntu.lstm_sizes == (512, 512, 512) and ntu.att_channels == 256 and ntu.message_layers == 3
    florence = ARRNLSTM.from_paper("florence", lstm_sizes=[8, 4, 8]).config  # lists (JSON) become tuples
    assert (florence.num_joints, florence.T, florence.M, florence.lstm_sizes) == (15, 25, 20, (8, 4, 8))
    model = ARRNLSTM.from_paper("msr", num_classes=8)
    msr = model.config
    assert (msr.num_joints, msr.num_classes, msr.T, msr.M, msr.lstm_sizes) == (20, 8, 20, 20, (512, 256, 512))
    assert model.num_classes == 8 and model.hparams["num_classes"] == 8
    assert model.streams["joint"].rrn.E == 5 and model.streams["line"].embed.in_features == 57
    assert repr(model).startswith("ARRNLSTM(num_joints=20, in_channels=3, num_classes=8, streams=('joint', 'line')")
    assert f"parameters={sum(p.numel() for p in model.parameters()):,}" in repr(model)
    # The same model from plain keyword arguments.
    same = ARRNLSTM(num_joints=20, num_classes=8, T=20, M=20, lstm_sizes=(512, 256, 512))
    assert same.hparams == model.hparams
    with pytest.raises(ValueError, match="unknown preset"):
        ARRNLSTM.from_paper("kinetics")
    with pytest.raises(ValueError, match="unknown ARRNLSTM arguments"):
        ARRNLSTM.from_paper("ntu", hidden=3)
    with pytest.raises(ValueError, match="streams"):
        ARRNLSTM(num_joints=25, num_classes=3, streams=("bones",))
    with pytest.raises(ValueError, match="readout"):
        ARRNLSTM(num_joints=25, num_classes=3, readout="max")


def test_reset_parameters_restores_a_fresh_model(make_sequence):
    model = ARRNLSTM.from_paper("ntu", **tiny_config())
    model.set_alpha(0.9)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)
    model.reset_parameters()
    for name, p in model.named_parameters():
        if name.endswith("mask"):
            assert torch.equal(p, torch.ones_like(p)), name
        else:
            assert not (p == 7.0).any(), name
    assert float(model.alpha) == 0.5
    assert torch.isfinite(model(make_batch(make_sequence))).all()


def test_loss_terms_are_the_parts_of_the_objective(make_sequence):
    model = ARRNLSTM.from_paper("ntu", **tiny_config()).eval()
    batch = make_batch(make_sequence)
    terms = model.loss_terms(batch)
    logits = model.stream_logits(batch)
    assert set(terms) == {"loss", "joint", "line", "fused"}
    for s in ("joint", "line"):
        torch.testing.assert_close(terms[s], F.cross_entropy(logits[s], batch.y))
        assert not terms[s].requires_grad
    torch.testing.assert_close(terms["loss"], terms["joint"] + terms["line"])
    torch.testing.assert_close(model.training_loss(batch), terms["loss"])
    # "fused" is what the validation loss of the model's scores measures.
    torch.testing.assert_close(terms["fused"], F.nll_loss(model(batch), batch.y))
    single = ARRNLSTM.from_paper("ntu", **tiny_config(streams=("joint",)))
    assert set(single.loss_terms(batch)) == {"loss", "joint"}


def test_fused_objective_trains_the_fused_prediction(make_sequence):
    """``objective="fused"``: the training loss is the NLL of Eq. (12)'s fused prediction (what the model's
    scores give), its gradient reaches both streams, and the per-stream terms stay detached for the logs; with
    one stream nothing changes; unknown objectives are refused."""
    torch.manual_seed(8)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(objective="fused"))
    batch = make_batch(make_sequence)
    terms = model.loss_terms(batch)
    torch.testing.assert_close(terms["loss"], F.nll_loss(model(batch), batch.y))
    torch.testing.assert_close(terms["fused"], terms["loss"].detach())
    assert terms["loss"].requires_grad and not terms["fused"].requires_grad
    terms["loss"].backward()
    for name, stream in model.streams.items():
        assert stream.classifier.weight.grad is not None and stream.classifier.weight.grad.abs().sum() > 0, name
    streams = ARRNLSTM.from_paper("ntu", **tiny_config())
    streams.load_state_dict(model.state_dict())
    assert not torch.allclose(streams.loss_terms(batch)["loss"], terms["loss"])
    single = ARRNLSTM.from_paper("ntu", **tiny_config(objective="fused", streams=("joint",)))
    torch.testing.assert_close(single.training_loss(batch), F.cross_entropy(single(batch), batch.y))
    with pytest.raises(ValueError, match="objective"):
        ARRNLSTM(num_joints=25, num_classes=3, objective="max")


def test_stacked_bodies_and_input_checks(make_sequence):
    model = ARRNLSTM.from_paper("ntu", **tiny_config(in_channels=6))
    assert model.streams["line"].embed.in_features == 6 * 24
    data = to_data(make_sequence(T=6, M=2, seed=0, label=1))
    with pytest.raises(ValueError, match="in_channels=6 but x has 3 channels"):
        model(data)
    stacked = StackBodies(2)(data.clone())
    assert model(stacked).shape == (1, 4)
    flat = data.clone()
    flat.x = flat.x.reshape(-1, 3)  # per-frame nodes: [N * T, C]
    with pytest.raises(ValueError, match=r"\[num_nodes, T, C\]"):
        ARRNLSTM.from_paper("ntu", **tiny_config())(flat)


def load_msr(names):
    """A tiny reader for the bundled MSR Action3D Real3D files (x y z c per line, 20 lines per frame).

    Coordinates are centred, brought to T = 20 frames and divided by their overall standard deviation (about
    0.33 m): on raw metres the class differences are a few centimetres and a tiny run stalls at the class prior.
    """
    prepare = Compose([CenterJoints(MSR_ACTION3D), FixedLength(20)])
    graphs = []
    for name in names:
        raw = np.loadtxt(MSR_DIR / f"{name}_skeleton3D.txt").reshape(-1, 20, 4)
        seq = SkeletonSequence(raw[:, None, :, :3], MSR_ACTION3D, label=int(name[1:3]) - 1)
        graphs.append(prepare(to_data(seq)))
    scale = torch.cat([g.x for g in graphs]).std()
    for g in graphs:
        g.x = g.x / scale
    return Batch.from_data_list([LineFeatures()(g) for g in graphs])


@pytest.fixture
def one_thread():
    # Tiny tensors gain nothing from threads, and on a busy 2-core machine OpenMP waiting slows LSTMs 100-fold.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
def test_tiny_training_on_real_msr_reduces_loss(one_thread):
    # Four well separated actions: high arm wave, bend, forward kick, jogging; two subjects each.
    names = [f"a{a:02d}_s{s:02d}_e01" for a in (1, 13, 14, 16) for s in (1, 2)]
    batch = load_msr(names)
    assert batch.x.shape == (8 * 20, 20, 3) and batch.x_line.shape == (8 * 20, 20, 57)
    torch.manual_seed(0)
    model = ARRNLSTM.from_paper("msr", M=32, E=1, att_channels=64, lstm_sizes=(64,))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)  # Adam, as in Section 4.1 for MSR
    losses = []
    for _ in range(80):
        optimizer.zero_grad()
        loss = model.training_loss(batch)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # Learning the class prior alone gives 2 streams x ln(4) = 2.77; the model must go well below it.
    assert losses[-1] < 0.5 * 2 * math.log(4) < 0.3 * losses[0]
    model.eval()
    with torch.no_grad():
        assert (model(batch).argmax(-1) == batch.y).float().mean() >= 0.75
    assert not torch.allclose(model.mask_weights()["joint"], torch.ones(20))


def test_layout_sizes_follow_config():
    model = ARRNLSTM(num_joints=NTU.num_joints, num_classes=5, M=4, E=1, att_channels=6, lstm_sizes=(5,),
                     streams=("joint",))
    stream = model.streams["joint"]
    assert stream.att.in_features == 25 * 4 and len(stream.lstms) == 1 and stream.classifier.out_features == 5


def test_non_relational_stream_is_a_plain_lstm_stack_on_concatenated_joints(make_sequence):
    """``relational=False``: the LSTM stack reads each frame's joints side by side, then the last real frame is
    classified. Reference: torch's nn.LSTM layers with the same weights, one sample at a time, on the sample's own
    real frames only (the model sees them padded in a batch)."""
    torch.manual_seed(0)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(streams=("joint",), relational=False, lstm_sizes=(10, 7))).eval()
    stream = model.streams["joint"]
    assert stream.embed is None and stream.rrn is None and stream.mask is None and model.mask_weights() == {}
    assert stream.lstms[0].input_size == 25 * 3
    assert "relational=False" in repr(model)
    lengths = [6, 4, 5]
    batch = make_batch(make_sequence, bodies=(1, 1, 1), lengths=lengths)
    out = model(batch)
    for k, n in enumerate(lengths):
        x = batch.x[batch.batch == k][:, :n]  # [J, n, 3]
        q = x.permute(1, 0, 2).reshape(1, n, -1)
        for lstm in stream.lstms:
            q, _ = lstm(q)
        torch.testing.assert_close(out[k], stream.classifier(q[0, -1]), atol=1e-6, rtol=1e-5)
    # Every parameter it has gets a gradient; reset_parameters skips the absent parts.
    model.train()
    model.training_loss(batch).backward()
    assert all(p.grad is not None for p in model.parameters())
    model.reset_parameters()


def test_forget_bias_offsets_every_lstm_layers_forget_gate_and_survives_reset():
    """forget_bias adds to the forget-gate slice (torch's gate order i, f, g, o) of every layer's input bias, at
    construction and after reset_parameters; the other gates keep torch's initialisation range."""
    torch.manual_seed(0)
    model = ARRNLSTM.from_paper("ntu", **tiny_config(forget_bias=1.0))
    bound = max(1 / math.sqrt(h) for h in (10, 7, 9))
    for _ in range(2):
        for stream in model.streams.values():
            for lstm in stream.lstms:
                H, b = lstm.hidden_size, lstm.bias_ih_l0.detach()
                assert (b[H:2 * H] >= 1 - bound).all() and (b[H:2 * H] <= 1 + bound).all()
                others = torch.cat([b[:H], b[2 * H:]])
                assert others.abs().max() <= 1 / math.sqrt(H) + 1e-6
        model.reset_parameters()
    plain = ARRNLSTM.from_paper("ntu", **tiny_config())
    assert all(lstm.bias_ih_l0.abs().max() <= 1 / math.sqrt(lstm.hidden_size) + 1e-6
               for s in plain.streams.values() for lstm in s.lstms)
