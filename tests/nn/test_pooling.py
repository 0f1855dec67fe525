import pytest
import torch

from skelgraph.nn.pooling import BodyPartPool, part_mean
from skelgraph.skeleton import NTU, SBU


def _hand_loop(src, index, num_parts):
    out = torch.zeros(src.size(0), num_parts, *src.shape[2:], dtype=src.dtype)
    for p in range(num_parts):
        members = [k for k in range(index.numel()) if index[k] == p]
        for k in members:
            out[:, p] += src[:, k]
        out[:, p] /= len(members)
    return out


@pytest.mark.parametrize("backend", ["pyg", "torch_scatter", "auto"])
@pytest.mark.parametrize("layout", [SBU, NTU])
def test_part_mean_equals_hand_loop(backend, layout):
    if backend == "torch_scatter":
        pytest.importorskip("torch_scatter")
    index = layout.part_index[layout.chain("tree")]  # chain positions: joints visited several times
    src = torch.randn(2, index.numel(), 3, 4, dtype=torch.double, requires_grad=True)
    out = part_mean(src, index, backend=backend)
    expected = _hand_loop(src, index, 5)
    torch.testing.assert_close(out, expected)
    weight = torch.randn_like(out)
    (g,) = torch.autograd.grad((out * weight).sum(), src)
    (g_ref,) = torch.autograd.grad((expected * weight).sum(), src)
    torch.testing.assert_close(g, g_ref)


def test_backends_agree_and_module():
    pytest.importorskip("torch_scatter")
    index = SBU.part_index
    src = torch.randn(3, SBU.num_joints, 5, 8)
    torch.testing.assert_close(part_mean(src, index, backend="pyg"), part_mean(src, index, backend="torch_scatter"))
    pool = BodyPartPool(index, backend="pyg")
    assert pool(src).shape == (3, 5, 5, 8)
    assert "parts=5" in repr(pool)


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend"):
        part_mean(torch.zeros(1, 3, 2), torch.tensor([0, 1, 1]), backend="numpy")
