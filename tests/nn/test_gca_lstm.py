from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from skelgraph.data import SkeletonSequence, to_data
from skelgraph.nn.gca_lstm import GCALSTM, InformativenessScore, STLSTMClassifier, TwoStreamGCALSTM
from skelgraph.skeleton import SBU

T, H, A, K = 5, 8, 6, 4
L = 2 * (SBU.num_joints - 1) + 1  # tree traversal chain


@pytest.fixture
def batch(make_sequence):
    seqs = [make_sequence(T=T, M=m, layout=SBU, label=i % K, seed=i) for i, m in enumerate([1, 2, 1])]
    return Batch.from_data_list([to_data(s) for s in seqs])


def _models(**extra):
    return {
        "gca": GCALSTM(SBU, K, num_frames=T, hidden_channels=H, **extra),
        "gca_mean_soft": GCALSTM(SBU, K, init="mean", attention="soft", hidden_channels=H, **extra),
        "gca_per_step": GCALSTM(SBU, K, num_frames=T, share_within=False, share_across=True, hidden_channels=H,
                                **extra),
        "two_stream": TwoStreamGCALSTM(SBU, K, num_frames=T, hidden_channels=H, **extra),
        "st_lstm": STLSTMClassifier(SBU, K, hidden_channels=H, **extra),
        "global1": STLSTMClassifier(SBU, K, head="global_fc", num_frames=T, hidden_channels=H, **extra),
        "global2": STLSTMClassifier(SBU, K, head="global_mean", hidden_channels=H, **extra),
        "st_lstm_trust": STLSTMClassifier(SBU, K, hidden_channels=H, trust_gate=True, **extra),
    }


def test_fine_scores_sum_to_one(batch):
    model = GCALSTM(SBU, K, num_frames=T, num_iterations=3, hidden_channels=H).eval()
    scores = model.attention(batch)
    assert len(scores) == 3
    for r in scores:
        assert r.shape == (4, L, T) and (r > 0).all()
        torch.testing.assert_close(r.sum(dim=(1, 2)), torch.ones(4))
    for r in model.joint_attention(batch):
        assert r.shape == (4, SBU.num_joints, T)
        torch.testing.assert_close(r.sum(dim=(1, 2)), torch.ones(4))


def test_coarse_scores_sum_to_one_and_are_equal_within_a_part(batch):
    model = TwoStreamGCALSTM(SBU, K, num_frames=T, hidden_channels=H).eval()
    scores = model.attention(batch)
    for r in scores["coarse"]:
        assert r.shape == (4, 5, T)
        torch.testing.assert_close(r.sum(dim=(1, 2)), torch.ones(4))
    for r in scores["fine"]:
        torch.testing.assert_close(r.sum(dim=(1, 2)), torch.ones(4))
    # The gate the coarse stream's second layer sees: every chain position takes its part's score (Eq. (13)).
    h = model.encoder(batch.x)
    gate, r_parts = model.coarse.score(1, h, torch.randn(4, H))
    parts = SBU.part_index[SBU.chain("tree")]
    for k in range(L):
        torch.testing.assert_close(gate[:, k], r_parts[:, parts[k]])
    for r in model.joint_attention(batch)["coarse"]:
        for p in range(5):
            members = (SBU.part_index == p).nonzero().flatten()
            assert torch.equal(r[:, members], r[:, members[:1]].expand(-1, members.numel(), -1))


def _lstm(c_in):
    return 5 * H * c_in + 2 * 5 * H * H + 5 * H


@pytest.mark.parametrize("share_within", [True, False])
@pytest.mark.parametrize("share_across", [True, False])
@pytest.mark.parametrize("N", [1, 2, 3])
def test_parameter_counts_of_the_sharing_variants(share_within, share_across, N):
    model = GCALSTM(SBU, K, num_frames=T, num_iterations=N, share_within=share_within, share_across=share_across,
                    hidden_channels=H, attention_channels=A)
    scorer = A * 2 * H + A + A  # W_e2 (with bias) and W_e1
    if not share_within:
        scorer *= L * T
    expected = (
        _lstm(3)  # first layer
        + L * T * H * H + H  # feed-forward initialisation of IF(0)
        + _lstm(H)  # second layer
        + (1 if share_across else N) * scorer
        + N * (2 * H * H + H)  # W_F(n), never shared
        + H * K + K  # classifier
    )
    assert sum(p.numel() for p in model.parameters()) == expected
    assert sum(p.numel() for p in model.iteration_parameters(N)) == expected


