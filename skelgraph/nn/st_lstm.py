"""Spatio-temporal LSTM (ST-LSTM) over joint chains x frames, computed by anti-diagonal wavefront.

The ST-LSTM of Liu et al. (ECCV 2016), as reviewed in GCA-LSTM (Liu et al., TIP 2018, Section III-A), runs a
two-dimensional recurrence over a grid of ``L`` chain positions (the joints of a frame visited in graph order,
:meth:`skelgraph.skeleton.Layout.chain`) by ``T`` frames. Cell ``(j, t)`` reads its input ``x_{j,t}``, the
state of the previous chain position in the same frame ``(j - 1, t)`` and the state of the same chain position
in the previous frame ``(j, t - 1)``.

Every cell on the anti-diagonal ``j + t = d`` depends only on cells of diagonal ``d - 1``, so a layer takes
``L + T - 1`` sequential steps instead of ``L * T``; each step multiplies the states of the whole previous
diagonal of all sequences at once (two matrix products accumulated in place into the gate pre-activations, one
per predecessor weight). The input projections of all cells are computed up front in one product, and so are
all weight gradients in the hand-written backward. :meth:`STLSTM.forward_reference` is the plain per-cell loop
kept as the reference the tests compare against (values and gradients). The trust gate of Liu et al.
(``trust_gate=True``) runs in the same wavefront: its prediction is ``H`` more gate rows of the recurrent
products. ``STLSTM._forward_diagonals`` is the same recurrence diagonal by diagonal under plain autograd (a second
reference, and twice differentiable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from skelgraph.data import to_skeletons
from skelgraph.skeleton import Layout


@dataclass(frozen=True)
class WavefrontPlan:
    """Index bookkeeping of the wavefront over an ``L x T`` grid (CPU tensors; see :func:`wavefront_plan`).

    Cells are stored diagonal-major with a zero row on either side of every diagonal ("padded rows"), after
    a leading zero block that plays the diagonal before the first, so the spatial and temporal predecessors
    (and successors) of the cells of one diagonal are two shifted contiguous slices of the neighbouring
    diagonal's block, and the grid border reads zero rows.

    Attributes:
        num_rows: Number of padded rows.
        diagonals: Per diagonal ``d``: ``(start, n, prev, a, b)``: the block of ``d`` is padded rows
            ``[start, start + n + 2)`` with its cells at ``start + 1 .. start + n``; ``prev`` is the start of the
            block of ``d - 1``; ``a = lo(d) - lo(d - 1)`` and ``b = lo(d) - lo(d + 1)`` where ``lo(d)`` is the
            smallest chain position on ``d``.
        rows: ``[L * T]``: padded row of cell ``j * T + t``.
        sources: ``[num_rows]``: cell ``j * T + t`` of every padded row (0 on pad rows).
        pads: Indices of the pad rows.
    """

    num_rows: int
    diagonals: tuple[tuple[int, int, int, int, int], ...]
    rows: Tensor
    sources: Tensor
    pads: Tensor


@lru_cache(maxsize=64)
def wavefront_plan(num_positions: int, num_frames: int) -> WavefrontPlan:
    """The :class:`WavefrontPlan` of an ``L x T`` grid (cached)."""
    L, T = num_positions, num_frames
    num_diagonals = L + T - 1
    lo = [max(0, d - T + 1) for d in range(num_diagonals)]
    sizes = [min(d, L - 1) - lo[d] + 1 for d in range(num_diagonals)]
    starts, num_rows = [], 2  # rows 0 and 1: the zero block before diagonal 0
    for n in sizes:
        starts.append(num_rows)
        num_rows += n + 2
    diagonals = tuple(
        (
            starts[d],
            sizes[d],
            starts[d - 1] if d else 0,
            lo[d] - (lo[d - 1] if d else 0),
            lo[d] - (lo[d + 1] if d + 1 < num_diagonals else 0),
        )
        for d in range(num_diagonals)
    )
    j = torch.arange(L).repeat_interleave(T)
    d = j + torch.arange(T).repeat(L)
    rows = torch.tensor(starts)[d] + 1 + j - torch.tensor(lo)[d]
    sources = torch.zeros(num_rows, dtype=torch.long)
    sources[rows] = torch.arange(L * T)
    is_pad = torch.ones(num_rows, dtype=torch.bool)
    is_pad[rows] = False
    return WavefrontPlan(num_rows, diagonals, rows, sources, is_pad.nonzero().flatten())


class _Wavefront(torch.autograd.Function):
    """An ST-LSTM layer by anti-diagonal wavefront, with a hand-written backward.

    Inputs: ``x`` ``[L * T, S, C]`` (cell-major, cell ``j * T + t``), the weights of Eq. (1) split into input
    ``[5H, C]``, bias ``[G]``, spatial ``[G, H]`` and temporal ``[G, H]`` parts, the optional gate ``r``
    ``[L * T, S]``, and ``trust_lambda`` (``None``: no trust gate). ``G = 5H`` without the trust gate; with it
    ``G = 6H``: the last ``H`` rows of the bias and of the two recurrent weights are the trust gate's prediction
    ``p = tanh(W_p [h_{j-1,t}; h_{j,t-1}] + b_p)``, which reads no input. Output: ``h`` ``[L * T, S, H]``.

    By hand, one diagonal is a handful of in-place kernels on buffers allocated once per call (no autograd graph
    of ``L + T - 1`` steps, no allocation per step), and the input projection and all weight gradients are
    single matrix products over all cells.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: Tensor,
        w_input: Tensor,
        bias: Tensor,
        w_spatial: Tensor,
        w_temporal: Tensor,
        gate: Tensor | None,
        L: int,
        T: int,
        trust_lambda: float | None = None,
    ) -> Tensor:
        plan = wavefront_plan(L, T)
        S, H, G = x.size(1), w_spatial.size(1), w_spatial.size(0)
        device = x.device
        x_rows = x.index_select(0, plan.sources.to(device))
        if G > 5 * H:  # the prediction rows read no input
            w_input = F.pad(w_input, (0, 0, 0, G - 5 * H))
        # Input projections of all cells in one product; they become the gate activations in place.
        acts = torch.addmm(bias, x_rows.view(-1, x.size(-1)), w_input.t()).view(plan.num_rows, S, G)
        r = gate.index_select(0, plan.sources.to(device)).unsqueeze(-1) if gate is not None else None
        pads = plan.pads.to(device)
        cells = x.new_empty(plan.num_rows, S, H).index_fill_(0, pads, 0)
        hidden = x.new_empty(plan.num_rows, S, H).index_fill_(0, pads, 0)
        tanh_cells = x.new_empty(plan.num_rows, S, H)  # kept for the backward; pad rows never read
        taus = x.new_empty(plan.num_rows, S, H) if trust_lambda is not None else None
        w_s, w_t = w_spatial.t(), w_temporal.t()
        for start, n, prev, a, _ in plan.diagonals:
            block = slice(start + 1, start + 1 + n)
            g = acts[block]
            # Eq. (1): W [x; h_{j-1,t}; h_{j,t-1}], accumulated in place by the matrix products.
            g.view(-1, G).addmm_(hidden[prev + a : prev + a + n].view(-1, H), w_s)
            g.view(-1, G).addmm_(hidden[prev + a + 1 : prev + a + 1 + n].view(-1, H), w_t)
            g[..., : 4 * H].sigmoid_()
            g[..., 4 * H :].tanh_()  # u, and the trust gate's prediction p
            i, f_s, f_t, o, u = g[..., : 5 * H].split(H, dim=-1)
            c = torch.mul(f_s, cells[prev + a : prev + a + n], out=cells[block])
            c.addcmul_(f_t, cells[prev + a + 1 : prev + a + 1 + n])
            if taus is None:
                write = torch.mul(i, u)
            else:  # tau = exp(-lambda (u - p)^2) scales i by tau and both forget gates by 1 - tau
                tau = torch.sub(u, g[..., 5 * H :], out=taus[block]).square_().mul_(-trust_lambda).exp_()
                c.mul_(1 - tau)
                write = i * u * tau
            if r is None:
                c.add_(write)  # Eq. (2)
            else:
                c.mul_(1 - r[block]).addcmul_(write, r[block])  # Eq. (7)
            torch.mul(o, torch.tanh(c, out=tanh_cells[block]), out=hidden[block])  # Eq. (3)
        ctx.save_for_backward(x_rows, acts, cells, tanh_cells, hidden, r, taus, w_input, w_spatial, w_temporal)
        ctx.L, ctx.T, ctx.trust_lambda = L, T, trust_lambda
        return hidden.index_select(0, plan.rows.to(device))

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_h: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        x_rows, acts, cells, tanh_cells, hidden, r, taus, w_input, w_spatial, w_temporal = ctx.saved_tensors
        lam = ctx.trust_lambda
        plan = wavefront_plan(ctx.L, ctx.T)
        S, H, G = grad_h.size(1), w_spatial.size(1), w_spatial.size(0)
        device = grad_h.device
        rows = plan.rows.to(device)
        d_h = grad_h.index_select(0, plan.sources.to(device))  # pad rows never read
        d_gates = grad_h.new_empty(plan.num_rows, S, G).index_fill_(0, plan.pads.to(device), 0)
        d_cells = grad_h.new_zeros(plan.num_rows, S, H)
        d_gate = grad_h.new_zeros(plan.num_rows, S) if r is not None and ctx.needs_input_grad[5] else None
        need = ctx.needs_input_grad
        # Recurrent weight gradients, accumulated diagonal by diagonal from the same predecessor slices the
        # forward read (no gathered copy of the hidden states).
        d_ws = grad_h.new_zeros(G, H) if need[3] else None
        d_wt = grad_h.new_zeros(G, H) if need[4] else None
        following = None
        for start, n, prev, a, b in reversed(plan.diagonals):
            block = slice(start + 1, start + 1 + n)
            dh = d_h[block]
            if following is not None:
                # Successors of position j on diagonal d + 1: (j + 1, t) at local row j - lo(d+1) + 2 and
                # (j, t + 1) at local row j - lo(d+1) + 1 of that block; zero rows stand for the border.
                dh.view(-1, H).addmm_(d_gates[following + b + 2 : following + b + 2 + n].view(-1, G), w_spatial)
                dh.view(-1, H).addmm_(d_gates[following + b + 1 : following + b + 1 + n].view(-1, G), w_temporal)
            g = acts[block]
            i, f_s, f_t, o, u = g[..., : 5 * H].split(H, dim=-1)
            tanh_c = tanh_cells[block]
            dg = d_gates[block]
            d_i, d_fs, d_ft, d_o, d_u = dg[..., : 5 * H].split(H, dim=-1)
            torch.mul(dh, tanh_c, out=d_o)
            dc = d_cells[block]
            dc += torch.ops.aten.tanh_backward(dh * o, tanh_c)  # Eq. (3)
            c_s = cells[prev + a : prev + a + n]
            c_t = cells[prev + a + 1 : prev + a + 1 + n]
            if r is None:
                dc_in = dc_forget = dc
            else:
                dc_in, dc_forget = dc * r[block], dc * (1 - r[block])
            if taus is None:
                if d_gate is not None:
                    mix = torch.mul(i, u).sub_(f_s * c_s).sub_(f_t * c_t)
                    d_gate[block] = (dc * mix).sum(-1)  # Eq. (7) w.r.t. r
                # The cell gradient flows to the spatial and temporal predecessors through the forget gates.
                d_cells[prev + a : prev + a + n].addcmul_(dc_forget, f_s)
                d_cells[prev + a + 1 : prev + a + 1 + n].addcmul_(dc_forget, f_t)
                torch.mul(dc_in, u, out=d_i)
                torch.mul(dc_forget, c_s, out=d_fs)
                torch.mul(dc_forget, c_t, out=d_ft)
                torch.mul(dc_in, i, out=d_u)
            else:
                # The trust gate: c = tau i u + (1 - tau) (f_s c_s + f_t c_t) (times r and 1 - r with a gate).
                tau = taus[block]
                keep = 1 - tau
                kept = torch.mul(f_s, c_s).addcmul_(f_t, c_t)
                written = i * u
                if d_gate is not None:
                    d_gate[block] = (dc * (written * tau - kept * keep)).sum(-1)
                d_forget = dc_forget * keep
                d_cells[prev + a : prev + a + n].addcmul_(d_forget, f_s)
                d_cells[prev + a + 1 : prev + a + 1 + n].addcmul_(d_forget, f_t)
                torch.mul(d_forget, c_s, out=d_fs)
                torch.mul(d_forget, c_t, out=d_ft)
                d_write = dc_in * tau
                torch.mul(d_write, u, out=d_i)
                torch.mul(d_write, i, out=d_u)
                # d tau, then through tau = exp(-lambda (u - p)^2) to u and p.
                d_delta = (dc_in * written).sub_(dc_forget * kept).mul_(tau).mul_(u - g[..., 5 * H :])
                d_delta.mul_(-2.0 * lam)
                d_u += d_delta
                torch.neg(d_delta, out=dg[..., 5 * H :])
            d_sig = dg[..., : 4 * H]
            torch.ops.aten.sigmoid_backward.grad_input(d_sig, g[..., : 4 * H], grad_input=d_sig)
            d_tanh = dg[..., 4 * H :]
            torch.ops.aten.tanh_backward.grad_input(d_tanh, g[..., 4 * H :], grad_input=d_tanh)
            dg_flat = dg.view(-1, G).t()
            if d_ws is not None:
                d_ws.addmm_(dg_flat, hidden[prev + a : prev + a + n].view(-1, H))
            if d_wt is not None:
                d_wt.addmm_(dg_flat, hidden[prev + a + 1 : prev + a + 1 + n].view(-1, H))
            following = start
        flat = d_gates.view(-1, G)  # pad rows are zero, so the products below may run over all rows
        d_x = (flat @ w_input).view(plan.num_rows, S, -1).index_select(0, rows) if need[0] else None
        d_w_input = flat[:, : 5 * H].t() @ x_rows.view(-1, x_rows.size(-1)) if need[1] else None
        d_bias = flat.sum(0) if need[2] else None
        d_r = d_gate.index_select(0, rows) if d_gate is not None else None
        return d_x, d_w_input, d_bias, d_ws, d_wt, d_r, None, None, None


