"""Layers and models: RRN / ARRN-LSTM and ST-LSTM / GCA-LSTM.

:class:`RRN` is a ``MessagePassing`` layer on any ``edge_index`` (with a complete-graph fast path) that takes
node features with or without a time axis (``[N, C]`` or ``[N, T, C]``, ``node_dim=0``), :class:`STLSTM` runs
over any ``[S, L, T, C]`` chain x frame grid, and :func:`part_mean` / :class:`BodyPartPool` pool joints into
body parts with scatter operations. Stock PyG layers (``node_dim=-2``) need each frame as its own graph:
:class:`FrameWise`, or the transforms :class:`~skelgraph.transforms.PerFrameGraphs` /
:class:`~skelgraph.transforms.TimeToChannels`.

Models (:class:`ARRNLSTM`, :class:`GCALSTM`, :class:`TwoStreamGCALSTM`, :class:`STLSTMClassifier`) are built
from keyword arguments, or with ``from_paper(dataset, **overrides)`` for a paper configuration; each has
``num_classes``, ``hparams`` (its constructor arguments), ``reset_parameters()`` and a repr with its sizes.
"""

from skelgraph.nn.arrn import ARRNLSTM, ARRNConfig, ARRNStream, NodeLinear, fuse_scores, select_alpha
from skelgraph.nn.gca_lstm import (
    GCALSTM,
    AttentionStream,
    InformativenessScore,
    STLSTMClassifier,
    TwoStreamGCALSTM,
)
from skelgraph.nn.interop import FrameWise
from skelgraph.nn.pooling import BodyPartPool, part_mean
from skelgraph.nn.rrn import RRN
from skelgraph.nn.st_lstm import STLSTM, STLSTMEncoder, flush_denormals, gather_chain, wavefront_plan

__all__ = [
    "ARRNLSTM",
    "ARRNConfig",
    "ARRNStream",
    "AttentionStream",
    "BodyPartPool",
    "FrameWise",
    "GCALSTM",
    "InformativenessScore",
    "NodeLinear",
    "RRN",
    "STLSTM",
    "STLSTMClassifier",
    "STLSTMEncoder",
    "TwoStreamGCALSTM",
    "flush_denormals",
    "fuse_scores",
    "gather_chain",
    "part_mean",
    "select_alpha",
    "wavefront_plan",
]