def test_parameter_counts_of_other_models():
    soft = GCALSTM(SBU, K, init="mean", attention="soft", hidden_channels=H, attention_channels=A)
    assert sum(p.numel() for p in soft.parameters()) == _lstm(3) + 2 * (A * 2 * H + 2 * A + 2 * H * H + H) + H * K + K
    two = TwoStreamGCALSTM(SBU, K, num_frames=T, hidden_channels=H, attention_channels=A)
    stream = L * T * H * H + H + _lstm(H) + 2 * (A * 2 * H + 2 * A) + 2 * (2 * H * H + H) + H * K + K
    assert sum(p.numel() for p in two.parameters()) == _lstm(3) + 2 * stream
    baselines = {"local": 0, "global_fc": L * T * H * H + H, "global_mean": 0}
    for head, extra in baselines.items():
        model = STLSTMClassifier(SBU, K, head=head, num_frames=T, hidden_channels=H)
        assert sum(p.numel() for p in model.parameters()) == _lstm(3) + _lstm(H) + extra + H * K + K
    trusted = STLSTMClassifier(SBU, K, trust_gate=True, hidden_channels=H)
    assert sum(p.numel() for p in trusted.parameters()) == _lstm(3) + _lstm(H) + 2 * (2 * H * H + H) + H * K + K
    assert trusted.encoder.layer.trust_gate and trusted.layer.trust_gate