def flush_denormals() -> bool:
    """Treat denormal floats as zero on this CPU (``torch.set_flush_denormal(True)``; TensorFlow's default).

    ST-LSTM gradients decay through the forget gates (about 0.27 each at initialisation) over hundreds of grid
    steps, and the gated second layer's cells carry inputs scaled by scores near ``1 / (L T)``; both pass through
    the denormal range, where CPU arithmetic is many times slower: a GCA-LSTM training step at NTU size (batch 4)
    took 11.2 s instead of 1.5 s. Values below ``1e-38`` change nothing in training. The setting is process
    state: it stays on after training. Returns False where the CPU cannot flush denormals.
    """
    return torch.set_flush_denormal(True)


def gather_chain(x: Tensor, num_joints: int, chain: Tensor) -> Tensor:
    """Per-joint node features ``[S * J, T, C]`` (body-major) to chain order ``[S, L, T, C]``."""
    return to_skeletons(x, num_joints).index_select(1, chain.to(x.device))


class STLSTM(nn.Module):
    r"""One ST-LSTM layer (GCA-LSTM Eq. (1)-(3)), with an optional informativeness gate (Eq. (7), (13)).

    .. math::
        (i, f^{(S)}, f^{(T)}, o, u)_{j,t} &= (\sigma, \sigma, \sigma, \sigma, \tanh)
            \left(W [x_{j,t}; h_{j-1,t}; h_{j,t-1}] + b\right) \\
        c_{j,t} &= r_{j,t} \odot i \odot u + (1 - r_{j,t}) \odot (f^{(S)} \odot c_{j-1,t}
            + f^{(T)} \odot c_{j,t-1}) \\
        h_{j,t} &= o \odot \tanh(c_{j,t})

    Without a gate ``r`` the cell update is Eq. (2) (``r = 1`` on the input term and on the forget terms).

    With ``trust_gate=True``, the trust gate of the original ST-LSTM (Liu et al., ECCV 2016, Section 3.3, as the
    authors' public code ``STLSTM3.lua`` computes it) scales the input and forget gates: a prediction of the
    input from the two predecessor states, :math:`p = \tanh(W_p [h_{j-1,t}; h_{j,t-1}] + b_p)`, is compared with
    the cell's input modulation :math:`u`, and :math:`\tau = \exp(-\lambda (u - p)^2)` (element-wise) replaces
    :math:`i` by :math:`\tau \odot i` and both forget gates :math:`f` by :math:`(1 - \tau) \odot f`: an input
    that the context does not predict (a noisy joint) writes less into the cell, which keeps more of its
    history. That model is the one the GCA-LSTM paper's "ST-LSTM [29]" rows cite (93.3 % on SBU).
    On CPU, call :func:`flush_denormals` before training with it (the training engine does): its gradients pass
    through the denormal range and run several times slower otherwise.
    States outside the grid (``j = 0`` spatially, ``t = 0`` temporally) are zero. :meth:`forward` runs the
    wavefront with a hand-written backward (first derivatives only); :meth:`forward_reference` is the per-cell
    loop.

    Args:
        in_channels: Size of ``x_{j,t}``.
        hidden_channels: Size of the hidden and cell states (128 in the paper).
        trust_gate: Add the trust gate (three more weights: ``weight_predict_spatial``,
            ``weight_predict_temporal``, ``bias_predict``). It runs in the hand-written wavefront too: forward +
            backward of one layer at SBU size (29 x 20 grid, 32 sequences, hidden 128, one thread) took 1.17x the
            time without it, where the plain-autograd diagonals took 4.1x (``bench/bench_trust_gate.py``).
        trust_lambda: :math:`\lambda` of the trust gate (0.5, the authors' code).
        forget_bias: Added to the initial biases of both forget gates (default ``-1``: each gate starts near
            0.27). Every cell adds ``f^{(S)} c_{j-1,t} + f^{(T)} c_{j,t-1}``, so the cell state grows like
            ``(f^{(S)} + f^{(T)})^{j + t}`` over the grid's diagonals wherever the two gates sum above one. With
            the plain initialisation (gates near 0.5, summing to about 1 +- the input terms) the first layer's
            cells on SBU (a 29 x 20 grid) reached a mean ``|c|`` of 600 at the last step, 63 % of them beyond
            ``|c| > 2`` where ``tanh`` saturates, and training crawled (GCA-LSTM on SBU fold 0 after 40 epochs:
            70.9 % test accuracy with ``0``, 81.8 % with ``-1``; ``recipes/gca_lstm_sbu.py --forget-bias``).
            ``0`` gives the plain initialisation.

    Shapes:
        - input ``x`` ``[S, L, T, in_channels]``, optional gate ``[S, L, T]``
        - output ``h`` ``[S, L, T, hidden_channels]``
    """

    def __init__(self, in_channels: int, hidden_channels: int = 128, forget_bias: float = -1.0,
                 trust_gate: bool = False, trust_lambda: float = 0.5) -> None:
        super().__init__()
        if trust_lambda <= 0:
            raise ValueError(f"trust_lambda must be positive (the gate is exp(-lambda (u - p)^2)), got {trust_lambda}")
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.forget_bias = forget_bias
        self.trust_gate = trust_gate
        self.trust_lambda = trust_lambda
        H = hidden_channels
        # W of Eq. (1) split by source: input (with the bias), spatial predecessor, temporal predecessor.
        self.weight_input = nn.Parameter(torch.empty(5 * H, in_channels))
        self.weight_spatial = nn.Parameter(torch.empty(5 * H, H))
        self.weight_temporal = nn.Parameter(torch.empty(5 * H, H))
        self.bias = nn.Parameter(torch.empty(5 * H))
        if trust_gate:  # W_p of the trust gate's prediction, split the same way
            self.weight_predict_spatial = nn.Parameter(torch.empty(H, H))
            self.weight_predict_temporal = nn.Parameter(torch.empty(H, H))
            self.bias_predict = nn.Parameter(torch.empty(H))
        self.reset_parameters()

    def _predict_weights(self) -> tuple[Tensor, Tensor, Tensor] | None:
        if not self.trust_gate:
            return None
        return self.weight_predict_spatial, self.weight_predict_temporal, self.bias_predict

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_channels)
        for p in (self.weight_input, self.weight_spatial, self.weight_temporal, self.bias,
                  *(self._predict_weights() or ())):
            nn.init.uniform_(p, -bound, bound)
        H = self.hidden_channels
        with torch.no_grad():
            self.bias[H : 3 * H] += self.forget_bias  # gate order i, f^(S), f^(T), o, u

    def _cell(self, gates: Tensor, c_spatial: Tensor, c_temporal: Tensor, gate: Tensor | None,
              predict: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Eq. (1)-(3) (or (7) with ``gate``) from pre-activations ``[..., 5H]`` and the two previous cells;
        ``predict``: the trust gate's prediction pre-activation ``[..., H]`` (``trust_gate=True`` only)."""
        i, f_s, f_t, o = torch.sigmoid(gates[..., : 4 * c_spatial.size(-1)]).chunk(4, dim=-1)  # Eq. (1)
        u = torch.tanh(gates[..., 4 * c_spatial.size(-1) :])
        if predict is not None:  # the trust gate (Liu et al. 2016, Sec. 3.3)
            tau = torch.exp(-self.trust_lambda * (u - torch.tanh(predict)).square())
            i, f_s, f_t = tau * i, (1 - tau) * f_s, (1 - tau) * f_t
        if gate is None:
            c = i * u + f_s * c_spatial + f_t * c_temporal  # Eq. (2)
        else:
            r = gate.unsqueeze(-1)
            c = r * (i * u) + (1 - r) * (f_s * c_spatial + f_t * c_temporal)  # Eq. (7)
        return o * torch.tanh(c), c  # Eq. (3)

    def forward(self, x: Tensor, gate: Tensor | None = None) -> Tensor:
        S, L, T, C = x.shape
        cells = x.permute(1, 2, 0, 3).reshape(L * T, S, C)  # cell-major for the wavefront
        r = gate.permute(1, 2, 0).reshape(L * T, S) if gate is not None else None
        bias, w_s, w_t, lam = self.bias, self.weight_spatial, self.weight_temporal, None
        if self.trust_gate:  # the prediction's weights ride along as H more gate rows
            bias = torch.cat([bias, self.bias_predict])
            w_s = torch.cat([w_s, self.weight_predict_spatial])
            w_t = torch.cat([w_t, self.weight_predict_temporal])
            lam = self.trust_lambda
        # The recurrence runs in the parameters' dtype, also under autocast (--amp): the hand-written passes mix
        # no dtypes, and cell states summed over L + T - 1 diagonals keep float32 precision.
        dtype = self.weight_input.dtype
        with torch.autocast(x.device.type, enabled=False):
            h = _Wavefront.apply(cells.to(dtype), self.weight_input, bias, w_s, w_t,
                                 r.to(dtype) if r is not None else None, L, T, lam)
        return h.view(L, T, S, self.hidden_channels).permute(2, 0, 1, 3)

    def _forward_diagonals(self, x: Tensor, gate: Tensor | None) -> Tensor:
        """The wavefront under plain autograd: one step per anti-diagonal ``j + t = d`` for all sequences."""
        S, L, T, _ = x.shape
        H = self.hidden_channels
        pre = F.linear(x, self.weight_input, self.bias)  # input projections of all cells at once
        predict = self._predict_weights()
        states, order = [], []
        h_prev = c_prev = x.new_zeros(S, 0, H)
        lo_prev = 0
        for d in range(L + T - 1):
            lo, hi = max(0, d - T + 1), min(L - 1, d)
            j = torch.arange(lo, hi + 1, device=x.device)
            t = d - j
            # Diagonal d - 1 (positions lo_prev..) padded with a zero state at both ends: the spatial predecessor
            # (j - 1, t) sits at padded row j - lo_prev, the temporal one (j, t - 1) at j - lo_prev + 1; rows
            # past the grid's border are the zero pads.
            h_pad, c_pad = F.pad(h_prev, (0, 0, 1, 1)), F.pad(c_prev, (0, 0, 1, 1))
            h_s, c_s = h_pad[:, j - lo_prev], c_pad[:, j - lo_prev]
            h_t, c_t = h_pad[:, j - lo_prev + 1], c_pad[:, j - lo_prev + 1]
            gates = pre[:, j, t] + F.linear(h_s, self.weight_spatial) + F.linear(h_t, self.weight_temporal)
            p = None
            if predict is not None:
                p = F.linear(h_s, predict[0]) + F.linear(h_t, predict[1], predict[2])
            h_prev, c_prev = self._cell(gates, c_s, c_t, gate[:, j, t] if gate is not None else None, p)
            states.append(h_prev)
            order.append(j * T + t)
            lo_prev = lo
        # Diagonal order back to cell order j * T + t.
        where = torch.empty(L * T, dtype=torch.long, device=x.device)
        where[torch.cat(order)] = torch.arange(L * T, device=x.device)
        return torch.cat(states, dim=1).index_select(1, where).view(S, L, T, H)

    def forward_reference(self, x: Tensor, gate: Tensor | None = None) -> Tensor:
        """Plain per-cell loop over ``j`` then ``t`` (the reference for :meth:`forward`; slow)."""
        S, L, T, _ = x.shape
        H = self.hidden_channels
        weight = torch.cat([self.weight_input, self.weight_spatial, self.weight_temporal], dim=1)
        predict = self._predict_weights()
        zero = x.new_zeros(S, H)
        # Unbound once: indexing x[:, j, t] per cell would give every cell a backward that writes a full-size
        # zero gradient (quadratic in L * T when x or the gate needs a gradient, as in a second layer).
        inputs = [row.unbind(1) for row in x.unbind(1)]
        gates_in = [row.unbind(1) for row in gate.unbind(1)] if gate is not None else None
        h: dict[tuple[int, int], Tensor] = {}
        c: dict[tuple[int, int], Tensor] = {}
        for j in range(L):
            for t in range(T):
                h_s, c_s = (h[j - 1, t], c[j - 1, t]) if j > 0 else (zero, zero)
                h_t, c_t = (h[j, t - 1], c[j, t - 1]) if t > 0 else (zero, zero)
                gates = F.linear(torch.cat([inputs[j][t], h_s, h_t], dim=-1), weight, self.bias)
                p = None
                if predict is not None:
                    p = F.linear(torch.cat([h_s, h_t], dim=-1), torch.cat(predict[:2], dim=1), predict[2])
                h[j, t], c[j, t] = self._cell(gates, c_s, c_t, gates_in[j][t] if gates_in is not None else None, p)
        return torch.stack([torch.stack([h[j, t] for t in range(T)], dim=1) for j in range(L)], dim=1)

    def __repr__(self) -> str:
        trust = f", trust_gate=True, trust_lambda={self.trust_lambda}" if self.trust_gate else ""
        return (f"{self.__class__.__name__}({self.in_channels}, {self.hidden_channels}, "
                f"forget_bias={self.forget_bias}{trust})")


class STLSTMEncoder(nn.Module):
    """The input side shared by the ST-LSTM models: chain gathering and the first ST-LSTM layer.

    Takes body-major joint features ``data.x`` ``[S * J, T, C]``, gathers them along the layout's chain
    (:meth:`~skelgraph.skeleton.Layout.chain`, tree traversal by default) into ``[S, L, T, C]`` and runs the
    first ST-LSTM layer, followed by dropout (0.5 in the paper).
    """

    def __init__(
        self, layout: Layout, in_channels: int = 3, hidden_channels: int = 128, dropout: float = 0.5,
        chain: str = "tree", forget_bias: float = -1.0, trust_gate: bool = False,
    ) -> None:
        super().__init__()
        self.num_joints = layout.num_joints
        self.register_buffer("chain", layout.chain(chain), persistent=False)
        self.layer = STLSTM(in_channels, hidden_channels, forget_bias, trust_gate=trust_gate)
        self.dropout = nn.Dropout(dropout)

    @property
    def num_positions(self) -> int:
        return self.chain.numel()

    def forward(self, x: Tensor) -> Tensor:
        """``[S * J, T, C]`` -> first-layer hidden states ``[S, L, T, H]`` (after dropout)."""
        return self.dropout(self.layer(gather_chain(x, self.num_joints, self.chain)))
