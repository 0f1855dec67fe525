"""GCA-LSTM (Liu et al., TIP 2018): global context-aware attention over a two-layer ST-LSTM.

Models (all follow the model contract: ``model(data) -> [B, K]`` scores, ``model.training_loss(data)``):

- :class:`GCALSTM`: Section III-B. The first ST-LSTM layer encodes the sequence and initialises the global
  context memory ``IF(0)`` (Eq. (4), or a one-layer feed-forward network); each of ``N`` attention iterations
  scores every spatio-temporal step against the memory (Eq. (5)-(6)), runs the second ST-LSTM layer with the
  scores as informativeness gate (Eq. (7)) and refines the memory from the last step's output (Eq. (8)); the
  classifier reads ``IF(N)`` (Eq. (9)). Variants: parameter sharing of Table VIII, soft attention (Section V-I).
- :class:`TwoStreamGCALSTM`: Section IV. A fine (joint-level) and a coarse (body-part-level, Eq. (10)-(13))
  attention stream share the first layer; each has its own memory and second layer; predictions are averaged.
- :class:`STLSTMClassifier`: the baselines of Section V: plain two-layer ST-LSTM classifying every step, and
  "ST-LSTM + Global (1)" (concatenation + feed-forward) and "(2)" (average).

Stepwise training (Section III-C, Algorithm 1): ``forward(data, iteration=n)`` and ``training_loss(data,
iteration=n)`` classify from ``IF(n)``; ``iteration_parameters(n)`` lists the parameters used by iterations
``0 .. n``, the ones training step ``n`` optimises.

Several bodies: every skeleton runs through the network on its own; class scores (logits) are averaged over the
bodies of a sample (the project-wide rule).

Sequence lengths: samples shorter than ``T`` are zero-padded (:class:`~skelgraph.transforms.FixedLength`), and
their real length travels with the batch (``data.num_frames``). Padded steps enter nothing: ``F(n)`` is the
output of the last chain position at the last *real* frame, the Eq. (4) mean, the Eq. (6) softmax and every
average over steps run over real steps only, and the feed-forward ``IF(0)`` and "Global (1)" layers read zeros
at padded steps. The recurrences only run forward in time, so real steps never see padding either: changing the
padded frames changes no output (tested).
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from skelgraph.data import check_node_features, frame_mask, skeleton_batch, skeleton_lengths
from skelgraph.nn._common import init_arguments, model_repr, reset_submodules
from skelgraph.nn.pooling import BodyPartPool
from skelgraph.nn.st_lstm import STLSTM, STLSTMEncoder
from skelgraph.skeleton import BODY_PARTS, KINECT_V1, NTU, SBU, Layout


def _sample_mean(per_skeleton: Tensor, data: Data, num_joints: int) -> Tensor:
    """Average ``[S, ...]`` per-skeleton values over the bodies of each sample: ``[B, ...]``."""
    batch = getattr(data, "batch", None)
    if batch is None:
        return per_skeleton.mean(0, keepdim=True)
    sample = skeleton_batch(batch, num_joints)
    return scatter(per_skeleton, sample, dim=0, dim_size=data.num_graphs, reduce="mean")


def _real_steps(values: Tensor, lengths: Tensor | None) -> Tensor:
    """``[S, L, T, ...]`` with the padded frames (``t >= lengths[s]``) zeroed (unchanged without lengths)."""
    if lengths is None:
        return values
    valid = frame_mask(lengths, values.size(2), values.device)
    return values * valid.view(valid.size(0), 1, valid.size(1), *([1] * (values.dim() - 3))).to(values.dtype)


def _step_mean(values: Tensor, lengths: Tensor | None) -> Tensor:
    """Mean of ``[S, L, T, ...]`` over the real steps ``(L, t < lengths[s])``."""
    if lengths is None:
        return values.mean(dim=(1, 2))
    count = (lengths.to(values.dtype) * values.size(1)).view(-1, *([1] * (values.dim() - 3)))
    return _real_steps(values, lengths).sum(dim=(1, 2)) / count


def _unique(params: list[nn.Parameter]) -> list[nn.Parameter]:
    return list(dict.fromkeys(params))  # tensors hash by identity; keeps first-seen order


class InformativenessScore(nn.Module):
    r"""Informativeness scores of all steps of a grid (GCA-LSTM Eq. (5)-(6); Eq. (10)-(11) over body parts).

    .. math::
        e_{j,t} = W_{e1} \tanh\left(W_{e2} [h_{j,t}; IF]\right), \qquad
        r_{j,t} = \frac{\exp e_{j,t}}{\sum_{u,v} \exp e_{u,v}}

    Args:
        in_channels: Size of ``h_{j,t}``.
        memory_channels: Size of the global context memory ``IF``.
        attention_channels: Output size of ``W_{e2}``.
        grid: ``None`` to share ``W_{e1}, W_{e2}`` by all steps ("sharing within iteration", Table VIII), or
            ``(rows, frames)`` for one pair of weights per step.

    Shapes:
        - input ``h`` ``[S, rows, T, in_channels]``, memory ``[S, memory_channels]``, optional ``mask``
          broadcastable to ``[S, rows, T]`` (``False`` at padded steps, which get score zero)
        - output ``r`` ``[S, rows, T]``, summing to one over the real steps of ``(rows, T)``
    """

    def __init__(
        self, in_channels: int, memory_channels: int, attention_channels: int, grid: tuple[int, int] | None = None
    ) -> None:
        super().__init__()
        self.in_channels, self.memory_channels, self.grid = in_channels, memory_channels, grid
        cells = () if grid is None else tuple(grid)
        self.weight2 = nn.Parameter(torch.empty(*cells, attention_channels, in_channels + memory_channels))
        self.bias2 = nn.Parameter(torch.empty(*cells, attention_channels))
        self.weight1 = nn.Parameter(torch.empty(*cells, attention_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound2 = 1.0 / math.sqrt(self.weight2.size(-1))
        nn.init.uniform_(self.weight2, -bound2, bound2)
        nn.init.uniform_(self.bias2, -bound2, bound2)
        bound1 = 1.0 / math.sqrt(self.weight1.size(-1))
        nn.init.uniform_(self.weight1, -bound1, bound1)

    def forward(self, h: Tensor, memory: Tensor, mask: Tensor | None = None) -> Tensor:
        C = self.in_channels
        w_h, w_m = self.weight2[..., :C], self.weight2[..., C:]
        if self.grid is None:
            # W_e2 [h; IF] = W_e2^h h + W_e2^IF IF: the memory term is computed once per sequence.
            z = F.linear(h, w_h) + F.linear(memory, w_m, self.bias2)[:, None, None]
            e = F.linear(torch.tanh(z), self.weight1)  # Eq. (5)
        else:
            if tuple(h.shape[1:3]) != tuple(self.grid):
                raise ValueError(f"per-step attention weights are built for a {self.grid} grid, got {h.shape[1:3]}")
            z = torch.einsum("sltc,ltac->slta", h, w_h) + torch.einsum("sm,ltam->slta", memory, w_m) + self.bias2
            e = (torch.tanh(z) * self.weight1).sum(-1)  # Eq. (5)
        if mask is not None:
            e = e.masked_fill(~mask, -math.inf)  # padded steps take no share of the softmax
        return torch.softmax(e.flatten(1), dim=1).view_as(e)  # Eq. (6)

    def extra_repr(self) -> str:
        shared = "shared" if self.grid is None else f"per-step {tuple(self.grid)}"
        return f"{self.in_channels} + {self.memory_channels} -> {self.weight1.size(-1)}, {shared}"


class AttentionStream(nn.Module):
    """One attention stream of GCA-LSTM: global context memory, second ST-LSTM layer, attention, classifier.

    Args:
        num_positions: Chain length ``L``.
        chain_parts: ``[L]`` body part of every chain position (only for ``coarse=True``).
        num_classes: ``K``.
        hidden_channels: Size of the ST-LSTM states and of the memory (128).
        num_iterations: ``N`` (2).
        init: ``"ffn"`` (the paper's choice): ``IF(0) = ReLU(W [h_{1,1}; ...; h_{L,T}])``, one layer over the
            concatenated first-layer states (needs ``num_frames``); ``"mean"``: Eq. (4).
        attention: ``"gate"``: the scores gate the second layer's cell (Eq. (7)/(13)) and ``F(n)`` is its last
            step's output; ``"soft"``: ``F(n) = sum_{j,t} r_{j,t} h_{j,t}`` over the first layer's states
            (Section V-I; no second layer).
        share_within: Share ``W_e1, W_e2`` by all steps of an iteration (Table VIII).
        share_across: Share ``W_e1, W_e2`` by all iterations (Table VIII). ``W_F(n)`` is never shared.
        coarse: Body-part attention (Eq. (10)-(13)) instead of joint attention.
        num_frames: ``T``; needed by ``init="ffn"`` and ``share_within=False``.
        attention_channels: Output size of ``W_e2`` (default: ``hidden_channels``).
        dropout: Before the classifier.
        forget_bias: Initial forget-gate bias offset of the second ST-LSTM layer, see :class:`STLSTM`.
    """

    def __init__(
        self,
        num_positions: int,
        num_classes: int,
        hidden_channels: int = 128,
        num_iterations: int = 2,
        init: str = "ffn",
        attention: str = "gate",
        share_within: bool = True,
        share_across: bool = False,
        coarse: bool = False,
        chain_parts: Tensor | None = None,
        num_frames: int | None = None,
        attention_channels: int | None = None,
        dropout: float = 0.5,
        forget_bias: float = -1.0,
    ) -> None:
        super().__init__()
        if init not in ("ffn", "mean"):
            raise ValueError(f"unknown init {init!r}; expected 'ffn' or 'mean'")
        if attention not in ("gate", "soft"):
            raise ValueError(f"unknown attention {attention!r}; expected 'gate' or 'soft'")
        if num_iterations < 1:
            raise ValueError(f"num_iterations must be at least 1, got {num_iterations}")
        if num_frames is None and (init == "ffn" or not share_within):
            raise ValueError("num_frames is needed by init='ffn' and by share_within=False (or use init='mean')")
        if coarse and chain_parts is None:
            raise ValueError("coarse attention needs chain_parts")
        H = hidden_channels
        self.num_iterations, self.init, self.attention, self.coarse = num_iterations, init, attention, coarse
        self.init_memory = nn.Linear(num_positions * num_frames * H, H) if init == "ffn" else None
        self.layer = STLSTM(H, H, forget_bias) if attention == "gate" else None
        if coarse:
            self.pool = BodyPartPool(chain_parts, len(BODY_PARTS), dim=1)
        rows = len(BODY_PARTS) if coarse else num_positions
        grid = None if share_within else (rows, num_frames)
        A = attention_channels or H
        self.scores = nn.ModuleList(
            InformativenessScore(H, H, A, grid) for _ in range(1 if share_across else num_iterations)
        )
        self.refine = nn.ModuleList(nn.Linear(2 * H, H) for _ in range(num_iterations))  # W_F(n), Eq. (8)
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(H, num_classes)  # W_c, Eq. (9)

    def score(self, n: int, h: Tensor, memory: Tensor, valid: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Scores of iteration ``n`` (1-based): ``(r over the chain [S, L, T], r over the scored grid)``;
        ``valid`` ``[S, T]`` marks the real frames."""
        scorer = self.scores[0 if len(self.scores) == 1 else n - 1]
        mask = valid[:, None] if valid is not None else None
        if not self.coarse:
            r = scorer(h, memory, mask)  # Eq. (5)-(6)
            return r, r
        r_parts = scorer(self.pool(h), memory, mask)  # Eq. (10)-(12)
        return r_parts.index_select(1, self.pool.part_index), r_parts  # every joint takes its part's score

    def memories(
        self, h: Tensor, iteration: int | None = None, lengths: Tensor | None = None
    ) -> tuple[list[Tensor], list[Tensor]]:
        """``([IF(0), ..., IF(n)], [r(1), ..., r(n)])`` from first-layer states ``h`` ``[S, L, T, H]``.

        ``n`` is ``iteration`` (default ``N``); ``r(n)`` are the scores over the scored grid (chain positions,
        or body parts for the coarse stream). ``lengths`` ``[S]``: real frames per skeleton (default: all ``T``);
        padded steps enter no score, no mean and no ``IF(0)`` input, and ``F(n)`` is read at the last real frame.
        """
        n_last = self.num_iterations if iteration is None else iteration
        if not 0 <= n_last <= self.num_iterations:
            raise ValueError(f"iteration must be in 0..{self.num_iterations}, got {iteration}")
        valid = frame_mask(lengths, h.size(2), h.device)
        if self.init_memory is not None:
            memory = F.relu(self.init_memory(_real_steps(h, lengths).flatten(1)))
        else:
            memory = _step_mean(h, lengths)  # Eq. (4), over the real steps
        last = (lengths - 1) if lengths is not None else h.new_full((h.size(0),), h.size(2) - 1, dtype=torch.long)
        memories, scores = [memory], []
        for n in range(1, n_last + 1):
            r, r_grid = self.score(n, h, memory, valid)
            if self.layer is not None:
                out = self.layer(h, r)[:, -1]  # Eq. (7)/(13): the last chain position, every frame
                attended = out[torch.arange(out.size(0), device=out.device), last]  # F(n): last real step
            else:
                attended = torch.einsum("slt,sltc->sc", r, h)  # soft attention, Section V-I
            memory = F.relu(self.refine[n - 1](torch.cat([attended, memory], dim=-1)))  # Eq. (8)
            memories.append(memory)
            scores.append(r_grid)
        return memories, scores

    def logits(self, memory: Tensor) -> Tensor:
        return self.classifier(self.dropout(memory))  # Eq. (9) (softmax in the loss)

    def iteration_parameters(self, n: int) -> list[nn.Parameter]:
        """Parameters used by iterations ``0 .. n`` of this stream."""
        params = list(self.classifier.parameters())
        if self.init_memory is not None:
            params += list(self.init_memory.parameters())
        if n >= 1 and self.layer is not None:
            params += list(self.layer.parameters())
        for k in range(1, n + 1):
            params += list(self.scores[0 if len(self.scores) == 1 else k - 1].parameters())
            params += list(self.refine[k - 1].parameters())
        return params


class _ChainModel(nn.Module):
    """Shared input side: the layout, its chain and the first ST-LSTM layer; the model-class conveniences."""

    #: Hyper-parameters shown by ``repr``.
    _repr_keys: tuple[str, ...] = ("layout", "in_channels", "hidden_channels", "num_classes", "num_frames")

    def __init__(
        self, layout: Layout, in_channels: int, hidden_channels: int, dropout: float, chain: str, forget_bias: float,
        trust_gate: bool = False,
    ) -> None:
        super().__init__()
        self.layout = layout
        self.num_joints = layout.num_joints
        self.encoder = STLSTMEncoder(layout, in_channels, hidden_channels, dropout, chain, forget_bias, trust_gate)
        self.in_channels = in_channels
        # Every path reads data.x through the encoder: check the node features there, loudly.
        self.encoder.register_forward_pre_hook(self._check_input)

    def _check_input(self, _encoder: nn.Module, args: tuple[Any, ...]) -> None:
        check_node_features(args[0], self.num_joints, self.in_channels, type(self).__name__)

    @property
    def num_positions(self) -> int:
        return self.encoder.num_positions

    def _lengths(self, data: Data) -> Tensor | None:
        return skeleton_lengths(data, self.num_joints)

    @classmethod
    def from_paper(cls, dataset: str, **overrides: Any) -> _ChainModel:
        """The paper's settings (Section V: hidden and memory size 128, dropout 0.5, N = 2 attention iterations,
        feed-forward initialisation, sharing within iterations) for ``"ntu"``, ``"ntu120"``, ``"sbu"`` or
        ``"utkinect"``: the dataset's layout and class count, and ``num_frames`` as the recipes sample (the paper
        gives no T). Any keyword argument can be overridden, e.g. ``in_channels=6`` for stacked SBU bodies."""
        if dataset not in _PAPER:
            raise ValueError(f"unknown preset {dataset!r}; expected one of {sorted(_PAPER)}")
        params = inspect.signature(cls).parameters
        unknown = sorted(set(overrides) - set(params))
        if unknown:
            raise ValueError(f"unknown {cls.__name__} arguments {unknown}")
        preset = {k: v for k, v in _PAPER[dataset].items() if k in params}
        return cls(**{**preset, **overrides})

    def reset_parameters(self) -> None:
        """Fresh weights in every layer (the ST-LSTM forget-gate offsets included)."""
        reset_submodules(self)

    def _chain_to_joints(self, r: Tensor, reduce: str = "sum") -> Tensor:
        """``[S, L, T]`` over chain positions -> ``[S, J, T]`` over the positions that visit a joint: their sum
        (``reduce="sum"``) or their mean (``"mean"``; the tree traversal visits a joint once per bone at it, so
        sums mostly show the visit counts)."""
        out = r.new_zeros(r.size(0), self.num_joints, r.size(2)).index_add_(1, self.encoder.chain, r)
        if reduce == "sum":
            return out
        if reduce != "mean":
            raise ValueError(f"unknown reduce {reduce!r}; expected 'sum' or 'mean'")
        visits = torch.bincount(self.encoder.chain, minlength=self.num_joints).clamp_min(1)
        return out / visits.to(out.dtype).view(1, -1, 1)

    def __repr__(self) -> str:
        return model_repr(self, self._repr_keys)


_PAPER: dict[str, dict[str, Any]] = {
    "ntu": dict(layout=NTU, num_classes=60, num_frames=100),
    "ntu120": dict(layout=NTU, num_classes=120, num_frames=100),
    "sbu": dict(layout=SBU, num_classes=8, num_frames=20),
    "utkinect": dict(layout=KINECT_V1, num_classes=10, num_frames=20),
}


class _IterativeModel(_ChainModel):
    """The stepwise-training side of the GCA models: the iteration ``model(data)`` classifies from.

    ``inference_iteration`` (default ``N``) is part of the state dict (``_extra_state``), so a checkpoint of a
    stepwise run that stopped in step ``n`` classifies from ``IF(n)``, whose parameters were trained, wherever
    it is loaded; the training engine sets it.
    """

    inference_iteration: int
    num_iterations: int

    def set_inference_iteration(self, n: int) -> None:
        """Make ``model(data)`` classify from ``IF(n)`` (``0 <= n <= N``)."""
        if not 0 <= int(n) <= self.num_iterations:
            raise ValueError(f"iteration must be in 0..{self.num_iterations}, got {n}")
        self.inference_iteration = int(n)

    def get_extra_state(self) -> dict[str, int]:
        return {"inference_iteration": self.inference_iteration}

    def set_extra_state(self, state: dict[str, int]) -> None:
        self.set_inference_iteration(state["inference_iteration"])

    def _iteration(self, iteration: int | None) -> int:
        return self.inference_iteration if iteration is None else iteration


class GCALSTM(_IterativeModel):
    """Global Context-Aware Attention LSTM (GCA-LSTM, Section III).

    Built from keyword arguments, or ``GCALSTM.from_paper("sbu", ...)`` for the paper's settings.

    Args:
        layout: Skeleton layout of ``data.x``.
        num_classes: ``K``.
        num_frames: ``T`` of the inputs (all batches share it); needed by ``init="ffn"`` and
            ``share_within=False``.
        num_iterations: ``N`` attention iterations (2).
        init, attention, share_within, share_across, attention_channels: see :class:`AttentionStream`; the
            defaults are the paper's choices (feed-forward initialisation, informativeness gate, sharing within
            iterations, not across).
        in_channels: Size of the joint features: 3 for 3-D coordinates, 2 for 2-D keypoints, more with velocity,
            scores or stacked bodies (:func:`~skelgraph.training.registry.pipeline_channels` of a pipeline).
        hidden_channels: ST-LSTM state and memory size (128).
        dropout: 0.5, after the first layer and before the classifier.
        chain: ``"tree"`` (tree traversal) or ``"simple"`` joint order, see :meth:`Layout.chain`.
        forget_bias: Initial offset of both forget-gate biases of every ST-LSTM layer (-1; 0 for the plain
            initialisation), see :class:`~skelgraph.nn.st_lstm.STLSTM`.
    """

    _repr_keys = ("layout", "in_channels", "hidden_channels", "num_classes", "num_frames", "num_iterations")

    def __init__(
        self,
        layout: Layout,
        num_classes: int,
        num_frames: int | None = None,
        num_iterations: int = 2,
        init: str = "ffn",
        attention: str = "gate",
        share_within: bool = True,
        share_across: bool = False,
        attention_channels: int | None = None,
        in_channels: int = 3,
        hidden_channels: int = 128,
        dropout: float = 0.5,
        chain: str = "tree",
        forget_bias: float = -1.0,
    ) -> None:
        hparams = init_arguments(locals())
        super().__init__(layout, in_channels, hidden_channels, dropout, chain, forget_bias)
        self.hparams, self.num_classes = hparams, num_classes
        self.stream = AttentionStream(
            self.num_positions, num_classes, hidden_channels, num_iterations, init, attention, share_within,
            share_across, num_frames=num_frames, attention_channels=attention_channels, dropout=dropout,
            forget_bias=forget_bias,
        )
        self.inference_iteration = num_iterations

    @property
    def num_iterations(self) -> int:
        return self.stream.num_iterations

    def forward(self, data: Data, iteration: int | None = None) -> Tensor:
        """Class scores (logits) ``[B, K]`` from ``IF(iteration)`` (default: :attr:`inference_iteration`,
        ``N`` unless a stepwise run ended earlier)."""
        memories, _ = self.stream.memories(self.encoder(data.x), self._iteration(iteration), self._lengths(data))
        return _sample_mean(self.stream.logits(memories[-1]), data, self.num_joints)

    def training_loss(self, data: Data, iteration: int | None = None) -> Tensor:
        """Negative log-likelihood of the classification from ``IF(iteration)`` (Eq. (9))."""
        return F.cross_entropy(self(data, iteration), data.y)

    def iteration_parameters(self, n: int) -> list[nn.Parameter]:
        """Parameters used by iterations ``0 .. n`` (training step ``n`` of Algorithm 1)."""
        return _unique(list(self.encoder.parameters()) + self.stream.iteration_parameters(n))

    def attention(self, data: Data) -> list[Tensor]:
        """Informativeness scores ``r(n)`` ``[S, L, T]`` over chain positions, for ``n = 1 .. N`` (Fig. 7)."""
        return self.stream.memories(self.encoder(data.x), lengths=self._lengths(data))[1]

    def joint_attention(self, data: Data, reduce: str = "sum") -> list[Tensor]:
        """Scores per joint ``[S, J, T]``: the sum (Fig. 8) or, with ``reduce="mean"``, the mean over the chain
        positions that visit the joint."""
        return [self._chain_to_joints(r, reduce) for r in self.attention(data)]


class TwoStreamGCALSTM(_IterativeModel):
    """Two-stream GCA-LSTM (Section IV): joint-level (fine) and body-part-level (coarse) attention streams.

    The streams share the first ST-LSTM layer; each has its own global context memory, second layer, attention
    weights and classifier. The prediction averages the two streams' class probabilities, so ``forward``
    returns log-probabilities; the training loss is the mean of the two streams' negative log-likelihoods.
    Arguments as :class:`GCALSTM`; the layout must have body parts (:attr:`~skelgraph.skeleton.Layout.parts`,
    as every built-in body layout has; a hand has none).

    Raises:
        ValueError: the layout has no body parts.
    """

    _repr_keys = ("layout", "in_channels", "hidden_channels", "num_classes", "num_frames", "num_iterations")

    def __init__(
        self,
        layout: Layout,
        num_classes: int,
        num_frames: int | None = None,
        num_iterations: int = 2,
        init: str = "ffn",
        attention: str = "gate",
        share_within: bool = True,
        share_across: bool = False,
        attention_channels: int | None = None,
        in_channels: int = 3,
        hidden_channels: int = 128,
        dropout: float = 0.5,
        chain: str = "tree",
        forget_bias: float = -1.0,
    ) -> None:
        hparams = init_arguments(locals())
        layout.require("parts", "TwoStreamGCALSTM (its coarse stream attends to body parts, Eq. (10)-(13))")
        super().__init__(layout, in_channels, hidden_channels, dropout, chain, forget_bias)
        self.hparams, self.num_classes = hparams, num_classes
        kwargs = dict(
            num_positions=self.num_positions, num_classes=num_classes, hidden_channels=hidden_channels,
            num_iterations=num_iterations, init=init, attention=attention, share_within=share_within,
            share_across=share_across, num_frames=num_frames, attention_channels=attention_channels,
            dropout=dropout, forget_bias=forget_bias,
        )
        self.fine = AttentionStream(**kwargs)  # type: ignore[arg-type]
        chain_parts = layout.part_index[self.encoder.chain]
        self.coarse = AttentionStream(coarse=True, chain_parts=chain_parts, **kwargs)  # type: ignore[arg-type]
        self.inference_iteration = num_iterations

    @property
    def num_iterations(self) -> int:
        return self.fine.num_iterations

    def stream_logits(self, data: Data, iteration: int | None = None) -> tuple[Tensor, Tensor]:
        """``(fine, coarse)`` logits ``[B, K]`` from ``IF(iteration)`` of each stream (default:
        :attr:`inference_iteration`)."""
        h, lengths, n = self.encoder(data.x), self._lengths(data), self._iteration(iteration)
        fine, _ = self.fine.memories(h, n, lengths)
        coarse, _ = self.coarse.memories(h, n, lengths)
        return (
            _sample_mean(self.fine.logits(fine[-1]), data, self.num_joints),
            _sample_mean(self.coarse.logits(coarse[-1]), data, self.num_joints),
        )

    def forward(self, data: Data, iteration: int | None = None) -> Tensor:
        """Log of the averaged class probabilities of the two streams ``[B, K]``."""
        fine, coarse = self.stream_logits(data, iteration)
        return torch.logaddexp(F.log_softmax(fine, -1), F.log_softmax(coarse, -1)) - math.log(2)

    def training_loss(self, data: Data, iteration: int | None = None) -> Tensor:
        fine, coarse = self.stream_logits(data, iteration)
        return 0.5 * (F.cross_entropy(fine, data.y) + F.cross_entropy(coarse, data.y))

    def loss_terms(self, data: Data) -> dict[str, Tensor]:
        """The training objective (``"loss"``: mean of the streams' cross-entropies) and, detached, each stream's
        cross-entropy (``"fine"``, ``"coarse"``) and ``"fused"``: the negative log-likelihood of the averaged
        probabilities, the quantity a validation loss of :meth:`forward`'s scores measures. One forward pass."""
        fine, coarse = self.stream_logits(data)
        ce_fine, ce_coarse = F.cross_entropy(fine, data.y), F.cross_entropy(coarse, data.y)
        with torch.no_grad():
            fused = torch.logaddexp(F.log_softmax(fine, -1), F.log_softmax(coarse, -1)) - math.log(2)
            terms = {"fine": ce_fine.detach(), "coarse": ce_coarse.detach(), "fused": F.nll_loss(fused, data.y)}
        return {"loss": 0.5 * (ce_fine + ce_coarse), **terms}

    def iteration_parameters(self, n: int) -> list[nn.Parameter]:
        """Parameters used by iterations ``0 .. n`` of both streams (training step ``n``)."""
        params = self.fine.iteration_parameters(n) + self.coarse.iteration_parameters(n)
        return _unique(list(self.encoder.parameters()) + params)

    def attention(self, data: Data) -> dict[str, list[Tensor]]:
        """``{"fine": [S, L, T] per iteration, "coarse": [S, P, T] per iteration}`` (P = 5 body parts)."""
        h, lengths = self.encoder(data.x), self._lengths(data)
        return {"fine": self.fine.memories(h, lengths=lengths)[1],
                "coarse": self.coarse.memories(h, lengths=lengths)[1]}

    def joint_attention(self, data: Data, reduce: str = "sum") -> dict[str, list[Tensor]]:
        """Per joint ``[S, J, T]``: fine summed (or averaged, ``reduce="mean"``) over the chain positions that visit
        the joint; coarse the joint's part score (Eq. (13))."""
        scores = self.attention(data)
        parts = self.layout.part_index.to(data.x.device)
        return {
            "fine": [self._chain_to_joints(r, reduce) for r in scores["fine"]],
            "coarse": [r.index_select(1, parts) for r in scores["coarse"]],
        }


class STLSTMClassifier(_ChainModel):
    """Two-layer ST-LSTM baselines of Section V.

    Args:
        head: ``"local"``: the ST-LSTM of Liu et al. (ECCV 2016; without its trust gate unless ``trust_gate``):
            a softmax classifier on the second layer's state at every step; the training loss is the mean over
            steps of the
            negative log-likelihood and the scores are the mean log-probabilities. ``"global_fc"``: "ST-LSTM +
            Global (1)", the states of all steps concatenated and fed to a one-layer feed-forward network (ReLU)
            whose output is classified (needs ``num_frames``). ``"global_mean"``: "ST-LSTM + Global (2)", the
            average of all states is classified.
        trust_gate: Both ST-LSTM layers with the trust gate of Liu et al. (see :class:`STLSTM`): with
            ``head="local"`` the full ST-LSTM of that paper, which GCA-LSTM's "ST-LSTM [29]" rows cite.
        layout, num_classes, num_frames, in_channels, hidden_channels, dropout, chain, forget_bias: As
            :class:`GCALSTM`.
    """

    _repr_keys = ("layout", "in_channels", "hidden_channels", "num_classes", "num_frames", "head")

    def __init__(
        self,
        layout: Layout,
        num_classes: int,
        head: str = "local",
        num_frames: int | None = None,
        in_channels: int = 3,
        hidden_channels: int = 128,
        dropout: float = 0.5,
        chain: str = "tree",
        forget_bias: float = -1.0,
        trust_gate: bool = False,
    ) -> None:
        hparams = init_arguments(locals())
        super().__init__(layout, in_channels, hidden_channels, dropout, chain, forget_bias, trust_gate)
        self.hparams, self.num_classes = hparams, num_classes
        if head not in ("local", "global_fc", "global_mean"):
            raise ValueError(f"unknown head {head!r}; expected 'local', 'global_fc' or 'global_mean'")
        if head == "global_fc" and num_frames is None:
            raise ValueError("head='global_fc' needs num_frames")
        self.head = head
        self.layer = STLSTM(hidden_channels, hidden_channels, forget_bias, trust_gate=trust_gate)
        self.dropout = nn.Dropout(dropout)
        H = hidden_channels
        self.global_fc = nn.Linear(self.num_positions * num_frames * H, H) if head == "global_fc" else None
        self.classifier = nn.Linear(H, num_classes)

    def _skeleton_logits(self, data: Data) -> tuple[Tensor, Tensor | None]:
        """``([S, L, T, K]`` per-step logits (``"local"``) or ``[S, K]``, the real frames per skeleton ``[S]``
        (``None``: every step real))."""
        h = self.layer(self.encoder(data.x))
        lengths = self._lengths(data)
        if self.head == "local":
            return self.classifier(self.dropout(h)), lengths
        if self.global_fc is not None:
            g = F.relu(self.global_fc(_real_steps(h, lengths).flatten(1)))
        else:
            g = _step_mean(h, lengths)
        return self.classifier(self.dropout(g)), lengths

    def forward(self, data: Data) -> Tensor:
        logits, lengths = self._skeleton_logits(data)
        if self.head == "local":
            logits = _step_mean(F.log_softmax(logits, -1), lengths)
        return _sample_mean(logits, data, self.num_joints)

    def training_loss(self, data: Data) -> Tensor:
        return self.loss_terms(data)["loss"]

    def loss_terms(self, data: Data) -> dict[str, Tensor]:
        """The training objective (``"loss"``); for the ``"local"`` head, whose objective is the mean over steps of
        every step's cross-entropy, also ``"fused"`` (detached): the negative log-likelihood of :meth:`forward`'s
        scores (the mean log-probabilities), what a validation loss measures. One forward pass."""
        logits, lengths = self._skeleton_logits(data)
        if self.head != "local":
            return {"loss": F.cross_entropy(_sample_mean(logits, data, self.num_joints), data.y)}
        batch = getattr(data, "batch", None)
        sample = skeleton_batch(batch, self.num_joints) if batch is not None else logits.new_zeros(
            logits.size(0), dtype=torch.long)
        target = data.y[sample][:, None, None].expand(logits.shape[:3])
        per_step = F.cross_entropy(logits.permute(0, 3, 1, 2), target, reduction="none")
        loss = _sample_mean(_step_mean(per_step, lengths), data, self.num_joints).mean()
        with torch.no_grad():
            scores = _sample_mean(_step_mean(F.log_softmax(logits, -1), lengths), data, self.num_joints)
            fused = F.nll_loss(scores, data.y)
        return {"loss": loss, "fused": fused}
