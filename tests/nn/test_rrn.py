import pytest
import torch
from torch_geometric.data import Batch, Data

from skelgraph.data import complete_edge_index
from skelgraph.nn import rrn as rrn_module
from skelgraph.nn.rrn import RRN


def complete_graphs(S, J):
    return torch.cat([complete_edge_index(J) + s * J for s in range(S)], dim=1)


def reference_rrn(layer, v, edge_index):
    """Eq. (5)-(8) written plainly: loops over rounds, nodes, edges and frames, GRU equations by hand."""
    N, T, _ = v.shape
    C, n_layers = layer.out_channels, len(layer.mlp)
    h = torch.cat([v, v.new_zeros(N, T, C - v.size(-1))], dim=-1)
    if layer.initial == "zeros":
        h = v.new_zeros(N, T, C)
    W_ih, W_hh, b_ih, b_hh = layer.gru.weight_ih, layer.gru.weight_hh, layer.gru.bias_ih, layer.gru.bias_hh
    for _ in range(layer.E):
        new_h = torch.empty_like(h)
        for i in range(N):
            for t in range(T):
                m = v.new_zeros(layer.hidden_channels)
                for j, dst in edge_index.t().tolist():
                    if dst != i:
                        continue
                    z = torch.cat([h[i, t], h[j, t]])
                    for k, lin in enumerate(layer.mlp):
                        z = lin.weight @ z + lin.bias
                        if k < n_layers - 1 or layer.last_relu:
                            z = torch.clamp(z, min=0)
                    m = m + z
                gi = W_ih @ torch.cat([v[i, t], m]) + b_ih
                gh = W_hh @ h[i, t] + b_hh
                r = torch.sigmoid(gi[:C] + gh[:C])
                u = torch.sigmoid(gi[C : 2 * C] + gh[C : 2 * C])
                n = torch.tanh(gi[2 * C :] + r * gh[2 * C :])
                new_h[i, t] = (1 - u) * n + u * h[i, t]
        h = new_h
    return h


@pytest.mark.parametrize("E,message_layers,in_channels,last_relu,initial",
                         [(0, 3, 3, False, "input"), (1, 3, 4, False, "input"), (3, 3, 3, False, "input"),
                          (2, 1, 4, False, "input"), (2, 2, 4, False, "input"), (2, 3, 3, True, "input"),
                          (2, 1, 4, True, "input"), (2, 3, 3, False, "zeros"), (0, 2, 3, False, "zeros")])
def test_equals_plain_reference(E, message_layers, in_channels, last_relu, initial):
    torch.manual_seed(0)
    layer = RRN(in_channels, 4, E=E, hidden_channels=5, message_layers=message_layers, last_relu=last_relu,
                initial=initial).double()
    v = torch.randn(5, 2, in_channels, dtype=torch.double)
    # A small directed graph with a node of in-degree 0 (node 4) and a node of in-degree 3 (node 0).
    edge_index = torch.tensor([[1, 2, 3, 0, 2, 4, 0], [0, 0, 0, 1, 1, 2, 3]])
    torch.testing.assert_close(layer(v, edge_index), reference_rrn(layer, v, edge_index))


def test_E0_returns_padded_input_and_E1_is_one_round():
    torch.manual_seed(0)
    v = torch.randn(6, 3, 2)
    ei = complete_graphs(2, 3)
    zero = RRN(2, 5, E=0)
    out = zero(v, ei)
    torch.testing.assert_close(out[..., :2], v)
    assert (out[..., 2:] == 0).all()
    torch.testing.assert_close(zero(v, num_nodes_per_graph=3), out)
    one, three = RRN(2, 5, E=1), RRN(2, 5, E=3)
    three.load_state_dict(one.state_dict())
    # E rounds share parameters: three rounds equal the one-round layer applied to its own state three times.
    h = zero(v, ei)
    for _ in range(3):
        h = one._round(h, v, ei, None)
    torch.testing.assert_close(three(v, ei), h)


def _fast_vs_edge(layer, x, J):
    S = x.size(0) // J
    outs, grads = [], []
    for kwargs in ({"edge_index": complete_graphs(S, J)}, {"num_nodes_per_graph": J}):
        xx = x.clone().requires_grad_()
        layer.zero_grad()
        out = layer(xx, **kwargs)
        # A non-uniform upstream gradient so every output entry matters.
        (out * torch.linspace(-1, 1, out.numel(), dtype=out.dtype).view_as(out)).sum().backward()
        outs.append(out.detach())
        grads.append([xx.grad] + [p.grad.clone() for p in layer.parameters()])
    return outs, grads


