"""ARRN-LSTM: the two-stream Attentional Recurrent Relational Network-LSTM (Zheng et al., ICME 2019).

One stream (:class:`ARRNStream`) per geometry, joints (Eq. 1) or lines (Eq. 2-3)::

    embedding FC (Eq. 1/3) -> RRN over the complete graph of each skeleton, E rounds (Eq. 4-8)
    -> node mask m (Eq. 9) -> FC to 256 (Eq. 9) -> H-layer LSTM over the T frames (Eq. 10) -> FC to K (Eq. 11)

:class:`ARRNLSTM` runs one or both streams and fuses their softmax scores with weights ``alpha`` and
``1 - alpha`` (Eq. 12).

Choices the paper leaves open, made here and documented:

* The embeddings and the attention FC are plain linear layers (the paper names no non-linearity;
  ``embedding_relu=True`` puts a ReLU after the embedding); one embedding is shared by every node
  (``embedding="per_joint"``: one per joint, :class:`NodeLinear`).
* The line of joint ``i`` (Eq. 2) lists the offsets to the other joints in joint order, ``j = i`` left out (the
  text's reading, ``C (J - 1)`` wide); ``line_slots="fixed"`` reads Eq. (2) literally, slot ``j`` always joint
  ``j`` and slot ``i`` zero (``C J`` wide).
* The RRN's message MLP is ``M`` wide (``message_channels`` sets its hidden width alone), with no ReLU after its
  last layer (``message_relu=True`` adds one); the node state starts as the embedding (``rrn_init="zeros"``: at
  zero; Eq. 7 leaves :math:`h^0` open). Every node hears every other node of its frame ("long-range dependencies
  among all joints"); ``edges`` restricts Eq. (6)'s neighbourhood to a given graph, e.g. the bones.
* The attention FC of Eq. (9) maps the concatenated masked nodes of a frame to 256 (``attention_fc="frame"``).
  Because it is linear, it absorbs the mask: ``Fc(m_1 w_1, ..., m_J w_J) = sum_i W_i w_i m_i``.
  ``attention_fc="per_node"`` reads "p_t = (p_t,1, ..., p_t,J)" as one FC shared by the nodes,
  ``M -> att_channels // J``, whose outputs are concatenated; the mask then weighs nodes that share weights.
* The mask starts at ones (every node weighted equally); the paper allows any initial vector. It is
  unconstrained; ``mask_norm="softmax"`` weighs node ``i`` by ``J softmax(m)_i`` instead (weights that compete
  and average 1, so a mask of ones weighs as the unconstrained one does).
* The LSTM stack has hidden sizes ``(h, mid, h)`` by default (Section 4.1 gives the input 256, the mid-layer
  size and the output ``h = 512``, not the first layer's size).
* Eq. (11) reads ``q`` at the last real frame of each sequence (``num_frames - 1``, so zero padding added by
  :class:`~skelgraph.transforms.FixedLength` never reaches the classifier) when the batch carries
  ``num_frames``; ``readout="last"`` takes frame ``T - 1``. ``readout="mean"`` (not in the paper) averages ``q``
  over the real frames instead: every frame's output gets a gradient, not only the last one's.
  ``readout="concat"`` reads Eq. (11) literally, ``Fc(q_1, ..., q_T)``: one FC over all ``T`` outputs side by
  side, padding frames included (samples must then have exactly ``T`` frames, and online inference is refused).
* The line stream's offsets (Eq. 2) are taken over all of a joint's features by default, so with velocity
  channels it also gets every velocity difference; ``line_channels`` takes them over the first features only
  (the positions: the paper's "lines are calculated according to the normalized joints").
* Multi-body samples (project rule): every skeleton of a sample runs through the streams on its own; each
  stream's logits are averaged over the bodies of the sample before the softmax of Eq. (11).
* The training objective is the sum of the per-stream cross-entropies. The streams share no parameter, so this
  trains each stream exactly as if alone; ``alpha`` is then picked on validation scores with
  :func:`select_alpha` (Eq. 12), as in Section 4.1. ``objective="fused"`` minimises the negative log-likelihood
  of the fused prediction instead (the paper names no objective).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from skelgraph.data import check_node_features, node_line_features, skeleton_batch, skeleton_lengths, to_skeletons
from skelgraph.nn._common import init_arguments, model_repr
from skelgraph.nn.rrn import RRN, RRN_INITS

#: The streams of the two-stream model, in fusion order (``alpha`` weighs the first).
STREAMS: tuple[str, ...] = ("joint", "line")

#: How Eq. (11) reads the LSTM outputs: the last real frame (the paper), frame ``T - 1``, or the mean over the real
#: frames (not in the paper), or one FC over all ``T`` outputs side by side (Eq. 11 read literally).
READOUTS: tuple[str, ...] = ("last_valid", "last", "mean", "concat")

#: How the attention mask of Eq. (9) starts: every node weighted 1, or "a random vector of size J" (3.2.3),
#: drawn uniformly from [0, 1).
MASK_INITS: tuple[str, ...] = ("ones", "random")

#: How Eq. (1) / (3) embeds the nodes: one FC shared by every node, or one per joint.
EMBEDDINGS: tuple[str, ...] = ("shared", "per_joint")

#: How the line of joint ``i`` lays out its offsets (Eq. 2): the other joints in order (``j = i`` left out), or
#: every joint in its own slot with a zero at ``j = i``.
LINE_SLOTS: tuple[str, ...] = ("skip", "fixed")

#: How the attention FC of Eq. (9) reads the masked nodes: one FC over a frame's concatenated nodes, or one FC
#: shared by the nodes, outputs concatenated.
ATTENTION_FCS: tuple[str, ...] = ("frame", "per_node")

#: How the mask of Eq. (9) weighs the nodes: its entries as they are, or ``J softmax(m)`` (positive, mean 1).
MASK_NORMS: tuple[str, ...] = ("none", "softmax")

#: What two-stream training minimises: the sum of the streams' cross-entropies, or the negative log-likelihood of
#: the fused prediction of Eq. (12).
OBJECTIVES: tuple[str, ...] = ("streams", "fused")

_PRESETS: dict[str, dict] = {
    # Section 4.1: T, M and the mid LSTM layer per dataset; K and J from the datasets (Section 4.2).
    "ntu": dict(num_joints=25, num_classes=60, T=100, M=50, lstm_sizes=(512, 512, 512)),
    "ntu120": dict(num_joints=25, num_classes=120, T=100, M=50, lstm_sizes=(512, 512, 512)),
    "florence": dict(num_joints=15, num_classes=9, T=25, M=20, lstm_sizes=(512, 256, 512)),
    "msr": dict(num_joints=20, num_classes=20, T=20, M=20, lstm_sizes=(512, 256, 512)),
}


@dataclass(frozen=True)
class ARRNConfig:
    """The hyper-parameters of a built :class:`ARRNLSTM` (``model.config``), checked once; named as in the paper
    and as the model's keyword arguments (see :class:`ARRNLSTM` for their meaning)."""

    num_joints: int
    num_classes: int
    in_channels: int = 3
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
    relational: bool = True
    forget_bias: float = 0.0
    line_channels: int | None = None
    mask_init: str = "ones"
    objective: str = "streams"
    embedding: str = "shared"
    line_slots: str = "skip"
    message_channels: int | None = None
    attention_fc: str = "frame"
    mask_norm: str = "none"
    rrn_init: str = "input"
    message_relu: bool = False
    embedding_relu: bool = False
    edges: tuple[tuple[int, int], ...] | None = None

    def __post_init__(self) -> None:
        if not self.streams or any(s not in STREAMS for s in self.streams) or len(set(self.streams)) != len(
            self.streams
        ):
            raise ValueError(f"streams must be a non-empty subset of {STREAMS}, got {self.streams}")
        if self.readout not in READOUTS:
            raise ValueError(f"unknown readout {self.readout!r}; expected one of {READOUTS}")
        if not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {self.alpha}")
        if not self.lstm_sizes:
            raise ValueError("lstm_sizes must name at least one layer")
        if self.embedding not in EMBEDDINGS:
            raise ValueError(f"unknown embedding {self.embedding!r}; expected one of {EMBEDDINGS}")
        if self.attention_fc not in ATTENTION_FCS:
            raise ValueError(f"unknown attention_fc {self.attention_fc!r}; expected one of {ATTENTION_FCS}")
        if self.attention_fc == "per_node" and self.att_channels < self.num_joints:
            raise ValueError(f"attention_fc='per_node' needs att_channels >= num_joints ({self.num_joints}), got "
                             f"{self.att_channels}")
        if self.line_slots not in LINE_SLOTS:
            raise ValueError(f"unknown line_slots {self.line_slots!r}; expected one of {LINE_SLOTS}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; expected one of {OBJECTIVES}")
        if self.mask_init not in MASK_INITS:
            raise ValueError(f"unknown mask_init {self.mask_init!r}; expected one of {MASK_INITS}")
        if self.mask_norm not in MASK_NORMS:
            raise ValueError(f"unknown mask_norm {self.mask_norm!r}; expected one of {MASK_NORMS}")
        if self.rrn_init not in RRN_INITS:
            raise ValueError(f"unknown rrn_init {self.rrn_init!r}; expected one of {RRN_INITS}")
        if self.edges is not None:
            if not self.edges or not all(len(e) == 2 and all(type(j) is int and 0 <= j < self.num_joints for j in e)
                                         and e[0] != e[1] for e in self.edges):
                raise ValueError(f"edges must be pairs of two different joint indices in 0..{self.num_joints - 1}, "
                                 f"got {self.edges!r:.80}")
        if self.line_channels is not None and not 1 <= self.line_channels <= self.in_channels:
            raise ValueError(f"line_channels must lie in 1..in_channels ({self.in_channels}), got {self.line_channels}")


