import pytest
import torch

from skelgraph.data import to_data
from skelgraph.nn.st_lstm import STLSTM, STLSTMEncoder, gather_chain, wavefront_plan
from skelgraph.skeleton import SBU


def _grads(out, inputs, weight):
    return torch.autograd.grad((out * weight).sum(), inputs)


@pytest.mark.parametrize("L,T", [(1, 1), (1, 4), (4, 1), (3, 5), (6, 2), (5, 5)])
@pytest.mark.parametrize("gated", [False, True])
@pytest.mark.parametrize("trust_gate", [False, True], ids=["plain", "trust_gate"])
def test_wavefront_equals_per_cell_loop(L, T, gated, trust_gate):
    torch.manual_seed(L * 10 + T)
    layer = STLSTM(3, 5, trust_gate=trust_gate).double()
    x = torch.randn(2, L, T, 3, dtype=torch.double, requires_grad=True)
    gate = torch.rand(2, L, T, dtype=torch.double, requires_grad=True) if gated else None
    fast, ref = layer(x, gate), layer.forward_reference(x, gate)
    assert fast.shape == (2, L, T, 5)
    torch.testing.assert_close(fast, ref, rtol=1e-10, atol=1e-12)
    inputs = [x, *layer.parameters()] + ([gate] if gated else [])
    weight = torch.randn_like(fast)
    for a, b in zip(_grads(fast, inputs, weight), _grads(ref, inputs, weight)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("trust_gate", [False, True], ids=["plain", "trust_gate"])
def test_autograd_diagonals_equal_the_hand_written_wavefront(trust_gate):
    torch.manual_seed(0)
    layer = STLSTM(3, 4, trust_gate=trust_gate, trust_lambda=0.8).double()
    x = torch.randn(2, 4, 3, 3, dtype=torch.double, requires_grad=True)
    gate = torch.rand(2, 4, 3, dtype=torch.double, requires_grad=True)
    fast, slow = layer(x, gate), layer._forward_diagonals(x, gate)
    torch.testing.assert_close(fast, slow, rtol=1e-12, atol=1e-13)
    inputs, weight = [x, gate, *layer.parameters()], torch.randn_like(fast)
    for a, b in zip(_grads(fast, inputs, weight), _grads(slow, inputs, weight)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_trust_gate_cell_follows_liu_et_al():
    """One cell written out by hand: tau = exp(-lambda (u - tanh(p))^2) scales i by tau and both forget gates by
    1 - tau (the authors' STLSTM3.lua)."""
    torch.manual_seed(1)
    H = 4
    layer = STLSTM(2, H, trust_gate=True, trust_lambda=0.7).double()
    gates, pred = torch.randn(3, 5 * H, dtype=torch.double), torch.randn(3, H, dtype=torch.double)
    c_s, c_t = torch.randn(3, H, dtype=torch.double), torch.randn(3, H, dtype=torch.double)
    i, f_s, f_t, o, u = gates.split(H, dim=-1)
    i, f_s, f_t, o, u = i.sigmoid(), f_s.sigmoid(), f_t.sigmoid(), o.sigmoid(), u.tanh()
    tau = torch.exp(-0.7 * (u - pred.tanh()) ** 2)
    c = tau * i * u + (1 - tau) * (f_s * c_s + f_t * c_t)
    h_got, c_got = layer._cell(gates, c_s, c_t, None, pred)
    torch.testing.assert_close(c_got, c)
    torch.testing.assert_close(h_got, o * c.tanh())
    # A perfectly predicted input (tau = 1) writes the whole input term and forgets both predecessors.
    _, c_one = layer._cell(gates, c_s, c_t, None, torch.atanh(u))
    torch.testing.assert_close(c_one, i * u)
    with pytest.raises(ValueError, match="trust_lambda must be positive"):
        STLSTM(2, H, trust_gate=True, trust_lambda=0.0)


def test_trust_gate_parameters_and_repr():
    plain, trusted = STLSTM(3, 5), STLSTM(3, 5, trust_gate=True)
    extra = sum(p.numel() for p in trusted.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == 2 * 5 * 5 + 5  # W_p over both predecessors and b_p
    assert "trust_gate=True" in repr(trusted) and "trust_gate" not in repr(plain)


@pytest.mark.parametrize("trust_gate", [False, True], ids=["plain", "trust_gate"])
def test_wavefront_gradcheck(trust_gate):
    torch.manual_seed(0)
    layer = STLSTM(2, 3, trust_gate=trust_gate).double()
    x = torch.randn(2, 3, 4, 2, dtype=torch.double, requires_grad=True)
    gate = torch.rand(2, 3, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, g: layer(x, g), (x, gate))
    assert torch.autograd.gradcheck(lambda x: layer(x), (x,))


def test_wavefront_plan_visits_every_cell_once_with_its_predecessors():
    L, T = 4, 3
    plan = wavefront_plan(L, T)
    assert sorted(plan.rows.tolist()) == sorted(set(plan.rows.tolist()))
    assert len(plan.diagonals) == L + T - 1 and sum(n for _, n, *_ in plan.diagonals) == L * T
    row_of = {(j, t): plan.rows[j * T + t].item() for j in range(L) for t in range(T)}
    pads = set(plan.pads.tolist()) | {0, 1}  # rows 0 and 1: the zero block before the first diagonal
    for (j, t), row in row_of.items():
        assert plan.sources[row].item() == j * T + t
        # The slice arithmetic of the wavefront: cell k of diagonal d reads rows prev + a + k (spatial
        # predecessor) and prev + a + 1 + k (temporal); its successors sit at rows b + 2 + k and b + 1 + k of the
        # next diagonal's block.
        start, n, prev, a, b = plan.diagonals[j + t]
        k = row - start - 1
        assert 0 <= k < n
        sp, tp = prev + a + k, prev + a + 1 + k
        assert sp == row_of[j - 1, t] if j > 0 else sp in pads
        assert tp == row_of[j, t - 1] if t > 0 else tp in pads
        if j + t + 1 < L + T - 1:
            following = plan.diagonals[j + t + 1][0]
            ss, ts = following + b + 2 + k, following + b + 1 + k
            assert ss == row_of[j + 1, t] if j + 1 < L else ss in pads
            assert ts == row_of[j, t + 1] if t + 1 < T else ts in pads


def test_batch_independence_and_float32():
    torch.manual_seed(1)
    layer = STLSTM(3, 16)
    x = torch.randn(3, 7, 6, 3)
    gate = torch.rand(3, 7, 6)
    out = layer(x, gate)
    for s in range(3):
        torch.testing.assert_close(out[s : s + 1], layer(x[s : s + 1], gate[s : s + 1]), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out, layer.forward_reference(x, gate), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("trust_gate", [False, True], ids=["plain", "trust_gate"])
def test_wavefront_under_bfloat16_autocast_runs_in_float32(trust_gate):
    """Under autocast (``--amp``) the hand-written passes used to meet bfloat16 gate inputs and float32 weights in
    one in-place product and fail. The recurrence now runs in the parameters' dtype: with inputs that autocast
    produced in bfloat16, the layer equals the float32 layer on those same (rounded) inputs, gradients included."""
    torch.manual_seed(5)
    layer = STLSTM(3, 6, trust_gate=trust_gate)
    x = torch.randn(2, 4, 5, 3).bfloat16().requires_grad_()
    gate = torch.rand(2, 4, 5).bfloat16().requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = layer(x, gate)
    assert out.dtype == torch.float32
    x32, gate32 = x.detach().float().requires_grad_(), gate.detach().float().requires_grad_()
    ref = layer(x32, gate32)
    torch.testing.assert_close(out, ref)
    weight = torch.randn_like(ref)
    for a, b in zip(_grads(out, [x, gate, *layer.parameters()], weight),
                    _grads(ref, [x32, gate32, *layer.parameters()], weight)):
        assert a.dtype == b.dtype or a.dtype == torch.bfloat16
        torch.testing.assert_close(a.float(), b.bfloat16().float() if a.dtype == torch.bfloat16 else b)


def test_encoder_gathers_the_tree_chain(make_sequence):
    data = to_data(make_sequence(T=4, M=2, layout=SBU))
    chain = SBU.chain("tree")
    chained = gather_chain(data.x, SBU.num_joints, chain)
    assert chained.shape == (2, chain.numel(), 4, 3)
    for s in range(2):
        for k, j in enumerate(chain.tolist()):
            assert torch.equal(chained[s, k], data.x[s * SBU.num_joints + j])
    encoder = STLSTMEncoder(SBU, hidden_channels=8, dropout=0.0).eval()
    assert encoder.num_positions == 2 * (SBU.num_joints - 1) + 1
    torch.testing.assert_close(encoder(data.x), encoder.layer(chained))
    assert "STLSTM(3, 8, forget_bias=-1.0)" in repr(encoder)


def _last_cell_states(layer: STLSTM, x: torch.Tensor) -> torch.Tensor:
    """Cell state of the grid's last step, by the plain per-cell recurrence (Eq. (1)-(2))."""
    S, L, T, _ = x.shape
    weight = torch.cat([layer.weight_input, layer.weight_spatial, layer.weight_temporal], dim=1)
    zero = x.new_zeros(S, layer.hidden_channels)
    h, c = {}, {}
    for j in range(L):
        for t in range(T):
            h_s, c_s = (h[j - 1, t], c[j - 1, t]) if j else (zero, zero)
            h_t, c_t = (h[j, t - 1], c[j, t - 1]) if t else (zero, zero)
            gates = torch.nn.functional.linear(torch.cat([x[:, j, t], h_s, h_t], -1), weight, layer.bias)
            h[j, t], c[j, t] = layer._cell(gates, c_s, c_t, None)
    return c[L - 1, T - 1]


@pytest.mark.parametrize("seed", [0, 1])
def test_forget_bias_keeps_cell_states_bounded_over_the_grid(seed):
    torch.manual_seed(seed)
    x = torch.randn(8, 29, 20, 3)  # the SBU tree chain x 20 frames
    with torch.no_grad():
        bounded = _last_cell_states(STLSTM(3, 32), x).abs().mean()
        plain = _last_cell_states(STLSTM(3, 32, forget_bias=0.0), x).abs().mean()
    assert bounded < 1.0, bounded
    assert plain > 5.0, plain  # two forget gates near 0.5 each: the sum over the grid's paths blows up
    layer = STLSTM(3, 32)
    assert torch.all(layer.bias[32:96] < -1 + 1 / 32**0.5 + 1e-6) and torch.all(layer.bias[:32] > -1 / 32**0.5 - 1e-6)


def test_flush_denormals_makes_denormal_inputs_zero():
    from skelgraph.nn.st_lstm import flush_denormals

    try:
        if not flush_denormals():
            pytest.skip("this CPU cannot flush denormals")
        assert (torch.tensor([1e-39]) * 1.0).item() == 0.0
    finally:
        torch.set_flush_denormal(False)
    assert (torch.tensor([1e-39]) * 1.0).item() != 0.0
