"""ARRN-LSTM: the two-stream Attentional Recurrent Relational Network-LSTM (Li et al., ICME 2019).

One stream (:class:`ARRNStream`) per geometry, joints (Eq. 1) or lines (Eq. 2-3)::

    embedding FC (Eq. 1/3) -> RRN over the complete graph of each skeleton, E rounds (Eq. 4-8)
    -> node mask m (Eq. 9) -> FC to 256 (Eq. 9) -> H-layer LSTM over the T frames (Eq. 10) -> FC to K (Eq. 11)

:class:`ARRNLSTM` runs one or both streams and fuses their softmax scores with weights ``alpha`` and
``1 - alpha`` (Eq. 12).

Choices the paper leaves open, made here and documented:

* The embeddings and the attention FC are plain linear layers (the paper names no non-linearity).
* The mask starts at ones (every node weighted equally); the paper allows any initial vector.
* The LSTM stack has hidden sizes ``(h, mid, h)`` by default (Section 4.1 gives the input 256, the mid-layer
  size and the output ``h = 512``, not the first layer's size).
* Eq. (11) reads ``q`` at the last real frame of each sequence (``num_frames - 1``, so zero padding added by
  :class:`~skelgraph.transforms.FixedLength` never reaches the classifier) when the batch carries
  ``num_frames``; ``readout="last"`` takes frame ``T - 1``.
* Multi-body samples (project rule): every skeleton of a sample runs through the streams on its own; each
  stream's logits are averaged over the bodies of the sample before the softmax of Eq. (11).
* The training objective is the sum of the per-stream cross-entropies. The streams share no parameter, so this
  trains each stream exactly as if alone; ``alpha`` is then picked on validation scores with
  :func:`select_alpha` (Eq. 12), as in Section 4.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from skelgraph.data import node_line_features, skeleton_batch, to_skeletons
from skelgraph.nn.rrn import RRN

#: The streams of the two-stream model, in fusion order (``alpha`` weighs the first).
STREAMS: tuple[str, ...] = ("joint", "line")

_PRESETS: dict[str, dict] = {
    # Section 4.1: T, M and the mid LSTM layer per dataset; K and J from the datasets (Section 4.2).
    "ntu": dict(num_joints=25, num_classes=60, T=100, M=50, lstm_sizes=(512, 512, 512)),
    "ntu120": dict(num_joints=25, num_classes=120, T=100, M=50, lstm_sizes=(512, 512, 512)),
    "florence": dict(num_joints=15, num_classes=9, T=25, M=20, lstm_sizes=(512, 256, 512)),
    "msr": dict(num_joints=20, num_classes=20, T=20, M=20, lstm_sizes=(512, 256, 512)),
}


@dataclass(frozen=True)
class ARRNConfig:
    """Hyper-parameters of :class:`ARRNLSTM`, named as in the paper.

    Args:
        num_joints: ``J``, joints per skeleton (nodes per RRN graph, length of the mask).
        num_classes: ``K``.
        T: Frames per sample; the model accepts any length, this records the paper's
            :class:`~skelgraph.transforms.FixedLength` setting for pipelines.
        M: Embedding size, also the RRN state size.
        E: RRN rounds.
        att_channels: Output size of the attention FC (256).
        lstm_sizes: Hidden size of each LSTM layer, bottom to top; ``H = len(lstm_sizes)``, ``h = lstm_sizes[-1]``.
        message_layers: Linear layers in the RRN message function (3).
        streams: Which streams to run: ``("joint", "line")``, ``("joint",)`` or ``("line",)``.
        mask: Use the attention mask of Eq. (9); ``False`` is the RRN-LSTM ablation.
        dropout: Dropout probability after the attention FC, between LSTM layers and before the classifier.
        checkpoint: Activation checkpointing of the RRN rounds (less memory, one more forward per round).
        readout: ``"last_valid"`` (frame ``num_frames - 1``) or ``"last"`` (frame ``T - 1``) for Eq. (11).
        alpha: Initial fusion weight of the joint stream (Eq. 12).
    """

    num_joints: int
    num_classes: int
    T: int = 100
    M: int = 50
    E: int = 5
    att_channels: int = 256
    lstm_sizes: tuple[int, ...] = (512, 512, 512)
    message_layers: int = 3
    streams: tuple[str, ...] = STREAMS
    mask: bool = True
    dropout: float = 0.0
    checkpoint: bool = False
    readout: str = "last_valid"
    alpha: float = 0.5

    def __post_init__(self) -> None:
        if not self.streams or any(s not in STREAMS for s in self.streams) or len(set(self.streams)) != len(
            self.streams
        ):
            raise ValueError(f"streams must be a non-empty subset of {STREAMS}, got {self.streams}")
        if self.readout not in ("last_valid", "last"):
            raise ValueError(f"unknown readout {self.readout!r}; expected 'last_valid' or 'last'")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")
        if not self.lstm_sizes:
            raise ValueError("lstm_sizes must name at least one layer")

    @classmethod
    def preset(cls, name: str, **overrides) -> ARRNConfig:
        """Paper defaults for ``"ntu"`` (NTU RGB+D 60), ``"ntu120"``, ``"florence"`` or ``"msr"``
        (Section 4.1), with any field overridden by keyword."""
        if name not in _PRESETS:
            raise ValueError(f"unknown preset {name!r}; expected one of {sorted(_PRESETS)}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown ARRNConfig fields {unknown}")
        return replace(cls(**_PRESETS[name]), **overrides)


class ARRNStream(nn.Module):
    """One ARRN-LSTM stream: skeleton node features ``[S * J, T, C]`` to class logits ``[S, K]``.

    Args:
        in_channels: 3 for joints, ``3 (J - 1)`` for lines.
        config: The model's hyper-parameters.
    """

    def __init__(self, in_channels: int, config: ARRNConfig) -> None:
        super().__init__()
        J, M = config.num_joints, config.M
        self.num_joints = J
        self.readout = config.readout
        self.embed = nn.Linear(in_channels, M)  # Eq. (1) / (3)
        self.rrn = RRN(M, M, E=config.E, message_layers=config.message_layers, checkpoint=config.checkpoint)
        if config.mask:
            self.mask = nn.Parameter(torch.ones(J))
        else:
            self.register_parameter("mask", None)
        self.att = nn.Linear(J * M, config.att_channels)
        sizes = (config.att_channels, *config.lstm_sizes)
        self.lstms = nn.ModuleList(nn.LSTM(a, b, batch_first=True) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout = nn.Dropout(config.dropout)
        self.classifier = nn.Linear(config.lstm_sizes[-1], config.num_classes)

    def forward(self, x: Tensor, num_frames: Tensor | None = None) -> Tensor:
        """``x`` ``[S * J, T, C]`` body-major; ``num_frames`` ``[S]`` real frames per skeleton (optional)."""
        J = self.num_joints
        v = self.embed(x)  # Eq. (1) / (3)
        w = to_skeletons(self.rrn(v, num_nodes_per_graph=J), J)  # Eq. (4)-(8): [S, J, T, M]
        if self.mask is not None:
            w = w * self.mask.view(1, J, 1, 1)
        p = self.att(w.permute(0, 2, 1, 3).flatten(2))  # Eq. (9): [S, T, 256]
        q = self.dropout(p)
        for k, lstm in enumerate(self.lstms):  # Eq. (10)
            q = lstm(q)[0]
            if k < len(self.lstms) - 1:
                q = self.dropout(q)
        if self.readout == "last_valid" and num_frames is not None:
            last = (num_frames.clamp(1, q.size(1)) - 1).to(q.device)
            q_last = q[torch.arange(q.size(0), device=q.device), last]
        else:
            q_last = q[:, -1]
        return self.classifier(self.dropout(q_last))  # Eq. (11), before the softmax


class ARRNLSTM(nn.Module):
    """Two-stream ARRN-LSTM (Li et al., ICME 2019), or one stream / the no-mask ablations via :class:`ARRNConfig`.

    ``model(data)`` returns ``[B, K]`` scores: the log of the fused probabilities
    :math:`\\log(\\alpha\\,\\mathrm{softmax}(y_j) + (1 - \\alpha)\\,\\mathrm{softmax}(y_l))` (Eq. 11-12) for two
    streams, the stream's logits for one. ``data`` carries ``x`` ``[N, T, 3]`` body-major (``N = S J``),
    ``batch`` (optional for one sample), optionally ``x_line`` ``[N, T, 3 (J - 1)]`` (computed from ``x`` when
    absent) and ``num_frames`` ``[B]``. ``alpha`` is a buffer: set it with :meth:`set_alpha`, choose it with
    :func:`select_alpha`.
    """

    def __init__(self, config: ARRNConfig) -> None:
        super().__init__()
        self.config = config
        J = config.num_joints
        in_channels = {"joint": 3, "line": 3 * (J - 1)}
        self.streams = nn.ModuleDict({s: ARRNStream(in_channels[s], config) for s in config.streams})
        self.register_buffer("alpha", torch.tensor(float(config.alpha)))

    def set_alpha(self, alpha: float) -> None:
        """Set the joint-stream fusion weight ``alpha`` (the line stream gets ``1 - alpha``, Eq. 12)."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.alpha.fill_(alpha)

    def stream_logits(self, data: Data) -> dict[str, Tensor]:
        """Per-stream logits ``[B, K]``, averaged over the bodies of each sample (multi-body rule)."""
        J = self.config.num_joints
        x = data.x
        node_batch = data.batch if data.batch is not None else x.new_zeros(x.size(0), dtype=torch.long)
        sk_batch = skeleton_batch(node_batch, J)
        num_samples = data.num_graphs if data.batch is not None else 1
        num_frames = data.num_frames[sk_batch] if "num_frames" in data else None
        out = {}
        for name, stream in self.streams.items():
            if name == "joint":
                feats = x
            else:
                feats = data.x_line if "x_line" in data else node_line_features(x, J)
            logits = stream(feats, num_frames)
            out[name] = scatter(logits, sk_batch, dim=0, dim_size=num_samples, reduce="mean")
        return out

    def forward(self, data: Data) -> Tensor:
        logits = self.stream_logits(data)
        if len(logits) == 1:
            return next(iter(logits.values()))
        return fuse_scores(logits["joint"], logits["line"], self.alpha)  # Eq. (12)

    def training_loss(self, data: Data) -> Tensor:
        """Sum over the streams of the cross-entropy of each stream's logits with ``data.y``."""
        return sum(F.cross_entropy(logits, data.y) for logits in self.stream_logits(data).values())

    def mask_weights(self) -> dict[str, Tensor]:
        """The learned node masks ``m`` of Eq. (9), ``{stream: [J]}`` (empty without masks), detached copies."""
        return {name: s.mask.detach().clone() for name, s in self.streams.items() if s.mask is not None}

    def __repr__(self) -> str:
        c = self.config
        return (
            f"{self.__class__.__name__}(streams={c.streams}, J={c.num_joints}, K={c.num_classes}, M={c.M}, "
            f"E={c.E}, lstm_sizes={c.lstm_sizes}, mask={c.mask})"
        )


