"""Stock PyG layers on skeleton graphs: every path is compared with a plain loop over samples and frames."""

import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.nn import GCNConv, GraphConv, global_mean_pool

from skelgraph.data import per_frame_edge_index, to_data
from skelgraph.nn import GCALSTM, RRN, FrameWise
from skelgraph.skeleton import SBU
from skelgraph.transforms import FixedLength, PerFrameGraphs, TimeToChannels

T = 6


@pytest.fixture
def graphs(make_sequence):
    """Three generated (random) SBU-layout samples with bone edges, one or two bodies, T frames."""
    return [FixedLength(T)(to_data(make_sequence(T=T + k, M=m, layout=SBU, label=k, seed=k), edges="bones"))
            for k, m in enumerate([1, 2, 1])]


def _per_frame_loop(layer, graphs):
    """Reference: the layer on every frame of every sample on its own, stacked to ``[N_total, T, C']``."""
    out = []
    for g in graphs:
        frames = [layer(g.x[:, t], g.edge_index) for t in range(g.x.size(1))]
        out.append(torch.stack(frames, dim=1))
    return torch.cat(out)


def test_per_frame_edge_index_numbering():
    edge_index = torch.tensor([[0, 1], [1, 2]])
    out = per_frame_edge_index(edge_index, 3)
    # Node n at frame t is n * 3 + t; an edge's copies are consecutive.
    assert out.tolist() == [[0, 1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8]]


def test_per_frame_graphs_with_a_stock_layer_match_a_per_frame_loop(graphs):
    torch.manual_seed(0)
    conv = GCNConv(3, 8)
    expected = _per_frame_loop(conv, graphs)
    batch = Batch.from_data_list([PerFrameGraphs()(g.clone()) for g in graphs])
    assert batch.x.shape == (expected.size(0) * T, 3)
    h = conv(batch.x, batch.edge_index)
    torch.testing.assert_close(h.view(-1, T, 8), expected)
    # Per-frame pooling: batch * T + frame groups one frame of one sample.
    pooled = global_mean_pool(h, batch.batch * T + batch.frame).view(len(graphs), T, 8)
    offset = 0
    for k, g in enumerate(graphs):
        n = g.num_nodes
        torch.testing.assert_close(pooled[k], expected[offset : offset + n].mean(0))
        offset += n
    # Node attributes follow the nodes.
    two = batch.get_example(1)
    assert two.body.tolist() == [0] * (SBU.num_joints * T) + [1] * (SBU.num_joints * T)
    assert two.skeleton_node.tolist() == torch.arange(2 * SBU.num_joints).repeat_interleave(T).tolist()
    assert int(two.frames_per_node) == T


def test_per_frame_graphs_carry_edge_attributes(graphs):
    torch.manual_seed(0)
    g = graphs[0].clone()
    g.edge_attr = torch.rand(g.edge_index.size(1))
    conv = GraphConv(3, 4)  # takes edge weights
    expected = torch.stack([conv(g.x[:, t], g.edge_index, g.edge_attr) for t in range(T)], dim=1)
    flat = PerFrameGraphs()(g.clone())
    torch.testing.assert_close(conv(flat.x, flat.edge_index, flat.edge_attr).view(-1, T, 4), expected)


def test_frame_wise_matches_a_per_frame_loop(graphs):
    torch.manual_seed(0)
    conv = FrameWise(GCNConv(3, 8))
    batch = Batch.from_data_list(graphs)
    torch.testing.assert_close(conv(batch.x, batch.edge_index), _per_frame_loop(conv.layer, graphs))
    weight = torch.rand(batch.edge_index.size(1))
    graph_conv = FrameWise(GraphConv(3, 4))
    expected = torch.stack([graph_conv.layer(batch.x[:, t], batch.edge_index, weight) for t in range(T)], dim=1)
    torch.testing.assert_close(graph_conv(batch.x, batch.edge_index, edge_weight=weight), expected)
    assert repr(conv).startswith("FrameWise(GCNConv(3, 8")


def test_frame_wise_refuses_misread_inputs(graphs):
    conv = FrameWise(GCNConv(3, 8))
    flat = PerFrameGraphs()(graphs[0].clone())
    with pytest.raises(ValueError, match=r"\[num_nodes, T, C\]"):
        conv(flat.x, flat.edge_index)
    with pytest.raises(ValueError, match="names node"):
        conv(graphs[0].x, flat.edge_index)  # a per-frame edge index on [N, T, C] features


def test_time_to_channels_with_stock_layers(graphs):
    torch.manual_seed(0)
    moved = [TimeToChannels()(g.clone()) for g in graphs]
    for g, m in zip(graphs, moved):
        assert m.x.shape == (g.num_nodes, T * 3)
        assert torch.equal(m.x.view(-1, T, 3), g.x)  # channel t * C + c is channel c at frame t
    conv = GCNConv(T * 3, 5)
    batch = Batch.from_data_list(moved)
    out = global_mean_pool(conv(batch.x, batch.edge_index), batch.batch)
    expected = torch.cat([conv(m.x, m.edge_index).mean(0, keepdim=True) for m in moved])
    torch.testing.assert_close(out, expected)


def test_rrn_on_per_frame_graphs_equals_its_time_axis_path(graphs):
    torch.manual_seed(0)
    rrn = RRN(3, 8, E=2)
    batch = Batch.from_data_list(graphs)
    flat = Batch.from_data_list([PerFrameGraphs()(g.clone()) for g in graphs])
    torch.testing.assert_close(rrn(flat.x, flat.edge_index).view(-1, T, 8), rrn(batch.x, batch.edge_index))


def test_skelgraph_models_refuse_per_frame_graphs(graphs):
    model = GCALSTM(SBU, 4, num_frames=T, hidden_channels=4)
    flat = Batch.from_data_list([PerFrameGraphs()(g.clone()) for g in graphs])
    with pytest.raises(ValueError, match="PerFrameGraphs"):
        model(flat)
    moved = Batch.from_data_list([TimeToChannels()(g.clone()) for g in graphs])
    with pytest.raises(ValueError, match="TimeToChannels"):
        model(moved)