@pytest.mark.parametrize("message_layers", [1, 2, 3, 4])
@pytest.mark.parametrize("checkpoint", [False, True])
@pytest.mark.parametrize("chunk_pairs", [4096, 50])
def test_fast_path_equals_edge_list_path(message_layers, checkpoint, chunk_pairs, monkeypatch):
    # chunk_pairs=50: two graphs (frames) per chunk, 15 graphs, so several chunks and a short last one.
    monkeypatch.setattr(rrn_module, "_CHUNK_PAIRS", {"cpu": chunk_pairs})
    torch.manual_seed(1)
    S, J, T = 3, 5, 5  # several skeletons batched, frames as an extra dim
    layer = RRN(3, 6, E=3, hidden_channels=7, message_layers=message_layers, checkpoint=checkpoint).double()
    x = torch.randn(S * J, T, 3, dtype=torch.double)
    (edge_out, fast_out), (edge_grads, fast_grads) = _fast_vs_edge(layer, x, J)
    torch.testing.assert_close(fast_out, edge_out)
    for g_edge, g_fast in zip(edge_grads, fast_grads):
        torch.testing.assert_close(g_fast, g_edge)


@pytest.mark.parametrize("message_layers", [1, 2, 3])
@pytest.mark.parametrize("initial", ["input", "zeros"])
def test_fast_path_equals_edge_list_path_with_a_relu_after_the_last_layer(message_layers, initial, monkeypatch):
    """``last_relu``: the last layer joins the pairwise layers on the fast path (it no longer commutes with the
    sum); values and every gradient as the edge list's, over several chunks."""
    monkeypatch.setattr(rrn_module, "_CHUNK_PAIRS", {"cpu": 50})
    torch.manual_seed(7)
    S, J, T = 3, 5, 5
    layer = RRN(3, 6, E=3, hidden_channels=7, message_layers=message_layers, last_relu=True,
                initial=initial).double()
    x = torch.randn(S * J, T, 3, dtype=torch.double)
    (edge_out, fast_out), (edge_grads, fast_grads) = _fast_vs_edge(layer, x, J)
    torch.testing.assert_close(fast_out, edge_out)
    for g_edge, g_fast in zip(edge_grads, fast_grads):
        torch.testing.assert_close(g_fast, g_edge)
    plain = RRN(3, 6, E=3, hidden_channels=7, message_layers=message_layers, initial=initial).double()
    plain.load_state_dict(layer.state_dict())
    assert not torch.allclose(plain(x, num_nodes_per_graph=J), fast_out), "the ReLU must change the messages"


def test_fast_path_float32_and_no_extra_dims():
    torch.manual_seed(2)
    layer = RRN(4, 4, E=2)
    x = torch.randn(4 * 6, 4)  # [S * J, C]: no frame dim
    (edge_out, fast_out), (edge_grads, fast_grads) = _fast_vs_edge(layer, x, 6)
    torch.testing.assert_close(fast_out, edge_out, atol=1e-5, rtol=1e-4)
    for g_edge, g_fast in zip(edge_grads, fast_grads):
        torch.testing.assert_close(g_fast, g_edge, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("message_layers", [2, 3])
def test_fast_path_under_bfloat16_autocast(message_layers):
    """As ``--amp`` runs it (here on the CPU's autocast): the custom pair-sum backward used to mix bfloat16
    activations with float32 weights and fail. Both paths run in bfloat16; they agree with each other and with
    float32 to bfloat16 accuracy, and the parameter gradients keep the parameters' dtype."""
    torch.manual_seed(6)
    S, J, T = 3, 5, 4
    layer = RRN(3, 8, E=2, hidden_channels=8, message_layers=message_layers)
    x = torch.randn(S * J, T, 3)
    outs, grads = _fast_vs_edge(layer, x, J)
    ref_out, ref_grads = outs[1], grads[1]  # the float32 fast path
    with torch.autocast("cpu", dtype=torch.bfloat16):
        (edge_out, fast_out), (edge_grads, fast_grads) = _fast_vs_edge(layer, x, J)
    assert not torch.equal(fast_out.float(), ref_out), "autocast was not in effect"
    for out in (edge_out, fast_out):
        torch.testing.assert_close(out.float(), ref_out, atol=0.05, rtol=0.05)
    for g_edge, g_fast, g_ref, param in zip(edge_grads[1:], fast_grads[1:], ref_grads[1:], layer.parameters()):
        assert g_fast.dtype == param.dtype == torch.float32
        scale = g_ref.abs().max().item() + 1e-3
        assert (g_fast - g_ref).abs().max().item() < 0.1 * scale
        assert (g_edge - g_ref).abs().max().item() < 0.1 * scale


def test_checkpointing_gives_same_gradients():
    torch.manual_seed(3)
    plain = RRN(3, 5, E=3).double()
    ckpt = RRN(3, 5, E=3, checkpoint=True).double()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2 * 4, 3, 3, dtype=torch.double)
    for layer in (plain, ckpt):
        layer(x, num_nodes_per_graph=4).pow(2).sum().backward()
    for p, q in zip(plain.parameters(), ckpt.parameters()):
        torch.testing.assert_close(q.grad, p.grad)