def fuse_scores(joint_logits: Tensor, line_logits: Tensor, alpha: float | Tensor) -> Tensor:
    """``log(alpha * softmax(joint) + (1 - alpha) * softmax(line))`` (Eq. 11-12), computed in log space."""
    alpha = torch.as_tensor(alpha, dtype=joint_logits.dtype, device=joint_logits.device)
    terms = torch.stack(
        [F.log_softmax(joint_logits, dim=-1) + alpha.log(), F.log_softmax(line_logits, dim=-1) + (1 - alpha).log()]
    )
    return torch.logsumexp(terms, dim=0)


@torch.no_grad()
def select_alpha(
    joint_logits: Tensor, line_logits: Tensor, y: Tensor, candidates: Sequence[float] | None = None
) -> float:
    """Pick ``alpha`` of Eq. (12) on validation scores: the candidate with the highest accuracy of the fused
    prediction, ties broken by the lower fused negative log-likelihood. Candidates default to 0, 0.05, ..., 1.

    ``joint_logits``, ``line_logits`` ``[B, K]`` (e.g. from :meth:`ARRNLSTM.stream_logits` over a validation
    set), ``y`` ``[B]``.
    """
    if candidates is None:
        candidates = [k / 20 for k in range(21)]
    best: tuple[float, float, float] | None = None
    for a in candidates:
        fused = fuse_scores(joint_logits, line_logits, a)
        acc = (fused.argmax(dim=-1) == y).float().mean().item()
        nll = F.nll_loss(fused, y).item()
        if best is None or (acc, -nll) > (best[1], -best[2]):
            best = (a, acc, nll)
    return best[0]
