"""Skeleton sequences and their PyG graphs.

Representation of a sequence as a graph (:func:`to_data`)
---------------------------------------------------------
One :class:`~torch_geometric.data.Data` per sequence. Every body of the sequence is its own connected
component of ``J`` nodes (one node per joint), nodes ordered body-major: node ``m * J + j`` is joint ``j`` of
body ``m``. Node features carry the time axis, ``x`` of shape ``[M * J, T, C]`` (joint positions, ``C =
layout.ndim``: 3 for 3-D sensors, 2 for image keypoints; a message passing layer with ``node_dim=0`` covers all
frames in one ``propagate``). Edges never cross bodies. A pose estimator's per-joint confidence travels apart
from the coordinates, as ``score`` ``[M * J, T]``: transforms that move joints leave it alone, the centre is
score-weighted, and a pipeline may append it as a channel (:class:`~skelgraph.transforms.AppendScore`).

Several bodies: a two-person action (SBU, NTU A50-A60) keeps both bodies as two components of the same
graph; ``num_bodies`` says how many a sample has, and ``body`` gives each node's body within its sample. The
models in :mod:`skelgraph.nn` run every body through the same network and average the class scores over the
bodies of a sample (the rule of ST-GCN), so one- and two-body samples batch together without zero padding.
Frames in which a body is absent are all-zero for that body.

Because every skeleton has exactly ``J`` nodes, a batch reshapes to ``[S, J, T, C]`` (``S`` skeletons) with
:func:`to_skeletons`, which the dense fast paths of the layers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Data

from skelgraph.skeleton import Layout

#: Integer metadata fields copied from a sequence to its graph when present.
META_FIELDS: tuple[str, ...] = ("subject", "camera", "setup", "repetition", "fold")
#: Node attributes ``[N, T]`` with a time axis but no channel axis (datasets store them frame-flattened).
FRAME_KEYS: tuple[str, ...] = ("score",)


@dataclass
class SkeletonSequence:
    """A skeleton sequence as read from a raw file.

    Args:
        coords: ``(T, M, J, C)`` float32 array of joint positions: T frames, M bodies, J joints, ``C =
            layout.ndim`` coordinates (3 for 3-D sensors, 2 for image keypoints). A body absent from a frame is
            all-zero there.
        layout: The skeleton layout of the joints.
        label: Zero-based class index, or ``None`` when unknown (inference).
        meta: Whatever the dataset provides: ``subject``, ``camera``, ``setup``, ``repetition`` (integers),
            ``source`` (the file the sequence came from), ``name`` (sample name).
        score: Optional ``(T, M, J)`` per-joint confidence of a pose estimator (finite, non-negative; 0 for a
            joint it did not find), kept apart from the coordinates.
    """

    coords: np.ndarray
    layout: Layout
    label: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    score: np.ndarray | None = None

    def __post_init__(self) -> None:
        c = np.asarray(self.coords, dtype=np.float32)
        J, C = self.layout.num_joints, self.layout.ndim
        if c.ndim != 4 or c.shape[2:] != (J, C):
            hint = ""
            if c.ndim == 4 and c.shape[2:] == (J, C + 1):
                hint = (f"; a last channel holding a confidence score goes apart: coords[..., :{C}], "
                        f"score=coords[..., {C}]")
            raise ValueError(
                f"coords must have shape (T, M, {J}, {C}) for layout {self.layout.name!r} ({C}-D), got "
                f"{c.shape}{hint}"
            )
        if c.shape[0] == 0 or c.shape[1] == 0:
            raise ValueError(f"empty sequence: coords shape {c.shape}")
        self.coords = c
        if self.score is not None:
            s = np.asarray(self.score, dtype=np.float32)
            if s.shape != c.shape[:3]:
                raise ValueError(f"score must have shape (T, M, J) = {c.shape[:3]}, got {s.shape}")
            if not (np.isfinite(s).all() and (s >= 0).all()):
                raise ValueError("score must hold finite, non-negative confidences")
            self.score = s

    @property
    def num_frames(self) -> int:
        return self.coords.shape[0]

    @property
    def num_bodies(self) -> int:
        return self.coords.shape[1]

    def __repr__(self) -> str:
        name = self.meta.get("name", "")
        return (
            f"SkeletonSequence({name!r}, frames={self.num_frames}, bodies={self.num_bodies}, "
            f"layout={self.layout.name!r}, label={self.label})"
        )


def complete_edge_index(num_nodes: int, device: torch.device | None = None) -> Tensor:
    """``[2, n (n - 1)]`` edge index of the complete directed graph on ``n`` nodes, no self loops."""
    src, dst = torch.meshgrid(torch.arange(num_nodes, device=device), torch.arange(num_nodes, device=device),
                              indexing="ij")
    keep = src != dst
    return torch.stack([src[keep], dst[keep]])


def skeleton_edge_index(layout: Layout, num_bodies: int, edges: str = "complete") -> Tensor:
    """Edge index for ``num_bodies`` skeletons laid out body-major; no edge crosses bodies.

    ``edges="complete"``: every joint talks to every other joint of its body (the RRN default).
    ``edges="bones"``: the bone graph, both directions.
    """
    if edges == "complete":
        one = complete_edge_index(layout.num_joints)
    elif edges == "bones":
        one = layout.bone_index
    else:
        raise ValueError(f"unknown edges {edges!r}; expected 'complete' or 'bones'")
    offsets = torch.arange(num_bodies).repeat_interleave(one.size(1)) * layout.num_joints
    return one.repeat(1, num_bodies) + offsets


def to_data(seq: SkeletonSequence, edges: str = "complete") -> Data:
    """Convert a :class:`SkeletonSequence` into a PyG :class:`Data` (layout described in the module docstring).

    Attributes: ``x`` ``[M*J, T, C]``, ``edge_index``, ``body`` ``[M*J]``, ``num_frames`` ``[1]`` (frames that
    hold data, before any padding), ``num_bodies`` ``[1]``, ``score`` ``[M*J, T]`` when the sequence has
    confidences, ``y`` ``[1]`` when the label is known, the integer metadata of :data:`META_FIELDS` as ``[1]``
    tensors, and ``name`` when known.
    """
    T, M, J, C = seq.coords.shape
    x = torch.from_numpy(np.ascontiguousarray(seq.coords.transpose(1, 2, 0, 3))).reshape(M * J, T, C)
    data = Data(
        x=x,
        edge_index=skeleton_edge_index(seq.layout, M, edges),
        body=torch.arange(M).repeat_interleave(J),
        num_frames=torch.tensor([T]),
        num_bodies=torch.tensor([M]),
    )
    data.num_nodes = M * J
    if seq.score is not None:
        data.score = torch.from_numpy(np.ascontiguousarray(seq.score.transpose(1, 2, 0))).reshape(M * J, T)
    if seq.label is not None:
        data.y = torch.tensor([seq.label])
    for key in META_FIELDS:
        if key in seq.meta:
            data[key] = torch.tensor([int(seq.meta[key])])
    if "name" in seq.meta:
        data.name = str(seq.meta["name"])
    return data


def per_frame_edge_index(edge_index: Tensor, num_frames: int) -> Tensor:
    """The edges of one frame's graph repeated over ``T = num_frames`` frames, for nodes numbered node-major
    (node ``n`` at frame ``t`` is ``n * T + t``, so ``x.reshape(N * T, C)`` of ``x`` ``[N, T, C]`` lines up):
    edge ``(u, v)`` becomes ``(u T + t, v T + t)`` for every ``t``, edge-major (the ``T`` copies of an edge are
    consecutive, so per-edge attributes follow with ``repeat_interleave(T, dim=0)``)."""
    offsets = torch.arange(num_frames, device=edge_index.device)
    return (edge_index.unsqueeze(-1) * num_frames + offsets).reshape(2, -1)


def to_skeletons(x: Tensor, num_joints: int) -> Tensor:
    """View body-major node features ``[S * J, *rest]`` as ``[S, J, *rest]`` (``S`` skeletons)."""
    if x.size(0) % num_joints:
        raise ValueError(f"{x.size(0)} nodes is not a whole number of {num_joints}-joint skeletons")
    return x.view(x.size(0) // num_joints, num_joints, *x.shape[1:])


def skeleton_batch(batch: Tensor, num_joints: int) -> Tensor:
    """``[S]``: the sample each skeleton of a batch belongs to, from PyG's node-level ``batch`` vector."""
    return to_skeletons(batch, num_joints)[:, 0]


