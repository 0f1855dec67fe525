"""The Recurrent Relational Network layer (Palm et al., NeurIPS 2018) as used by ARRN-LSTM (ICME 2019, Eq. 5-8)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable
from torch.nn import GRUCell, Linear, ModuleList
from torch.utils.checkpoint import checkpoint as activation_checkpoint
from torch_geometric.nn.conv import MessagePassing

#: How the node state starts (:math:`\mathbf{h}^0`): the input zero-padded to the state size, or zeros.
RRN_INITS: tuple[str, ...] = ("input", "zeros")


class RRN(MessagePassing):
    r"""Recurrent Relational Network: ``E`` rounds of message passing with an MLP message and a GRU node update,
    parameters shared across rounds, from `"Recurrent Relational Networks" (Palm et al., NeurIPS 2018)
    <https://arxiv.org/abs/1711.08028>`_, in the form of ARRN-LSTM (Zheng et al., ICME 2019, Eq. 5-8).

    .. math::
        \mathbf{h}_i^{0} &= \mathbf{v}_i \, \Vert \, \mathbf{0}

        \mathbf{m}_{ij}^{e} &= f\left(\mathbf{h}_i^{e-1} \, \Vert \, \mathbf{h}_j^{e-1}\right)
        \qquad \text{(Eq. 5)}

        \mathbf{m}_{i}^{e} &= \sum_{j \in \mathcal{N}(i)} \mathbf{m}_{ij}^{e} \qquad \text{(Eq. 6)}

        \mathbf{h}_i^{e} &= \mathrm{GRU}\left(\mathbf{v}_i \, \Vert \, \mathbf{m}_i^{e},\ \mathbf{h}_i^{e-1}\right)
        \qquad \text{(Eq. 7)}

        \mathbf{w}_i &= \mathbf{h}_i^{E} \qquad \text{(Eq. 8)}

    with :math:`f = L_n \circ \mathrm{ReLU} \circ \dots \circ \mathrm{ReLU} \circ L_1` an MLP of ``message_layers``
    linear layers (``last_relu=True``: a ReLU after :math:`L_n` too), :math:`\mathbf{v}_i` the layer input (the
    node embedding), fed to the GRU at every round as in Palm et al., and :math:`\mathcal{N}(i)` the sources of
    the edges into ``i``. ``initial="zeros"`` starts from :math:`\mathbf{h}_i^0 = \mathbf{0}` instead (the
    paper leaves :math:`\mathbf{h}^0` open). ``E = 0`` returns :math:`\mathbf{h}^0` (the input, zero-padded to
    ``out_channels``); ``E = 1`` is a single round.

    Two ways to call it, with equal results:

    * ``forward(x, edge_index)``: any graph, through :meth:`propagate` (one row of ``edge_index`` per edge
      ``j -> i``; messages are computed per edge).
    * ``forward(x, num_nodes_per_graph=J)``: every graph is the complete graph on ``J`` nodes without self loops
      and ``x`` holds ``S`` graphs node-major, ``[S * J, ...]`` (the layout of :func:`skelgraph.data.to_data`
      with one skeleton per component). This fast path never builds per-edge inputs: :math:`L_1` applied to
      :math:`[\mathbf{h}_i, \mathbf{h}_j]` splits into :math:`A\mathbf{h}_i + B\mathbf{h}_j`, two per-node terms
      broadcast over the ``J x J`` pairs; the pairwise activations of the hidden layers are one batched matmul
      over all pairs; and the last layer, being linear, commutes with the sum:
      :math:`\sum_{j \ne i} L_n(\mathbf{z}_{ij}) = W_n \sum_{j \ne i} \mathbf{z}_{ij} + (J - 1)\mathbf{b}_n`,
      so it runs per node (with ``last_relu`` it joins the pairwise layers instead). The ``j = i`` term is
      removed by recomputing it per node, not by masking. The ``J x J`` hidden activations are computed a chunk
      of graphs at a time and recomputed chunk by chunk in the backward pass (a fused autograd function), so
      nothing pairwise is stored for backward and each chunk stays in cache; the cost is one more hidden-layer
      matmul per round in the backward pass. Double backward is not supported on this path.

    Node features may carry extra leading dimensions after the node axis (``node_dim=0``), e.g. ``[N, T, C]``
    for all ``T`` frames of a sequence at once; every frame is an independent graph.

    Args:
        in_channels: Size of the input :math:`\mathbf{v}_i` (must not exceed ``out_channels``).
        out_channels: Size of the node state :math:`\mathbf{h}_i` and of the output.
        E: Number of message passing rounds (ARRN-LSTM Section 4.1: 5).
        hidden_channels: Width of every message layer, including the message itself (default: ``out_channels``).
        message_layers: Number of linear layers in :math:`f` (ARRN-LSTM Section 4.1: 3).
        last_relu: A ReLU after the last layer of :math:`f` as well (messages then are non-negative).
        initial: :math:`\mathbf{h}^0`: ``"input"`` (the input, zero-padded) or ``"zeros"``.
        checkpoint: Recompute each round during the backward pass instead of storing its activations
            (activation checkpointing): node-level activations of one round instead of ``E`` (and, on the
            edge-list path, the per-edge activations of one round instead of ``E``).
        **kwargs: Further arguments of :class:`~torch_geometric.nn.conv.MessagePassing` (``aggr`` and
            ``node_dim`` are fixed to ``"add"`` and ``0``).

    Shapes:
        - **input:** node features :math:`(|\mathcal{V}|, *, F_{in})`, edge indices :math:`(2, |\mathcal{E}|)`
          or ``None`` with ``num_nodes_per_graph=J`` and :math:`|\mathcal{V}| = S J`
        - **output:** node features :math:`(|\mathcal{V}|, *, F_{out})`
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        E: int = 5,
        hidden_channels: int | None = None,
        message_layers: int = 3,
        checkpoint: bool = False,
        last_relu: bool = False,
        initial: str = "input",
        **kwargs,
    ) -> None:
        super().__init__(aggr="add", node_dim=0, **kwargs)
        if in_channels > out_channels:
            raise ValueError(f"in_channels ({in_channels}) must not exceed out_channels ({out_channels})")
        if E < 0:
            raise ValueError(f"E must be non-negative, got {E}")
        if message_layers < 1:
            raise ValueError(f"message_layers must be at least 1, got {message_layers}")
        if initial not in RRN_INITS:
            raise ValueError(f"unknown initial {initial!r}; expected one of {RRN_INITS}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.E = E
        self.hidden_channels = hidden_channels if hidden_channels is not None else out_channels
        self.message_layers = message_layers
        self.checkpoint = checkpoint
        self.last_relu = last_relu
        self.initial = initial

        widths = [2 * out_channels] + [self.hidden_channels] * message_layers
        self.mlp = ModuleList(Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.gru = GRUCell(in_channels + self.hidden_channels, out_channels)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for lin in self.mlp:
            lin.reset_parameters()
        self.gru.reset_parameters()

    def forward(self, x: Tensor, edge_index: Tensor | None = None, num_nodes_per_graph: int | None = None) -> Tensor:
        """Run ``E`` rounds; give exactly one of ``edge_index`` (any graph) and ``num_nodes_per_graph``
        (complete graphs, fast path)."""
        if (edge_index is None) == (num_nodes_per_graph is None):
            raise ValueError("give exactly one of edge_index and num_nodes_per_graph")
        if x.size(-1) != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {x.size(-1)}")
        if num_nodes_per_graph is not None and x.size(0) % num_nodes_per_graph:
            raise ValueError(f"{x.size(0)} nodes is not a whole number of {num_nodes_per_graph}-node graphs")
        h = x
        if self.initial == "zeros":
            h = x.new_zeros(*x.shape[:-1], self.out_channels)
        elif self.in_channels < self.out_channels:
            h = torch.cat([x, x.new_zeros(*x.shape[:-1], self.out_channels - self.in_channels)], dim=-1)
        for _ in range(self.E):
            if self.checkpoint and torch.is_grad_enabled():
                h = activation_checkpoint(self._round, h, x, edge_index, num_nodes_per_graph, use_reentrant=False)
            else:
                h = self._round(h, x, edge_index, num_nodes_per_graph)
        return h  # Eq. (8)

    def _round(self, h: Tensor, v: Tensor, edge_index: Tensor | None, num_nodes_per_graph: int | None) -> Tensor:
        """One round: messages (Eq. 5-6), then the GRU update (Eq. 7)."""
        if edge_index is not None:
            m = self.propagate(edge_index, x=h)
        else:
            m = self._complete_graph_messages(h, num_nodes_per_graph)
        inputs = torch.cat([v, m], dim=-1).reshape(-1, self.in_channels + self.hidden_channels)
        return self.gru(inputs, h.reshape(-1, self.out_channels)).view_as(h)  # Eq. (7)

    def message(self, x_i: Tensor, x_j: Tensor) -> Tensor:
        z = torch.cat([x_i, x_j], dim=-1)
        for k, lin in enumerate(self.mlp):
            z = lin(z)
            if k < len(self.mlp) - 1 or self.last_relu:
                z = z.relu()
        return z  # Eq. (5)

    def _complete_graph_messages(self, h: Tensor, J: int) -> Tensor:
        """Eq. (5)-(6) summed over every ``j != i`` of each ``J``-node graph, with no per-edge inputs."""
        S, rest, C = h.size(0) // J, h.shape[1:-1], h.size(-1)
        # Frames (and any other extra dims) become batch dims next to the graph: [S * R, J, C].
        h = h.reshape(S, J, -1, C).transpose(1, 2).reshape(-1, J, C)
        first, last = self.mlp[0], self.mlp[-1]
        a = F.linear(h, first.weight[:, :C], first.bias)  # L1 on [h_i, .]
        b = F.linear(h, first.weight[:, C:])  # L1 on [., h_j]
        if len(self.mlp) == 1 and not self.last_relu:  # f is linear: the sum over j != i is per-node algebra
            m = (J - 1) * a + b.sum(dim=1, keepdim=True) - b
        else:
            # Layers applied per pair: the hidden ones, and the last one too when a ReLU follows it.
            pairwise = self.mlp[1:] if self.last_relu else self.mlp[1:-1]
            mid = [p for lin in pairwise for p in (lin.weight, lin.bias)]
            self_term = (a + b).relu()  # the j = i pairs, per node
            for lin in pairwise:
                self_term = lin(self_term).relu()
            pair_sum = _PairSum.apply(a, b, *mid) - self_term
            if self.last_relu:
                m = pair_sum  # Eq. (6): the ReLU'd last layer is already summed over the pairs
            else:
                m = F.linear(pair_sum, last.weight) + (J - 1) * last.bias  # L_n after the sum (Eq. 6)
        return m.view(S, -1, J, m.size(-1)).transpose(1, 2).reshape(S * J, *rest, m.size(-1))

    def __repr__(self) -> str:
        options = ", last_relu=True" if self.last_relu else ""
        options += f", initial={self.initial!r}" if self.initial != "input" else ""
        return (
            f"{self.__class__.__name__}({self.in_channels}, {self.out_channels}, E={self.E}, "
            f"hidden_channels={self.hidden_channels}, message_layers={self.message_layers}{options})"
        )


#: Pairs (rows of width ``hidden_channels``) per chunk of :class:`_PairSum`: on the CPU small enough to stay in
#: cache; on a GPU large, because every chunk costs a few kernel launches (with the CPU's chunks the NTU-size
#: ARRN-LSTM spent 2 s per batch of 32 on an H200 launching about 12,000 small kernels).
_CHUNK_PAIRS = {"cpu": 4096}
_CHUNK_PAIRS_OTHER = 1 << 20


def _chunk(a: Tensor) -> int:
    """Graphs per chunk for ``a`` ``[G, J, H]`` on its device."""
    J = a.size(1)
    return max(1, _CHUNK_PAIRS.get(a.device.type, _CHUNK_PAIRS_OTHER) // (J * J))


class _PairSum(torch.autograd.Function):
    r"""``sum_j z_ij`` with ``z_ij = relu(L_k(... relu(L_2(relu(a_i + b_j)))))`` for all pairs ``(i, j)``
    (``j = i`` included) of each graph: ``a``, ``b`` ``[G, J, H]`` to ``[G, J, H']``.

    The ``J x J`` activations are computed a chunk of graphs at a time and recomputed in the backward pass, so
    they never exist for the whole batch (nothing pairwise is saved) and each chunk's passes stay in cache.
    ``weights`` alternate weight and bias of the hidden layers ``L_2 .. L_k`` (possibly none).

    Everything is computed in the dtype of ``a`` and ``b`` (under autocast, e.g. ``--amp``, the bfloat16 outputs of
    ``L_1``): the weights are cast to it in both passes, because autocast is not active in a custom backward; the
    weight gradients are accumulated and returned in the weights' own dtype.
    """

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, *weights: Tensor) -> Tensor:
        ctx.save_for_backward(a, b, *weights)
        G, J = a.shape[:2]
        step = _chunk(a)
        cast = [w.to(a.dtype) for w in weights]
        width = weights[-2].size(0) if weights else a.size(-1)
        out = a.new_empty(G, J, width)
        for g in range(0, G, step):
            out[g : g + step] = _pair_activations(a[g : g + step], b[g : g + step], cast)[-1].sum(dim=2)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        a, b, *weights = ctx.saved_tensors
        G, J = a.shape[:2]
        step = _chunk(a)
        cast = [w.to(a.dtype) for w in weights]
        grad_a, grad_b = torch.empty_like(a), torch.empty_like(b)
        grad_w = [torch.zeros_like(w) for w in weights]
        for g in range(0, G, step):
            acts = _pair_activations(a[g : g + step], b[g : g + step], cast)
            # d/d(pre-activation) of the last layer: the sum over j broadcasts grad_out to every pair.
            grad = _relu_backward(grad_out[g : g + step].unsqueeze(2).expand_as(acts[-1]), acts[-1])
            for k in range(len(weights) // 2, 0, -1):
                w, x_in = cast[2 * k - 2], acts[k - 1]
                flat = grad.reshape(-1, grad.size(-1))
                grad_w[2 * k - 2] += flat.t() @ x_in.reshape(-1, x_in.size(-1))
                grad_w[2 * k - 1] += flat.sum(dim=0)
                grad = _relu_backward(grad @ w, x_in)
            grad_a[g : g + step] = grad.sum(dim=2)
            grad_b[g : g + step] = grad.sum(dim=1)
        return (grad_a, grad_b, *grad_w)


def _relu_backward(grad: Tensor, out: Tensor) -> Tensor:
    """Gradient through ``out = relu(x)``, in one pass (the kernel autograd uses for ReLU)."""
    return torch.ops.aten.threshold_backward(grad, out, 0)


def _pair_activations(a: Tensor, b: Tensor, weights: tuple[Tensor, ...] | list[Tensor]) -> list[Tensor]:
    """Post-ReLU activations ``[g, i, j, .]`` of every pairwise layer for one chunk of graphs."""
    acts = [(a.unsqueeze(2) + b.unsqueeze(1)).relu_()]
    for k in range(0, len(weights), 2):
        acts.append(F.linear(acts[-1], weights[k], weights[k + 1]).relu_())
    return acts
