import numpy as np
import pytest
import torch
from torch_geometric.loader import DataLoader

from skelgraph.data import (
    SkeletonSequence,
    complete_edge_index,
    line_features,
    node_line_features,
    skeleton_batch,
    to_data,
    to_skeletons,
)
from skelgraph.skeleton import NTU, SBU


def brute_force_lines(coords):
    """Eq. (2) written plainly: coords [J, 3] -> [J, 3 (J - 1)]."""
    J = coords.shape[0]
    out = []
    for i in range(J):
        row = []
        for j in range(J):
            if j != i:
                row.extend(coords[i] - coords[j])
        out.append(row)
    return torch.tensor(np.array(out), dtype=torch.float32)


@pytest.mark.parametrize("J", [2, 3, 15, 25])
def test_line_features_equal_brute_force(J):
    coords = torch.randn(4, J, 3)
    lines = line_features(coords)
    assert lines.shape == (4, J, 3 * (J - 1))
    for t in range(4):
        torch.testing.assert_close(lines[t], brute_force_lines(coords[t].numpy()))


def test_node_line_features_on_graph(make_sequence):
    seq = make_sequence(T=5, M=2)
    data = to_data(seq)
    lines = node_line_features(data.x, 25)
    assert lines.shape == (50, 5, 72)
    for m in range(2):
        for t in range(5):
            torch.testing.assert_close(lines[m * 25:(m + 1) * 25, t],
                                       brute_force_lines(seq.coords[t, m]))


def test_complete_edge_index():
    ei = complete_edge_index(4)
    assert ei.shape == (2, 12)
    assert not (ei[0] == ei[1]).any()
    assert len(set(map(tuple, ei.T.tolist()))) == 12


def test_to_data_layout_and_edges(make_sequence):
    seq = make_sequence(T=6, M=2, subject=3, camera=2)
    data = to_data(seq)
    assert data.x.shape == (50, 6, 3)
    assert data.num_nodes == 50
    # node m * J + j is joint j of body m, all frames
    np.testing.assert_array_equal(data.x[25 + 4].numpy(), seq.coords[:, 1, 4])
    assert data.body.tolist() == [0] * 25 + [1] * 25
    assert data.edge_index.size(1) == 2 * 25 * 24
    assert ((data.edge_index[0] // 25) == (data.edge_index[1] // 25)).all(), "edges must not cross bodies"
    assert int(data.subject) == 3 and int(data.camera) == 2 and int(data.y) == 0
    bones = to_data(seq, edges="bones")
    assert bones.edge_index.size(1) == 2 * 2 * 24
    with pytest.raises(ValueError, match="edges"):
        to_data(seq, edges="dense")


def test_sequence_validation():
    with pytest.raises(ValueError, match="shape"):
        SkeletonSequence(np.zeros((5, 1, 20, 3)), NTU)
    with pytest.raises(ValueError, match="empty"):
        SkeletonSequence(np.zeros((0, 1, 25, 3)), NTU)


def test_batching_mixed_body_counts_matches_single(make_sequence):
    a = to_data(make_sequence(T=4, M=1, layout=SBU, seed=1, label=2))
    b = to_data(make_sequence(T=4, M=2, layout=SBU, seed=2, label=5))
    c = to_data(make_sequence(T=4, M=1, layout=SBU, seed=3, label=1))
    batch = next(iter(DataLoader([a, b, c], batch_size=3)))
    assert batch.x.shape == (4 * 15, 4, 3)
    assert batch.y.tolist() == [2, 5, 1]
    assert batch.num_bodies.tolist() == [1, 2, 1]
    sk = to_skeletons(batch.x, 15)
    assert sk.shape == (4, 15, 4, 3)
    assert skeleton_batch(batch.batch, 15).tolist() == [0, 1, 1, 2]
    # Per-sample edges are preserved: edge sets of each graph shifted by its node offset.
    for i, d in enumerate([a, b, c]):
        sub = batch.get_example(i)
        torch.testing.assert_close(sub.x, d.x)
        assert torch.equal(sub.edge_index, d.edge_index)
    # Lines on the batch equal lines per sample.
    lines = node_line_features(batch.x, 15)
    torch.testing.assert_close(lines, torch.cat([node_line_features(d.x, 15) for d in (a, b, c)]))
    with pytest.raises(ValueError, match="whole number"):
        to_skeletons(batch.x[:7], 15)