def offdiagonal_index(num_joints: int, device: torch.device | None = None) -> Tensor:
    """``[J, J - 1]``: row ``i`` lists every joint but ``i``, in increasing order."""
    k = torch.arange(num_joints - 1, device=device)
    i = torch.arange(num_joints, device=device)
    return k[None, :] + (k[None, :] >= i[:, None]).long()


def line_features(joints: Tensor, fixed_slots: bool = False) -> Tensor:
    """Line features of ARRN-LSTM Eq. (2).

    For joint ``i`` the offsets ``c_i - c_j`` to every other joint ``j != i`` in joint order, flattened:
    ``joints`` ``[..., J, C]`` gives ``[..., J, C (J - 1)]``. With ``fixed_slots`` Eq. (2) is read literally,
    ``(c_i - c_1, ..., c_i - c_J)``: slot ``j`` always holds joint ``j`` and slot ``i`` is zero, ``[..., J, C J]``.
    """
    J = joints.size(-2)
    diff = joints.unsqueeze(-2) - joints.unsqueeze(-3)  # [..., i, j, C] = c_i - c_j
    if fixed_slots:
        return diff.reshape(*joints.shape[:-1], J * joints.size(-1))
    idx = offdiagonal_index(J, joints.device)
    lines = diff[..., torch.arange(J, device=joints.device)[:, None], idx, :]  # Eq. (2)
    return lines.reshape(*joints.shape[:-1], (J - 1) * joints.size(-1))


