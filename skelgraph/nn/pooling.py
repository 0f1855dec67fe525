"""Body-part pooling (two-stream GCA-LSTM, Eq. (12)).

The coarse attention stream represents body part ``P`` at frame ``t`` by the mean of the hidden states of its
joints, ``h̄_{P,t} = 1/J_P sum_{j in P} h_{j,t}``. The mean is a scatter over the layout's part index
(:attr:`skelgraph.skeleton.Layout.part_index`), computed with :func:`torch_geometric.utils.scatter`, or with
``torch_scatter`` when it is installed.
"""

from __future__ import annotations

from importlib.util import find_spec

import torch_geometric.utils
from torch import Tensor, nn

from skelgraph.skeleton import BODY_PARTS

#: Whether the optional ``torch_scatter`` package is importable.
WITH_TORCH_SCATTER: bool = find_spec("torch_scatter") is not None


def part_mean(src: Tensor, index: Tensor, num_parts: int = len(BODY_PARTS), dim: int = 1,
              backend: str = "auto") -> Tensor:
    """Mean of the entries of ``src`` along ``dim`` that share a part index (Eq. (12)).

    Args:
        src: Features, e.g. ``[S, L, T, H]`` over chain positions.
        index: ``[src.size(dim)]`` part of every entry along ``dim``.
        num_parts: Number of parts (size of ``dim`` in the output).
        dim: The joint (or chain position) dimension.
        backend: ``"torch_scatter"``, ``"pyg"`` (:func:`torch_geometric.utils.scatter`), or ``"auto"``
            (``torch_scatter`` when installed).

    Returns:
        ``src`` with ``dim`` reduced to ``num_parts`` entries.
    """
    if backend == "auto":
        backend = "torch_scatter" if WITH_TORCH_SCATTER else "pyg"
    dim = dim % src.dim()
    if backend == "torch_scatter":
        import torch_scatter

        return torch_scatter.scatter_mean(src, index.to(src.device), dim=dim, dim_size=num_parts)
    if backend == "pyg":
        return torch_geometric.utils.scatter(src, index.to(src.device), dim=dim, dim_size=num_parts, reduce="mean")
    raise ValueError(f"unknown backend {backend!r}; expected 'auto', 'pyg' or 'torch_scatter'")


class BodyPartPool(nn.Module):
    """Average the joints (or chain positions) of every body part (Eq. (12)).

    Args:
        part_index: ``[L]`` body part of each entry along ``dim``, e.g. ``layout.part_index[chain]``.
        num_parts: Number of body parts (5, :data:`~skelgraph.skeleton.BODY_PARTS`).
        dim: Dimension holding the joints.
        backend: See :func:`part_mean`.

    Shapes:
        - input ``[S, L, T, H]`` (with ``dim=1``)
        - output ``[S, P, T, H]``
    """

    def __init__(self, part_index: Tensor, num_parts: int = len(BODY_PARTS), dim: int = 1,
                 backend: str = "auto") -> None:
        super().__init__()
        self.register_buffer("part_index", part_index.clone(), persistent=False)
        self.num_parts = num_parts
        self.dim = dim
        self.backend = backend

    def forward(self, h: Tensor) -> Tensor:
        return part_mean(h, self.part_index, self.num_parts, self.dim, self.backend)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(parts={self.num_parts}, dim={self.dim}, backend={self.backend!r})"
