"""Stock PyG layers on skeleton graphs.

skelgraph's graphs carry the time axis on the node features, ``x`` ``[N, T, C]`` (``node_dim=0``): one
``propagate`` of :class:`~skelgraph.nn.RRN` covers every frame. Stock PyG layers read ``x`` as
``[num_nodes, C]`` (``node_dim=-2``): given ``[N, T, C]`` they take the ``T`` frames for the nodes, silently
when the edge indices happen to be below ``T``. :class:`FrameWise` runs such a layer on every frame as its own
graph; :class:`~skelgraph.transforms.PerFrameGraphs` and :class:`~skelgraph.transforms.TimeToChannels` reshape
the data instead.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, nn

from skelgraph.data import per_frame_edge_index


class FrameWise(nn.Module):
    """Apply a stock PyG layer to every frame of skeleton node features ``x`` ``[N, T, C]``.

    The ``T`` frames become ``T`` disjoint copies of the graph (node ``n`` at frame ``t`` is ``n * T + t``, edges
    repeated per frame, :func:`~skelgraph.data.per_frame_edge_index`), the layer runs once on all of them, and its
    output ``[N * T, C']`` is viewed back as ``[N, T, C']``. Per-edge tensors passed by keyword (``edge_weight``,
    ``edge_attr``: first dimension ``E``) are repeated per frame too. The result equals calling the layer on
    ``x[:, t]`` for every ``t`` (checked in the tests).

    Args:
        layer: Any module called as ``layer(x, edge_index, **kwargs)`` with ``x`` ``[num_nodes, C]``,
            e.g. ``GCNConv(3, 16)``.

    Example::

        conv = FrameWise(GCNConv(3, 16))
        h = conv(batch.x, batch.edge_index)   # [N, T, 16]

    Raises:
        ValueError: ``x`` is not ``[N, T, C]``, or ``edge_index`` names a node ``>= N`` (e.g. a graph already
            made per frame by :class:`~skelgraph.transforms.PerFrameGraphs`).
    """

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def reset_parameters(self) -> None:
        if hasattr(self.layer, "reset_parameters"):
            self.layer.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor, **kwargs: Any) -> Tensor:
        if x.dim() != 3:
            raise ValueError(f"FrameWise expects x of shape [num_nodes, T, C], got {tuple(x.shape)}")
        N, T, C = x.shape
        if edge_index.numel() and int(edge_index.max()) >= N:
            raise ValueError(f"edge_index names node {int(edge_index.max())} but x has {N} nodes "
                             f"(shape {tuple(x.shape)}); FrameWise takes the graph of one frame")
        E = edge_index.size(1)
        per_edge = {k: v.repeat_interleave(T, dim=0) if isinstance(v, Tensor) and v.dim() and v.size(0) == E else v
                    for k, v in kwargs.items()}
        out = self.layer(x.reshape(N * T, C), per_frame_edge_index(edge_index, T), **per_edge)
        return out.view(N, T, *out.shape[1:])

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.layer})"