def node_line_features(x: Tensor, num_joints: int, fixed_slots: bool = False) -> Tensor:
    """Line features for body-major node features ``x`` ``[S * J, T, C]``: ``[S * J, T, C (J - 1)]`` (``C J``
    with ``fixed_slots``, see :func:`line_features`)."""
    sk = to_skeletons(x, num_joints).transpose(1, 2)  # [S, T, J, C]
    return line_features(sk, fixed_slots).transpose(1, 2).reshape(x.size(0), x.size(1), -1)


def skeleton_lengths(data: Data, num_joints: int) -> Tensor | None:
    """``[S]`` real frames of every skeleton of ``data`` (a sample or a batch), from the samples' ``num_frames``
    (set by :func:`to_data` and :class:`~skelgraph.transforms.FixedLength`), clamped to ``[1, T]``; ``None``
    when ``data`` carries no ``num_frames`` (every frame is then real)."""
    num_frames = getattr(data, "num_frames", None)
    if num_frames is None:
        return None
    num_frames = num_frames.view(-1)
    batch = getattr(data, "batch", None)
    if batch is not None:
        per_skeleton = num_frames[skeleton_batch(batch, num_joints)]
    else:
        per_skeleton = num_frames[:1].expand(data.x.size(0) // num_joints)
    return per_skeleton.clamp(1, data.x.size(1)).to(data.x.device)


def frame_mask(lengths: Tensor | None, num_frames: int, device: torch.device | None = None) -> Tensor | None:
    """``[S, T]`` boolean mask of the real frames of every skeleton (``None`` stays ``None``: all real)."""
    if lengths is None:
        return None
    return torch.arange(num_frames, device=device if device is not None else lengths.device) < lengths[:, None]


def check_node_features(x: Tensor, num_joints: int, in_channels: int | None = None, owner: str = "model") -> None:
    """Raise a clear ``ValueError`` unless ``x`` is skeleton node features ``[S * J, T, C]`` (nodes first, time
    on the node features, ``node_dim=0``) with ``C == in_channels``.

    Graphs reshaped for stock PyG layers (:class:`~skelgraph.transforms.PerFrameGraphs`: ``x`` ``[N * T, C]``;
    :class:`~skelgraph.transforms.TimeToChannels`: ``[N, T * C]``) are not inputs of skelgraph's models; this
    says so instead of failing deep inside (or, worse, computing on a misread tensor).
    """
    if x.dim() != 3:
        raise ValueError(
            f"{owner} expects skeleton node features x of shape [num_nodes, T, C] (node_dim=0, as to_data makes "
            f"them), got {tuple(x.shape)}. Graphs from PerFrameGraphs ([num_nodes * T, C]) or TimeToChannels "
            "([num_nodes, T * C]) are for stock PyG layers; give skelgraph models the [num_nodes, T, C] graph.")
    if x.size(0) % num_joints:
        raise ValueError(f"{owner}: {x.size(0)} nodes is not a whole number of {num_joints}-joint skeletons "
                         f"(x of shape {tuple(x.shape)}; nodes come first, then frames, then channels)")
    if in_channels is not None and x.size(-1) != in_channels:
        raise ValueError(f"{owner} was built for in_channels={in_channels} but x has {x.size(-1)} channels "
                         f"(shape {tuple(x.shape)}); channels are the layout's coordinates (3-D: 3, 2-D: 2), doubled "
                         "by AddVelocity, plus 1 with AppendScore, times the bodies of StackBodies")