@pytest.mark.parametrize("name", list(_models()))
def test_batch_independence_and_body_averaging(name, batch, make_sequence):
    torch.manual_seed(0)
    model = _models()[name].eval()
    out = model(batch)
    assert out.shape == (3, K)
    for i in range(3):
        single = Batch.from_data_list([batch.get_example(i)])
        torch.testing.assert_close(out[i : i + 1], model(single), rtol=1e-5, atol=1e-5)
    if name in ("gca", "st_lstm"):
        # A two-body sample scores the mean of its bodies' logits (log-probabilities for the local head).
        two = make_sequence(T=T, M=2, layout=SBU, seed=1)
        bodies = [SkeletonSequence(two.coords[:, m : m + 1], SBU) for m in range(2)]
        each = torch.cat([model(Batch.from_data_list([to_data(b)])) for b in bodies])
        torch.testing.assert_close(model(Batch.from_data_list([to_data(two)]))[0], each.mean(0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["gca", "gca_mean_soft", "gca_per_step", "two_stream"])
def test_iteration_parameters_cover_exactly_what_an_iteration_uses(name, batch):
    torch.manual_seed(0)
    model = _models()[name].eval()
    N = model.num_iterations
    previous: set[int] = set()
    for n in range(N + 1):
        params = model.iteration_parameters(n)
        ids = {id(p) for p in params}
        assert previous < ids
        previous = ids
        model.zero_grad()
        model.training_loss(batch, iteration=n).backward()
        for p in model.parameters():
            if id(p) not in ids:
                assert p.grad is None
            else:
                assert p.grad is not None
    assert previous == {id(p) for p in model.parameters()}
    with pytest.raises(ValueError, match="iteration"):
        model(batch, iteration=N + 1)


def test_stepwise_iteration_zero_skips_attention(batch):
    model = GCALSTM(SBU, K, num_frames=T, hidden_channels=H).eval()
    memory = torch.relu(model.stream.init_memory(model.encoder(batch.x).flatten(1)))
    logits = model.stream.classifier(memory)
    expected = torch.stack([logits[0], logits[1:3].mean(0), logits[3]])
    torch.testing.assert_close(model(batch, iteration=0), expected)
    torch.testing.assert_close(model(batch), model(batch, iteration=2))


def test_two_stream_averages_probabilities(batch):
    model = TwoStreamGCALSTM(SBU, K, num_frames=T, hidden_channels=H).eval()
    fine, coarse = model.stream_logits(batch)
    expected = (fine.softmax(-1) + coarse.softmax(-1)) / 2
    torch.testing.assert_close(model(batch).exp(), expected)
    loss = 0.5 * (torch.nn.functional.cross_entropy(fine, batch.y) + torch.nn.functional.cross_entropy(coarse, batch.y))
    torch.testing.assert_close(model.training_loss(batch), loss)


def test_local_head_loss_is_mean_over_steps(batch):
    model = STLSTMClassifier(SBU, K, hidden_channels=H).eval()
    logp = model._skeleton_logits(batch)[0].log_softmax(-1)  # [S, L, T, K]
    sample = torch.tensor([0, 1, 1, 2])
    per_skeleton = -logp[torch.arange(4), :, :, batch.y[sample]].mean(dim=(1, 2))
    expected = torch.stack([per_skeleton[0], per_skeleton[1:3].mean(), per_skeleton[3]]).mean()
    torch.testing.assert_close(model.training_loss(batch), expected)


def _padded_batch(make_sequence, lengths, T_pad, noise=None):
    """Samples of the given real lengths, zero-padded (or filled with ``noise``) to ``T_pad`` frames."""
    graphs = []
    for i, n in enumerate(lengths):
        data = to_data(make_sequence(T=n, M=1 + i % 2, layout=SBU, label=i % K, seed=10 + i))
        pad = torch.zeros(data.x.size(0), T_pad - n, 3) if noise is None else noise * torch.randn(
            data.x.size(0), T_pad - n, 3)
        data.x = torch.cat([data.x, pad], dim=1)
        data.num_frames = torch.tensor([n])
        graphs.append(data)
    return Batch.from_data_list(graphs)


@pytest.mark.parametrize("name", ["gca", "gca_mean_soft", "gca_per_step", "two_stream", "st_lstm", "global1",
                                  "global2", "st_lstm_trust"])
def test_padded_frames_change_no_output(make_sequence, name):
    """Whatever the padded frames hold, no score and no loss changes (lengths 2, 5 and 3 of T = 5)."""
    torch.manual_seed(0)
    model = _models()[name].eval()
    zeros = _padded_batch(make_sequence, [2, 5, 3], T)
    garbage = _padded_batch(make_sequence, [2, 5, 3], T, noise=50.0)
    assert not torch.equal(zeros.x, garbage.x)
    torch.testing.assert_close(model(garbage), model(zeros), rtol=0, atol=1e-6)
    torch.testing.assert_close(model.training_loss(garbage), model.training_loss(zeros), rtol=0, atol=1e-6)
    if hasattr(model, "attention"):
        att_z, att_g = model.attention(zeros), model.attention(garbage)
        for a, b in zip(*(list(a.values()) if isinstance(a, dict) else [a] for a in (att_z, att_g))):
            for r_z, r_g in zip(a, b):
                torch.testing.assert_close(r_g, r_z, rtol=0, atol=1e-6)
                assert (r_z[0, :, 2:] == 0).all(), "padded steps get no attention"


@pytest.mark.parametrize("name", ["gca_mean_soft", "st_lstm", "global2", "st_lstm_trust"])
def test_padding_length_does_not_matter_where_the_architecture_allows(make_sequence, name):
    """A sequence padded to T and to T + 4 gets the same scores (mean initialisation, no per-T layer)."""
    torch.manual_seed(0)
    model = _models()[name].eval()
    short = _padded_batch(make_sequence, [2, 5, 3], T)
    long = _padded_batch(make_sequence, [2, 5, 3], T + 4)
    torch.testing.assert_close(model(long), model(short), rtol=0, atol=1e-6)


def test_gate_reads_f_at_the_last_real_step(make_sequence):
    """F(n) is the second layer's output at (last chain position, last real frame): a model fed only the real
    frames (no padding) gives the same scores as the padded one."""
    torch.manual_seed(0)
    model = GCALSTM(SBU, K, init="mean", hidden_channels=H).eval()
    padded = _padded_batch(make_sequence, [3], T)
    trimmed = padded.clone()
    trimmed.x = padded.x[:, :3]
    torch.testing.assert_close(model(padded), model(trimmed), rtol=0, atol=1e-6)
    del trimmed.num_frames  # without lengths, every frame counts: padding would change the scores
    torch.testing.assert_close(model(trimmed), model(padded), rtol=0, atol=1e-6)
    no_lengths = padded.clone()
    del no_lengths.num_frames
    assert not torch.allclose(model(no_lengths), model(padded))


def test_inference_iteration_travels_in_the_state_dict(batch):
    model = GCALSTM(SBU, K, num_frames=T, hidden_channels=H).eval()
    model.set_inference_iteration(0)
    torch.testing.assert_close(model(batch), model(batch, iteration=0))
    other = GCALSTM(SBU, K, num_frames=T, hidden_channels=H).eval()
    assert other.inference_iteration == 2
    other.load_state_dict(model.state_dict())
    assert other.inference_iteration == 0
    torch.testing.assert_close(other(batch), model(batch, iteration=0))
    with pytest.raises(ValueError, match="iteration"):
        model.set_inference_iteration(3)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_frames"):
        GCALSTM(SBU, K)
    with pytest.raises(ValueError, match="num_frames"):
        STLSTMClassifier(SBU, K, head="global_fc")
    with pytest.raises(ValueError, match="attention"):
        GCALSTM(SBU, K, init="mean", attention="hard")
    scorer = InformativenessScore(H, H, A, grid=(3, 4))
    with pytest.raises(ValueError, match="grid"):
        scorer(torch.zeros(1, 3, 5, H), torch.zeros(1, H))


def _per_step_scores_by_hand(scorer, h, memory):
    e = torch.empty(h.shape[:3])
    for j in range(h.size(1)):
        for t in range(h.size(2)):
            for s in range(h.size(0)):
                z = scorer.weight2[j, t] @ torch.cat([h[s, j, t], memory[s]]) + scorer.bias2[j, t]
                e[s, j, t] = scorer.weight1[j, t] @ torch.tanh(z)
    return torch.softmax(e.flatten(1), 1).view_as(e)


def test_informativeness_scores_by_hand():
    torch.manual_seed(0)
    h, memory = torch.randn(2, 3, 4, H), torch.randn(2, H)
    per_step = InformativenessScore(H, H, A, grid=(3, 4))
    torch.testing.assert_close(per_step(h, memory), _per_step_scores_by_hand(per_step, h, memory))
    shared = InformativenessScore(H, H, A)
    expanded = InformativenessScore(H, H, A, grid=(3, 4))
    with torch.no_grad():
        for name in ("weight2", "bias2", "weight1"):
            getattr(expanded, name).copy_(getattr(shared, name).expand_as(getattr(expanded, name)))
    torch.testing.assert_close(shared(h, memory), expanded(h, memory))


# --- a tiny training run on real SBU Kinect Interaction files (bundled copy) ---------------------------------

SBU_RAW = Path(__file__).resolve().parents[2] / "datasets" / "sbu" / "raw"


def _read_sbu(path: Path, frames: int) -> SkeletonSequence:
    """Minimal reader for the test: 91 comma-separated columns (frame, person A xyz * 15, person B xyz * 15)."""
    table = np.loadtxt(path, delimiter=",", dtype=np.float32, ndmin=2)
    coords = table[:, 1:].reshape(-1, 2, 15, 3)
    coords = coords[np.linspace(0, len(coords) - 1, frames).round().astype(int)]
    coords = coords - coords[:, :, SBU.index("Torso")].mean(axis=(0, 1))  # centre on the pair's torsos
    return SkeletonSequence(coords, SBU, label=int(path.parts[-3]) - 1)


@pytest.fixture
def one_thread():
    # Tiny tensors: a second OpenMP thread only adds synchronisation (and stalls badly on a busy machine).
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_tiny_training_run_on_real_sbu_data_reduces_the_loss(one_thread):
    files = sorted(SBU_RAW.glob("s01s02/0[1-4]/00[12]/skeleton_pos.txt"))
    assert len(files) >= 6
    data = Batch.from_data_list([to_data(_read_sbu(f, frames=6)) for f in files])
    torch.manual_seed(0)
    model = GCALSTM(SBU, 4, num_frames=6, hidden_channels=16, dropout=0.0)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    with torch.no_grad():
        before = model.training_loss(data).item()
    for _ in range(150):  # 60 steps fall short for some initialisations (seed 3: loss 1.40 -> 1.71 at step 60)
        opt.zero_grad()
        model.training_loss(data).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    with torch.no_grad():
        after = model.training_loss(data).item()
    assert after < 0.5 * before


@pytest.mark.parametrize("name", list(_models()))
def test_forget_bias_reaches_every_st_lstm_layer(name):
    from skelgraph.nn.st_lstm import STLSTM

    layers = [m for m in _models(forget_bias=-3.0)[name].modules() if isinstance(m, STLSTM)]
    assert len(layers) == (1 if name == "gca_mean_soft" else 2 + (name == "two_stream"))  # soft: no second layer
    assert all(layer.forget_bias == -3.0 for layer in layers)
    for layer in layers:
        assert torch.all(layer.bias[H : 3 * H] < -3.0 + 1 / H**0.5 + 1e-6)


def test_joint_attention_mean_over_visits(batch):
    model = GCALSTM(SBU, K, num_frames=T, hidden_channels=H).eval()
    chain = SBU.chain("tree")
    for r, summed, mean in zip(model.attention(batch), model.joint_attention(batch),
                               model.joint_attention(batch, reduce="mean")):
        for j in range(SBU.num_joints):  # plain loop over the chain positions that visit joint j
            visits = (chain == j).nonzero().flatten()
            torch.testing.assert_close(summed[:, j], r[:, visits].sum(1))
            torch.testing.assert_close(mean[:, j], r[:, visits].mean(1))
    with pytest.raises(ValueError, match="reduce"):
        model.joint_attention(batch, reduce="max")


@pytest.mark.parametrize("name", ["gca", "two_stream", "st_lstm", "global1"])
def test_model_conveniences(name, batch):
    torch.manual_seed(0)
    model = _models()[name]
    assert model.num_classes == K and model.hparams["num_classes"] == K
    text = repr(model)
    assert text.startswith(f"{type(model).__name__}(layout='sbu', in_channels=3, hidden_channels={H}, "
                           f"num_classes={K}")
    assert f"parameters={sum(p.numel() for p in model.parameters()):,}" in text
    # Rebuilding from the recorded keyword arguments gives the same architecture.
    again = type(model)(**model.hparams)
    assert [p.shape for p in again.parameters()] == [p.shape for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(7.0)
    model.reset_parameters()
    for pname, p in model.named_parameters():
        assert not (p == 7.0).any(), pname
    for layer in (m for m in model.modules() if type(m).__name__ == "STLSTM"):
        # The forget-gate offset of -1 is part of the reset (gate order i, f_S, f_T, o, u).
        assert layer.bias[H : 3 * H].mean() < -0.7 < layer.bias[:H].mean()
    assert torch.isfinite(model.eval()(batch)).all()


def test_from_paper_and_input_checks(batch):
    model = GCALSTM.from_paper("sbu", hidden_channels=H, in_channels=6)
    assert (model.layout.name, model.num_classes, model.hparams["num_frames"], model.num_iterations) == (
        "sbu", 8, 20, 2)
    assert STLSTMClassifier.from_paper("ntu", head="global_mean", hidden_channels=H).layout.name == "ntu"
    with pytest.raises(ValueError, match="unknown preset"):
        GCALSTM.from_paper("kinetics")
    with pytest.raises(ValueError, match="unknown GCALSTM arguments"):
        GCALSTM.from_paper("sbu", head="local")
    # Loud errors instead of a misread tensor: wrong channels, per-frame nodes.
    with pytest.raises(ValueError, match="in_channels=6 but x has 3 channels"):
        GCALSTM.from_paper("sbu", hidden_channels=H, in_channels=6, num_frames=T)(batch)
    flat = batch.clone()
    flat.x = flat.x.reshape(-1, 3)
    for model in _models().values():
        with pytest.raises(ValueError, match=r"\[num_nodes, T, C\]"):
            model.training_loss(flat)


def test_loss_terms_name_the_objective_and_what_validation_measures(batch):
    """Two-stream GCA-LSTM and the local-head ST-LSTM train on one quantity and are validated on another (the NLL
    of their scores); loss_terms gives both, so curves compare like with like."""
    two = TwoStreamGCALSTM(SBU, K, num_frames=T, hidden_channels=H).eval()
    terms = two.loss_terms(batch)
    torch.testing.assert_close(terms["loss"], two.training_loss(batch))
    torch.testing.assert_close(terms["fused"], torch.nn.functional.nll_loss(two(batch), batch.y))
    torch.testing.assert_close(0.5 * (terms["fine"] + terms["coarse"]), terms["loss"])
    local = STLSTMClassifier(SBU, K, hidden_channels=H).eval()
    terms = local.loss_terms(batch)
    torch.testing.assert_close(terms["fused"], torch.nn.functional.nll_loss(local(batch), batch.y))
    assert terms["loss"].requires_grad and not terms["fused"].requires_grad
    assert set(STLSTMClassifier(SBU, K, head="global_mean", hidden_channels=H).loss_terms(batch)) == {"loss"}