class NodeLinear(nn.Module):
    """One linear map per joint: node ``s J + j`` of body-major features ``[S * J, T, C]`` goes through its own
    ``W_j x + b_j``, ``[S * J, T, out_channels]`` (``nn.Linear``'s initialisation for every joint).

    Args:
        num_joints: ``J``.
        in_channels, out_channels: As ``nn.Linear``.
    """

    def __init__(self, num_joints: int, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.num_joints, self.in_features, self.out_features = num_joints, in_channels, out_channels
        self.weight = nn.Parameter(torch.empty(num_joints, out_channels, in_channels))
        self.bias = nn.Parameter(torch.empty(num_joints, out_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for j in range(self.num_joints):
            nn.init.kaiming_uniform_(self.weight[j], a=5 ** 0.5)  # nn.Linear's, per joint
        bound = 1 / self.in_features ** 0.5
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        J = self.num_joints
        nodes = to_skeletons(x, J)  # [S, J, T, C]
        out = torch.einsum("sjtc,joc->sjto", nodes, self.weight) + self.bias[None, :, None, :]
        return out.reshape(x.size(0), x.size(1), self.out_features)

    def extra_repr(self) -> str:
        return f"num_joints={self.num_joints}, in_features={self.in_features}, out_features={self.out_features}"


class ARRNStream(nn.Module):
    """One ARRN-LSTM stream: skeleton node features ``[S * J, T, C]`` to class logits ``[S, K]``.

    Args:
        in_channels: ``C``: the joint features (3 for 3-D coordinates, 2 for 2-D keypoints, more with velocity or
            scores) for joints, ``C_joint (J - 1)`` for lines.
        num_joints, num_classes, M, E, att_channels, lstm_sizes: As :class:`ARRNLSTM`.
        message_layers, mask, dropout, checkpoint, readout, relational: As :class:`ARRNLSTM`.
        forget_bias, mask_init, embedding, message_channels, attention_fc: As :class:`ARRNLSTM`.
        mask_norm, rrn_init, message_relu, embedding_relu, edges: As :class:`ARRNLSTM`.
        T: Frames per sample; only ``readout="concat"`` depends on it (its FC reads ``T`` outputs).
    """

    def __init__(self, in_channels: int, num_joints: int, num_classes: int, M: int = 50, E: int = 5,
                 att_channels: int = 256, lstm_sizes: tuple[int, ...] = (512, 512, 512), message_layers: int = 3,
                 mask: bool = True, dropout: float = 0.0, checkpoint: bool = False,
                 readout: str = "last_valid", relational: bool = True, forget_bias: float = 0.0,
                 mask_init: str = "ones", T: int = 100, embedding: str = "shared",
                 message_channels: int | None = None, attention_fc: str = "frame", mask_norm: str = "none",
                 rrn_init: str = "input", message_relu: bool = False, embedding_relu: bool = False,
                 edges: Sequence[Sequence[int]] | None = None) -> None:
        super().__init__()
        J = num_joints
        # Eq. (6)'s neighbourhood when not the complete graph: one skeleton's edges, both directions.
        self.edge_index: Tensor | None
        if edges is None:
            self.register_buffer("edge_index", None)
        else:
            pairs = torch.tensor([list(e) for e in edges], dtype=torch.long).t()
            self.register_buffer("edge_index", torch.cat([pairs, pairs.flip(0)], dim=1), persistent=False)
        self.mask_norm = mask_norm
        self.embedding_relu = embedding_relu
        self.forget_bias = forget_bias
        self.mask_init = mask_init
        self.T = T
        self.num_joints = J
        self.readout = readout
        self.relational = relational
        self.attention_fc = attention_fc
        self.embed: nn.Linear | NodeLinear | None = None
        self.rrn: RRN | None = None
        self.att: nn.Linear | None = None
        if relational:
            # Eq. (1) / (3)
            self.embed = NodeLinear(J, in_channels, M) if embedding == "per_joint" else nn.Linear(in_channels, M)
            self.rrn = RRN(M, M, E=E, hidden_channels=message_channels, message_layers=message_layers,
                           checkpoint=checkpoint, last_relu=message_relu, initial=rrn_init)
            if attention_fc == "per_node":  # one FC shared by the nodes, outputs side by side
                self.att = nn.Linear(M, att_channels // J)
                att_channels = J * (att_channels // J)
            else:
                self.att = nn.Linear(J * M, att_channels)
        if mask and relational:
            self.mask = nn.Parameter(torch.ones(J))
        else:
            self.register_parameter("mask", None)
        # Without the relational part the LSTM reads the concatenated node features of each frame.
        sizes = (att_channels if relational else J * in_channels, *lstm_sizes)
        self.lstms = nn.ModuleList(nn.LSTM(a, b, batch_first=True) for a, b in zip(sizes[:-1], sizes[1:]))
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(lstm_sizes[-1] * (T if readout == "concat" else 1), num_classes)
        self._offset_forget_gates()
        self._init_mask()

    def _init_mask(self) -> None:
        if self.mask is None:
            return
        with torch.no_grad():
            if self.mask_init == "random":
                self.mask.uniform_(0.0, 1.0)
            else:
                self.mask.fill_(1.0)

    def _offset_forget_gates(self) -> None:
        """Add ``forget_bias`` to every LSTM layer's initial forget-gate bias (torch's gate order i, f, g, o)."""
        if not self.forget_bias:
            return
        with torch.no_grad():
            for lstm in self.lstms:
                H = lstm.hidden_size
                lstm.bias_ih_l0[H : 2 * H] += self.forget_bias

    def reset_parameters(self) -> None:
        """Fresh weights; the mask starts again as ``mask_init`` says (ones: every node weighted equally)."""
        for module in (self.embed, self.rrn, self.att, *self.lstms, self.classifier):
            if module is not None:
                module.reset_parameters()
        self._offset_forget_gates()
        self._init_mask()

    def _frames(self, x: Tensor) -> Tensor:
        """Everything before the LSTM, frame by frame (no frame sees another): ``[S * J, T, C]`` -> ``[S, T, 256]``."""
        J = self.num_joints
        if not self.relational:  # the plain LSTM baseline: each frame's node features side by side
            return self.dropout(to_skeletons(x, J).permute(0, 2, 1, 3).flatten(2))
        v = self.embed(x)  # Eq. (1) / (3)
        if self.embedding_relu:
            v = v.relu()
        if self.edge_index is None:
            h = self.rrn(v, num_nodes_per_graph=J)  # Eq. (4)-(8), complete graphs
        else:
            S = v.size(0) // J
            offsets = torch.arange(S, device=v.device).repeat_interleave(self.edge_index.size(1)) * J
            h = self.rrn(v, self.edge_index.repeat(1, S) + offsets)  # Eq. (4)-(8) over the given edges
        w = to_skeletons(h, J)  # [S, J, T, M]
        if self.mask is not None:
            w = w * self.node_weights().view(1, J, 1, 1)
        if self.attention_fc == "per_node":
            return self.dropout(self.att(w).permute(0, 2, 1, 3).flatten(2))  # Eq. (9): [S, T, J (256 // J)]
        return self.dropout(self.att(w.permute(0, 2, 1, 3).flatten(2)))  # Eq. (9): [S, T, 256]

    def node_weights(self) -> Tensor:
        """What multiplies each node's RRN output in Eq. (9), ``[J]``: the mask itself, or ``J softmax(m)``."""
        if self.mask is None:
            raise ValueError("this stream has no mask (mask=False or relational=False)")
        return self.mask.softmax(0) * self.num_joints if self.mask_norm == "softmax" else self.mask

    def _lstm(self, q: Tensor, state: list[tuple[Tensor, Tensor]] | None = None
              ) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """The LSTM stack (Eq. 10) from ``state`` (None: zeros); returns every frame's output and the new state."""
        states = []
        for k, lstm in enumerate(self.lstms):
            q, hc = lstm(q, None if state is None else state[k])
            states.append(hc)
            if k < len(self.lstms) - 1:
                q = self.dropout(q)
        return q, states

    def step(self, x: Tensor, state: list[tuple[Tensor, Tensor]] | None = None
             ) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """Online inference: the next frame(s) ``x`` ``[S * J, t, C]`` of every skeleton, the LSTM ``state`` after
        the frames before (None at the start). Returns the logits ``[S, K]`` read at the last frame given (what
        :meth:`forward` gives on the whole prefix) and the state after it; the work does not grow with the
        frames already seen."""
        if self.readout == "concat":
            raise ValueError("readout='concat' classifies all T frames at once (Eq. 11 read literally): online "
                             "inference needs a per-frame readout ('last_valid', 'last' or 'mean')")
        if self.readout != "mean":
            q, state = self._lstm(self._frames(x), state)
            return self.classifier(self.dropout(q[:, -1])), state
        # The mean readout also carries the running sum of the outputs and the frames seen.
        lstm_state, total, seen = state if state is not None else (None, 0.0, 0)
        q, lstm_state = self._lstm(self._frames(x), lstm_state)
        total, seen = q.sum(1) + total, seen + q.size(1)
        return self.classifier(self.dropout(total / seen)), (lstm_state, total, seen)

    def forward(self, x: Tensor, num_frames: Tensor | None = None) -> Tensor:
        """``x`` ``[S * J, T, C]`` body-major; ``num_frames`` ``[S]`` real frames per skeleton (optional)."""
        q, _ = self._lstm(self._frames(x))
        if self.readout == "mean":
            if num_frames is None:
                return self.classifier(self.dropout(q.mean(1)))
            n = num_frames.clamp(1, q.size(1)).to(q.device)
            real = torch.arange(q.size(1), device=q.device) < n.unsqueeze(1)  # [S, T]: frames before the padding
            q_mean = (q * real.unsqueeze(-1)).sum(1) / n.unsqueeze(1).to(q.dtype)
            return self.classifier(self.dropout(q_mean))
        if self.readout == "concat":  # Eq. (11) literally: Fc(q_1, ..., q_T)
            if q.size(1) != self.T:
                raise ValueError(f"readout='concat' needs exactly T = {self.T} frames per sample, got {q.size(1)}")
            return self.classifier(self.dropout(q.flatten(1)))
        if self.readout == "last_valid" and num_frames is not None:
            last = (num_frames.clamp(1, q.size(1)) - 1).to(q.device)
            q_last = q[torch.arange(q.size(0), device=q.device), last]
        else:
            q_last = q[:, -1]
        return self.classifier(self.dropout(q_last))  # Eq. (11), before the softmax


class ARRNLSTM(nn.Module):
    """Two-stream ARRN-LSTM (Zheng et al., ICME 2019), or one stream / the no-mask ablations.

    ``model(data)`` returns ``[B, K]`` scores: the log of the fused probabilities
    :math:`\\log(\\alpha\\,\\mathrm{softmax}(y_j) + (1 - \\alpha)\\,\\mathrm{softmax}(y_l))` (Eq. 11-12) for two
    streams, the stream's logits for one. ``data`` carries ``x`` ``[N, T, C]`` body-major (``N = S J``),
    ``batch`` (optional for one sample), optionally ``x_line`` ``[N, T, C (J - 1)]`` (computed from ``x`` when
    absent) and ``num_frames`` ``[B]``. ``alpha`` is a buffer: set it with :meth:`set_alpha`, choose it with
    :func:`select_alpha`. :meth:`from_paper` builds the paper's configuration for a dataset.

    Args:
        num_joints: ``J``, joints per skeleton (nodes per RRN graph, length of the mask).
        num_classes: ``K``.
        in_channels: Features per joint: 3 for 3-D coordinates, 2 for 2-D keypoints, doubled with
            :class:`~skelgraph.transforms.AddVelocity`, one more with :class:`~skelgraph.transforms.AppendScore`
            (:func:`~skelgraph.training.registry.pipeline_channels` of a pipeline); the line stream gets
            ``in_channels (J - 1)``.
        T: Frames per sample; the model accepts any length (except with ``readout="concat"``), this records the
            paper's :class:`~skelgraph.transforms.FixedLength` setting for pipelines.
        M: Embedding size, also the RRN state size.
        E: RRN rounds.
        att_channels: Output size of the attention FC (256).
        lstm_sizes: Hidden size of each LSTM layer, bottom to top; ``H = len(lstm_sizes)``, ``h = lstm_sizes[-1]``.
        message_layers: Linear layers in the RRN message function (3).
        streams: Which streams to run: ``("joint", "line")``, ``("joint",)`` or ``("line",)``.
        mask: Use the attention mask of Eq. (9); ``False`` is the RRN-LSTM ablation.
        dropout: Dropout probability after the attention FC, between LSTM layers and before the classifier.
        checkpoint: Activation checkpointing of the RRN rounds (less memory, one more forward per round).
        readout: ``"last_valid"`` (frame ``num_frames - 1``), ``"last"`` (frame ``T - 1``), ``"mean"`` (the
            mean over the real frames; not in the paper) or ``"concat"`` (one FC over all ``T`` outputs side by
            side, Eq. 11 read literally; samples must have exactly ``T`` frames) for Eq. (11).
        alpha: Initial fusion weight of the joint stream (Eq. 12).
        relational: ``False`` drops everything before the LSTM (embedding, RRN, mask, attention FC): each frame's
            node features go side by side into the LSTM stack, the plain multi-layer LSTM baseline of the
            ablation ladder (with ``streams=("joint",)`` and two layers, the "2-layer LSTM" of Table 1's
            baselines). ``M``, ``E``, ``att_channels``, ``message_layers`` and ``mask`` then do nothing.
        forget_bias: Added to the initial forget-gate bias of every LSTM layer (0: torch's initialisation, the
            paper's; 1 is the common remedy when a stack read at its last frame starts with vanishing gradients).
        line_channels: The line stream's offsets (Eq. 2) from the first ``line_channels`` features of each joint
            only (None: all ``in_channels``). With :class:`~skelgraph.transforms.AddVelocity` (positions first),
            the coordinate count gives lines from positions only, as the paper computes them.
        mask_init: ``"ones"`` (every node weighted equally at the start) or ``"random"`` (uniform in [0, 1),
            3.2.3's "a random vector of size J").
        embedding: ``"shared"`` (one FC for every node, Eq. 1 / 3) or ``"per_joint"`` (one FC per joint,
            :class:`NodeLinear`: which joint a node is then enters before the RRN).
        line_slots: ``"skip"`` (the line of joint ``i`` lists the other joints in order, ``C (J - 1)`` wide) or
            ``"fixed"`` (Eq. 2 literally: slot ``j`` is always joint ``j``, zero at ``j = i``, ``C J`` wide).
        message_channels: Hidden width of the RRN's message MLP (None: ``M``).
        attention_fc: ``"frame"`` (one FC from a frame's ``J M`` masked node features to ``att_channels``) or
            ``"per_node"`` (one FC shared by the nodes, ``M -> att_channels // J``, outputs concatenated: the LSTM
            then reads ``J (att_channels // J)`` features, 240 for MSR's 20 joints).
        mask_norm: ``"none"`` (the mask's entries weigh the nodes as they are) or ``"softmax"`` (node ``i`` weighed
            by ``J softmax(m)_i``: positive weights that compete and average 1).
        rrn_init: Eq. (7)'s starting state :math:`h^0`: ``"input"`` (the embedding) or ``"zeros"``.
        message_relu: A ReLU after the last layer of the RRN's message MLP too (messages then non-negative).
        embedding_relu: A ReLU after the embedding FC of Eq. (1) / (3).
        edges: Eq. (6)'s neighbourhood as one skeleton's undirected edges (pairs of joint indices, messages both
            ways), e.g. the bones (:attr:`~skelgraph.skeleton.Layout.bone_index`); None (the default): the
            complete graph without self loops, every node hearing every other node of its frame.
        objective: What :meth:`loss_terms` minimises with two streams: ``"streams"``, the sum of the streams'
            cross-entropies (each stream trained exactly as if alone), or ``"fused"``, the negative log-likelihood
            of the fused prediction of Eq. (12) at the current ``alpha`` (the streams then learn together, and one
            may carry the prediction alone: on MSR AS2's training subjects the joint stream stayed at chance).
    """

    def __init__(self, num_joints: int, num_classes: int, in_channels: int = 3, T: int = 100, M: int = 50,
                 E: int = 5, att_channels: int = 256, lstm_sizes: Sequence[int] = (512, 512, 512),
                 message_layers: int = 3, streams: Sequence[str] = STREAMS, mask: bool = True, dropout: float = 0.0,
                 checkpoint: bool = False, readout: str = "last_valid", alpha: float = 0.5,
                 relational: bool = True, forget_bias: float = 0.0, line_channels: int | None = None,
                 mask_init: str = "ones", objective: str = "streams", embedding: str = "shared",
                 line_slots: str = "skip", message_channels: int | None = None,
                 attention_fc: str = "frame", mask_norm: str = "none", rrn_init: str = "input",
                 message_relu: bool = False, embedding_relu: bool = False,
                 edges: Sequence[Sequence[int]] | None = None) -> None:
        lstm_sizes, streams = tuple(lstm_sizes), tuple(streams)  # lists from JSON or the command line
        if edges is not None:
            edges = tuple(tuple(e) for e in edges)
        hparams = init_arguments(locals())
        super().__init__()
        self.hparams = hparams
        self.config = ARRNConfig(**hparams)
        self.num_classes = num_classes
        J = num_joints
        line_width = J if line_slots == "fixed" else J - 1  # Eq. (2): offsets per line node
        channels = {"joint": in_channels, "line": (line_channels or in_channels) * line_width}
        layer = dict(num_joints=J, num_classes=num_classes, M=M, E=E, att_channels=att_channels,
                     lstm_sizes=lstm_sizes, message_layers=message_layers, mask=mask, dropout=dropout,
                     checkpoint=checkpoint, readout=readout, relational=relational, forget_bias=forget_bias,
                     mask_init=mask_init, T=T, embedding=embedding, message_channels=message_channels,
                     attention_fc=attention_fc, mask_norm=mask_norm, rrn_init=rrn_init, message_relu=message_relu,
                     embedding_relu=embedding_relu, edges=edges)
        self.streams = nn.ModuleDict({s: ARRNStream(channels[s], **layer) for s in self.config.streams})
        self.register_buffer("alpha", torch.tensor(float(alpha)))

    @classmethod
    def from_paper(cls, dataset: str, **overrides: Any) -> ARRNLSTM:
        """The paper's configuration (Section 4.1) for ``"ntu"`` (NTU RGB+D 60), ``"ntu120"``, ``"florence"`` or
        ``"msr"``, with any keyword argument overridden (e.g. ``num_classes=8`` for an MSR Action3D subset)."""
        if dataset not in _PRESETS:
            raise ValueError(f"unknown preset {dataset!r}; expected one of {sorted(_PRESETS)}")
        known = set(inspect.signature(cls).parameters)
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} arguments {unknown}")
        return cls(**{**_PRESETS[dataset], **overrides})

    def reset_parameters(self) -> None:
        """Fresh weights in every stream (masks back to their ``mask_init``); ``alpha`` back to its initial value."""
        for stream in self.streams.values():
            stream.reset_parameters()
        self.alpha.fill_(float(self.config.alpha))

    def set_alpha(self, alpha: float) -> None:
        """Set the joint-stream fusion weight ``alpha`` (the line stream gets ``1 - alpha``, Eq. 12)."""
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
        self.alpha.fill_(alpha)

    def stream_logits(self, data: Data) -> dict[str, Tensor]:
        """Per-stream logits ``[B, K]``, averaged over the bodies of each sample (multi-body rule)."""
        lengths = skeleton_lengths(data, self.config.num_joints)
        return self._streams(data, lambda name, stream, feats, sk_batch: stream(feats, lengths))

    def _streams(self, data: Data, run: Any) -> dict[str, Tensor]:
        """``run(name, stream, features, skeleton batch)`` per stream, its ``[S, K]`` logits averaged over the
        bodies of each sample (multi-body rule)."""
        J = self.config.num_joints
        x = data.x
        check_node_features(x, J, self.config.in_channels, type(self).__name__)
        node_batch = data.batch if data.batch is not None else x.new_zeros(x.size(0), dtype=torch.long)
        sk_batch = skeleton_batch(node_batch, J)
        num_samples = data.num_graphs if data.batch is not None else 1
        out = {}
        for name, stream in self.streams.items():
            if name == "joint":
                feats = x
            else:
                lc = self.config.line_channels
                fixed = self.config.line_slots == "fixed"
                if "x_line" in data:
                    feats = data.x_line
                    slots = "J" if fixed else "(J - 1)"
                    want = (lc or self.config.in_channels) * (J if fixed else J - 1)
                    if feats.size(-1) != want:
                        raise ValueError(f"{type(self).__name__}: x_line has {feats.size(-1)} features per node, "
                                         f"expected {want} ({slots} x {lc or self.config.in_channels})")
                else:
                    feats = node_line_features(x if lc is None else x[..., :lc], J, fixed_slots=fixed)
            logits = run(name, stream, feats, sk_batch)
            out[name] = scatter(logits, sk_batch, dim=0, dim_size=num_samples, reduce="mean")
        return out

    def _fused(self, logits: dict[str, Tensor]) -> Tensor:
        if len(logits) == 1:
            return next(iter(logits.values()))
        return fuse_scores(logits["joint"], logits["line"], self.alpha)  # Eq. (12)

    def forward(self, data: Data) -> Tensor:
        return self._fused(self.stream_logits(data))

    def step(self, data: Data, state: dict[str, Any] | None = None) -> tuple[Tensor, dict[str, Any]]:
        """Online inference, one frame (or a few) at a time: ``data.x`` ``[N, t, C]`` holds the next frames of
        every skeleton (pre-processed as for :meth:`forward`), ``state`` what the previous call returned (None at
        the start). Returns the scores ``[B, K]`` :meth:`forward` gives on everything seen so far, and the new
        state: each stream's LSTM states, so the work per frame does not grow with the frames seen (every layer
        before the LSTM works frame by frame). Keep the bodies of a stream in the same order at every call."""
        state = state or {}
        new: dict[str, Any] = {}

        def run(name: str, stream: ARRNStream, feats: Tensor, sk_batch: Tensor) -> Tensor:
            logits, new[name] = stream.step(feats, state.get(name))
            return logits

        return self._fused(self._streams(data, run)), new

    def loss_terms(self, data: Data) -> dict[str, Tensor]:
        """The training objective and its parts, from one forward pass.

        ``"loss"``: what training minimises: the sum over the streams of the cross-entropy of each stream's
        logits with ``data.y`` (``objective="streams"``), or with two streams and ``objective="fused"`` the
        negative log-likelihood of the fused prediction (Eq. 12); then, detached, each stream's cross-entropy
        under its name and, with two streams, ``"fused"``: the negative log-likelihood of the fused prediction,
        the quantity the validation loss of :meth:`forward`'s scores measures. The training engine logs them as
        ``train_loss_<name>`` and ``val_loss_<name>``, so curves compare like with like.
        """
        logits = self.stream_logits(data)
        per_stream = {name: F.cross_entropy(z, data.y) for name, z in logits.items()}
        terms = {"loss": sum(per_stream.values())}
        terms.update({name: loss.detach() for name, loss in per_stream.items()})
        if len(logits) == 2:
            with torch.set_grad_enabled(torch.is_grad_enabled() and self.config.objective == "fused"):
                fused = F.nll_loss(fuse_scores(logits["joint"], logits["line"], self.alpha), data.y)
            if self.config.objective == "fused":
                terms["loss"] = fused
            terms["fused"] = fused.detach()
        return terms

    def training_loss(self, data: Data) -> Tensor:
        """What training minimises (``objective``; see :meth:`loss_terms`)."""
        return self.loss_terms(data)["loss"]

    def mask_weights(self) -> dict[str, Tensor]:
        """The learned node weights of Eq. (9), ``{stream: [J]}`` (empty without masks), detached copies: the
        masks ``m`` themselves, or ``J softmax(m)`` with ``mask_norm="softmax"``."""
        return {name: s.node_weights().detach().clone() for name, s in self.streams.items() if s.mask is not None}

    def __repr__(self) -> str:
        keys = ("num_joints", "in_channels", "num_classes", "streams", "T", "M", "E", "lstm_sizes", "mask")
        if not self.config.relational:
            keys = ("num_joints", "in_channels", "num_classes", "streams", "T", "lstm_sizes", "relational")
        return model_repr(self, keys)


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