def test_node_permutation_equivariance():
    torch.manual_seed(4)
    layer = RRN(3, 4, E=2).double()
    N = 7
    x = torch.randn(N, 2, 3, dtype=torch.double)
    edge_index = torch.randint(0, N, (2, 15))
    perm = torch.randperm(N)  # new node k is old node perm[k]
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(N)
    out = layer(x, edge_index)
    torch.testing.assert_close(layer(x[perm], inverse[edge_index]), out[perm])
    # Fast path: permuting the joints inside every skeleton permutes the output the same way.
    S, J = 3, 5
    x = torch.randn(S * J, 2, 3, dtype=torch.double)
    joint_perm = torch.randperm(J)
    node_perm = (torch.arange(S)[:, None] * J + joint_perm[None, :]).flatten()
    out = layer(x, num_nodes_per_graph=J)
    torch.testing.assert_close(layer(x[node_perm], num_nodes_per_graph=J), out[node_perm])


def test_batch_independence():
    torch.manual_seed(5)
    layer = RRN(3, 4, E=3).double()
    J = 4
    graphs = [
        Data(x=torch.randn(J * m, 3, 3, dtype=torch.double), edge_index=complete_graphs(m, J)) for m in (1, 2, 1)
    ]
    batch = Batch.from_data_list(graphs)
    for out in (layer(batch.x, batch.edge_index), layer(batch.x, num_nodes_per_graph=J)):
        for k, g in enumerate(graphs):
            torch.testing.assert_close(out[batch.batch == k], layer(g.x, g.edge_index))


@pytest.mark.parametrize("fast", [False, True])
def test_every_parameter_gets_a_gradient(fast):
    torch.manual_seed(6)
    layer = RRN(3, 4, E=2)
    x = torch.randn(2 * 5, 3, 3)
    out = layer(x, num_nodes_per_graph=5) if fast else layer(x, complete_graphs(2, 5))
    out.sum().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_repr_reset_and_errors():
    layer = RRN(3, 8, E=5)
    assert repr(layer) == "RRN(3, 8, E=5, hidden_channels=8, message_layers=3)"
    before = [p.clone() for p in layer.parameters()]
    layer.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, layer.parameters()))
    x = torch.randn(6, 3)
    with pytest.raises(ValueError, match="exactly one"):
        layer(x)
    with pytest.raises(ValueError, match="exactly one"):
        layer(x, complete_graphs(2, 3), num_nodes_per_graph=3)
    with pytest.raises(ValueError, match="whole number"):
        layer(x, num_nodes_per_graph=4)
    with pytest.raises(ValueError, match="input channels"):
        layer(torch.randn(6, 4), num_nodes_per_graph=3)
    with pytest.raises(ValueError, match="must not exceed"):
        RRN(9, 8)
    with pytest.raises(ValueError):
        RRN(3, 8, message_layers=0)
    with pytest.raises(ValueError, match="unknown initial"):
        RRN(3, 8, initial="random")
    assert repr(RRN(3, 8, E=2, last_relu=True, initial="zeros")) == \
        "RRN(3, 8, E=2, hidden_channels=8, message_layers=3, last_relu=True, initial='zeros')"


def test_pair_sum_chunks_are_cache_sized_on_the_cpu_and_large_elsewhere():
    """The chunk size only moves work between loop iterations (the parametrised fast-path test checks several);
    off the CPU each chunk costs kernel launches, so there it is large (an H200 ran 18.8x faster)."""
    cpu = torch.empty(100, 25, 8)
    gpu_like = torch.empty(100, 25, 8, device="meta")
    assert rrn_module._chunk(cpu) == 4096 // 625
    assert rrn_module._chunk(gpu_like) == (1 << 20) // 625
    assert rrn_module._chunk(torch.empty(3, 100, 8)) == 1  # never fewer than one graph per chunk
